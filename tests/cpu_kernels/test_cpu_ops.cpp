// The CPU paths of linear, add, activations, pooling, inference batch norm and
// squeeze-excitation against their references, NCHW and (where they take it) NHWC, and the
// reference-only policy that turns them off.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/cpu/channels_last.hpp"
#include "fovea/ops/activation/activation.hpp"
#include "fovea/ops/attention/attention.hpp"
#include "fovea/ops/batchnorm/batchnorm.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"
#include "fovea/ops/linear/linear.hpp"
#include "fovea/ops/pool2d/pool2d.hpp"
#include "harness/compare.hpp"
#include "harness/random_tensor.hpp"

using fovea::Shape;
using fovea::Tensor;

namespace {

// An NCHW tensor of `shape` with values in [-2, 2).
Tensor<float> random_tensor(const Shape& shape, uint64_t seed) {
  return fovea::test::random_tensor(shape, seed, -2, 2);
}

// An NHWC tensor of `shape` with values in [-2, 2).
Tensor<float> random_nhwc(const Shape& shape, uint64_t seed) {
  return random_tensor(shape, seed).to_layout(fovea::Layout::nhwc);
}

// The number of logical positions (n, c, h, w) where the two tensors' floats differ in bits
// (NaN payloads and the sign of zero included); the layouts may differ.
int64_t bit_mismatches(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  const Tensor<float> g = got.to_layout(fovea::Layout::nchw);
  const Tensor<float> w = want.to_layout(fovea::Layout::nchw);
  int64_t mismatches = 0;
  for (int64_t i = 0; i < g.numel(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &g[i], sizeof a);
    std::memcpy(&b, &w[i], sizeof b);
    mismatches += a != b;
  }
  return mismatches;
}

// Channel counts for the NHWC paths: below, at and between vector widths (4, 8, 16 floats).
constexpr int64_t kNhwcChannels[] = {1, 3, 17, 40, 96};

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("linear by hand") {
    // x = [[1, 2, 3]], w = [[1, 0, -1], [2, 2, 2]], b = [0.5, -1]: y = [[-1.5, 11]].
    Tensor<float> x(Shape{1, 3}), w(Shape{2, 3}), b(Shape{2});
    x[0] = 1, x[1] = 2, x[2] = 3;
    w[0] = 1, w[2] = -1, w[3] = w[4] = w[5] = 2;
    b[0] = 0.5f, b[1] = -1;
    const Tensor<float> y = fovea::linear(x, w, b);
    CHECK(fovea::last_kernel("linear") == std::string("linear_f32_") + fovea::cpu::kIsaName);
    CHECK(y[0] == -1.5f);
    CHECK(y[1] == 11.0f);
  }

  TEST_CASE("linear matches the reference for small and large batches") {
    const int64_t batches[] = {1, 2, 7, 8, 9, 33};
    const int64_t features[][2] = {{1, 1}, {3, 5}, {64, 10}, {2048, 1000}, {129, 37}};
    uint64_t seed = 1;
    for (int64_t n : batches) {
      for (const auto& f : features) {
        const Tensor<float> x = random_tensor(Shape{n, f[0]}, seed);
        const Tensor<float> w = random_tensor(Shape{f[1], f[0]}, seed + 1);
        const Tensor<float> b = random_tensor(Shape{f[1]}, seed + 2);
        INFO("n=", n, " in=", f[0], " out=", f[1], " seed=", seed);
        CHECK(fovea::test::max_relative_error(fovea::linear(x, w, b),
                                              fovea::linear_reference(x, w, b)) <= 1e-5);
        CHECK(fovea::test::max_relative_error(fovea::linear(x, w, Tensor<float>()),
                                              fovea::linear_reference(x, w, Tensor<float>())) <=
              1e-5);
        seed += 3;
      }
    }
  }

