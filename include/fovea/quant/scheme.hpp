// fovea's INT8 scheme, defined once (docs/int8.md). Every INT8 path (the integer reference, the
// CPU kernels for each ISA, the CUDA kernels) computes exactly what this file says, so their
// outputs are the same bits, not merely close.
//
// - Activations: unsigned 8-bit, per tensor, real = scale · (q − zero_point), q in [0, 255].
// - Weights: signed 8-bit, per output channel, symmetric: real = scale[k] · q, q in [−127, 127]
//   (−128 is never used, so a negated weight is still a weight).
// - Accumulation: int32, acc = bias_q[k] + Σ (x − zp_x) · w over the window. Padding reads as
//   zp_x, so a padded tap adds nothing. The sum cannot overflow: the largest reduction a model
//   may have is checked when it is compiled (kMaxReduction).
// - Requantization, the one formula (requantize below), in IEEE single precision:
//     t = fma(float(acc), m, addend)        m = s_x · s_w[k] / s_y, rounded once to float
//     q = clamp(zp_y + round_half_even(t), lo, hi)
//   addend is 0, or a residual's float(r − zp_r) · m_r with m_r = s_r / s_y. Each step is one
//   correctly rounded IEEE operation, which every backend has (cvtdq2ps, vfmadd, cvtps2dq;
//   __int2float_rn, __fmaf_rn, __float2int_rn). Clamping t to [lo − zp_y, hi − zp_y] before
//   rounding gives the same result (rounding is monotonic and the bounds are integers), which is
//   how the SIMD kernels stay in range.
// - Multipliers and bounds are derived on the host, from the stored scales, by the functions
//   below; kernels receive them, never recompute them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "fovea/core/error.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea::quant {

inline constexpr int32_t kActivationMin = 0;
inline constexpr int32_t kActivationMax = 255;
inline constexpr int32_t kWeightMax = 127;
// The largest reduction length (C/groups · R · S) whose int32 sum of (x − zp) · w cannot
// overflow, with room for a bias of the same size: 2 · 255 · 127 · n < 2^31.
inline constexpr int64_t kMaxReduction = 33000;

// real = scale · (q − zero_point) for an unsigned 8-bit activation.
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;

  bool operator==(const QuantParams& o) const {
    return scale == o.scale && zero_point == o.zero_point;
  }
  bool operator!=(const QuantParams& o) const { return !(*this == o); }
};

// Throws unless the params are usable: a finite positive scale and a zero point in [0, 255].
// `what` names the tensor in the message.
template <class What>
void check_params(const QuantParams& p, const What& what) {
  FOVEA_CHECK(std::isfinite(p.scale) && p.scale > 0.0f, what,
              ": scale must be finite and > 0, got ", p.scale);
  FOVEA_CHECK(p.zero_point >= kActivationMin && p.zero_point <= kActivationMax, what,
              ": zero point must be in [0, 255], got ", p.zero_point);
}

// The params that cover the real range [lo, hi], widened to hold 0 exactly (so padding and ReLU
// are exact): scale = (hi − lo) / 255, zero_point = round(−lo / scale).
inline QuantParams activation_params(double lo, double hi) {
  FOVEA_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi,
              "activation range must be finite with lo <= hi, got [", lo, ", ", hi, "]");
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  // A tensor that is always 0 still needs a positive scale; any will do.
  const double span = std::max(hi - lo, 1e-8);
  QuantParams p;
  p.scale = static_cast<float>(span / (kActivationMax - kActivationMin));
  const double zp = std::nearbyint(-lo / static_cast<double>(p.scale));
  p.zero_point = static_cast<int32_t>(std::clamp(zp, 0.0, 255.0));
  return p;
}

// The scale of one output channel's weights: max |w| / 127 (1 for an all-zero channel).
inline float weight_scale(double max_abs) {
  return max_abs > 0 ? static_cast<float>(max_abs / kWeightMax) : 1.0f;
}

