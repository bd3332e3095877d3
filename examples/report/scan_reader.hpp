// read_scan: every prediction of a scan, with where it came from. A scan is either a file (JSON
// lines, or the CSV form when the name ends in .csv) or a directory fovea_scan wrote:
//   unsharded  predictions.jsonl (or .csv), errors.jsonl, _SUCCESS
//   sharded    part-I-of-N.jsonl (or .csv), errors-I-of-N.jsonl, _SUCCESS-I-of-N
// A scan still being written, or one whose shards did not all finish, is still read (a report
// on what is there can be useful), but each gap becomes a warning: the caller prints them and
// puts them in the report, so that a figure from an incomplete scan is never taken for a whole
// one. When a shard has both forms, the JSON lines are read (both hold the same predictions).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "prediction_record.hpp"
#include "sha256.hpp"

namespace fovea::report {

// A longer line is no prediction record (1000 top-k entries take some 80 KB).
inline constexpr size_t kMaxLineBytes = size_t{1} << 24;

struct ScanFile {
  std::string path, sha256;
  int64_t records = 0, error_lines = 0;
};

struct Scan {
  std::string source;  // the path given on the command line
  std::vector<PredictionRecord> records;
  std::vector<ScanFile> files;
  int64_t error_lines = 0;         // failed images inside the prediction files, skipped
  int64_t error_file_records = 0;  // lines of errors*.jsonl: images fovea_scan could not read
  std::vector<json::Value> success_markers;  // {"path", "sha256", "content"} per _SUCCESS file
  std::vector<std::string> warnings;
};

namespace detail {

inline std::string hash_file(const std::string& path) {
  try {
    return examples::sha256_of_file(path);
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

inline void read_jsonl(const std::string& path, Scan& scan, ScanFile& file) {
  std::ifstream in(path, std::ios::binary);
  FOVEA_CHECK(in.is_open(), "cannot open '", path, "' for reading");
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number);
    FOVEA_CHECK(line.size() <= kMaxLineBytes, where, ": line of ", line.size(),
                " bytes, expected at most ", kMaxLineBytes);
    PredictionRecord r;
    bool blank = false;
    if (parse_prediction_line(line, where, r, blank)) {
      scan.records.push_back(std::move(r));
      ++file.records;
    } else if (!blank) {
      ++file.error_lines;
    }
  }
  FOVEA_CHECK(!in.bad(), "error while reading ", path);
}

inline void read_csv(const std::string& path, Scan& scan, ScanFile& file) {
  std::ifstream in(path, std::ios::binary);
  FOVEA_CHECK(in.is_open(), "cannot open '", path, "' for reading");
  CsvReader reader(in, path);
  std::vector<std::string> row;
  FOVEA_CHECK(reader.next(row), path, ": empty file, expected a header row");
  const PredictionCsvColumns columns(row, reader.where());
  while (reader.next(row)) {
    if (is_blank_row(row)) continue;
    scan.records.push_back(columns.parse(row, reader.where()));
    ++file.records;
  }
}

inline void read_predictions(const std::string& path, Scan& scan) {
  ScanFile file;
  file.path = path;
  file.sha256 = hash_file(path);
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0) {
    read_csv(path, scan, file);
  } else {
    read_jsonl(path, scan, file);
  }
  scan.error_lines += file.error_lines;
  scan.files.push_back(std::move(file));
}

inline int64_t count_nonblank_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FOVEA_CHECK(in.is_open(), "cannot open '", path, "' for reading");
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line))
    n += line.find_first_not_of(" \t\r") != std::string::npos;
  return n;
}

// A _SUCCESS file: its hash, and its JSON object (counts and lineage) when it holds one.
inline void read_success(const std::string& path, Scan& scan) {
  std::ifstream in(path, std::ios::binary);
  FOVEA_CHECK(in.is_open(), "cannot open '", path, "' for reading");
  std::ostringstream text;
  text << in.rdbuf();
  json::Value marker = json::Value::object();
  marker.set("path", path);
  marker.set("sha256", hash_file(path));
  const std::string content = text.str();
  if (content.find_first_not_of(" \t\r\n") != std::string::npos) {
    try {
      json::Value v = json::parse(content, path);
      if (v.is_object()) {
        marker.set("content", std::move(v));
      } else {
        scan.warnings.push_back(path + ": expected a JSON object, the marker's lineage is ignored");
      }
    } catch (const Error& e) {
      scan.warnings.push_back(std::string(e.what()) + " (the marker's lineage is ignored)");
    }
  }
  scan.success_markers.push_back(std::move(marker));
}