  TEST_CASE("add and activations match the reference") {
    const Tensor<float> a = random_tensor(Shape{2, 3, 50, 70}, 1);
    const Tensor<float> b = random_tensor(Shape{2, 3, 50, 70}, 2);
    const Tensor<float> sum = fovea::add(a, b);
    CHECK(fovea::last_kernel("add") == std::string("add_f32_same_shape_") + fovea::cpu::kIsaName);
    CHECK(fovea::test::max_abs_error(sum, fovea::add_reference(a, b)) == 0);
    // Broadcasting goes to the reference.
    fovea::add(a, random_tensor(Shape{1, 3, 1, 1}, 3));
    CHECK(fovea::last_kernel("add") == "add_reference");
    for (fovea::ActivationKind kind : fovea::kAllActivationKinds) {
      INFO("activation ", fovea::activation_name(kind));
      CHECK(fovea::test::max_relative_error(fovea::activation(a, kind),
                                            fovea::activation_reference(a, kind)) <= 1e-6);
    }
    // The vector exp behind SiLU and sigmoid, far into both tails (e^±100 overflows a float).
    Tensor<float> wide(Shape{3, 37});
    wide.fill_uniform(4, -100, 100);
    wide[0] = -100, wide[1] = 100, wide[2] = 0;
    for (fovea::ActivationKind kind :
         {fovea::ActivationKind::silu, fovea::ActivationKind::sigmoid}) {
      INFO("wide-range activation ", fovea::activation_name(kind));
      CHECK(fovea::test::max_relative_error(fovea::activation(wide, kind),
                                            fovea::activation_reference(wide, kind)) <= 1e-6);
    }
    // sigmoid(0) = 0.5 and sigmoid(100) = 1, by hand (the vector reciprocal is good to ~1e-7).
    const Tensor<float> sig = fovea::activation(wide, fovea::ActivationKind::sigmoid);
    CHECK(sig[1] == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(sig[2] == doctest::Approx(0.5).epsilon(1e-6));
    // relu6 by hand: -1 -> 0, 3 -> 3, 7 -> 6.
    Tensor<float> v(Shape{3});
    v[0] = -1, v[1] = 3, v[2] = 7;
    const Tensor<float> r6 = fovea::activation(v, fovea::ActivationKind::relu6);
    CHECK(r6[0] == 0);
    CHECK(r6[1] == 3);
    CHECK(r6[2] == 6);
  }

  TEST_CASE("pooling matches the reference bit for bit") {
    // Narrow planes, and wide ones whose rows hold several vectors of whole windows (the NCHW
    // kernel's vector path between the edges).
    Tensor<float> narrow = random_tensor(Shape{2, 5, 17, 12}, 4);
    Tensor<float> wide = random_tensor(Shape{1, 3, 9, 77}, 6);
    narrow[37] = std::numeric_limits<float>::quiet_NaN();  // a NaN wins its windows in both paths
    wide[2 * 9 * 77 + 4 * 77 + 40] = std::numeric_limits<float>::quiet_NaN();
    const fovea::Pool2dAttrs shapes[] = {fovea::Pool2dAttrs::make(3, 2, 1),
                                         fovea::Pool2dAttrs::make(2, 2),
                                         fovea::Pool2dAttrs::make(3, 1, 1)};
    for (const Tensor<float>& x : {narrow, wide})
      for (fovea::Pool2dAttrs attrs : shapes) {
        for (bool ceil_mode : {false, true}) {
          attrs.ceil_mode = ceil_mode;
          const Tensor<float> got = fovea::max_pool2d(x, attrs);
          const Tensor<float> want = fovea::max_pool2d_reference(x, attrs);
          INFO("kernel ", attrs.kernel_h, " stride ", attrs.stride_h, " ceil ", ceil_mode,
               " input ", x.shape());
          REQUIRE(got.shape() == want.shape());
          int mismatches = 0;
          for (int64_t i = 0; i < got.numel(); ++i) {
            const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
            mismatches += !(both_nan || got[i] == want[i]);
          }
          CHECK(mismatches == 0);
        }
      }
    const Tensor<float> y = random_tensor(Shape{3, 70, 7, 7}, 5);
    CHECK(fovea::test::max_abs_error(fovea::global_avg_pool2d(y),
                                     fovea::global_avg_pool2d_reference(y)) == 0);
    CHECK(fovea::last_kernel("pool2d") ==
          std::string("global_avg_pool2d_f32_nchw_") + fovea::cpu::kIsaName);
  }

  TEST_CASE("NHWC pooling matches the reference bit for bit") {
    fovea::Rng rng(21);
    const auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
    };
    const std::string isa = fovea::cpu::kIsaName;
    uint64_t seed = 200;
    for (int64_t c : kNhwcChannels) {
      const int64_t n = pick(1, 3), h = 2 * pick(2, 9) + 1, w = pick(4, 23);
      Tensor<float> x = random_tensor(Shape{n, c, h, w}, seed++);
      // A NaN wins its windows.
      x[x.numel() / 2] = std::numeric_limits<float>::quiet_NaN();
      x = x.to_layout(fovea::Layout::nhwc);
      // Only zeros of both signs: every window is a tie, which its first (top-left) pixel wins.
      Tensor<float> zeros = random_nhwc(Shape{n, c, h, w}, seed++);
      for (float& v : zeros)
        v = v < 0 ? -0.0f : 0.0f;
      std::vector<fovea::Pool2dAttrs> variants = {
          fovea::Pool2dAttrs::make(3, 2, 1), fovea::Pool2dAttrs::make(2, 2),
          fovea::Pool2dAttrs::make(3, 1, 1), fovea::Pool2dAttrs::make(1, 1)};
      fovea::Pool2dAttrs odd;  // non-square kernel and strides, padding on two sides only
      odd.kernel_h = 3, odd.kernel_w = 2, odd.stride_h = 1, odd.stride_w = 3;
      odd.pad_top = 1, odd.pad_right = 1;
      variants.push_back(odd);
      fovea::Pool2dAttrs whole;  // one window over the whole image
      whole.kernel_h = whole.stride_h = h, whole.kernel_w = whole.stride_w = w;
      variants.push_back(whole);
      for (fovea::Pool2dAttrs attrs : variants) {
        for (bool ceil_mode : {false, true}) {
          attrs.ceil_mode = ceil_mode;
          INFO("N=", n, " C=", c, " H=", h, " W=", w, " kernel ", attrs.kernel_h, "x",
               attrs.kernel_w, " stride ", attrs.stride_h, "x", attrs.stride_w, " ceil ",
               ceil_mode);
          const Tensor<float> got = fovea::max_pool2d(x, attrs);
          CHECK(fovea::last_kernel("pool2d") == "max_pool2d_f32_nhwc_" + isa);
          CHECK(got.layout() == fovea::Layout::nhwc);
          CHECK(bit_mismatches(got, fovea::max_pool2d_reference(x, attrs)) == 0);
          CHECK(bit_mismatches(fovea::max_pool2d(zeros, attrs),
                               fovea::max_pool2d_reference(zeros, attrs)) == 0);
        }
      }
      // Global average pooling: (N, C, 1, 1) returned NCHW, so flatten is a free view.
      INFO("global average N=", n, " C=", c, " H=", h, " W=", w);
      const Tensor<float> mean = fovea::global_avg_pool2d(x);
      CHECK(fovea::last_kernel("pool2d") == "global_avg_pool2d_f32_nhwc_" + isa);
      CHECK(mean.layout() == fovea::Layout::nchw);
      CHECK(mean.shape() == Shape{n, c, 1, 1});
      CHECK(bit_mismatches(mean, fovea::global_avg_pool2d_reference(x)) == 0);
      CHECK(fovea::flatten(mean).data() == mean.data());
    }
    // Many pixels, where summing in float or in another order would change low bits.
    const Tensor<float> big = random_nhwc(Shape{2, 40, 61, 47}, 7);
    CHECK(bit_mismatches(fovea::adaptive_avg_pool2d(big, 1, 1),
                         fovea::global_avg_pool2d_reference(big)) == 0);
    CHECK(fovea::last_kernel("pool2d") == "global_avg_pool2d_f32_nhwc_" + isa);
  }

