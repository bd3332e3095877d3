#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "fovea/core/tensor.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("an uninitialized tensor owns aligned memory of its shape") {
    fovea::Tensor<float> t =
        fovea::Tensor<float>::uninitialized(fovea::Shape{2, 3, 5, 7}, fovea::Layout::nhwc);
    CHECK(t.shape() == fovea::Shape{2, 3, 5, 7});
    CHECK(t.layout() == fovea::Layout::nhwc);
    CHECK(t.owns_memory());
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % fovea::kTensorAlignment == 0);
    t(1, 2, 4, 6) = 3.5f;  // the last element in NHWC order is the last in memory
    CHECK(t[t.numel() - 1] == 3.5f);
  }

  TEST_CASE("tensor storage is zero-filled and 64-byte aligned and shared by copies") {
    Tensor<float> t(Shape{2, 3, 5, 7});
    CHECK(t.numel() == 210);
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
    for (float v : t)
      CHECK(v == 0.0f);
    Tensor<float> alias = t;
    alias(1, 2, 4, 6) = 5.0f;
    CHECK(t(1, 2, 4, 6) == 5.0f);
    Tensor<float> deep = t.clone();
    deep(1, 2, 4, 6) = 1.0f;
    CHECK(t(1, 2, 4, 6) == 5.0f);
  }

  TEST_CASE("NCHW and NHWC index the same logical element") {
    Tensor<int32_t> a(Shape{2, 3, 4, 5});
    for (int64_t i = 0; i < a.numel(); ++i)
      a[i] = static_cast<int32_t>(i);
    Tensor<int32_t> b = a.to_layout(Layout::nhwc);
    CHECK(b.layout() == Layout::nhwc);
    CHECK(b.strides()[1] == 1);
    CHECK(b.strides()[3] == 3);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 3; ++c)
        for (int h = 0; h < 4; ++h)
          for (int w = 0; w < 5; ++w)
            CHECK(a(n, c, h, w) == b(n, c, h, w));
    // In NHWC memory the channel is innermost.
    CHECK(b[0] == a(0, 0, 0, 0));
    CHECK(b[1] == a(0, 1, 0, 0));
    Tensor<int32_t> back = b.to_layout(Layout::nchw);
    for (int64_t i = 0; i < a.numel(); ++i)
      CHECK(back[i] == a[i]);
  }

  TEST_CASE("views wrap caller memory without owning it") {
    float buffer[6] = {1, 2, 3, 4, 5, 6};
    Tensor<float> v = Tensor<float>::wrap(buffer, Shape{2, 3});
    CHECK_FALSE(v.owns_memory());
    CHECK(v(1, 2) == 6.0f);
    v(0, 0) = 9.0f;
    CHECK(buffer[0] == 9.0f);
    Tensor<float> r = v.reshape(Shape{3, 2});
    CHECK(r(2, 1) == 6.0f);
    CHECK_THROWS_AS(v.reshape(Shape{4, 2}), Error);
  }

  TEST_CASE("batch slices share memory") {
    Tensor<float> t(Shape{4, 2, 3, 3});
    Tensor<float> s = t.batch_slice(2, 2);
    CHECK(s.shape() == Shape{2, 2, 3, 3});
    s(0, 1, 2, 2) = 3.0f;
    CHECK(t(2, 1, 2, 2) == 3.0f);
    CHECK_THROWS_AS(t.batch_slice(3, 2), Error);
  }

  TEST_CASE("at() always checks bounds and rank") {
    Tensor<float> t(Shape{2, 3});
    CHECK_THROWS_AS(t.at(2, 0), Error);
    CHECK_THROWS_AS(t.at(0, -1), Error);
    CHECK_THROWS_AS(t.at(0, 0, 0), Error);
    CHECK_NOTHROW(t.at(1, 2));
  }

  TEST_CASE("shapes reject negative dims and excess rank and overflowing products") {
    CHECK_THROWS_AS(Shape({2, -1}), Error);
    CHECK_THROWS_AS(Shape({1, 1, 1, 1, 1, 1, 1}), Error);
    const int64_t big = int64_t{1} << 40;
    CHECK_THROWS_AS(Shape({big, big}).numel(), Error);
    CHECK_THROWS_AS(Tensor<float>(Shape{int64_t{1} << 62, 8}), Error);
  }

  TEST_CASE("seeded fills are reproducible and within range") {
    Tensor<float> a(Shape{1000}), b(Shape{1000});
    a.fill_uniform(42, -1.0, 1.0);
    b.fill_uniform(42, -1.0, 1.0);
    for (int64_t i = 0; i < a.numel(); ++i) {
      CHECK(a[i] == b[i]);
      CHECK(a[i] >= -1.0f);
      CHECK(a[i] < 1.0f);
    }
    Tensor<int8_t> q(Shape{1000});
    q.fill_uniform(7, -3, 3);
    int seen_min = 0, seen_max = 0;
    for (int8_t v : q) {
      seen_min = std::min<int>(seen_min, v);
      seen_max = std::max<int>(seen_max, v);
    }
    CHECK(seen_min == -3);
    CHECK(seen_max == 3);
    Rng rng(1);
    Tensor<double> n(Shape{20000});
    n.fill_normal(rng, 0.0, 1.0);
    double mean = 0, var = 0;
    for (double v : n)
      mean += v;
    mean /= 20000;
    for (double v : n)
      var += (v - mean) * (v - mean);
    var /= 20000;
    CHECK(std::abs(mean) < 0.03);
    CHECK(std::abs(var - 1.0) < 0.05);
  }
}

