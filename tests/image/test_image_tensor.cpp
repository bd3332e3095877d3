#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fovea/image/preprocess.hpp"
#include "image/error_of.hpp"
#include "image/hand_encoded.hpp"

using namespace fovea;
using fovea::test::error_of;

namespace {

Image solid(int64_t h, int64_t w, uint8_t r, uint8_t g, uint8_t b) {
  Image img(h, w, 3);
  for (int64_t i = 0; i < h * w; ++i) {
    img.pixels[static_cast<size_t>(3 * i)] = r;
    img.pixels[static_cast<size_t>(3 * i + 1)] = g;
    img.pixels[static_cast<size_t>(3 * i + 2)] = b;
  }
  return img;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("torchvision normalization of one pixel by hand") {
    // (255 / 255 - 0.485) / 0.229 = 2.2489083, (0 - 0.456) / 0.224 = -2.0357143,
    // (51 / 255 - 0.406) / 0.225 = -0.9155556.
    const Tensor<float> t = image_to_tensor(solid(1, 1, 255, 0, 51), Preprocessing{});
    REQUIRE(t.shape() == Shape{1, 3, 1, 1});
    CHECK(t(0, 0, 0, 0) == doctest::Approx(2.2489083).epsilon(1e-6));
    CHECK(t(0, 1, 0, 0) == doctest::Approx(-2.0357143).epsilon(1e-6));
    CHECK(t(0, 2, 0, 0) == doctest::Approx(-0.9155556).epsilon(1e-6));
  }

  TEST_CASE("scale 1 over 255 divides exactly like torchvision's ToTensor") {
    // ToTensor computes v / 255.0f in float32; v * (1 / 255.0f) differs in the last bit for
    // some v, e.g. 3.
    Preprocessing p;
    p.mean = {0, 0, 0};
    p.std = {1, 1, 1};
    Image img(1, 256, 3);
    for (int v = 0; v < 256; ++v)
      img.at(0, v, 0) = static_cast<uint8_t>(v);
    const Tensor<float> t = image_to_tensor(img, p);
    for (int v = 0; v < 256; ++v)
      CHECK(t(0, 0, 0, v) == static_cast<float>(v) / 255.0f);
  }

  TEST_CASE("caffe recipe reverses channels and subtracts the mean") {
    // Pixel R=10, G=20, B=30 -> channels B, G, R = 30 - 103.939, 20 - 116.779, 10 - 123.68.
    const Tensor<float> t = image_to_tensor(solid(2, 3, 10, 20, 30), Preprocessing::keras_caffe());
    REQUIRE(t.shape() == Shape{1, 3, 2, 3});
    CHECK(t(0, 0, 1, 2) == doctest::Approx(-73.939).epsilon(1e-6));
    CHECK(t(0, 1, 0, 0) == doctest::Approx(-96.779).epsilon(1e-6));
    CHECK(t(0, 2, 1, 1) == doctest::Approx(-113.68).epsilon(1e-6));
  }

  TEST_CASE("a batch keeps image order and refuses mixed sizes") {
    Preprocessing p;
    p.mean = {0, 0, 0};
    p.std = {1, 1, 1};
    p.scale = 1.0f;
    const Tensor<float> t = images_to_batch({solid(2, 2, 1, 2, 3), solid(2, 2, 4, 5, 6)}, p);
    REQUIRE(t.shape() == Shape{2, 3, 2, 2});
    CHECK(t(0, 2, 1, 1) == 3.0f);
    CHECK(t(1, 0, 0, 1) == 4.0f);
    const std::string e = error_of([&] {
      images_to_batch({solid(2, 2, 0, 0, 0), solid(2, 3, 0, 0, 0)}, p, {"a.png", "b.png"});
    });
    CHECK(e ==
          "image 1 (b.png) is 2x3 but image 0 (a.png) is 2x2: a batch needs images of one "
          "size (set a crop)");
    CHECK_THROWS_AS(images_to_batch({}, p), Error);
    CHECK_THROWS_AS(image_to_tensor(test::numbered_image(2, 2, 1), p), Error);
  }

  TEST_CASE("preprocess resizes the shorter side then crops the center") {
    Preprocessing p;
    p.resize = 8;
    p.crop = 6;
    const Tensor<float> t = preprocess(test::numbered_image(20, 10), p);
    CHECK(t.shape() == Shape{1, 3, 6, 6});
    p.resize = 0;
    p.crop = 0;
    CHECK(preprocess(test::numbered_image(20, 10), p).shape() == Shape{1, 3, 20, 10});
    p.crop = 4;
    const Tensor<float> cropped = preprocess(test::numbered_image(7, 9), p);
    // Without a resize the crop is exact pixels: start (2, 2), so element (0, 0) is pixel (2, 2).
    const Image src = test::numbered_image(7, 9);
    CHECK(cropped(0, 1, 0, 0) ==
          (static_cast<float>(src.at(2, 2, 1)) / 255.0f - p.mean[1]) / p.std[1]);
  }

  TEST_CASE("load_batch decodes files and names the one at fault") {
    const std::string a =
        test::write_test_file("image_tensor_a.bmp", test::bmp_bytes(solid(9, 12, 200, 100, 0)));
    const std::string b =
        test::write_test_file("image_tensor_b.png", test::png_bytes(solid(10, 10, 0, 100, 200)));
    Preprocessing p = Preprocessing::keras_caffe();
    p.resize = 6;
    p.crop = 5;
    const Tensor<float> t = load_batch({a, b}, p);
    REQUIRE(t.shape() == Shape{2, 3, 5, 5});
    CHECK(t(0, 0, 2, 2) == doctest::Approx(0 - 103.939));  // blue of image a
    CHECK(t(1, 2, 4, 4) == doctest::Approx(0 - 123.68));   // red of image b
    p.crop = 0;
    CHECK(error_of([&] {
            load_batch({a, b}, p);
          }) == "image 1 (" + b + ") is 6x6 but image 0 (" + a +
                    ") is 6x8: a batch needs images of "
                    "one size (set a crop)");
    const std::string missing = a + ".missing";
    CHECK(error_of([&] { load_batch({a, missing}, p); }).find(missing) == 0);
  }

  TEST_CASE("the preprocessing recipe round-trips through JSON") {
    const std::string torchvision = Preprocessing{}.to_json();
    CHECK(torchvision ==
          "{\"resize\":256,\"crop\":224,\"mean\":[0.485,0.456,0.406],\"std\":[0.229,0.224,0.225],"
          "\"scale\":0.003921569,\"channel_order\":\"RGB\",\"interpolation\":\"bilinear\"}");
    const Preprocessing back = Preprocessing::from_json(torchvision);
    CHECK(back.mean == Preprocessing{}.mean);
    CHECK(back.std == Preprocessing{}.std);
    CHECK(back.scale == 1.0f / 255.0f);

    const Preprocessing caffe = Preprocessing::from_json(
        R"({"resize": 256, "crop": 224, "mean": [103.939, 116.779, 123.68], "std": [1, 1, 1],
            "scale": 1, "channel_order": "BGR", "interpolation": "bilinear"})");
    CHECK(caffe.bgr());
    CHECK(caffe.mean == Preprocessing::keras_caffe().mean);
    CHECK(caffe.scale == 1.0f);
    CHECK(caffe.to_json() == Preprocessing::keras_caffe().to_json());
  }