  TEST_CASE("NHWC add and activations match the reference") {
    const std::string isa = fovea::cpu::kIsaName;
    const Tensor<float> a = random_nhwc(Shape{2, 17, 9, 13}, 31);
    const Tensor<float> b = random_nhwc(Shape{2, 17, 9, 13}, 32);
    const Tensor<float> sum = fovea::add(a, b);
    CHECK(fovea::last_kernel("add") == "add_f32_same_shape_" + isa);
    CHECK(sum.layout() == fovea::Layout::nhwc);
    CHECK(bit_mismatches(sum, fovea::add_reference(a, b)) == 0);
    // Mixed layouts go to the reference.
    fovea::add(a, b.to_layout(fovea::Layout::nchw));
    CHECK(fovea::last_kernel("add") == "add_reference");
    for (fovea::ActivationKind kind : fovea::kAllActivationKinds) {
      INFO("activation ", fovea::activation_name(kind));
      const Tensor<float> y = fovea::activation(a, kind);
      CHECK(fovea::last_kernel("activation") == "activation_f32_" + isa);
      CHECK(y.layout() == fovea::Layout::nhwc);
      CHECK(fovea::test::max_relative_error(y, fovea::activation_reference(a, kind)) <= 1e-6);
    }
  }

  TEST_CASE("to_channels_last is Tensor::to_layout, bit for bit") {
    // Image planes larger and smaller than a pixel block, 1 to 17 channels, batches of 1 to 3.
    const Shape shapes[] = {{1, 3, 224, 224}, {3, 5, 7, 9}, {2, 1, 33, 17}, {1, 17, 23, 29}};
    for (const int threads : {1, 2}) {
      fovea::set_num_threads(threads);
      for (const Shape& shape : shapes) {
        INFO("shape ", shape, " threads ", threads);
        const Tensor<float> x = random_tensor(shape, 21);
        const Tensor<float> got = fovea::cpu::to_channels_last(x);
        const Tensor<float> want = x.to_layout(fovea::Layout::nhwc);
        REQUIRE(got.layout() == fovea::Layout::nhwc);
        CHECK(got.shape() == want.shape());
        CHECK(std::memcmp(got.data(), want.data(), want.size_bytes()) == 0);
      }
    }
    CHECK_THROWS_WITH_AS(fovea::cpu::to_channels_last(random_tensor(Shape{4, 5}, 1)),
                         doctest::Contains("rank-4"), fovea::Error);
  }

