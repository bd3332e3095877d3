// NumPy .npy arrays (format versions 1.0, 2.0 and 3.0), for test fixtures and golden outputs.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
// A file is the magic "\x93NUMPY", a version (major, minor), a little-endian header length (2
// bytes in version 1, 4 after), then a Python dict literal such as
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces and a newline,
// then the elements in C order. Only little-endian, C-ordered arrays of the listed dtypes are
// read; everything about the header is checked against the file before any data is copied.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/io/file.hpp"

namespace fovea {

namespace npy {

inline constexpr std::string_view kMagic = "\x93NUMPY";

enum class Element : uint8_t { f4, f8, f2, i1, u1, i4, i8 };

struct Descr {
  const char* text;
  Element element;
  size_t size;
};

inline constexpr Descr kDescrs[] = {
    {"<f4", Element::f4, 4}, {"<f8", Element::f8, 8}, {"<f2", Element::f2, 2},
    {"|i1", Element::i1, 1}, {"|u1", Element::u1, 1}, {"<i4", Element::i4, 4},
    {"<i8", Element::i8, 8},
};

// The descr written for each element type fovea can save (numpy has no bfloat16).
template <class T>
struct DescrOf;
template <>
struct DescrOf<float> {
  static constexpr const char* value = "<f4";
};
template <>
struct DescrOf<double> {
  static constexpr const char* value = "<f8";
};
template <>
struct DescrOf<half> {
  static constexpr const char* value = "<f2";
};
template <>
struct DescrOf<int8_t> {
  static constexpr const char* value = "|i1";
};
template <>
struct DescrOf<uint8_t> {
  static constexpr const char* value = "|u1";
};
template <>
struct DescrOf<int32_t> {
  static constexpr const char* value = "<i4";
};

struct Header {
  const Descr* descr = nullptr;
  Shape shape;
  size_t data_begin = 0;
};

// Reads the dict literal numpy writes: string keys, and values that are a string, True/False or
// a tuple of integers. Anything else is an error naming the file and the byte.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, size_t offset, const std::string& path)
      : text_(text), offset_(offset), path_(path) {}

  Header parse() {
    Header h;
    bool has_descr = false, has_order = false, has_shape = false;
    skip_spaces();
    expect('{');
    while (true) {
      skip_spaces();
      if (peek() == '}') break;
      const std::string key = parse_string();
      skip_spaces();
      expect(':');
      skip_spaces();
      if (key == "descr" && !has_descr) {
        has_descr = true;
        h.descr = find_descr(parse_string());
      } else if (key == "fortran_order" && !has_order) {
        has_order = true;
        if (parse_bool()) {
          error(
              "fortran_order is True; only C-ordered arrays are supported (save "
              "np.ascontiguousarray(a))");
        }
      } else if (key == "shape" && !has_shape) {
        has_shape = true;
        h.shape = parse_shape();
      } else {
        error("unexpected or repeated key '", key, "' (expected descr, fortran_order, shape)");
      }
      skip_spaces();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') error("expected ',' or '}' in the header dict");
    }
    ++pos_;  // '}'
    skip_spaces();
    if (pos_ != text_.size()) error("unexpected characters after the header dict");
    if (!has_descr || !has_order || !has_shape) {
      error("the header dict lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return h;
  }

 private:
  template <class... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    fail("npy file '", path_, "': bad header at byte ", offset_ + pos_, ": ", parts...);
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_spaces() {
    while (peek() == ' ' || peek() == '\n' || peek() == '\t')
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c) error("expected '", c, "'");
    ++pos_;
  }

  std::string parse_string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') error("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) error("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }

  bool parse_bool() {
    if (text_.substr(pos_, 4) == "True") return pos_ += 4, true;
    if (text_.substr(pos_, 5) == "False") return pos_ += 5, false;
    error("expected True or False");
  }

  // "()", "(5,)", "(2, 3)" or "(2, 3,)"; Python 2 era files may write "3L".
  Shape parse_shape() {
    expect('(');
    std::vector<int64_t> dims;
    bool trailing_comma = false;
    while (true) {
      skip_spaces();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') error("expected a non-negative integer in the shape");
      uint64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        d = d * 10 + static_cast<uint64_t>(peek() - '0');
        if (d > static_cast<uint64_t>(INT64_MAX) / 10) error("shape dimension is too large");
        ++pos_;
      }
      if (peek() == 'L') ++pos_;
      if (dims.size() == static_cast<size_t>(kMaxRank)) {
        error("shape has more than ", kMaxRank, " dimensions");
      }
      dims.push_back(static_cast<int64_t>(d));
      skip_spaces();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++pos_;
      } else if (peek() != ')') {
        error("expected ',' or ')' in the shape");
      }
    }
    ++pos_;  // ')'
    // "(5)" is an int in Python, not a tuple; numpy never writes it.
    if (dims.size() == 1 && !trailing_comma) error("a 1-d shape must be written (n,)");
    return Shape(dims);
  }

  const Descr* find_descr(const std::string& text) const {
    for (const Descr& d : kDescrs) {
      if (text == d.text) return &d;
    }
    if (!text.empty() && (text[0] == '>' || text[0] == '!')) {
      fail("npy file '", path_, "': big-endian dtype '", text,
           "' is not supported; save arr.astype(arr.dtype.newbyteorder('<'))");
    }
    fail("npy file '", path_, "': unsupported dtype '", text,
         "' (supported: <f4, <f8, <f2, |i1, |u1, <i4, <i8)");
  }

  std::string_view text_;
  size_t offset_;  // of text_ within the file, for messages
  const std::string& path_;
  size_t pos_ = 0;
};