  TEST_CASE("bad preprocessing JSON names the key at fault") {
    const auto error_for = [](const std::string& text) {
      return error_of([&] { Preprocessing::from_json(text, "meta"); });
    };
    const std::string good = Preprocessing{}.to_json();
    const auto with = [&](const std::string& from, const std::string& to) {
      std::string s = good;
      s.replace(s.find(from), from.size(), to);
      return s;
    };
    CHECK(error_for(with("\"crop\"", "\"corp\"")).find("meta: unknown key \"corp\"") == 0);
    CHECK(error_for(with("\"resize\":256,", "")) == "meta: missing key \"resize\"");
    CHECK(error_for(with("[0.485,0.456,0.406]", "[0.485,0.456]")) ==
          "meta: \"mean\" must be an array of 3 numbers, got [0.485,0.456]");
    CHECK(error_for(with("0.224", "0")) ==
          "meta: preprocessing std[1] must be finite and non-zero, got 0");
    CHECK(error_for(with("\"RGB\"", "\"RBG\"")).find("channel_order must be") != std::string::npos);
    CHECK(error_for(with("\"bilinear\"", "\"bicubic\"")).find("\"bicubic\"") != std::string::npos);
    CHECK(error_for(with("256", "256.5")) == "meta: \"resize\" must be an integer, got 256.5");
    CHECK(error_for("[1, 2]") == "meta: expected a JSON object, got an array");
    CHECK(error_for("{").find("meta: invalid JSON") == 0);
  }
}
