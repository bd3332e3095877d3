#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fovea/image/resize.hpp"
#include "image/error_of.hpp"
#include "image/hand_encoded.hpp"

using namespace fovea;

namespace {

Image row_image(const std::vector<uint8_t>& values) {
  Image img(1, static_cast<int64_t>(values.size()), 1);
  img.pixels = values;
  return img;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("halving a row averages over the widened triangle filter") {
    // 4 -> 2: scale 2, so the triangle's support widens from 1 to 2 pixels. Output 0 is
    // centred at 1.0 and reads inputs 0..2 with weights tri(-0.25), tri(0.25), tri(0.75) =
    // 0.75, 0.75, 0.25, normalized to 3/7, 3/7, 1/7: (0*3 + 70*3 + 140) / 7 = 50. Output 1 reads
    // inputs 1..3 with 1/7, 3/7, 3/7: (70 + 140*3 + 210*3) / 7 = 160. A bilinear resize without
    // antialiasing would sample at 0.5 and 2.5 and give 35 and 175.
    const Image got = resize(row_image({0, 70, 140, 210}), 1, 2);
    REQUIRE(got.width == 2);
    CHECK(got.at(0, 0, 0) == 50);
    CHECK(got.at(0, 1, 0) == 160);
  }

  TEST_CASE("doubling a row interpolates at quarter positions") {
    // 2 -> 4: scale 0.5, support 1. Centres 0.25, 0.75, 1.25, 1.75 in input pixels: the outer
    // ones see a single input, the inner ones weight the two inputs 3:1 and 1:3. Pillow's
    // fixed-point rounding adds one half and truncates, so 75 stays 75.
    const Image got = resize(row_image({0, 100}), 1, 4);
    REQUIRE(got.width == 4);
    CHECK(got.at(0, 0, 0) == 0);
    CHECK(got.at(0, 1, 0) == 25);
    CHECK(got.at(0, 2, 0) == 75);
    CHECK(got.at(0, 3, 0) == 100);
  }

  TEST_CASE("resizing runs along the height too and leaves an unchanged size untouched") {
    Image column(4, 1, 1);
    column.pixels = {0, 70, 140, 210};
    const Image got = resize(column, 2, 1);
    REQUIRE(got.height == 2);
    CHECK(got.at(0, 0, 0) == 50);
    CHECK(got.at(1, 0, 0) == 160);

    const Image img = test::numbered_image(5, 7);
    CHECK(resize(img, 5, 7).pixels == img.pixels);
    const Image flat = Image(6, 9, 3);  // all zeros stay zero at any size
    for (uint8_t v : resize(flat, 4, 13).pixels)
      CHECK(v == 0);
    CHECK_THROWS_AS(resize(img, 0, 7), Error);
  }

  TEST_CASE("a resize or crop past the pixel limit is refused with the size, not attempted") {
    const Image img(2, 1000, 3);
    // --resize 100000 on a 2×1000 image: 100000 × 50000000 pixels.
    const std::string error = test::error_of([&] { resize_shorter(img, 100000); });
    CHECK(error.find("image size 100000x50000000 is over the limit of 100000000 pixels") !=
          std::string::npos);
    CHECK_THROWS_AS(center_crop(img, 20000, 20000), Error);
  }

  TEST_CASE("a constant image stays constant at every size") {
    Image img(17, 23, 3);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = i % 3 == 0 ? 255 : 131;
    for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{5, 6}, {40, 3}, {1, 1}}) {
      const Image got = resize(img, h, w);
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          CHECK(got.at(y, x, 0) == 255);
          CHECK(got.at(y, x, 1) == 131);
        }
      }
    }
  }

  TEST_CASE("shorter side targets truncate the longer side as torchvision does") {
    // 375 x 500 to 256: int(256 * 500 / 375) = int(341.33) = 341.
    CHECK(shorter_side_target(375, 500, 256) == std::make_pair<int64_t, int64_t>(256, 341));
    CHECK(shorter_side_target(500, 375, 256) == std::make_pair<int64_t, int64_t>(341, 256));
    // The goldfish sample, 263 x 376: int(256 * 376 / 263) = int(365.99) = 365.
    CHECK(shorter_side_target(263, 376, 256) == std::make_pair<int64_t, int64_t>(256, 365));
    CHECK(shorter_side_target(300, 300, 224) == std::make_pair<int64_t, int64_t>(224, 224));
    const Image img = resize_shorter(test::numbered_image(10, 20), 5);
    CHECK(img.height == 5);
    CHECK(img.width == 10);
  }

  TEST_CASE("center crop starts where Python's round-half-to-even puts it") {
    // round(0.5) = 0, round(1.5) = 2, round(2.5) = 2, round(3.5) = 4.
    CHECK(detail::center_crop_start(5, 4) == 0);
    CHECK(detail::center_crop_start(7, 4) == 2);
    CHECK(detail::center_crop_start(9, 4) == 2);
    CHECK(detail::center_crop_start(11, 4) == 4);
    CHECK(detail::center_crop_start(256, 224) == 16);
    CHECK(detail::center_crop_start(365, 224) == 70);  // round(70.5) = 70

    Image img(7, 9, 1);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = static_cast<uint8_t>(i);
    const Image got = center_crop(img, 4, 4);
    // Top 2 (round(1.5)), left 2 (round(2.5)).
    CHECK(got.at(0, 0, 0) == img.at(2, 2, 0));
    CHECK(got.at(3, 3, 0) == img.at(5, 5, 0));
  }

  TEST_CASE("a crop larger than the image pads with zeros like torchvision") {
    // Width 2 cropped to 5: torchvision pads (5 - 2) // 2 = 1 column left and 2 right.
    Image img(3, 2, 1);
    img.pixels = {1, 2, 3, 4, 5, 6};
    const Image got = center_crop(img, 3, 5);
    const std::vector<uint8_t> want = {0, 1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 5, 6, 0, 0};
    CHECK(got.pixels == want);
  }
}
