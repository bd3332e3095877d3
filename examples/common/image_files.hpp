// Finding photos on disk for the programs that read many (calibration, evaluation): which file
// names are images, the sorted list of them in a folder, and an evenly spaced subset.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace fovea::examples {

// A JPEG, PNG or BMP by its extension, in any case.
inline bool is_image_file_name(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpeg" || ext == ".jpg" || ext == ".png" || ext == ".bmp";
}

// The image files in `dir` (and below it when `recursive`), sorted by path.
inline std::vector<std::filesystem::path> image_files_in(const std::filesystem::path& dir,
                                                         bool recursive = false) {
  std::vector<std::filesystem::path> files;
  const auto add = [&](const std::filesystem::directory_entry& entry) {
    if (entry.is_regular_file() && is_image_file_name(entry.path())) files.push_back(entry.path());
  };
  if (recursive) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
      add(entry);
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      add(entry);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// `count` items spread evenly over `all` (all of them when count is 0 or not smaller).
template <class T>
std::vector<T> evenly_spaced(const std::vector<T>& all, int64_t count) {
  const int64_t n = static_cast<int64_t>(all.size());
  if (count <= 0 || count >= n) return all;
  std::vector<T> subset;
  for (int64_t i = 0; i < count; ++i)
    subset.push_back(all[static_cast<size_t>(i * n / count)]);
  return subset;
}

}  // namespace fovea::examples
