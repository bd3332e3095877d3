// CsvReader: rows of an RFC 4180 CSV file (the label files of `fovea_report validate` and the
// CSV form of a scan). Fields may be quoted; a quoted field may hold commas, doubled quotes and
// line breaks, so a row is not a line: each row remembers the line it started on, which is what
// an error message should name. Lines end in LF or CRLF.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"

namespace fovea::report {

// A longer row is no label or prediction file, and would only exhaust memory.
inline constexpr size_t kMaxCsvRowBytes = size_t{1} << 20;

class CsvReader {
 public:
  CsvReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  // The next row into `fields`; false at the end of the file. Throws fovea::Error naming
  // "file:line" for an unterminated quote, text after a closing quote or an overlong row.
  bool next(std::vector<std::string>& fields) {
    fields.clear();
    int c = in_.get();
    if (c == EOF) {
      FOVEA_CHECK(!in_.bad(), "error while reading ", name_);
      return false;
    }
    ++line_;
    row_line_ = line_;
    std::string field;
    size_t bytes = 0;
    bool quoted = false, after_quote = false;
    while (true) {
      FOVEA_CHECK(++bytes <= kMaxCsvRowBytes, where(), ": row longer than ", kMaxCsvRowBytes,
                  " bytes");
      if (quoted) {
        FOVEA_CHECK(c != EOF, name_, ":", row_line_, ": a quoted field is not closed");
        if (c == '"') {
          if (in_.peek() == '"') {
            in_.get();
            field.push_back('"');
          } else {
            quoted = false, after_quote = true;
          }
        } else {
          if (c == '\n') ++line_;
          field.push_back(static_cast<char>(c));
        }
      } else if (c == ',' || c == '\n' || c == EOF || (c == '\r' && in_.peek() == '\n')) {
        fields.push_back(std::move(field));
        field.clear();
        after_quote = false;
        if (c == '\r') in_.get();
        if (c != ',') break;
      } else {
        FOVEA_CHECK(!after_quote, where(), ": expected ',' or the end of the row after a ",
                    "closing quote, got '", static_cast<char>(c), "'");
        if (c == '"' && field.empty()) {
          quoted = true;
        } else {
          field.push_back(static_cast<char>(c));
        }
      }
      c = in_.get();
    }
    FOVEA_CHECK(!in_.bad(), "error while reading ", name_);
    return true;
  }

  // "file:line" of the row last returned.
  std::string where() const { return name_ + ":" + std::to_string(row_line_); }

 private:
  std::istream& in_;
  std::string name_;
  int64_t line_ = 0, row_line_ = 0;
};

// A row with nothing in it (a blank line) is skipped by every reader here.
inline bool is_blank_row(const std::vector<std::string>& fields) {
  return fields.size() == 1 && fields[0].find_first_not_of(" \t\r") == std::string::npos;
}

// An integer field: optional sign, digits, nothing else (no spaces, no "3.0").
inline bool parse_integer(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
  if (i == text.size()) return false;
  int64_t value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  out = text[0] == '-' ? -value : value;
  return true;
}

// Leading and trailing spaces off: "path, 472" is how labels.txt writes its rows.
inline std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace fovea::report
