// Debian's stb_image_write, in a translation unit of its own that the build compiles without
// sanitizers: its JPEG bit writer shifts a signed int past its range (stbiw__jpg_writeBits),
// which UBSan reports though every compiler we use gives the intended bits. It only writes
// test seeds; the decoder under test is fovea's stb_image wrapper, which stays instrumented.
#include "seed_images.hpp"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace fovea::fuzz {

namespace {
void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}
}  // namespace

std::vector<uint8_t> jpeg_of(const Image& img, int quality) {
  std::vector<uint8_t> out;
  stbi_write_jpg_to_func(append, &out, int(img.width), int(img.height), int(img.channels),
                         img.pixels.data(), quality);
  return out;
}

std::vector<uint8_t> png_of(const Image& img) {
  std::vector<uint8_t> out;
  stbi_write_png_to_func(append, &out, int(img.width), int(img.height), int(img.channels),
                         img.pixels.data(), int(img.width * img.channels));
  return out;
}

}  // namespace fovea::fuzz
