// Image: 8-bit pixels in height x width x channels order (HWC, interleaved), as decoders give
// them and as PIL and OpenCV hold them. The image pipeline works on this type until the last
// step, which turns it into a float NCHW tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "fovea/config.hpp"
#include "fovea/core/error.hpp"

namespace fovea {

// The most pixels an image may have (100 megapixels, 300 MB as RGB): decoders refuse larger
// headers (DecodeLimits), and resizing or cropping to a larger size is refused too, so a typo
// such as --resize 100000 gets an error, not an allocation failure.
inline constexpr int64_t kMaxImagePixels = 100'000'000;

struct Image {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels bytes, row after row

  Image() = default;
  // A zero-filled image.
  Image(int64_t h, int64_t w, int64_t c) : height(h), width(w), channels(c) {
    FOVEA_CHECK(h >= 0 && w >= 0 && c > 0, "image size ", h, "x", w, "x", c, " is invalid");
    FOVEA_CHECK(w == 0 || h <= kMaxImagePixels / w, "image size ", h, "x", w,
                " is over the limit of ", kMaxImagePixels, " pixels");
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
