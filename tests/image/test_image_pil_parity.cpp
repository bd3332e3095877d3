// fovea's image pipeline against Pillow and torchvision, on reference data that
// make_pil_fixtures.py writes at build time (see CMakeLists.txt in this directory).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fovea/image/preprocess.hpp"
#include "fovea/io/npy.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

const std::string kFixtures = std::string(FOVEA_BINARY_DIR) + "/tests/image/pil_fixtures/";
const std::string kGoldfish =
    std::string(FOVEA_SOURCE_DIR) + "/../shared/data/imagenet/samples/n01443537_goldfish.JPEG";

// An (H, W, 3) uint8 .npy array as an Image.
Image read_npy_image(const std::string& name) {
  const Tensor<uint8_t> t = read_npy<uint8_t>(kFixtures + name);
  REQUIRE(t.rank() == 3);
  Image img(t.dim(0), t.dim(1), t.dim(2));
  img.pixels.assign(t.begin(), t.end());
  return img;
}

Tensor<float> read_npy_chw(const std::string& name) {
  const Tensor<float> t = read_npy<float>(kFixtures + name);
  REQUIRE(t.rank() == 3);
  return t.reshape(Shape{1, t.dim(0), t.dim(1), t.dim(2)});
}

struct PixelDiff {
  int max = 0;
  double mean = 0;
  double share_off = 0;  // fraction of bytes that differ at all
};

PixelDiff pixel_diff(const Image& got, const Image& want) {
  REQUIRE(got.height == want.height);
  REQUIRE(got.width == want.width);
  REQUIRE(got.channels == want.channels);
  PixelDiff d;
  int64_t off = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i) {
    const int diff = std::abs(int{got.pixels[i]} - int{want.pixels[i]});
    d.max = std::max(d.max, diff);
    d.mean += diff;
    off += diff != 0;
  }
  d.mean /= static_cast<double>(got.pixels.size());
  d.share_off = static_cast<double>(off) / static_cast<double>(got.pixels.size());
  return d;
}

}  // namespace

TEST_SUITE("torch") {
  TEST_CASE("bilinear resize equals Pillow's Image.resize exactly") {
    std::ifstream manifest(kFixtures + "resize_cases.txt");
    REQUIRE_MESSAGE(manifest, "missing ", kFixtures,
                    "resize_cases.txt: build the test_image_pil_parity target with "
                    "Pillow and torchvision in FOVEA_TORCH_PYTHON");
    std::string name;
    int64_t in_h, in_w, out_h, out_w;
    int cases = 0;
    while (manifest >> name >> in_h >> in_w >> out_h >> out_w) {
      CAPTURE(name);
      const Image in = read_npy_image("resize_" + name + "_in.npy");
      const Image want = read_npy_image("resize_" + name + "_out.npy");
      REQUIRE(in.height == in_h);
      const PixelDiff d = pixel_diff(resize(in, out_h, out_w), want);
      MESSAGE(name, " ", in_h, "x", in_w, " -> ", out_h, "x", out_w, ": max diff ", d.max,
              " levels");
      CHECK(d.max == 0);
      ++cases;
    }
    CHECK(cases == 8);
  }

  TEST_CASE("PNG decode and the torchvision ImageNet transform match torchvision exactly") {
    const Image decoded = read_image(kFixtures + "random.png");
    CHECK(pixel_diff(decoded, read_npy_image("random_rgb.npy")).max == 0);

    const Tensor<float> got = preprocess(decoded, Preprocessing::torchvision_imagenet());
    const Tensor<float> want = read_npy_chw("random_torchvision.npy");
    const double err = test::max_abs_error(got, want);
    MESSAGE(
        "Resize(256)+CenterCrop(224)+ToTensor+Normalize on a random 300x451 PNG: max abs "
        "diff ",
        err);
    CHECK(err == 0.0);

    const Tensor<float> caffe = preprocess(decoded, Preprocessing::keras_caffe());
    const double caffe_err = test::max_abs_error(caffe, read_npy_chw("random_caffe.npy"));
    MESSAGE("caffe recipe on the same image: max abs diff ", caffe_err);
    CHECK(caffe_err == 0.0);
  }

  TEST_CASE("goldfish JPEG: stb_image against libjpeg and the whole pipeline against torchvision") {
    const Image pil = read_npy_image("goldfish_rgb.npy");
    const Image stb = read_image(kGoldfish);
    const PixelDiff d = pixel_diff(stb, pil);
    MESSAGE("JPEG decode, stb_image vs Pillow/libjpeg: max ", d.max, " levels, mean ", d.mean, ", ",
            100 * d.share_off, "% of bytes differ");
    // The two decoders use different IDCTs and chroma upsampling. Measured: max 2 levels, 0.7% of
    // bytes off by any amount; the bounds leave room for stb's scalar IDCT on non-SSE2 machines.
    CHECK(d.max <= 4);
    CHECK(d.mean < 0.05);

    const Tensor<float> want = read_npy_chw("goldfish_torchvision.npy");
    // From Pillow's pixels the pipeline itself must be exact.
    const double from_pil = test::max_abs_error(preprocess(pil, Preprocessing{}), want);
    MESSAGE("goldfish, pipeline from Pillow's pixels vs torchvision: max abs diff ", from_pil);
    CHECK(from_pil == 0.0);
    // From fovea's own decode the decoder difference shows, scaled by 1 / (255 * std) ~ 0.0175
    // per level.
    const double end_to_end = test::max_abs_error(load_batch({kGoldfish}, Preprocessing{}), want);
    MESSAGE("goldfish, read_image + preprocess vs torchvision on Pillow: max abs diff ",
            end_to_end);
    CHECK(end_to_end <= 4 / (255 * 0.224) + 1e-6);
  }
}