  TEST_CASE("inference batchnorm matches the reference") {
    const Shape shapes[] = {Shape{2, 5, 7, 9}, Shape{3, 17, 4, 4}, Shape{4, 6}, Shape{1, 3, 1, 1}};
    uint64_t seed = 40;
    for (const Shape& shape : shapes) {
      INFO("shape ", shape);
      const int64_t c = shape[1];
      const Tensor<float> x = random_tensor(shape, seed++);
      const Tensor<float> gamma = random_tensor(Shape{c}, seed++);
      const Tensor<float> beta = random_tensor(Shape{c}, seed++);
      const Tensor<float> mean = random_tensor(Shape{c}, seed++);
      Tensor<float> var(Shape{c});
      var.fill_uniform(seed++, 0.1, 3);
      const Tensor<float> got = fovea::batchnorm(x, gamma, beta, mean, var, 1e-5);
      CHECK(fovea::last_kernel("batchnorm") ==
            std::string("batchnorm_f32_nchw_") + fovea::cpu::kIsaName);
      const Tensor<double> want =
          fovea::batchnorm_reference(x.cast<double>(), gamma.cast<double>(), beta.cast<double>(),
                                     mean.cast<double>(), var.cast<double>(), 1e-5);
      CHECK(fovea::test::max_relative_error(got, want) <= 1e-6);
    }
    // By hand: (3 - 1) / sqrt(3 + 1) · 2 + 0.5 = 2.5.
    const Tensor<float> x = Tensor<float>(Shape{1, 1, 1, 1}).fill(3);
    const Tensor<float> one = Tensor<float>(Shape{1}).fill(1);
    const Tensor<float> y =
        fovea::batchnorm(x, Tensor<float>(Shape{1}).fill(2), Tensor<float>(Shape{1}).fill(0.5f),
                         one, Tensor<float>(Shape{1}).fill(3), 1.0);
    CHECK(y[0] == 2.5f);
    // NHWC goes to the reference; a wrong vector is named.
    fovea::batchnorm(random_tensor(Shape{1, 2, 3, 3}, 1).to_layout(fovea::Layout::nhwc),
                     Tensor<float>(Shape{2}), Tensor<float>(Shape{2}), Tensor<float>(Shape{2}),
                     Tensor<float>(Shape{2}).fill(1), 1e-5);
    CHECK(fovea::last_kernel("batchnorm") == "batchnorm_reference");
    CHECK_THROWS_WITH(fovea::batchnorm(x, one, one, one, Tensor<float>(Shape{2}), 1e-5),
                      doctest::Contains("running var must be [1]"));
  }

