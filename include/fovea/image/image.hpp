// Image: 8-bit pixels in height x width x channels order (HWC, interleaved), as decoders give
// them and as PIL and OpenCV hold them. The image pipeline works on this type until the last
// step, which turns it into a float NCHW tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "fovea/config.hpp"
#include "fovea/core/error.hpp"

namespace fovea {

struct Image {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels bytes, row after row

  Image() = default;
  // A zero-filled image.
  Image(int64_t h, int64_t w, int64_t c) : height(h), width(w), channels(c) {
    FOVEA_CHECK(h >= 0 && w >= 0 && c > 0, "image size ", h, "x", w, "x", c, " is invalid");
    pixels.assign(static_cast<size_t>(h * w * c), 0);
  }

  bool empty() const { return pixels.empty(); }

  uint8_t& at(int64_t y, int64_t x, int64_t c) {
    return pixels[static_cast<size_t>((y * width + x) * channels + c)];
  }
  uint8_t at(int64_t y, int64_t x, int64_t c) const {
    return pixels[static_cast<size_t>((y * width + x) * channels + c)];
  }
};

}  // namespace fovea
