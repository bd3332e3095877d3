// The 2:4 sparse tensor-core GEMM (include/fovea/cuda/sparse_gemm.hpp, kernels/sparse/) against
// the dense product in double with the 2:4 mask applied. The packing is checked on the host
// first (it needs no device): unpacking it by the PTX ISA's mma.sp m16n8k32 fragment layout
// must give the masked weights back. The device cases skip without a GPU, as every CUDA test.
//
// Tolerance: test::tensor_core_bound<half>(C + 1) per element (the stored half output's
// rounding, exact half products, FP32 accumulation over C terms), as the dense kernels' tests.
#include <doctest/doctest.h>

#include <sstream>

#include "cuda_test_util.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/cuda/sparse_gemm.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/prune/sparse/mask.hpp"

using namespace fovea;

namespace {

// W [K, C] rounded to half and pruned 2:4 by magnitude, plus some extra zeros (groups with
// fewer than 2 nonzeros).
Tensor<float> random_2_4_weight(int64_t k, int64_t c, Rng& rng) {
  Tensor<float> w(Shape{k, c});
  for (float& v : w)
    v = float(half(float(rng.uniform(-1, 1))));
  const Tensor<float> mask = prune::sparse::mask_2_4(w);
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data()[i] = rng.below(8) == 0 ? 0.0f : w.data()[i] * mask.data()[i];
  return w;
}

// The dense [K, C] that mma.sp reads from the packed form: for tile, step, row r, compressed
// column j, the value and its position from row r's metadata in lane 4(r % 8) + j / 8's word.
Tensor<float> unpack(const cuda::SparseGemm24Packed& p) {
  Tensor<float> w(Shape{p.k, p.c});
  w.fill(0.0f);
  const int64_t steps = p.c_padded / 32, half_cols = p.c_padded / 2;
  for (int64_t row = 0; row < p.k_padded; ++row)
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t j = 0; j < 16; ++j) {
        const int64_t tile = row / 16, r = row % 16, h = j / 8;
        const uint32_t word = p.meta[size_t(((tile * steps + s) * 8 + r % 8) * 2 + h)];
        const uint32_t bits = r < 8 ? word & 0xFFFF : word >> 16;
        const int64_t group = (j % 8) / 2, slot = j % 2;
        const int64_t position = (bits >> (4 * group + 2 * slot)) & 3;
        const int64_t col = 32 * s + 16 * h + 4 * group + position;
        const float v = float(p.values[size_t(row * half_cols + 16 * s + j)]);
        if (row < p.k && col < p.c) {
          w(row, col) += v;
        } else {
          REQUIRE(v == 0.0f);  // padding holds zeros
        }
        // ::ordered_metadata: each group's positions increase.
        if (slot == 1) {
          const int64_t first = (bits >> (4 * group)) & 3;
          REQUIRE(first < position);
        }
      }
  return w;
}

