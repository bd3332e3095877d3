// Batches from an ImageSet with training augmentation: random crop from a zero-padded image,
// horizontal flip, small rotation (nearest neighbour about the centre) and colour jitter
// (brightness and contrast factors), then per-channel normalization. All randomness comes from
// the caller's generator, so a seed fixes every batch.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/data/image_set.hpp"

namespace fovea::data {

struct Augmentation {
  int64_t pad = 0;           // place the image in a canvas this much larger on every side ...
  bool random_crop = false;  // ... and crop it back at a random offset (else centred)
  bool horizontal_flip = false;
  double max_rotation_degrees = 0;
  double brightness = 0;  // factor drawn from [1 − b, 1 + b]
  double contrast = 0;    // factor drawn from [1 − c, 1 + c] about the image mean
};

struct Normalization {
  std::vector<float> mean{0.0f}, std{1.0f};  // per channel, on pixel / 255; one value is shared
};

struct Batch {
  Tensor<float> images;  // (N, C, H + 2·out_pad, W + 2·out_pad)
  std::vector<int64_t> labels;
};

// Images `indices` of `set`, augmented (pass nullptr for none), zero-padded by `out_pad` on
// every side (LeNet's 28 → 32) and normalized.
inline Batch make_batch(const ImageSet& set, const std::vector<int64_t>& indices,
                        const Augmentation& aug, Rng* rng, const Normalization& norm,
                        int64_t out_pad = 0) {
  const int64_t c = set.channels, h = set.height, w = set.width;
  const int64_t oh = h + 2 * out_pad, ow = w + 2 * out_pad;
  Batch batch{Tensor<float>(Shape{int64_t(indices.size()), c, oh, ow}), {}};
  std::vector<float> canvas(static_cast<size_t>(c * h * w));
  for (size_t b = 0; b < indices.size(); ++b) {
    const uint8_t* src = set.image(indices[b]);
    batch.labels.push_back(set.labels[static_cast<size_t>(indices[b])]);
    int64_t dy = 0, dx = 0;
    bool flip = false;
    double angle = 0, bright = 1, contrast = 1;
    if (rng != nullptr) {
      if (aug.random_crop && aug.pad > 0) {
        dy = static_cast<int64_t>(rng->below(uint64_t(2 * aug.pad + 1))) - aug.pad;
        dx = static_cast<int64_t>(rng->below(uint64_t(2 * aug.pad + 1))) - aug.pad;
      }
      if (aug.horizontal_flip) flip = rng->uniform() < 0.5;
      if (aug.max_rotation_degrees > 0)
        angle = rng->uniform(-aug.max_rotation_degrees, aug.max_rotation_degrees) * M_PI / 180;
      if (aug.brightness > 0) bright = rng->uniform(1 - aug.brightness, 1 + aug.brightness);
      if (aug.contrast > 0) contrast = rng->uniform(1 - aug.contrast, 1 + aug.contrast);
    }
    // Output pixel (y, x) reads source (y + dy, x + dx) after flip and rotation; outside is 0.
    const double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
    const double cos_a = std::cos(angle), sin_a = std::sin(angle);
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          const double ry = y - cy, rx = (flip ? w - 1 - x : x) - cx;
          const int64_t sy = std::lround(cy + cos_a * ry - sin_a * rx) + dy;
          const int64_t sx = std::lround(cx + sin_a * ry + cos_a * rx) + dx;
          const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          const float v = inside ? src[(ch * h + sy) * w + sx] / 255.0f : 0.0f;
          canvas[static_cast<size_t>((ch * h + y) * w + x)] = v;
          sum += v;
        }
      }
      const double mean = sum / double(h * w);
      const float m = norm.mean[norm.mean.size() == 1 ? 0 : size_t(ch)];
      const float s = norm.std[norm.std.size() == 1 ? 0 : size_t(ch)];
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          double v = canvas[static_cast<size_t>((ch * h + y) * w + x)];
          if (contrast != 1 || bright != 1)
            v = std::clamp(((v - mean) * contrast + mean) * bright, 0.0, 1.0);
          batch.images(int64_t(b), ch, y + out_pad, x + out_pad) = static_cast<float>((v - m) / s);
        }
      }
      // The out_pad border is padding of the raw image: it normalizes as a zero pixel would.
      if (out_pad > 0) {
        const float zero = (0.0f - m) / s;
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t x = 0; x < ow; ++x)
            if (y < out_pad || y >= h + out_pad || x < out_pad || x >= w + out_pad)
              batch.images(int64_t(b), ch, y, x) = zero;
      }
    }
  }
  return batch;
}

}  // namespace fovea::data
