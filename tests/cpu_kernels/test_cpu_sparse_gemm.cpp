// The sparse 1×1 kernels (cpu/sparse_gemm.hpp, cpu/conv2d_sparse_nhwc.hpp) against the dense
// product in double with the mask applied, over randomized shapes: pixel counts on both sides of
// the 32-pixel tile (batch > 1 included), odd C and K, C not a multiple of 4 (2:4 pads it),
// sparsities 0 … 0.99, with and without bias, residual, padded leading dimensions, and every
// activation.
//
// Tolerance, per element: each output is a sum of L products; with `mag` the same sum over
// absolute values (plus |bias| and |residual|), the float result may differ from the double one
// by at most 2 · (L + 3) · 2^-24 · mag (one rounding per addition, the final store, growth 2 for
// activation slopes up to 1.5), plus 1e-6 · |want| for the vector SiLU/sigmoid's own error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/cpu/conv2d_sparse_nhwc.hpp"
#include "fovea/cpu/sparse_gemm.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/prune/sparse/mask.hpp"

namespace {

using fovea::ActivationKind;
using fovea::Rng;
using fovea::cpu::GemmEpilogue;

std::vector<float> random_vector(int64_t count, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v)
    x = float(rng.uniform(-1.0, 1.0));
  return v;
}

// Exactly round(sparsity · K · C) zeros at random positions of w [K, C] (row stride ldw).
void prune_randomly(std::vector<float>& w, int64_t k, int64_t c, int64_t ldw, double sparsity,
                    Rng& rng) {
  std::vector<int64_t> at(static_cast<size_t>(k * c));
  std::iota(at.begin(), at.end(), 0);
  for (size_t i = at.size(); i > 1; --i)
    std::swap(at[i - 1], at[rng.below(i)]);
  const auto zeros = size_t(std::llround(sparsity * double(k * c)));
  for (size_t i = 0; i < zeros; ++i)
    w[size_t(at[i] / c * ldw + at[i] % c)] = 0.0f;
}

struct Case {
  int64_t pixels, c, k, ldx, ldy, ldw;
  double sparsity;
  bool bias, residual;
  ActivationKind act;
};

std::string describe(const Case& t, uint64_t seed) {
  return "seed " + std::to_string(seed) + ": P=" + std::to_string(t.pixels) +
         " C=" + std::to_string(t.c) + " K=" + std::to_string(t.k) +
         " ldx=" + std::to_string(t.ldx) + " ldy=" + std::to_string(t.ldy) +
         " sparsity=" + std::to_string(t.sparsity) + " bias=" + std::to_string(t.bias) +
         " residual=" + std::to_string(t.residual) + " act=" + fovea::activation_name(t.act);
}