void check_sparse_gemm(int64_t pixels, int64_t c, int64_t k, bool with_bias, ActivationKind act,
                       uint64_t seed) {
  Rng rng(seed);
  const Tensor<float> w = random_2_4_weight(k, c, rng);
  const Tensor<half> x = test::random_tensor<half>(Shape{pixels, c}, Layout::nchw, rng);
  Tensor<float> b(Shape{k});
  b.fill_uniform(rng, -1, 1);
  Tensor<double> want(Shape{pixels, k}), magnitude(Shape{pixels, k});
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t o = 0; o < k; ++o) {
      double sum = with_bias ? b[o] : 0.0, mag = with_bias ? std::abs(b[o]) : 0.0;
      for (int64_t i = 0; i < c; ++i) {
        const double prod = double(float(x(p, i))) * double(w(o, i));
        sum += prod, mag += std::abs(prod);
      }
      want(p, o) = activate(act, sum);
      magnitude(p, o) = mag;
    }
  const cuda::SparseGemm24Weights dw = cuda::upload_sparse_gemm_2_4(cuda::pack_sparse_gemm_2_4(w));
  const cuda::DeviceTensor<float> db = test::upload(b);
  cuda::DeviceTensor<half> y(Shape{pixels, k});
  cuda::sparse_gemm_2_4_into(test::upload(x), dw, with_bias ? &db : nullptr, act, y);
  std::ostringstream context;
  context << "2:4 sparse GEMM P=" << pixels << " C=" << c << " K=" << k << " bias " << with_bias
          << " " << activation_name(act) << " seed " << seed;
  test::check_within_bound(y.to_host(), want, magnitude, test::tensor_core_bound<half>(c + 1),
                           context.str());
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("2:4 packing follows the mma.sp m16n8k32 fragment layout (host only)") {
    Rng rng(1);
    for (int64_t c : {1, 3, 4, 6, 30, 32, 33, 64, 100})
      for (int64_t k : {1, 5, 16, 17, 40}) {
        const Tensor<float> w = random_2_4_weight(k, c, rng);
        const cuda::SparseGemm24Packed p = cuda::pack_sparse_gemm_2_4(w);
        CHECK(p.k_padded % 16 == 0);
        CHECK(p.c_padded % 32 == 0);
        const Tensor<float> back = unpack(p);
        CHECK_MESSAGE(std::equal(back.begin(), back.end(), w.begin()), "C=", c, " K=", k);
      }
    Tensor<float> dense(Shape{1, 8});
    dense.fill(1.0f);
    CHECK_THROWS_WITH_AS(cuda::pack_sparse_gemm_2_4(dense),
                         doctest::Contains("input channels 0..3 hold more than 2 nonzeros"), Error);
  }

  TEST_CASE("2:4 sparse tensor-core GEMM matches the masked dense product") {
    if (test::skip_without_cuda_device()) return;
    Rng picker(7);
    const int64_t pixels[] = {1, 7, 8, 49, 63, 64, 65, 2 * 196, 3136};
    const int64_t channels[] = {3, 4, 30, 32, 64, 96, 100, 256, 1024};
    const int64_t outputs[] = {1, 16, 17, 40, 64, 256};
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      const int64_t p = pixels[picker.below(std::size(pixels))];
      const int64_t c = channels[picker.below(std::size(channels))];
      const int64_t k = outputs[picker.below(std::size(outputs))];
      const ActivationKind act = kAllActivationKinds[picker.below(std::size(kAllActivationKinds))];
      check_sparse_gemm(p, c, k, picker.below(2) == 1, act, seed);
    }
  }

  TEST_CASE("2:4 sparse tensor-core GEMM on an NHWC batch (a 1x1 conv)") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(9);
    const int64_t n = 2, c = 64, h = 7, wd = 7, k = 48;
    const Tensor<float> w = random_2_4_weight(k, c, rng);
    const Tensor<half> x = test::random_tensor<half>(Shape{n, c, h, wd}, Layout::nhwc, rng);
    cuda::DeviceTensor<half> y(Shape{n, k, h, wd}, Layout::nhwc);
    cuda::sparse_gemm_2_4_into(test::upload(x),
                               cuda::upload_sparse_gemm_2_4(cuda::pack_sparse_gemm_2_4(w)), nullptr,
                               ActivationKind::relu, y);
    const Tensor<half> got = y.to_host();
    Tensor<double> want(Shape{n, k, h, wd}, Layout::nhwc),
        magnitude(Shape{n, k, h, wd}, Layout::nhwc);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t o = 0; o < k; ++o)
        for (int64_t i = 0; i < h; ++i)
          for (int64_t j = 0; j < wd; ++j) {
            double sum = 0, mag = 0;
            for (int64_t ch = 0; ch < c; ++ch) {
              const double prod = double(float(x(b, ch, i, j))) * double(w(o, ch));
              sum += prod, mag += std::abs(prod);
            }
            want(b, o, i, j) = sum < 0 ? 0 : sum;
            magnitude(b, o, i, j) = mag;
          }
    test::check_within_bound(got, want, magnitude, test::tensor_core_bound<half>(c + 1),
                             "2:4 sparse GEMM NHWC batch");
  }
}
