// QConvProblem: everything a device INT8 conv kernel needs, built once on the host by the
// launcher (qconv2d_int8.cu) from the packed layer's spec and passed to the kernel by value.
// Sizes are int: the launcher has checked every tensor against the 32-bit index limit; memory
// offsets are formed in int64.
#pragma once

#include <cstdint>

namespace fovea::cuda::detail {

struct QConvProblem {
  const uint8_t* x = nullptr;         // (N, H, W, C) u8
  const int8_t* weight = nullptr;     // packed, see QConvSpec
  const int32_t* bias = nullptr;      // [≥ K] bias_q − zp_x·Σw
  const float* multiplier = nullptr;  // [≥ K]
  const uint8_t* residual = nullptr;  // (N, P, Q, K) u8 or null
  void* y = nullptr;                  // (N, P, Q, K), u8 or float
  int n = 0, h = 0, w = 0, c = 0;
  int k = 0, r = 0, s = 0;
  int p = 0, q = 0;
  int stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0, dilation_h = 1, dilation_w = 1;
  int groups = 1, c_per_group = 0, k_per_group = 0;
  int gemm_m = 0;  // N·P·Q output pixels
  // The reduction of one output, as packed: (r, s, c) taps with c_packed channels each, the
  // first taps_length bytes of a row_length-byte weight row.
  int c_packed = 0, taps_length = 0, row_length = 0;
  int input_zero_point = 0;
  // Requantization (u8 output): t = fma(float(acc), m[k], addend), clamped to [t_lo, t_hi],
  // q = zero_point + round_half_even(t); addend = float(r − residual_zero_point)·residual_m.
  int zero_point = 0;
  float t_lo = 0, t_hi = 255;
  float residual_multiplier = 0;
  int residual_zero_point = 0;
  // dp4a: 4-byte input loads (C/groups and C multiples of 4). depthwise: 4 channels a thread.
  bool word_loads = false;
};

}  // namespace fovea::cuda::detail
