#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "fovea/data/augment.hpp"
#include "fovea/data/image_set.hpp"
#include "fovea/data/mnist.hpp"

using namespace fovea;

namespace {

data::ImageSet tiny_set(int n) {
  data::ImageSet s;
  s.channels = 1, s.height = 2, s.width = 3, s.num_classes = 2;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 6; ++k)
      s.pixels.push_back(uint8_t(i * 7 + k));
    s.labels.push_back(i % 4 == 0 ? 1 : 0);  // a quarter are class 1
  }
  return s;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("stratified split keeps class proportions and is seeded") {
    const data::ImageSet s = tiny_set(40);  // 10 of class 1, 30 of class 0
    const data::Split a = data::stratified_split(s.labels, 0.2, 7);
    CHECK(a.val.size() == 8);  // 2 + 6
    int val_ones = 0;
    for (int64_t i : a.val)
      val_ones += int(s.labels[size_t(i)]);
    CHECK(val_ones == 2);
    std::set<int64_t> all(a.train.begin(), a.train.end());
    all.insert(a.val.begin(), a.val.end());
    CHECK(all.size() == 40);
    CHECK(data::stratified_split(s.labels, 0.2, 7).val == a.val);
    CHECK(data::stratified_split(s.labels, 0.2, 8).val != a.val);
    CHECK(data::count_shared_images(s, a.train, s, a.val) == 0);
  }

  TEST_CASE("content hash finds the same image in two splits") {
    data::ImageSet s = tiny_set(6);
    std::copy(s.image(1), s.image(1) + 6, s.pixels.begin() + 4 * 6);  // image 4 := image 1
    CHECK(data::content_hash(s, 1) == data::content_hash(s, 4));
    CHECK(data::content_hash(s, 1) != data::content_hash(s, 2));
    CHECK(data::count_shared_images(s, {0, 1, 2}, s, {3, 4, 5}) == 1);
  }

  TEST_CASE("seeded shuffle is a reproducible permutation") {
    std::vector<int64_t> a = data::all_indices(50), b = a;
    Rng r1(3), r2(3);
    data::shuffle(a, r1);
    data::shuffle(b, r2);
    CHECK(a == b);
    CHECK(a != data::all_indices(50));
    std::sort(a.begin(), a.end());
    CHECK(a == data::all_indices(50));
  }

  TEST_CASE("make_batch normalizes pads and flips") {
    const data::ImageSet s = tiny_set(2);
    data::Normalization norm;
    norm.mean = {0.5f}, norm.std = {0.25f};
    const data::Batch plain = data::make_batch(s, {1}, {}, nullptr, norm, 1);
    CHECK(plain.images.shape() == Shape({1, 1, 4, 5}));
    CHECK(plain.labels == std::vector<int64_t>{0});
    // Image 1, pixel (0, 0) is 7: (7/255 − 0.5) / 0.25; the border is a zero pixel, −2.
    CHECK(plain.images(0, 0, 1, 1) == doctest::Approx((7 / 255.0 - 0.5) / 0.25));
    CHECK(plain.images(0, 0, 0, 0) == -2.0f);
    data::Augmentation flip;
    flip.horizontal_flip = true;
    Rng rng(1);
    bool flipped_once = false;
    for (int i = 0; i < 8; ++i) {
      const data::Batch b = data::make_batch(s, {1}, flip, &rng, {}, 0);
      // Pixel (0, 0) is 7 unflipped, 9 (the row's last) flipped.
      CHECK((b.images(0, 0, 0, 0) == 7 / 255.0f || b.images(0, 0, 0, 0) == 9 / 255.0f));
      flipped_once = flipped_once || b.images(0, 0, 0, 0) == 9 / 255.0f;
    }
    CHECK(flipped_once);
  }

  TEST_CASE("MNIST test set loads with its known label counts") {
    const std::string dir = std::string(FOVEA_SOURCE_DIR) + "/../shared/data/mnist";
    if (!std::ifstream(dir + "/t10k-labels-idx1-ubyte.gz").good()) return;
    const data::ImageSet test = data::read_mnist_split(dir, "t10k");
    CHECK(test.size() == 10000);
    CHECK(test.height == 28);
    std::vector<int> counts(10, 0);
    for (int64_t y : test.labels)
      ++counts[size_t(y)];
    CHECK(counts == std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  }
}
