// From 8-bit HWC images to the float NCHW tensor a network takes: channel reordering, scaling
// and per-channel normalization, one image or a batch.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/image/image.hpp"
#include "fovea/image/preprocessing.hpp"

namespace fovea {

namespace detail {

// torchvision's ToTensor divides by 255 in float32. A float scale can only approximate 1 / 255,
// and multiplying by it differs from that division in the last bit for about half of the pixel
// values. So when scale is the float nearest 1 / k for a whole number k, pixels are divided by k
// instead; this returns k, or 0 when scale is not such a reciprocal.
inline float whole_divisor_of(float scale) {
  const double k = std::round(1.0 / static_cast<double>(scale));
  const bool reciprocal = k >= 1 && k <= 16777216 && static_cast<float>(1.0 / k) == scale;
  return reciprocal ? static_cast<float>(k) : 0.0f;
}

// Writes img into image n of the (N, 3, H, W) tensor out. A channel's value depends only on
// its byte, so each channel's 256 values are computed once, with the same float operations
// (divide by k or multiply by scale, subtract the mean, divide by std), and looked up.
inline void write_normalized(const Image& img, const Preprocessing& p, Tensor<float>& out,
                             int64_t n) {
  const float divisor = whole_divisor_of(p.scale);
  const int64_t plane = img.height * img.width;
  for (int64_t c = 0; c < 3; ++c) {
    const int64_t src_c = p.bgr() ? 2 - c : c;
    const float mean = p.mean[static_cast<size_t>(c)];
    const float std = p.std[static_cast<size_t>(c)];
    float table[256];
    for (int v = 0; v < 256; ++v) {
      const float value = static_cast<float>(v);
      const float scaled = divisor > 0 ? value / divisor : value * p.scale;
      table[v] = (scaled - mean) / std;
    }
    float* dst = &out(n, c, 0, 0);
    const uint8_t* src = img.pixels.data() + src_c;
    for (int64_t i = 0; i < plane; ++i)
      dst[i] = table[src[i * 3]];
  }
}

inline void check_rgb(const Image& img, const std::string& name) {
  FOVEA_CHECK(img.channels == 3 && !img.empty(), name,
              " must be a non-empty 3-channel RGB image, got ", img.height, "x", img.width, "x",
              img.channels);
}

}  // namespace detail

// One RGB image as a (1, 3, H, W) float tensor, channels reordered and normalized by p (the
// resize and crop steps of p are not applied here; see preprocess()).
inline Tensor<float> image_to_tensor(const Image& img, const Preprocessing& p) {
  p.validate();
  detail::check_rgb(img, "the image");
  Tensor<float> out(Shape{1, 3, img.height, img.width});
  detail::write_normalized(img, p, out, 0);
  return out;
}

// Equal-sized RGB images as one (N, 3, H, W) float tensor. names, when given (one per image,
// e.g. file paths), are used in the error for a size mismatch.
inline Tensor<float> images_to_batch(const std::vector<Image>& images, const Preprocessing& p,
                                     const std::vector<std::string>& names = {}) {
  p.validate();
  FOVEA_CHECK(!images.empty(), "cannot make a batch of zero images");
  FOVEA_CHECK(names.empty() || names.size() == images.size(), "got ", names.size(), " names for ",
              images.size(), " images");
  const auto name = [&](size_t i) {
    return "image " + std::to_string(i) + (names.empty() ? "" : " (" + names[i] + ")");
  };
  const Image& first = images.front();
  for (size_t i = 0; i < images.size(); ++i) {
    detail::check_rgb(images[i], name(i));
    FOVEA_CHECK(images[i].height == first.height && images[i].width == first.width, name(i), " is ",
                images[i].height, "x", images[i].width, " but ", name(0), " is ", first.height, "x",
                first.width, ": a batch needs images of one size (set a crop)");
  }
  Tensor<float> out(Shape{static_cast<int64_t>(images.size()), 3, first.height, first.width});
  for (size_t i = 0; i < images.size(); ++i) {
    detail::write_normalized(images[i], p, out, static_cast<int64_t>(i));
  }
  return out;
}

}  // namespace fovea