inline void read_directory(const std::filesystem::path& dir, Scan& scan) {
  namespace fs = std::filesystem;
  // shard -> {jsonl path, csv path}; shard -1 is the unsharded scan.
  std::map<int64_t, std::pair<std::string, std::string>> shards;
  std::set<int64_t> success_shards, shard_counts;
  bool unsharded_success = false;
  std::vector<std::string> error_files;
  const std::regex part(R"(part-(\d{1,6})-of-(\d{1,6})\.(jsonl|csv))");
  const std::regex success(R"(_SUCCESS-(\d{1,6})-of-(\d{1,6}))");
  const std::regex errors(R"(errors(-\d{1,6}-of-\d{1,6})?\.jsonl)");
  std::error_code error;
  std::vector<fs::path> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, error))
    entries.push_back(e.path());
  FOVEA_CHECK(!error, "cannot list '", dir.string(), "': ", error.message());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    const std::string name = p.filename().string();
    std::smatch m;
    if (name == "predictions.jsonl" || name == "predictions.csv") {
      (name.back() == 'l' ? shards[-1].first : shards[-1].second) = p.string();
    } else if (std::regex_match(name, m, part)) {
      const int64_t i = std::stoll(m[1]), n = std::stoll(m[2]);
      FOVEA_CHECK(n >= 1 && i < n, p.string(), ": shard ", i, " of ", n, " is out of range");
      shard_counts.insert(n);
      (m[3] == "jsonl" ? shards[i].first : shards[i].second) = p.string();
    } else if (std::regex_match(name, m, success)) {
      success_shards.insert(std::stoll(m[1]));
      shard_counts.insert(std::stoll(m[2]));
      read_success(p.string(), scan);
    } else if (name == "_SUCCESS") {
      unsharded_success = true;
      read_success(p.string(), scan);
    } else if (std::regex_match(name, errors)) {
      error_files.push_back(p.string());
    }
  }
  FOVEA_CHECK(!shards.empty(), "'", dir.string(), "' holds no predictions.jsonl, ",
              "predictions.csv or part-I-of-N.jsonl/.csv files: is it a scan directory?");
  FOVEA_CHECK(shards.count(-1) == 0 || shards.size() == 1, "'", dir.string(),
              "' holds both predictions.* and part-I-of-N files: expected one scan");
  FOVEA_CHECK(
      shard_counts.size() <= 1, "'", dir.string(),
      "' holds shards of different scans (N differs among part-I-of-N and _SUCCESS-I-of-N)");
  for (const auto& [shard, forms] : shards)
    read_predictions(forms.first.empty() ? forms.second : forms.first, scan);
  for (const std::string& path : error_files)
    scan.error_file_records += count_nonblank_lines(path);

  if (shards.count(-1) != 0) {
    if (!unsharded_success)
      scan.warnings.push_back(dir.string() + ": no _SUCCESS: the scan may be unfinished");
    return;
  }
  const int64_t n = *shard_counts.begin();
  std::string missing, unfinished;
  for (int64_t i = 0; i < n; ++i) {
    if (shards.count(i) == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    if (shards.count(i) != 0 && success_shards.count(i) == 0)
      unfinished += (unfinished.empty() ? "" : ", ") + std::to_string(i);
  }
  if (!missing.empty()) {
    scan.warnings.push_back(dir.string() + ": shards incomplete: " + std::to_string(shards.size()) +
                            " of " + std::to_string(n) + " part files, missing part " + missing);
  }
  if (!unfinished.empty()) {
    scan.warnings.push_back(dir.string() + ": no _SUCCESS-I-of-" + std::to_string(n) +
                            " for shard " + unfinished + ": it may be unfinished");
  }
}

}  // namespace detail

// Reads a scan directory or one prediction file. Throws fovea::Error naming the file (and line)
// for anything unreadable or malformed; gaps in a directory are warnings in the result.
inline Scan read_scan(const std::string& source) {
  Scan scan;
  scan.source = source;
  std::error_code error;
  FOVEA_CHECK(std::filesystem::exists(source, error), "cannot read '", source,
              "': no such file or directory");
  if (std::filesystem::is_directory(source, error)) {
    detail::read_directory(source, scan);
  } else {
    detail::read_predictions(source, scan);
  }
  // Records from several models in one scan are almost always a mistake in putting it together.
  std::set<std::string> models;
  for (const PredictionRecord& r : scan.records)
    if (!r.model_sha256.empty()) models.insert(r.model_sha256);
  if (models.size() > 1) {
    scan.warnings.push_back(source + ": records come from " + std::to_string(models.size()) +
                            " different models (model.sha256)");
  }
  return scan;
}

}  // namespace fovea::report