inline Header read_header(const std::vector<uint8_t>& b, const std::string& path) {
  FOVEA_CHECK(
      b.size() >= 10 && std::string_view(reinterpret_cast<const char*>(b.data()), 6) == kMagic,
      "npy file '", path, "' does not start with the magic \\x93NUMPY (", b.size(), " bytes)");
  const int major = b[6];
  FOVEA_CHECK(major >= 1 && major <= 3, "npy file '", path, "' has format version ", major, ".",
              int{b[7]}, ", expected 1.0, 2.0 or 3.0");
  const size_t length_bytes = major == 1 ? 2 : 4;
  FOVEA_CHECK(b.size() >= 8 + length_bytes, "npy file '", path,
              "' is truncated in its header length");
  const uint64_t header_len =
      major == 1 ? io::load_le16(b.data() + 8) : io::load_le32(b.data() + 8);
  const uint64_t text_begin = 8 + length_bytes;
  FOVEA_CHECK(header_len <= b.size() - text_begin, "npy file '", path, "': header length ",
              header_len, " runs past the end of the file (", b.size() - text_begin,
              " bytes follow)");
  const std::string_view text(reinterpret_cast<const char*>(b.data() + text_begin), header_len);
  Header h = HeaderParser(text, text_begin, path).parse();
  h.data_begin = text_begin + header_len;
  // The shape was parsed within int64 per dimension; the product must fit too.
  uint64_t numel = 1;
  for (int64_t d : h.shape) {
    FOVEA_CHECK(d == 0 || numel <= static_cast<uint64_t>(INT64_MAX) / static_cast<uint64_t>(d),
                "npy file '", path, "': shape ", h.shape, " has more elements than fit in int64");
    numel *= static_cast<uint64_t>(d);
  }
  const uint64_t data_size = b.size() - h.data_begin;
  FOVEA_CHECK(numel <= data_size / h.descr->size && numel * h.descr->size == data_size,
              "npy file '", path, "': shape ", h.shape, " of ", h.descr->text, " needs ", numel,
              " elements of ", h.descr->size, " bytes, but the file holds ", data_size,
              " data bytes");
  return h;
}

}  // namespace npy

// The array in `bytes`, a whole .npy file; `source` names it in errors.
template <class T>
Tensor<T> parse_npy(const std::vector<uint8_t>& bytes, const std::string& source) {
  const npy::Header h = npy::read_header(bytes, source);
  Tensor<T> t(h.shape);
  const uint8_t* src = bytes.data() + h.data_begin;
  const int64_t n = t.numel();
  switch (h.descr->element) {
    case npy::Element::f4:
      io::convert_elements<T, float>(src, n, t.data());
      break;
    case npy::Element::f8:
      io::convert_elements<T, double>(src, n, t.data());
      break;
    case npy::Element::f2:
      io::convert_elements<T, half>(src, n, t.data());
      break;
    case npy::Element::i1:
      io::convert_elements<T, int8_t>(src, n, t.data());
      break;
    case npy::Element::u1:
      io::convert_elements<T, uint8_t>(src, n, t.data());
      break;
    case npy::Element::i4:
      io::convert_elements<T, int32_t>(src, n, t.data());
      break;
    case npy::Element::i8:
      io::convert_elements<T, int64_t>(src, n, t.data());
      break;
  }
  return t;
}

template <class T>
Tensor<T> read_npy(const std::string& path, int64_t max_bytes = io::kDefaultMaxFileBytes) {
  return parse_npy<T>(io::read_file(path, max_bytes), path);
}

// Writes a version 1.0 file (header padded so the data starts at a multiple of 64, as numpy
// does); NHWC tensors are written in logical (NCHW) order, since .npy has no layout.
template <class T>
void write_npy(const std::string& path, const Tensor<T>& t) {
  FOVEA_CHECK(!t.empty(), "write_npy('", path, "'): the tensor is empty (default-constructed)");
  std::string dict =
      std::string("{'descr': '") + npy::DescrOf<T>::value + "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < t.rank(); ++i)
    dict += (i > 0 ? ", " : "") + std::to_string(t.dim(i));
  dict += t.rank() == 1 ? ",), }" : "), }";
  const size_t unpadded = 10 + dict.size() + 1;  // magic, version, length, dict, newline
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  const std::string prefix =
      std::string(npy::kMagic) + '\x01' + '\x00' + io::le_bytes(dict.size(), 2);
  const Tensor<T> logical = t.layout() == Layout::nhwc ? t.to_layout(Layout::nchw) : t;
  io::write_file_atomic(path, {prefix, dict,
                               std::string_view(reinterpret_cast<const char*>(logical.data()),
                                                logical.size_bytes())});
}

}  // namespace fovea
