// The photos a program calibrates on (quantize's activation ranges, prune's batch-norm
// statistics): an evenly spaced subset of a folder, read with the weights file's preprocessing
// recipe, and stacked into batches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/image/preprocess.hpp"
#include "fovea/io/json.hpp"
#include "image_files.hpp"

namespace fovea::examples {

// `count` evenly spaced photos of the sorted list under `dir` (searched recursively).
inline std::vector<std::string> calibration_files(const std::string& dir, int64_t count) {
  std::vector<std::string> all;
  for (const std::filesystem::path& file : image_files_in(dir, /*recursive=*/true))
    all.push_back(file.string());
  FOVEA_CHECK(!all.empty(), dir, ": no JPEG, PNG or BMP photos");
  return evenly_spaced(all, count);
}

// The weights file's preprocessing recipe (torchvision's ImageNet one if it has none), with
// `resize` and `crop` applied when not negative. A recipe asking for an interpolation the image
// pipeline lacks (torchvision's EfficientNets say bicubic) calibrates with bilinear resizing
// instead: activation ranges and statistics hardly depend on it, and the file keeps the recipe
// it asked for. `program` names the caller in the note saying so.
inline Preprocessing calibration_recipe(const std::map<std::string, std::string>& metadata,
                                        const std::string& weights, const std::string& program,
                                        int64_t resize = -1, int64_t crop = -1) {
  Preprocessing recipe;
  const auto it = metadata.find("preprocessing");
  if (it != metadata.end()) {
    json::Value doc = json::parse(it->second, weights + " preprocessing");
    const json::Value* interpolation = doc.is_object() ? doc.find("interpolation") : nullptr;
    if (interpolation != nullptr && interpolation->is_string() &&
        interpolation->as_string() != "bilinear") {
      std::cerr << program << ": " << weights << " asks for " << interpolation->as_string()
                << " resizing; calibrating with bilinear (the image pipeline's only one)\n";
      doc.set("interpolation", "bilinear");
    }
    recipe = Preprocessing::from_json(json::dump(doc), weights + " metadata 'preprocessing'");
  }
  if (resize >= 0) recipe.resize = resize;
  if (crop >= 0) recipe.crop = crop;
  return recipe;
}

}  // namespace fovea::examples
