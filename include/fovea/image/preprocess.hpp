// The whole input pipeline: decode, resize the shorter side, center-crop, normalize, batch.
// With the default Preprocessing this is torchvision's ImageNet evaluation transform on a PIL
// image (Resize(256), CenterCrop(224), ToTensor(), Normalize(mean, std)).
#pragma once

#include <string>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/image/decode.hpp"
#include "fovea/image/image.hpp"
#include "fovea/image/preprocessing.hpp"
#include "fovea/image/resize.hpp"
#include "fovea/image/to_tensor.hpp"

namespace fovea {

// The geometric steps of p: resize the shorter side to p.resize, then center-crop p.crop square
// (either skipped when 0).
inline Image resize_and_crop(const Image& img, const Preprocessing& p) {
  p.validate();
  Image out = p.resize > 0 ? resize_shorter(img, p.resize) : img;
  if (p.crop > 0) out = center_crop(out, p.crop, p.crop);
  return out;
}

// One decoded image as a (1, 3, H, W) network input.
inline Tensor<float> preprocess(const Image& img, const Preprocessing& p) {
  return image_to_tensor(resize_and_crop(img, p), p);
}

// Image files as one (N, 3, H, W) network input. Errors name the file at fault.
inline Tensor<float> load_batch(const std::vector<std::string>& paths, const Preprocessing& p,
                                const DecodeLimits& limits = {}) {
  std::vector<Image> images;
  images.reserve(paths.size());
  for (const std::string& path : paths)
    images.push_back(resize_and_crop(read_image(path, limits), p));
  return images_to_batch(images, p, paths);
}

}  // namespace fovea
