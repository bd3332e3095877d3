// JPEG and PNG encodings of small images, for the image target's seeds (seed_images.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "fovea/image/image.hpp"

namespace fovea::fuzz {

std::vector<uint8_t> jpeg_of(const Image& img, int quality);
std::vector<uint8_t> png_of(const Image& img);

}  // namespace fovea::fuzz