// Runs the kernel for `format` (0 CSR, 1 2:4) on random data and returns the worst ratio of
// error to the declared bound (≤ 1 passes).
double run_case(const Case& t, int format, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x = random_vector(t.pixels * t.ldx, rng);
  std::vector<float> w = random_vector(t.k * t.ldw, rng);
  if (format == 1) {
    // 2:4 by magnitude (the pruning module's mask), then extra random zeros on top: groups with
    // fewer than 2 nonzeros must work too.
    fovea::Tensor<float> dense(fovea::Shape{t.k, t.c});
    for (int64_t i = 0; i < t.k; ++i)
      for (int64_t j = 0; j < t.c; ++j)
        dense.data()[i * t.c + j] = w[size_t(i * t.ldw + j)];
    const fovea::Tensor<float> mask = fovea::prune::sparse::mask_2_4(dense);
    for (int64_t i = 0; i < t.k; ++i)
      for (int64_t j = 0; j < t.c; ++j)
        w[size_t(i * t.ldw + j)] *= mask.data()[i * t.c + j];
  }
  prune_randomly(w, t.k, t.c, t.ldw, format == 1 ? t.sparsity * 0.5 : t.sparsity, rng);
  std::vector<float> bias = random_vector(t.k, rng);
  std::vector<float> residual = random_vector(t.pixels * t.k, rng);
  std::vector<float> y(size_t(t.pixels * t.ldy), -7.0f);  // stale values must be overwritten
  GemmEpilogue e;
  if (t.bias) e.col_bias = bias.data();
  if (t.residual) e.residual = residual.data(), e.ld_residual = t.k;
  e.act = t.act;
  if (format == 0) {
    const fovea::cpu::SpmmWeightsCsr sw(t.k, t.c, w.data(), t.ldw);
    fovea::cpu::spmm_nhwc(t.pixels, x.data(), t.ldx, sw, y.data(), t.ldy, e);
  } else {
    const fovea::cpu::SpmmWeights24 sw(t.k, t.c, w.data(), t.ldw);
    fovea::cpu::spmm_nhwc(t.pixels, x.data(), t.ldx, sw, y.data(), t.ldy, e);
  }
  double worst = 0;
  for (int64_t p = 0; p < t.pixels; ++p) {
    for (int64_t k = 0; k < t.k; ++k) {
      double sum = 0, mag = 0;
      int64_t terms = 0;
      for (int64_t c = 0; c < t.c; ++c) {
        const double prod = double(x[size_t(p * t.ldx + c)]) * double(w[size_t(k * t.ldw + c)]);
        sum += prod, mag += std::abs(prod);
        terms += w[size_t(k * t.ldw + c)] != 0.0f ? 1 : 0;
      }
      if (t.bias) sum += bias[size_t(k)], mag += std::abs(bias[size_t(k)]);
      if (t.residual) {
        sum += residual[size_t(p * t.k + k)];
        mag += std::abs(residual[size_t(p * t.k + k)]);
      }
      const double want = fovea::activate(t.act, sum);
      const double got = y[size_t(p * t.ldy + k)];
      const double bound =
          2.0 * double(terms + 3) * 0x1.0p-24 * mag + 1e-6 * std::abs(want) + 1e-30;
      const double err = std::abs(got - want);
      if (!(err <= bound)) return std::isfinite(err) ? err / bound : 1e30;
      worst = std::max(worst, err / bound);
    }
    // Columns past K in a padded output row are not the kernel's to write.
    for (int64_t k = t.k; k < t.ldy; ++k)
      if (y[size_t(p * t.ldy + k)] != -7.0f) return 1e30;
  }
  return worst;
}

Case random_case(Rng& rng, bool odd_c) {
  static const int64_t pixels[] = {1, 2, 7, 31, 32, 33, 49, 64, 97, 2 * 49, 3 * 25, 196};
  static const int64_t channels[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 33, 64, 100};
  static const int64_t outputs[] = {1, 2, 3, 5, 8, 15, 16, 17, 31, 40, 64};
  static const double sparsities[] = {0, 0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99};
  Case t;
  t.pixels = pixels[rng.below(std::size(pixels))];
  do {
    t.c = channels[rng.below(std::size(channels))];
  } while (odd_c && t.c % 4 == 0);
  t.k = outputs[rng.below(std::size(outputs))];
  t.ldx = t.c + (rng.below(3) == 0 ? int64_t(rng.below(5)) : 0);
  t.ldy = t.k + (rng.below(3) == 0 ? int64_t(rng.below(5)) : 0);
  t.ldw = t.c + (rng.below(4) == 0 ? 3 : 0);
  t.sparsity = sparsities[rng.below(std::size(sparsities))];
  t.bias = rng.below(2) == 1;
  t.residual = rng.below(3) == 1;
  t.act = fovea::kAllActivationKinds[rng.below(std::size(fovea::kAllActivationKinds))];
  return t;
}

}  // namespace