inline int8_t quantize_weight(float w, float scale) {
  const double q = std::nearbyint(static_cast<double>(w) / static_cast<double>(scale));
  return static_cast<int8_t>(
      std::clamp(q, -static_cast<double>(kWeightMax), static_cast<double>(kWeightMax)));
}

// A bias in the accumulator's units s_x · s_w[k], limited so that bias plus the largest sum
// stays in int32.
inline int32_t quantize_bias(float bias, float input_scale, float weight_scale) {
  const double q =
      std::nearbyint(static_cast<double>(bias) / (static_cast<double>(input_scale) * weight_scale));
  constexpr double kLimit = 1 << 30;
  return static_cast<int32_t>(std::clamp(q, -kLimit, kLimit));
}

// Float → u8: clamp(round_half_even(x / scale) + zero_point, 0, 255).
inline uint8_t quantize_value(float x, const QuantParams& p) {
  const float lo = static_cast<float>(kActivationMin - p.zero_point);
  const float hi = static_cast<float>(kActivationMax - p.zero_point);
  float t = x / p.scale;
  t = t >= lo ? t : lo;  // NaN becomes lo, as x86's max(t, lo) gives lo
  t = t <= hi ? t : hi;
  return static_cast<uint8_t>(static_cast<int32_t>(std::nearbyint(t)) + p.zero_point);
}

// u8 → float: float(q − zero_point) · scale.
inline float dequantize_value(int32_t q, const QuantParams& p) {
  return static_cast<float>(q - p.zero_point) * p.scale;
}

// The multiplier from an int32 sum in units of in_scale to units of out_scale, rounded once.
inline float multiplier(double in_scale, double out_scale) {
  return static_cast<float>(in_scale / out_scale);
}

// The output range [lo, hi] of a requantization whose activation is a clamp: identity keeps
// [0, 255], ReLU starts at the real 0 (the zero point), ReLU6 also ends at the real 6.
struct ClampBounds {
  int32_t lo = kActivationMin, hi = kActivationMax;
};

inline bool is_clamp_activation(ActivationKind act) {
  return act == ActivationKind::identity || act == ActivationKind::relu ||
         act == ActivationKind::relu6;
}

inline ClampBounds clamp_bounds(ActivationKind act, const QuantParams& out) {
  FOVEA_CHECK(is_clamp_activation(act), "INT8: ", activation_name(act),
              " is not a clamp; it runs as a lookup table");
  ClampBounds b;
  if (act == ActivationKind::relu || act == ActivationKind::relu6) b.lo = out.zero_point;
  if (act == ActivationKind::relu6) {
    const double six = out.zero_point + std::nearbyint(6.0 / static_cast<double>(out.scale));
    b.hi = static_cast<int32_t>(std::clamp(six, static_cast<double>(b.lo), 255.0));
  }
  return b;
}

// The one requantization formula (see the top of this file). `addend` is 0 without a residual.
inline uint8_t requantize(int32_t acc, float multiplier, float addend, int32_t zero_point,
                          ClampBounds bounds) {
  float t = std::fma(static_cast<float>(acc), multiplier, addend);
  t = std::min(std::max(t, static_cast<float>(bounds.lo - zero_point)),
               static_cast<float>(bounds.hi - zero_point));
  return static_cast<uint8_t>(static_cast<int32_t>(std::nearbyint(t)) + zero_point);
}

// A residual's contribution to requantize: float(r − zp_r) · m_r, rounded once.
inline float residual_addend(int32_t r, int32_t residual_zero_point, float residual_multiplier) {
  return static_cast<float>(r - residual_zero_point) * residual_multiplier;
}

// An int32 sum straight to float (the logits): float(acc) · m, rounded once.
inline float dequantize_accumulator(int32_t acc, float multiplier) {
  return static_cast<float>(acc) * multiplier;
}

}  // namespace fovea::quant
