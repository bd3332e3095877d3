// A small strict JSON reader and writer (RFC 8259), enough for file headers and metadata.
//
// The parser is written for hostile input: nesting is capped at kMaxDepth (so recursion stays
// shallow), strings must be valid UTF-8 with no raw control characters, \u escapes must pair
// surrogates correctly, numbers follow the JSON grammar exactly (no leading zeros, NaN, Infinity
// or values past the double range), duplicate object keys and trailing garbage are rejected, and
// every error names the source and the byte offset at fault.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>

#include "fovea/core/error.hpp"
#include "fovea/io/json_value.hpp"

namespace fovea::json {

// Deepest nesting of arrays and objects the parser accepts.
inline constexpr int kMaxDepth = 128;

// Text for an error message: at most `max_chars` bytes of `text`, marked "..." when cut, so a
// hostile 100 MB key or number cannot produce a 100 MB message.
inline std::string abbreviate(std::string_view text, size_t max_chars = 64) {
  if (text.size() <= max_chars) return std::string(text);
  return std::string(text.substr(0, max_chars)) + "...";
}

namespace detail {

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Value parse_document() {
    skip_whitespace();
    Value v = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) error("unexpected ", describe_current(), " after the JSON value");
    return v;
  }

 private:
  template <class... Parts>
  [[noreturn]] void error_at(size_t offset, const Parts&... parts) const {
    fail(source_, ": invalid JSON at byte ", offset, ": ", parts...);
  }
  template <class... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    error_at(pos_, parts...);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(text_[pos_]); }

  std::string describe_current() const {
    if (at_end()) return "end of input";
    const unsigned char c = peek();
    if (c >= 0x20 && c < 0x7f) return std::string("character '") + static_cast<char>(c) + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
    return buf;
  }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  void expect(char c, const char* context) {
    if (at_end() || peek() != static_cast<unsigned char>(c)) {
      error("expected '", c, "' ", context, ", got ", describe_current());
    }
    ++pos_;
  }

  Value parse_value(int depth) {
    if (at_end()) error("unexpected end of input, expected a value");
    switch (peek()) {
      case '{':
        return parse_object(depth + 1);
      case '[':
        return parse_array(depth + 1);
      case '"':
        return Value(parse_string());
      case 't':
        return parse_word("true", Value(true));
      case 'f':
        return parse_word("false", Value(false));
      case 'n':
        return parse_word("null", Value());
      default:
        break;
    }
    if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
    error("unexpected ", describe_current(), ", expected a value");
  }

  Value parse_word(std::string_view word, Value v) {
    if (text_.substr(pos_, word.size()) != word) error("invalid literal, expected '", word, "'");
    pos_ += word.size();
    return v;
  }

  void check_depth(int depth) const {
    if (depth > kMaxDepth) error("nesting is deeper than the limit of ", kMaxDepth);
  }

  Value parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Value::Object members;
    std::unordered_set<std::string> seen;  // a linear scan per key would be quadratic
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return Value(std::move(members));
    }
    while (true) {
      skip_whitespace();
      if (at_end() || peek() != '"') error("expected a string key, got ", describe_current());
      const size_t key_offset = pos_;
      std::string key = parse_string();
      if (!seen.insert(key).second) error_at(key_offset, "duplicate key \"", abbreviate(key), "\"");
      skip_whitespace();
      expect(':', "after an object key");
      skip_whitespace();
      Value value = parse_value(depth);
      members.emplace_back(std::move(key), std::move(value));
      skip_whitespace();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!at_end() && peek() == '}') {
        ++pos_;
        return Value(std::move(members));
      }
      error("expected ',' or '}' after an object member, got ", describe_current());
    }
  }

  Value parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Value::Array elements;
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return Value(std::move(elements));
    }
    while (true) {
      skip_whitespace();
      elements.push_back(parse_value(depth));
      skip_whitespace();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!at_end() && peek() == ']') {
        ++pos_;
        return Value(std::move(elements));
      }
      error("expected ',' or ']' after an array element, got ", describe_current());
    }
  }

  // Parses "..." at pos_, returning the decoded UTF-8 bytes.
  std::string parse_string() {
    const size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) error_at(start, "unterminated string");
      const unsigned char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        parse_escape(out);
      } else if (c < 0x20) {
        error("raw control character ", describe_current(), " in a string (it must be escaped)");
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++pos_;
      } else {
        copy_utf8_sequence(out);
      }
    }
  }

  void parse_escape(std::string& out) {
    const size_t start = pos_;
    ++pos_;  // backslash
    if (at_end()) error_at(start, "unterminated escape sequence");
    const char c = static_cast<char>(peek());
    ++pos_;
    switch (c) {
      case '"':
        out.push_back('"');
        return;
      case '\\':
        out.push_back('\\');
        return;
      case '/':
        out.push_back('/');
        return;
      case 'b':
        out.push_back('\b');
        return;
      case 'f':
        out.push_back('\f');
        return;
      case 'n':
        out.push_back('\n');
        return;
      case 'r':
        out.push_back('\r');
        return;
      case 't':
        out.push_back('\t');
        return;
      case 'u':
        break;
      default:
        error_at(start, "invalid escape sequence '\\", c, "'");
    }
    uint32_t code = parse_hex4(start);
    if (code >= 0xdc00 && code <= 0xdfff) {
      error_at(start, "unpaired low surrogate \\u", text_.substr(start + 2, 4));
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      const size_t low_start = pos_;
      if (text_.substr(pos_, 2) != "\\u") {
        error_at(start, "high surrogate \\u", text_.substr(start + 2, 4),
                 " is not followed by a \\u low surrogate");
      }
      pos_ += 2;
      const uint32_t low = parse_hex4(low_start);
      if (low < 0xdc00 || low > 0xdfff) {
        error_at(low_start, "high surrogate \\u", text_.substr(start + 2, 4), " is followed by \\u",
                 text_.substr(low_start + 2, 4), ", which is not a low surrogate");
      }
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    append_utf8(out, code);
  }

  uint32_t parse_hex4(size_t escape_start) {
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      if (at_end()) error_at(escape_start, "\\u escape needs 4 hex digits");
      const unsigned char c = peek();
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        error("\\u escape needs 4 hex digits, got ", describe_current());
      }
      code = code * 16 + digit;
      ++pos_;
    }
    return code;
  }

  static void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  }

  // Copies one multi-byte UTF-8 sequence, rejecting overlong forms, surrogates and code points
  // past U+10FFFF (the well-formed table of Unicode 15, section 3.9).
  void copy_utf8_sequence(std::string& out) {
    const unsigned char lead = peek();
    size_t continuation = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // range of the first continuation byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      continuation = 1;
    } else if (lead == 0xe0) {
      continuation = 2, lo = 0xa0;
    } else if ((lead >= 0xe1 && lead <= 0xec) || lead == 0xee || lead == 0xef) {
      continuation = 2;
    } else if (lead == 0xed) {
      continuation = 2, hi = 0x9f;
    } else if (lead == 0xf0) {
      continuation = 3, lo = 0x90;
    } else if (lead >= 0xf1 && lead <= 0xf3) {
      continuation = 3;
    } else if (lead == 0xf4) {
      continuation = 3, hi = 0x8f;
    } else {
      error("invalid UTF-8 lead ", describe_current(), " in a string");
    }
    for (size_t i = 1; i <= continuation; ++i) {
      const size_t at = pos_ + i;
      const unsigned char c = at < text_.size() ? static_cast<unsigned char>(text_[at]) : 0;
      const unsigned char first = i == 1 ? lo : 0x80, last = i == 1 ? hi : 0xbf;
      if (at >= text_.size() || c < first || c > last) {
        error_at(at, "invalid UTF-8 sequence in a string");
      }
    }
    out.append(text_.substr(pos_, continuation + 1));
    pos_ += continuation + 1;
  }

  size_t skip_digits() {
    const size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9')
      ++pos_;
    return pos_ - start;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Value parse_number() {
    const size_t start = pos_;
    Value::Number n;
    n.negative = peek() == '-';
    if (n.negative) ++pos_;
    if (at_end() || peek() < '0' || peek() > '9') {
      error("expected a digit after '-', got ", describe_current());
    }
    const size_t int_start = pos_;
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && peek() >= '0' && peek() <= '9')
        error_at(int_start, "leading zeros are not allowed");
    } else {
      skip_digits();
    }
    const size_t int_end = pos_;
    bool has_fraction = false, has_exponent = false;
    if (!at_end() && peek() == '.') {
      ++pos_;
      has_fraction = true;
      if (skip_digits() == 0)
        error("expected a digit after the decimal point, got ", describe_current());
    }
    const size_t mantissa_end = pos_;
    int64_t exponent = 0;
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      has_exponent = true;
      bool exponent_negative = false;
      if (!at_end() && (peek() == '+' || peek() == '-')) exponent_negative = text_[pos_++] == '-';
      const size_t exp_start = pos_;
      if (skip_digits() == 0) error("expected a digit in the exponent, got ", describe_current());
      for (size_t i = exp_start; i < pos_ && exponent < 100000; ++i) {
        exponent = exponent * 10 + (text_[i] - '0');  // saturates: past 1e5 the sign is all
      }
      if (exponent_negative) exponent = -exponent;
    }
    const std::string_view literal = text_.substr(start, pos_ - start);
    if (!has_fraction && !has_exponent) {
      n.integer = true;
      for (size_t i = int_start; i < int_end; ++i) {
        const uint64_t digit = static_cast<uint64_t>(text_[i] - '0');
        if (n.magnitude > (UINT64_MAX - digit) / 10) {
          n.integer = false;  // too big for 64 bits: a plain double from here on
          break;
        }
        n.magnitude = n.magnitude * 10 + digit;
      }
    }
    const auto result = std::from_chars(literal.data(), literal.data() + literal.size(), n.value);
    if (result.ec == std::errc::result_out_of_range) {
      // Too large or too small for a double. Underflow to zero is what every JSON reader does;
      // overflow has no faithful value, so it is an error.
      if (decimal_magnitude(text_.substr(int_start, mantissa_end - int_start), exponent) > 0) {
        error_at(start, "number ", abbreviate(literal), " is outside the range of a double");
      }
      n.value = n.negative ? -0.0 : 0.0;
    } else if (result.ec != std::errc() || result.ptr != literal.data() + literal.size()) {
      error_at(start, "malformed number ", abbreviate(literal));
    }
    return Value(n);
  }

  // Roughly log10 of |mantissa * 10^exponent|: the position of the first significant digit.
  static int64_t decimal_magnitude(std::string_view mantissa, int64_t exponent) {
    const size_t point = std::min(mantissa.find('.'), mantissa.size());
    for (size_t i = 0; i < mantissa.size(); ++i) {
      if (mantissa[i] >= '1' && mantissa[i] <= '9') {
        const int64_t position =
            i < point ? static_cast<int64_t>(point - i) : -static_cast<int64_t>(i - point) + 1;
        return position + exponent;
      }
    }
    return -1;  // zero
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

inline void dump_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

inline void dump_number(std::string& out, const Value::Number& n) {
  if (n.integer) {
    if (n.negative && n.magnitude != 0) out.push_back('-');
    out += std::to_string(n.magnitude);
    return;
  }
  FOVEA_CHECK(std::isfinite(n.value), "JSON cannot represent the number ", n.value);
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, n.value);  // shortest round trip
  const std::string_view text(buf, static_cast<size_t>(result.ptr - buf));
  out += text;
  // A number read as "2.0" stays a non-integer when printed, so it reads back the same way.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

inline void dump_value(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::null:
      out += "null";
      return;
    case Type::boolean:
      out += v.as_bool() ? "true" : "false";
      return;
    case Type::number:
      dump_number(out, v.number());
      return;
    case Type::string:
      dump_string(out, v.as_string());
      return;
    case Type::array: {
      out.push_back('[');
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        dump_value(out, e);
      }
      out.push_back(']');
      return;
    }
    case Type::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        dump_string(out, key);
        out.push_back(':');
        dump_value(out, value);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace detail

// Parses one JSON document (surrounding whitespace allowed, nothing else). Throws fovea::Error
// "<source_name>: invalid JSON at byte <offset>: <what>".
inline Value parse(std::string_view text, const std::string& source_name) {
  return detail::Parser(text, source_name).parse_document();
}

// Compact JSON text (no spaces), object members in insertion order. Integers print exactly;
// other numbers print in the shortest form that reads back to the same double. Throws for NaN
// or infinity, which JSON cannot represent.
inline std::string dump(const Value& value) {
  std::string out;
  detail::dump_value(out, value);
  return out;
}

}  // namespace fovea::json
