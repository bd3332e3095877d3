// An image-folder dataset (torchvision's ImageFolder layout): root/<class>/<image>, the class
// index being the position of the folder name in sorted order. Every image must decode to the
// same size and channel count; they are held in memory as an ImageSet.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "fovea/data/image_set.hpp"
#include "fovea/image/decode.hpp"

namespace fovea::data {

// `per_class_limit` > 0 reads only the first that many files (sorted by name) of each class.
inline ImageSet read_image_folder(const std::string& root, int64_t per_class_limit = 0) {
  namespace fs = std::filesystem;
  FOVEA_CHECK(fs::is_directory(root), "image folder '", root, "' is not a directory");
  ImageSet set;
  for (const fs::directory_entry& e : fs::directory_iterator(root))
    if (e.is_directory()) set.class_names.push_back(e.path().filename().string());
  std::sort(set.class_names.begin(), set.class_names.end());
  FOVEA_CHECK(!set.class_names.empty(), "image folder '", root, "' has no class folders");
  set.num_classes = int64_t(set.class_names.size());
  for (size_t label = 0; label < set.class_names.size(); ++label) {
    std::vector<std::string> files;
    for (const fs::directory_entry& e : fs::directory_iterator(root + "/" + set.class_names[label]))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (per_class_limit > 0 && int64_t(files.size()) > per_class_limit)
      files.resize(size_t(per_class_limit));
    for (const std::string& path : files) {
      const Image img = read_image(path);
      if (set.labels.empty()) {
        set.channels = img.channels, set.height = img.height, set.width = img.width;
      }
      FOVEA_CHECK(
          img.channels == set.channels && img.height == set.height && img.width == set.width, path,
          " is ", img.height, "x", img.width, "x", img.channels, ", the folder's ",
          "first image is ", set.height, "x", set.width, "x", set.channels);
      // Image is interleaved (H, W, C); ImageSet stores channel planes.
      for (int64_t c = 0; c < img.channels; ++c)
        for (int64_t y = 0; y < img.height; ++y)
          for (int64_t x = 0; x < img.width; ++x)
            set.pixels.push_back(img.at(y, x, c));
      set.labels.push_back(int64_t(label));
    }
  }
  return set;
}

}  // namespace fovea::data