TEST_SUITE("cpu") {
  TEST_CASE("half converts exactly where representable and rounds to nearest even") {
    CHECK(half(1.0f).bits == 0x3c00);
    CHECK(half(-2.0f).bits == 0xc000);
    CHECK(half(65504.0f).bits == 0x7bff);
    CHECK(half(65520.0f).bits == 0x7c00);                 // rounds up to infinity
    CHECK(half(5.9604644775390625e-8f).bits == 0x0001);   // smallest subnormal
    CHECK(half(2.98023223876953125e-8f).bits == 0x0000);  // exactly half of it: ties to even (0)
    CHECK(half(1.0f + 1.0f / 2048).bits == 0x3c00);       // halfway between 1 and next: even is 1
    CHECK(half(1.0f + 3.0f / 2048).bits == 0x3c02);       // halfway, rounds to even 0x3c02
    CHECK(std::isnan(static_cast<float>(half(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(std::isinf(static_cast<float>(half(std::numeric_limits<float>::infinity()))));
    // Every finite half survives a round trip through float.
    for (uint32_t b = 0; b < 0x10000; ++b) {
      if ((b & 0x7c00) == 0x7c00) continue;
      const half h = half::from_bits(static_cast<uint16_t>(b));
      CHECK(half(static_cast<float>(h)).bits == h.bits);
    }
  }

  TEST_CASE("bfloat16 rounds to nearest even and keeps nan") {
    CHECK(bfloat16(1.0f).bits == 0x3f80);
    CHECK(bfloat16(1.0f + 1.0f / 256).bits == 0x3f80);  // halfway: even stays
    CHECK(bfloat16(1.0f + 3.0f / 256).bits == 0x3f82);
    CHECK(std::isnan(static_cast<float>(bfloat16(std::numeric_limits<float>::quiet_NaN()))));
    for (uint32_t b = 0; b < 0x10000; ++b) {
      if ((b & 0x7f80) == 0x7f80) continue;
      const bfloat16 v = bfloat16::from_bits(static_cast<uint16_t>(b));
      CHECK(bfloat16(static_cast<float>(v)).bits == v.bits);
    }
  }

  TEST_CASE("casts between element types") {
    Tensor<float> f(Shape{3});
    f[0] = 1.5f, f[1] = -2.25f, f[2] = 1000.0f;
    CHECK(f.cast<half>().cast<float>()[1] == -2.25f);
    CHECK(f.cast<bfloat16>().cast<float>()[2] == 1000.0f);
    CHECK(f.cast<int32_t>()[1] == -2);
    CHECK(f.cast<double>()[0] == 1.5);
  }
}
