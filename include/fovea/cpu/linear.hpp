// Fully connected layer y[n, o] = x[n, ·] · w[o, ·] + b[o] on the CPU.
//
// Small batches (the inference case) are dot products: each weight row is streamed once per
// image, vectorized along the input features. Larger batches use the packed GEMM with the
// weights as A, computing y^T = w · x^T, then transpose the small result.
#pragma once

#include <cstdint>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/linear/params.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// Up to this many images, dot products beat packing the weights for a GEMM.
inline constexpr int64_t kLinearDotMaxBatch = 8;

namespace detail {

inline float dot(const float* a, const float* b, int64_t count) {
  constexpr int kAcc = 4;
  Vec acc[kAcc] = {Vec::zero(), Vec::zero(), Vec::zero(), Vec::zero()};
  int64_t i = 0;
  for (; i + kAcc * Vec::kLanes <= count; i += kAcc * Vec::kLanes) {
    for (int j = 0; j < kAcc; ++j)
      acc[j] =
          fmadd(Vec::load(a + i + j * Vec::kLanes), Vec::load(b + i + j * Vec::kLanes), acc[j]);
  }
  float lanes[Vec::kLanes];
  ((acc[0] + acc[1]) + (acc[2] + acc[3])).store(lanes);
  float sum = 0;
  for (float v : lanes)
    sum += v;
  for (; i < count; ++i)
    sum += a[i] * b[i];
  return sum;
}

}  // namespace detail

inline Tensor<float> linear_f32(const Tensor<float>& x, const Tensor<float>& weight,
                                const Tensor<float>& bias) {
  const LinearParams lp = LinearParams::make(x.shape(), weight.shape());
  FOVEA_CHECK(bias.empty() || bias.shape() == Shape{lp.out}, "linear bias must be [", lp.out,
              "], got ", bias.shape());
  Tensor<float> y(lp.output_shape());
  const float* b = bias.empty() ? nullptr : bias.data();
  if (lp.n <= kLinearDotMaxBatch) {
    constexpr int64_t kRowsPerTask = 16;
    parallel_for(0, (lp.out + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
      const int64_t o1 = std::min(lp.out, (task + 1) * kRowsPerTask);
      for (int64_t o = task * kRowsPerTask; o < o1; ++o) {
        for (int64_t n = 0; n < lp.n; ++n) {
          const float v = detail::dot(x.data() + n * lp.in, weight.data() + o * lp.in, lp.in);
          y.data()[n * lp.out + o] = b != nullptr ? v + b[o] : v;
        }
      }
    });
    return y;
  }
  const PackedMatrixA packed(lp.out, lp.in, weight.data(), lp.in, 1);
  AlignedBuffer transposed(lp.out * lp.n);
  GemmEpilogue e;
  e.row_bias = b;
  gemm_packed_a(packed, lp.n, x.data(), 1, lp.in, transposed.data(), lp.n, e);
  for (int64_t o = 0; o < lp.out; ++o) {
    for (int64_t n = 0; n < lp.n; ++n)
      y.data()[n * lp.out + o] = transposed.data()[o * lp.n + n];
  }
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
