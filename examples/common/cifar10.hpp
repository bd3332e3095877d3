// What the CIFAR-10 examples share: finding the JPEG folders (unpacking the archives on first
// use) and the training recipe of He et al. 2016 (padded random crops, flips, the normalization
// the pretrained ResNets were trained with).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "fovea/core/error.hpp"
#include "fovea/train/fit.hpp"

namespace fovea::examples {

// The folder holding train/ and test/: `dir` itself, or `cache` after unpacking dir's archives
// cifar10-jpg-{train,test}.tar.gz there with `tar`.
inline std::string cifar10_root(const std::string& dir, const std::string& cache) {
  namespace fs = std::filesystem;
  if (fs::is_directory(dir + "/train") && fs::is_directory(dir + "/test")) return dir;
  if (fs::is_directory(cache + "/train") && fs::is_directory(cache + "/test")) return cache;
  fs::create_directories(cache);
  for (const char* split : {"train", "test"}) {
    const std::string archive = dir + "/cifar10-jpg-" + split + ".tar.gz";
    FOVEA_CHECK(fs::exists(archive), "no ", dir, "/", split, "/ folder and no ", archive);
    const std::string command = "tar -xzf '" + archive + "' -C '" + cache + "'";
    std::cout << command << "\n";
    FOVEA_CHECK(std::system(command.c_str()) == 0, "'", command, "' failed");
  }
  return cache;
}

// The augmentation and normalization of the CIFAR-10 ResNet recipe, set in `o`.
inline void set_cifar10_recipe(train::FitOptions& o) {
  o.augmentation.pad = 4, o.augmentation.random_crop = true;
  o.augmentation.horizontal_flip = true;
  o.normalization.mean = {0.485f, 0.456f, 0.406f};
  o.normalization.std = {0.229f, 0.224f, 0.225f};
}

}  // namespace fovea::examples
