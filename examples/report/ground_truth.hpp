// GroundTruth: the true class of each record, and its slice values (the extra columns of a
// label file: camera, site, age group...), from either
//   a label CSV   path,label[,slice columns...]. The first row is a header when its label field
//                 is neither an integer nor a known class name; without a header the slice
//                 columns are named col3, col4, ...
//   folders       the ImageFolder layout: a record's label is its parent folder's name.
// A CSV path matches a record's path exactly, else as a suffix that starts at a path component
// ("val/x.JPEG" matches "/data/val/x.JPEG", not "/data/aval/x.JPEG"): label files usually hold
// paths relative to a root that the scan saw in full. What matches nothing, on either side, is
// counted and the first few are kept, because a silent partial join would bias every figure.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "class_names.hpp"
#include "csv_reader.hpp"
#include "prediction_record.hpp"

namespace fovea::report {

inline constexpr size_t kExamplesKept = 5;

struct GroundTruth {
  std::vector<int64_t> label;                    // per record; -1 when it has none
  std::vector<std::vector<std::string>> slices;  // per record, one value per slice column
  std::vector<std::string> slice_columns;
  bool header = false;
  int64_t unmatched_rows = 0, ambiguous_rows = 0;   // label rows that matched no record / several
  std::vector<std::string> unmatched_row_examples;  // "file:line path"
  int64_t unlabelled_records = 0;
  std::vector<std::string> unlabelled_examples;
};

namespace detail {

inline std::string strip_dot_slash(std::string path) {
  while (path.size() >= 2 && path[0] == '.' && path[1] == '/')
    path.erase(0, 2);
  return path;
}

inline std::string basename_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

inline void note_unlabelled(const std::vector<PredictionRecord>& records, GroundTruth& truth) {
  for (size_t i = 0; i < records.size(); ++i) {
    if (truth.label[i] >= 0) continue;
    ++truth.unlabelled_records;
    if (truth.unlabelled_examples.size() < kExamplesKept)
      truth.unlabelled_examples.push_back(records[i].path);
  }
}

}  // namespace detail

// Labels from a CSV file. Throws fovea::Error naming "file:line" for a malformed row, an
// unknown label or a path labelled twice.
inline GroundTruth labels_from_csv(const std::string& path,
                                   const std::vector<PredictionRecord>& records,
                                   const ClassNames& names) {
  GroundTruth truth;
  truth.label.assign(records.size(), -1);
  truth.slices.assign(records.size(), {});
  std::unordered_map<std::string, std::vector<size_t>> exact, by_basename;
  for (size_t i = 0; i < records.size(); ++i) {
    exact[records[i].path].push_back(i);
    by_basename[detail::basename_of(records[i].path)].push_back(i);
  }
  std::vector<std::string> labelled_by(records.size());  // "file:line" that labelled a record

  std::ifstream in(path, std::ios::binary);
  FOVEA_CHECK(in.is_open(), "cannot open the labels '", path, "' for reading");
  CsvReader reader(in, path);
  std::vector<std::string> row;
  size_t width = 0;
  bool first = true;
  while (reader.next(row)) {
    if (is_blank_row(row)) continue;
    const std::string where = reader.where();
    if (first) {
      first = false;
      width = row.size();
      FOVEA_CHECK(width >= 2, where, ": expected path,label[,slice columns...], got ", width,
                  " field", width == 1 ? "" : "s");
      int64_t ignored = 0;
      truth.header = !parse_integer(trim(row[1]), ignored) && !names.known(row[1]);
      for (size_t c = 2; c < width; ++c) {
        const std::string name = truth.header ? trim(row[c]) : "";
        truth.slice_columns.push_back(name.empty() ? "col" + std::to_string(c + 1) : name);
      }
      if (truth.header) continue;
    }
    FOVEA_CHECK(row.size() == width, where, ": expected ", width,
                " fields like the first row, got ", row.size());
    const std::string file = detail::strip_dot_slash(trim(row[0]));
    FOVEA_CHECK(!file.empty(), where, ": the path field is empty");
    const int64_t label = names.resolve(row[1]);
    FOVEA_CHECK(label >= 0, where, ": label '", json::abbreviate(trim(row[1])),
                "': expected a class index or a class name known from the records' labels or "
                "--class-names");
    // Exact match first; else records whose path ends in "/" + file.
    std::vector<size_t> matches;
    if (const auto it = exact.find(file); it != exact.end()) {
      matches = it->second;
    } else if (const auto it = by_basename.find(detail::basename_of(file));
               it != by_basename.end()) {
      std::string matched_path;
      for (const size_t i : it->second) {
        const std::string& p = records[i].path;
        if (p.size() > file.size() && p.compare(p.size() - file.size(), file.size(), file) == 0 &&
            p[p.size() - file.size() - 1] == '/') {
          if (!matches.empty() && p != matched_path) {
            matches.clear();
            ++truth.ambiguous_rows;
            break;
          }
          matched_path = p;
          matches.push_back(i);
        }
      }
    }
    if (matches.empty()) {
      ++truth.unmatched_rows;
      if (truth.unmatched_row_examples.size() < kExamplesKept)
        truth.unmatched_row_examples.push_back(where + " " + file);
      continue;
    }
    for (const size_t i : matches) {
      FOVEA_CHECK(labelled_by[i].empty(), where, ": '", file, "' labels ", records[i].path,
                  ", which ", labelled_by[i], " labelled already");
      labelled_by[i] = where;
      truth.label[i] = label;
      truth.slices[i].assign(row.begin() + 2, row.end());
      for (std::string& v : truth.slices[i])
        v = trim(v);
    }
  }
  FOVEA_CHECK(!first, path, ": no label rows in it");
  detail::note_unlabelled(records, truth);
  return truth;
}

// Labels from the ImageFolder layout: the parent folder of each record's path. Throws naming
// the record when a folder name is no class index nor a known name.
inline GroundTruth labels_from_folders(const std::vector<PredictionRecord>& records,
                                       const ClassNames& names) {
  GroundTruth truth;
  truth.label.assign(records.size(), -1);
  truth.slices.assign(records.size(), {});
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string& p = records[i].path;
    const size_t slash = p.find_last_of('/');
    if (slash == std::string::npos || slash == 0) continue;  // no parent folder: unlabelled
    const size_t start = p.find_last_of('/', slash - 1);
    const std::string folder = p.substr(start == std::string::npos ? 0 : start + 1,
                                        slash - (start == std::string::npos ? 0 : start + 1));
    truth.label[i] = names.resolve(folder);
    FOVEA_CHECK(truth.label[i] >= 0, records[i].where, ": folder '", json::abbreviate(folder),
                "' of ", p,
                ": expected a class index, or a synset id or class name (see "
                "--class-names)");
  }
  detail::note_unlabelled(records, truth);
  return truth;
}

}  // namespace fovea::report