TEST_SUITE("cpu") {
#ifdef FOVEA_EXPECT_ISA
  TEST_CASE("this variant compiled the SIMD path it is named after") {
    CHECK(std::string(fovea::cpu::kIsaName) == FOVEA_EXPECT_ISA);
  }
#endif

  TEST_CASE("unstructured sparse GEMM matches the masked dense product over random shapes") {
    Rng picker(2024);
    for (uint64_t seed = 1; seed <= 400; ++seed) {
      const Case t = random_case(picker, false);
      const double ratio = run_case(t, 0, seed);
      INFO(describe(t, seed), " error/bound ", ratio);
      REQUIRE(ratio <= 1.0);
    }
  }

  TEST_CASE("2:4 sparse GEMM matches the masked dense product, C multiple of 4 or not") {
    Rng picker(77);
    for (uint64_t seed = 1; seed <= 300; ++seed) {
      const Case t = random_case(picker, seed % 2 == 0);
      const double ratio = run_case(t, 1, seed);
      INFO(describe(t, seed), " error/bound ", ratio);
      REQUIRE(ratio <= 1.0);
    }
  }

  TEST_CASE("ResNet-50 and MobileNetV2 1x1 shapes at high sparsity") {
    const Case cases[] = {
        {56 * 56, 64, 256, 64, 256, 64, 0.9, true, false, ActivationKind::relu},
        {2 * 28 * 28, 512, 128, 512, 128, 512, 0.8, true, true, ActivationKind::relu},
        {7 * 7, 960, 160, 960, 160, 960, 0.95, true, false, ActivationKind::identity},
        {14 * 14, 1024, 256, 1024, 256, 1024, 0.99, false, false, ActivationKind::relu6},
    };
    uint64_t seed = 900;
    for (const Case& t : cases)
      for (int format = 0; format < 2; ++format) {
        const double ratio = run_case(t, format, ++seed);
        INFO(describe(t, seed), " format ", format, " error/bound ", ratio);
        CHECK(ratio <= 1.0);
      }
  }

  TEST_CASE("sparse GEMM results do not depend on the thread count") {
    if (fovea::ThreadPool::kSingleThreaded) return;
    Rng rng(5);
    const int64_t p = 7 * 7 * 3, c = 37, k = 53;
    std::vector<float> x = random_vector(p * c, rng), w = random_vector(k * c, rng);
    prune_randomly(w, k, c, c, 0.8, rng);
    const fovea::cpu::SpmmWeightsCsr sw(k, c, w.data(), c);
    std::vector<float> one(static_cast<size_t>(p * k)), many(static_cast<size_t>(p * k));
    fovea::set_num_threads(1);
    fovea::cpu::spmm_nhwc(p, x.data(), c, sw, one.data(), k);
    fovea::set_num_threads(4);
    fovea::cpu::spmm_nhwc(p, x.data(), c, sw, many.data(), k);
    fovea::set_num_threads(fovea::detail::default_thread_count());
    CHECK(one == many);
  }

  TEST_CASE("2:4 weights: round trip, sparsity check, clear error when not 2:4") {
    Rng rng(11);
    for (int64_t c : {1, 3, 4, 6, 9, 16, 30}) {
      fovea::Tensor<float> w(fovea::Shape{5, c});
      for (int64_t i = 0; i < w.numel(); ++i)
        w.data()[i] = float(rng.uniform(-1, 1));
      const fovea::Tensor<float> mask = fovea::prune::sparse::mask_2_4(w);
      for (int64_t i = 0; i < w.numel(); ++i)
        w.data()[i] *= mask.data()[i];
      CHECK(fovea::prune::sparse::is_2_4(w));
      CHECK(fovea::cpu::is_2_4_sparse(5, c, w.data(), c));
      const fovea::cpu::SpmmWeights24 sw(5, c, w.data(), c);
      const std::vector<float> back = sw.to_dense();
      CHECK(std::equal(back.begin(), back.end(), w.data()));
      CHECK(sw.panel_rows() % 8 == 0);
      CHECK(sw.panel_rows() >= c);
    }
    const float dense[8] = {1, 2, 3, 0, 1, 0, 0, 1};
    CHECK_THROWS_WITH_AS(fovea::cpu::SpmmWeights24(1, 8, dense, 8),
                         doctest::Contains("input channels 0..3 hold more than 2 nonzeros"),
                         fovea::Error);
    CHECK_FALSE(fovea::cpu::is_2_4_sparse(1, 8, dense, 8));
  }

  TEST_CASE("sparse 1x1 conv entry: batch > 1 NHWC against the reference, kernel choice") {
    using namespace fovea;
    Rng rng(3);
    const int64_t n = 2, c = 24, h = 5, wd = 7, k = 19;
    Tensor<float> x(Shape{n, c, h, wd}, Layout::nhwc);
    for (int64_t i = 0; i < x.numel(); ++i)
      x.data()[i] = float(rng.uniform(-1, 1));
    Tensor<float> weight(Shape{k, c, 1, 1}), bias(Shape{k});
    for (int64_t i = 0; i < weight.numel(); ++i)
      weight.data()[i] = float(rng.uniform(-1, 1));
    for (int64_t i = 0; i < k; ++i)
      bias.data()[i] = float(rng.uniform(-1, 1));
    Tensor<float> residual(Shape{n, k, h, wd}, Layout::nhwc);
    for (int64_t i = 0; i < residual.numel(); ++i)
      residual.data()[i] = float(rng.uniform(-1, 1));
    const Conv2dAttrs attrs = Conv2dAttrs::make(1, 0);
    const Conv2dEpilogue epilogue{ActivationKind::relu, &residual};

    const auto check_against_reference = [&](SparseKernelChoice choice, const char* prefix) {
      Conv2dPrepared prepared;
      const Tensor<float> got =
          conv2d_nhwc_pointwise_sparse(x, weight, bias, attrs, epilogue, &prepared, choice);
      CHECK(last_kernel("conv2d").rfind(prefix, 0) == 0);
      const Tensor<float> want = conv2d_fused_reference(x, weight, bias, attrs, epilogue);
      REQUIRE(got.shape() == want.shape());
      double worst = 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t o = 0; o < k; ++o)
          for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < wd; ++j)
              worst = std::max(worst, double(std::abs(got(b, o, i, j) - want(b, o, i, j))));
      CHECK(worst <= 1e-5);
      // A second call reuses the prepared weights and gives the same bits.
      const Tensor<float> again =
          conv2d_nhwc_pointwise_sparse(x, weight, bias, attrs, epilogue, &prepared, choice);
      CHECK(std::equal(again.begin(), again.end(), got.begin()));
    };

    // Dense weights: the automatic choice is the dense NHWC GEMM.
    check_against_reference(SparseKernelChoice::automatic, "conv2d_f32_nhwc_pointwise_gemm_");
    check_against_reference(SparseKernelChoice::unstructured,
                            "conv2d_f32_nhwc_pointwise_spmm_csr_");
    CHECK_THROWS_AS(check_against_reference(SparseKernelChoice::two_four, ""), Error);
    // 2:4 weights.
    const Tensor<float> mask = prune::sparse::mask_2_4(weight);
    for (int64_t i = 0; i < weight.numel(); ++i)
      weight.data()[i] *= mask.data()[i];
    check_against_reference(SparseKernelChoice::two_four, "conv2d_f32_nhwc_pointwise_spmm_2_4_");
    // 90 % sparse: the automatic choice is the unstructured kernel.
    const Tensor<float> mask90 = prune::sparse::magnitude_mask(weight, 0.9);
    for (int64_t i = 0; i < weight.numel(); ++i)
      weight.data()[i] *= mask90.data()[i];
    check_against_reference(SparseKernelChoice::automatic, "conv2d_f32_nhwc_pointwise_spmm_csr_");
  }
}
