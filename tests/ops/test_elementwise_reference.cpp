#include <doctest/doctest.h>

#include "fovea/nn/dropout.hpp"
#include "fovea/nn/flatten.hpp"
#include "fovea/nn/identity.hpp"
#include "fovea/ops/elementwise/flatten.hpp"
#include "fovea/ops/elementwise/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("add broadcasts [2 1 3] with [4 1] to [2 4 3]") {
    // a[i, 0, k] = 100 i + k and b[j, 0] = 10 j, so out[i, j, k] = 100 i + 10 j + k.
    Tensor<double> a(Shape{2, 1, 3}), b(Shape{4, 1});
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 3; ++k)
        a(i, 0, k) = 100 * i + k;
    for (int j = 0; j < 4; ++j)
      b(j, 0) = 10 * j;
    Tensor<double> sum = add_reference(a, b);
    REQUIRE(sum.shape() == Shape{2, 4, 3});
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j)
        for (int k = 0; k < 3; ++k)
          CHECK(sum(i, j, k) == 100 * i + 10 * j + k);
    CHECK(test::max_relative_error(add_reference(b, a), sum) == 0.0);  // order does not matter
  }

  TEST_CASE("mul broadcasts a per-channel scale and keeps the image layout") {
    // x * s with s [1, 2, 1, 1] = (2, -1): channel 0 doubles, channel 1 flips sign.
    Tensor<float> x(Shape{1, 2, 2, 2});
    for (int64_t i = 0; i < 8; ++i)
      x[i] = static_cast<float>(i + 1);
    Tensor<float> s(Shape{1, 2, 1, 1});
    s[0] = 2.0f, s[1] = -1.0f;
    Tensor<float> y = mul_reference(x.to_layout(Layout::nhwc), s);
    CHECK(y.layout() == Layout::nhwc);
    CHECK(y(0, 0, 1, 1) == 8.0f);
    CHECK(y(0, 1, 0, 1) == -6.0f);
    Tensor<float> scalar = Tensor<float>(Shape{}).fill(3.0f);  // rank 0 broadcasts to anything
    CHECK(mul_reference(scalar, x)(0, 1, 1, 1) == 24.0f);
  }

  TEST_CASE("broadcasting errors name both shapes") {
    Tensor<float> a(Shape{2, 3}), b(Shape{4});
    CHECK_THROWS_WITH_AS(add_reference(a, b), doctest::Contains("add: shapes [2, 3] and [4]"),
                         Error);
    CHECK_THROWS_WITH_AS(mul_reference(Tensor<float>(Shape{3, 2}), Tensor<float>(Shape{2, 2})),
                         doctest::Contains("mul: shapes [3, 2] and [2, 2] cannot broadcast"),
                         Error);
  }

  TEST_CASE("concat along axis 1 joins parts in order") {
    // a = [[[1, 2], [3, 4]]] and b = [[[5, 6]]] -> [[[1, 2], [3, 4], [5, 6]]].
    Tensor<float> a(Shape{1, 2, 2}), b(Shape{1, 1, 2});
    for (int64_t i = 0; i < 4; ++i)
      a[i] = static_cast<float>(i + 1);
    b[0] = 5, b[1] = 6;
    Tensor<float> y = concat_reference<float>({a, b}, 1);
    REQUIRE(y.shape() == Shape{1, 3, 2});
    for (int64_t i = 0; i < 6; ++i)
      CHECK(y[i] == static_cast<float>(i + 1));
    // Axis -1 puts b's pair after each row: only shapes that agree off the axis may join.
    Tensor<float> c(Shape{1, 2, 1});
    c[0] = 7, c[1] = 8;
    Tensor<float> z = concat_reference<float>({a, c}, -1);
    REQUIRE(z.shape() == Shape{1, 2, 3});
    CHECK(z(0, 0, 2) == 7.0f);
    CHECK(z(0, 1, 0) == 3.0f);
    CHECK(z(0, 1, 2) == 8.0f);
  }

  TEST_CASE("concat of NHWC images along channels equals the NCHW result") {
    Tensor<float> a(Shape{2, 3, 4, 5}), b(Shape{2, 2, 4, 5});
    a.fill_uniform(31, -1, 1), b.fill_uniform(32, -1, 1);
    Tensor<float> want = concat_reference<float>({a, b}, 1);
    Tensor<float> got =
        concat_reference<float>({a.to_layout(Layout::nhwc), b.to_layout(Layout::nhwc)}, 1);
    CHECK(got.layout() == Layout::nhwc);
    CHECK(got.shape() == Shape{2, 5, 4, 5});
    CHECK(test::max_relative_error(got, want) == 0.0);
    CHECK(want(1, 4, 3, 2) == b(1, 1, 3, 2));
  }

  TEST_CASE("concat rejects parts that disagree off the axis") {
    Tensor<float> a(Shape{1, 2, 2}), b(Shape{1, 2, 3});
    CHECK_THROWS_WITH_AS(concat_reference<float>({a, b}, 1),
                         doctest::Contains("part 1 has shape [1, 2, 3], expected [1, 2, 2]"),
                         Error);
    CHECK_THROWS_WITH_AS(concat_reference<float>({a, Tensor<float>(Shape{2})}, 0),
                         doctest::Contains("rank"), Error);
    CHECK_THROWS_WITH_AS(concat_reference<float>({}, 0), doctest::Contains("at least one"), Error);
    CHECK_THROWS_WITH_AS(concat_reference<float>({a}, 3), doctest::Contains("out of range"), Error);
  }

  TEST_CASE("flatten is a view of NCHW memory and reads NHWC in CHW order") {
    Tensor<float> x(Shape{2, 3, 2, 2});
    for (int64_t i = 0; i < x.numel(); ++i)
      x[i] = static_cast<float>(i);
    Tensor<float> f = flatten(x);
    REQUIRE(f.shape() == Shape{2, 12});
    CHECK(f.data() == x.data());
    CHECK(flatten(x, 0).shape() == Shape{24});
    CHECK(flatten(x, -2).shape() == Shape{2, 3, 4});
    Tensor<float> g = flatten(x.to_layout(Layout::nhwc));
    CHECK(g.layout() == Layout::nchw);
    for (int64_t i = 0; i < g.numel(); ++i)
      CHECK(g[i] == static_cast<float>(i));
    nn::Flatten layer;
    CHECK(layer(x).shape() == Shape{2, 12});
    CHECK(layer.describe() == "start_dim=1");
  }

  TEST_CASE("Identity returns its input and Dropout is identity at inference") {
    Tensor<float> x = Tensor<float>(Shape{4, 8}).fill(1.5f);
    nn::Identity identity;
    CHECK(identity(x).data() == x.data());
    nn::Dropout dropout(0.3);
    CHECK(dropout.describe() == "p=0.3");
    CHECK(dropout(x).data() == x.data());
    CHECK_THROWS_AS(nn::Dropout(1.5), Error);
  }

  TEST_CASE("Dropout in training mode zeroes about p of the values and scales the rest") {
    Tensor<float> x = Tensor<float>(Shape{100, 100}).fill(1.0f);
    nn::Dropout dropout(0.25, 7);
    dropout.set_training(true);
    Tensor<float> y = dropout(x);
    int64_t zeros = 0;
    for (float v : y) {
      CHECK((v == 0.0f || v == doctest::Approx(1.0 / 0.75)));
      zeros += v == 0.0f;
    }
    // 10000 draws at p = 0.25: the standard deviation of the count is about 43.
    CHECK(zeros > 2300);
    CHECK(zeros < 2700);
    // The same seed gives the same mask; the next call draws a new one.
    nn::Dropout twin(0.25, 7);
    twin.set_training(true);
    CHECK(test::max_abs_error(twin(x), y) == 0.0);
    CHECK(test::max_abs_error(dropout(x), y) > 0.0);
    nn::Dropout all(1.0);
    all.set_training(true);
    CHECK(test::max_abs_error(all(x), Tensor<float>(x.shape())) == 0.0);
  }
}