  TEST_CASE("squeeze_excitation matches the reference on random shapes") {
    fovea::Rng rng(11);
    const auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
    };
    for (int trial = 0; trial < 12; ++trial) {
      const int64_t n = pick(1, 3), c = pick(1, 40), s = pick(1, 20), h = pick(1, 19),
                    w = pick(1, 23);
      const bool efficientnet = trial % 2 == 0;  // SiLU/sigmoid, else MobileNetV3's pair
      const auto act = efficientnet ? fovea::ActivationKind::silu : fovea::ActivationKind::relu;
      const auto scale_act =
          efficientnet ? fovea::ActivationKind::sigmoid : fovea::ActivationKind::hardsigmoid;
      const uint64_t seed = 100 + 5 * static_cast<uint64_t>(trial);
      const Tensor<float> x = random_tensor(Shape{n, c, h, w}, seed);
      const Tensor<float> w1 = random_tensor(Shape{s, c, 1, 1}, seed + 1);
      const Tensor<float> b1 = random_tensor(Shape{s}, seed + 2);
      const Tensor<float> w2 = random_tensor(Shape{c, s, 1, 1}, seed + 3);
      const Tensor<float> b2 = random_tensor(Shape{c}, seed + 4);
      INFO("N=", n, " C=", c, " S=", s, " H=", h, " W=", w);
      const Tensor<float> got = fovea::squeeze_excitation(x, w1, b1, w2, b2, act, scale_act);
      CHECK(fovea::last_kernel("squeeze_excitation") ==
            std::string("squeeze_excitation_f32_nchw_") + fovea::cpu::kIsaName);
      const Tensor<double> want = fovea::squeeze_excitation_reference(
          x.cast<double>(), w1.cast<double>(), b1.cast<double>(), w2.cast<double>(),
          b2.cast<double>(), act, scale_act);
      CHECK(fovea::test::max_relative_error(got, want) <= 1e-4);
    }
    // By hand: one 2×2 plane of mean 2, fc1 = 1·mean + 0, fc2 = 0·h + 0: gate sigmoid(0) = 0.5.
    Tensor<float> x(Shape{1, 1, 2, 2});
    x[0] = 1, x[1] = 2, x[2] = 3, x[3] = 2;
    const Tensor<float> one = Tensor<float>(Shape{1, 1, 1, 1}).fill(1);
    const Tensor<float> y = fovea::squeeze_excitation(
        x, one, Tensor<float>(Shape{1}), Tensor<float>(Shape{1, 1, 1, 1}), Tensor<float>(Shape{1}),
        fovea::ActivationKind::relu, fovea::ActivationKind::sigmoid);
    CHECK(y[0] == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(y[2] == doctest::Approx(1.5).epsilon(1e-6));
    // A wrong fc2 shape is named.
    CHECK_THROWS_WITH(
        fovea::squeeze_excitation(x, one, Tensor<float>(Shape{1}), Tensor<float>(Shape{2, 1, 1, 1}),
                                  Tensor<float>(Shape{1}), fovea::ActivationKind::relu,
                                  fovea::ActivationKind::sigmoid),
        doctest::Contains("squeeze_excitation fc2 weight must be [1, 1, 1, 1]"));
  }

