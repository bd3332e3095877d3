// Depthwise convolution (groups == in channels == out channels), NCHW, any kernel size, stride,
// padding and dilation, vectorized across the output width.
//
// Each channel's plane is first copied into a zero-padded scratch split by column phase: with
// stride sw, phase j holds padded columns j, j + sw, j + 2·sw, … So the taps one kernel column
// reads for consecutive outputs q are consecutive floats of one phase, for every stride, and the
// inner loop is a contiguous multiply-add the compiler vectorizes, with no bounds checks.
#pragma once

#include <algorithm>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline bool conv2d_depthwise_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  return problem.input_layout == Layout::nchw && problem.residual_layout == Layout::nchw &&
         cp.groups() == cp.c && cp.k == cp.c;
}

namespace detail {

// One channel plane: x (h × w) to y (p × q) with kernel taps `w` (r × s).
inline void depthwise_plane(const float* x, const float* taps, float bias, const float* residual,
                            ActivationKind act, const Conv2dParams& cp, float* y) {
  const Conv2dAttrs& a = cp.attrs;
  const int64_t sw = a.stride_w;
  const int64_t padded_h = cp.h + a.pad_top + a.pad_bottom;
  const int64_t padded_w = cp.w + a.pad_left + a.pad_right;
  const int64_t phase_len = (padded_w + sw - 1) / sw;
  const int64_t row_len = sw * phase_len;  // all phases of one padded row
  thread_local AlignedBuffer scratch;
  scratch.resize(padded_h * row_len + cp.q);
  float* padded = scratch.data();
  float* acc = padded + padded_h * row_len;
  std::fill(padded, padded + padded_h * row_len, 0.0f);
  for (int64_t ih = 0; ih < cp.h; ++ih) {
    float* row = padded + (ih + a.pad_top) * row_len;
    for (int64_t iw = 0; iw < cp.w; ++iw) {
      const int64_t col = iw + a.pad_left;
      row[(col % sw) * phase_len + col / sw] = x[ih * cp.w + iw];
    }
  }
  for (int64_t op = 0; op < cp.p; ++op) {
    std::fill(acc, acc + cp.q, bias);
    for (int64_t r = 0; r < cp.r; ++r) {
      const float* row = padded + (op * a.stride_h + r * a.dilation_h) * row_len;
      for (int64_t s = 0; s < cp.s; ++s) {
        const int64_t col = s * a.dilation_w;
        const float* src = row + (col % sw) * phase_len + col / sw;
        const float t = taps[r * cp.s + s];
        for (int64_t q = 0; q < cp.q; ++q) acc[q] += t * src[q];
      }
    }
    float* out = y + op * cp.q;
    if (residual != nullptr) {
      const float* res = residual + op * cp.q;
      for (int64_t q = 0; q < cp.q; ++q) out[q] = acc[q] + res[q];
    } else {
      std::copy(acc, acc + cp.q, out);
    }
    activate_in_place(out, cp.q, act);
  }
}

}  // namespace detail

inline Tensor<float> conv2d_depthwise_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  Tensor<float> y(cp.output_shape());
  const int64_t hw = cp.h * cp.w, pq = cp.p * cp.q;
  const float* residual =
      call.epilogue.residual != nullptr ? call.epilogue.residual->data() : nullptr;
  parallel_for(0, cp.n * cp.c, [&](int64_t plane) {
    const int64_t c = plane % cp.c;
    detail::depthwise_plane(call.x.data() + plane * hw, call.weight.data() + c * cp.r * cp.s,
                            call.bias.empty() ? 0.0f : call.bias(c),
                            residual != nullptr ? residual + plane * pq : nullptr,
                            call.epilogue.act, cp, y.data() + plane * pq);
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
