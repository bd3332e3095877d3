// The epilogue every INT8 conv kernel ends with: the requantization of fovea/quant/scheme.hpp,
// step for step, each step one correctly rounded IEEE single-precision operation, so the device
// gives the bits the host reference gives:
//   acc   = sum + bias[k]                      (int32; bias already holds −zp_x·Σw)
//   t     = fma(float(acc), m[k], addend)      addend = float(r − zp_r)·m_r with a residual;
//                                              without one, fma(a, m, 0) is the product a·m
//   t     = min(max(t, t_lo), t_hi)            the clamp's bounds minus the zero point
//   q     = zero_point + round_half_even(t)
// The float output (dequantized logits) stores float(acc)·m[k]. Intrinsics spell out each
// rounding (_rn), so no compiler contraction or fast-math flag can change a result.
#pragma once

#include <cstdint>

#include "quant/qconv_problem.hpp"

namespace fovea::cuda::detail {

// int32 addition that wraps instead of being undefined: the tensor cores and dp4a accumulate
// modulo 2^32 too, so any partial sum may wrap as long as the final value fits in int32 (which
// the scheme's kMaxReduction guarantees).
__device__ __forceinline__ int32_t add_wrapping(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

template <class Out>
__device__ __forceinline__ void store_qconv_output(const QConvProblem& pr, int32_t sum, int k,
                                                   int64_t offset);

template <>
__device__ __forceinline__ void store_qconv_output<uint8_t>(const QConvProblem& pr, int32_t sum,
                                                            int k, int64_t offset) {
  const float acc = __int2float_rn(add_wrapping(sum, __ldg(pr.bias + k)));
  const float m = __ldg(pr.multiplier + k);
  float t;
  if (pr.residual != nullptr) {
    const int32_t r = static_cast<int32_t>(pr.residual[offset]) - pr.residual_zero_point;
    t = __fmaf_rn(acc, m, __fmul_rn(__int2float_rn(r), pr.residual_multiplier));
  } else {
    t = __fmul_rn(acc, m);
  }
  t = fminf(fmaxf(t, pr.t_lo), pr.t_hi);
  static_cast<uint8_t*>(pr.y)[offset] = static_cast<uint8_t>(pr.zero_point + __float2int_rn(t));
}

template <>
__device__ __forceinline__ void store_qconv_output<float>(const QConvProblem& pr, int32_t sum,
                                                          int k, int64_t offset) {
  const float acc = __int2float_rn(add_wrapping(sum, __ldg(pr.bias + k)));
  static_cast<float*>(pr.y)[offset] = __fmul_rn(acc, __ldg(pr.multiplier + k));
}

// Four copies of the input zero point: a padded tap's 4 (or 16) bytes of input.
__device__ __forceinline__ uint32_t zero_point_word(int zero_point) {
  return static_cast<uint32_t>(zero_point) * 0x01010101u;
}

}  // namespace fovea::cuda::detail