  TEST_CASE("NHWC squeeze_excitation matches the reference on random shapes") {
    fovea::Rng rng(12);
    const auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
    };
    uint64_t seed = 300;
    for (int64_t c : kNhwcChannels) {
      for (bool efficientnet : {true, false}) {  // SiLU/sigmoid, else MobileNetV3's pair
        const int64_t n = pick(1, 3), s = pick(1, 24), h = 2 * pick(0, 9) + 1, w = pick(1, 23);
        const auto act = efficientnet ? fovea::ActivationKind::silu : fovea::ActivationKind::relu;
        const auto scale_act =
            efficientnet ? fovea::ActivationKind::sigmoid : fovea::ActivationKind::hardsigmoid;
        const Tensor<float> x = random_nhwc(Shape{n, c, h, w}, seed);
        const Tensor<float> w1 = random_tensor(Shape{s, c, 1, 1}, seed + 1);
        const Tensor<float> b1 = random_tensor(Shape{s}, seed + 2);
        const Tensor<float> w2 = random_tensor(Shape{c, s, 1, 1}, seed + 3);
        const Tensor<float> b2 = random_tensor(Shape{c}, seed + 4);
        seed += 5;
        INFO("N=", n, " C=", c, " S=", s, " H=", h, " W=", w);
        const Tensor<float> got = fovea::squeeze_excitation(x, w1, b1, w2, b2, act, scale_act);
        CHECK(fovea::last_kernel("squeeze_excitation") ==
              std::string("squeeze_excitation_f32_nhwc_") + fovea::cpu::kIsaName);
        CHECK(got.layout() == fovea::Layout::nhwc);
        const Tensor<double> want = fovea::squeeze_excitation_reference(
            x.cast<double>(), w1.cast<double>(), b1.cast<double>(), w2.cast<double>(),
            b2.cast<double>(), act, scale_act);
        CHECK(fovea::test::max_relative_error(got, want) <= 1e-4);
      }
    }
  }

  TEST_CASE("the reference-only policy turns the CPU paths off") {
    fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
    const Tensor<float> a = random_tensor(Shape{1, 2, 3, 3}, 6);
    fovea::add(a, a);
    fovea::activation(a, fovea::ActivationKind::relu);
    fovea::max_pool2d(a, fovea::Pool2dAttrs::make(2, 1));
    fovea::linear(random_tensor(Shape{1, 4}, 7), random_tensor(Shape{2, 4}, 8), Tensor<float>());
    fovea::squeeze_excitation(a, random_tensor(Shape{1, 2, 1, 1}, 9), Tensor<float>(Shape{1}),
                              random_tensor(Shape{2, 1, 1, 1}, 10), Tensor<float>(Shape{2}),
                              fovea::ActivationKind::relu, fovea::ActivationKind::sigmoid);
    fovea::batchnorm(a, Tensor<float>(Shape{2}), Tensor<float>(Shape{2}), Tensor<float>(Shape{2}),
                     Tensor<float>(Shape{2}).fill(1), 1e-5);
    // NHWC too.
    const Tensor<float> b = a.to_layout(fovea::Layout::nhwc);
    fovea::max_pool2d(b, fovea::Pool2dAttrs::make(2, 1));
    CHECK(fovea::last_kernel("pool2d") == "pool2d_reference");
    fovea::global_avg_pool2d(b);
    CHECK(fovea::last_kernel("pool2d") == "pool2d_reference");
    fovea::squeeze_excitation(b, random_tensor(Shape{1, 2, 1, 1}, 9), Tensor<float>(Shape{1}),
                              random_tensor(Shape{2, 1, 1, 1}, 10), Tensor<float>(Shape{2}),
                              fovea::ActivationKind::relu, fovea::ActivationKind::sigmoid);
    CHECK(fovea::last_kernel("squeeze_excitation") == "squeeze_excitation_reference");
    fovea::add(b, b);
    fovea::activation(b, fovea::ActivationKind::relu);
    fovea::set_kernel_policy(fovea::KernelPolicy::best);
    CHECK(fovea::last_kernel("add") == "add_reference");
    CHECK(fovea::last_kernel("batchnorm") == "batchnorm_reference");
    CHECK(fovea::last_kernel("activation") == "activation_reference");
    CHECK(fovea::last_kernel("pool2d") == "pool2d_reference");
    CHECK(fovea::last_kernel("linear") == "linear_reference");
    CHECK(fovea::last_kernel("squeeze_excitation") == "squeeze_excitation_reference");
  }
}
