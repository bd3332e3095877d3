// What a scan reads: the image paths found under the directories and files given, or listed in
// a manifest, and the share of them that belongs to one shard.
//
// Shards split the sorted, de-duplicated list by a stable hash of each path (64-bit FNV-1a of
// its bytes), so every machine of a job computes the same split from the same inputs, without
// talking to the others, and a path stays in its shard when other files are added or removed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "fovea/core/error.hpp"
#include "image_files.hpp"
#include "sha256.hpp"

namespace fovea::scan {

// 64-bit FNV-1a: simple, fast, and the same on every machine and compiler, unlike std::hash.
inline uint64_t stable_path_hash(const std::string& path) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : path) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline bool in_shard(const std::string& path, int64_t index, int64_t count) {
  return static_cast<int64_t>(stable_path_hash(path) % static_cast<uint64_t>(count)) == index;
}

// Every JPEG, PNG or BMP under a directory (recursively), or the file itself. A path that does
// not exist is a usage error the caller reports; files given by name are taken whatever their
// extension, so a misnamed image still gets a record or an error.
inline void add_scan_path(const std::string& path, std::vector<std::string>& out) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  FOVEA_CHECK(!error, path, ": ", error.message());
  if (std::filesystem::is_directory(status)) {
    const auto options = std::filesystem::directory_options::skip_permission_denied;
    for (std::filesystem::recursive_directory_iterator it(path, options, error), end;
         !error && it != end; it.increment(error)) {
      if (it->is_regular_file(error) && examples::is_image_file_name(it->path()))
        out.push_back(it->path().string());
    }
    FOVEA_CHECK(!error, path, ": while listing it: ", error.message());
  } else {
    out.push_back(path);
  }
}

// The paths of a manifest: one a line; blank lines and lines starting with '#' are skipped.
// "-" reads standard input.
inline void add_manifest(const std::string& manifest, std::vector<std::string>& out) {
  std::ifstream file;
  if (manifest != "-") {
    file.open(manifest);
    FOVEA_CHECK(file.good(), manifest, ": cannot open the manifest");
  }
  std::istream& in = manifest == "-" ? std::cin : file;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  FOVEA_CHECK(!in.bad(), manifest, ": read error");
}

struct ScanInputs {
  std::vector<std::string> all;    // every input, sorted and de-duplicated
  std::vector<std::string> shard;  // those of this shard, sorted
  std::string manifest_sha256;     // of `all`, one path a line: the same on every shard
};

inline ScanInputs collect_inputs(const std::vector<std::string>& paths, const std::string& manifest,
                                 int64_t shard_index, int64_t shard_count) {
  ScanInputs inputs;
  for (const std::string& p : paths)
    add_scan_path(p, inputs.all);
  if (!manifest.empty()) add_manifest(manifest, inputs.all);
  std::sort(inputs.all.begin(), inputs.all.end());
  inputs.all.erase(std::unique(inputs.all.begin(), inputs.all.end()), inputs.all.end());
  examples::Sha256 digest;
  for (const std::string& p : inputs.all) {
    digest.update(p).update("\n", 1);
    if (in_shard(p, shard_index, shard_count)) inputs.shard.push_back(p);
  }
  inputs.manifest_sha256 = digest.hex();
  return inputs;
}

}  // namespace fovea::scan
