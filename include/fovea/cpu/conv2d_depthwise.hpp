// Depthwise convolution (groups == in channels == out channels), NCHW, any kernel size, stride,
// padding and dilation, vectorized across the output width.
//
// Each channel's plane is first copied into a zero-padded scratch split by column phase: with
// stride sw, phase j holds padded columns j, j + sw, j + 2·sw, … So the taps one kernel column
// reads for consecutive outputs q are consecutive floats of one phase, for every stride: blocks
// of output columns are summed over all taps in SIMD registers, with no bounds checks.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

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

// How a channel plane is laid out in the padded, phase-split scratch (see the top of the file).
struct DepthwiseLayout {
  int64_t padded_h, phase_len, row_len;  // row_len: all phases of one padded row
  // Where tap (r, s) of output (0, 0) reads, relative to the scratch; output row op adds
  // op · stride_h · row_len and output column q adds q. Computed once per call, since the
  // divisions in it would otherwise run for every tap of every vector.
  std::vector<int64_t> tap_offsets;

  explicit DepthwiseLayout(const Conv2dParams& cp) {
    const Conv2dAttrs& a = cp.attrs;
    const int64_t sw = a.stride_w;
    padded_h = cp.h + a.pad_top + a.pad_bottom;
    phase_len = (cp.w + a.pad_left + a.pad_right + sw - 1) / sw;
    row_len = sw * phase_len;
    for (int64_t r = 0; r < cp.r; ++r) {
      for (int64_t s = 0; s < cp.s; ++s) {
        const int64_t col = s * a.dilation_w;
        tap_offsets.push_back(r * a.dilation_h * row_len + (col % sw) * phase_len + col / sw);
      }
    }
  }
};

// One channel plane: x (h × w) to y (p × q) with kernel taps `w` (r × s).
inline void depthwise_plane(const float* x, const float* taps, float bias, const float* residual,
                            ActivationKind act, const Conv2dParams& cp,
                            const DepthwiseLayout& layout, float* y) {
  const Conv2dAttrs& a = cp.attrs;
  const int64_t sw = a.stride_w;
  const int64_t padded_h = layout.padded_h, phase_len = layout.phase_len;
  const int64_t row_len = layout.row_len;
  // The last vector of a row may read up to kLanes - 1 floats past the row (into the next one,
  // or into the zeroed slack after the last); those lanes are computed but never stored.
  const int64_t slack = Vec::kLanes;
  // Stride 2 also needs one padded row, whole vectors long, to split by column parity.
  const int64_t line_len =
      sw == 2 ? 2 * Vec::kLanes * ((phase_len + Vec::kLanes - 1) / Vec::kLanes) : 0;
  thread_local AlignedBuffer scratch;
  scratch.resize_kept(padded_h * row_len + slack + line_len);
  float* padded = scratch.data();
  float* line = padded + padded_h * row_len + slack;
  std::fill(padded + padded_h * row_len, padded + padded_h * row_len + slack, 0.0f);
  // Padding rows are zero; every image row is written whole, zeros included, phase by phase:
  // phase j, slot t holds padded column t * sw + j.
  std::fill(padded, padded + a.pad_top * row_len, 0.0f);
  std::fill(padded + (a.pad_top + cp.h) * row_len, padded + padded_h * row_len, 0.0f);
  for (int64_t ih = 0; ih < cp.h; ++ih) {
    const float* src = x + ih * cp.w - a.pad_left;  // src[col] is padded column col
    float* row = padded + (ih + a.pad_top) * row_len;
    if (sw == 1) {
      std::fill(row, row + a.pad_left, 0.0f);
      std::copy(x + ih * cp.w, x + (ih + 1) * cp.w, row + a.pad_left);
      std::fill(row + a.pad_left + cp.w, row + row_len, 0.0f);
      continue;
    }
    if (sw == 2) {  // the common strided case, split with vector shuffles
      std::fill(line, line + a.pad_left, 0.0f);
      std::copy(x + ih * cp.w, x + (ih + 1) * cp.w, line + a.pad_left);
      std::fill(line + a.pad_left + cp.w, line + line_len, 0.0f);
      for (int64_t t = 0; t < phase_len; t += Vec::kLanes) {
        Vec even, odd;
        deinterleave(Vec::load(line + 2 * t), Vec::load(line + 2 * t + Vec::kLanes), even, odd);
        const int64_t lanes = std::min<int64_t>(Vec::kLanes, phase_len - t);
        if (lanes == Vec::kLanes) {
          even.store(row + t);
          odd.store(row + phase_len + t);
        } else {
          even.store_first(row + t, lanes);
          odd.store_first(row + phase_len + t, lanes);
        }
      }
      continue;
    }
    for (int64_t phase = 0; phase < sw; ++phase) {
      float* dst = row + phase * phase_len;
      // Slots t in [t_lo, t_hi) hold image columns; the rest are padding.
      const int64_t t_lo =
          std::min(phase_len, (std::max<int64_t>(a.pad_left - phase, 0) + sw - 1) / sw);
      const int64_t t_hi =
          std::clamp<int64_t>((a.pad_left + cp.w - phase + sw - 1) / sw, t_lo, phase_len);
      std::fill(dst, dst + t_lo, 0.0f);
      for (int64_t t = t_lo; t < t_hi; ++t)
        dst[t] = src[t * sw + phase];
      std::fill(dst + t_hi, dst + phase_len, 0.0f);
    }
  }
  // Output rows [op, op + kR) × vectors [q0, q0 + kV lanes), the sums held in registers across
  // all taps, then the residual added and the result stored (a vector past the row's end only
  // in its first lanes). Each sum is a chain of dependent FMAs, so blocks carry four of them
  // (4 vectors of one row, or 1 vector of 4 rows) to hide FMA latency.
  const auto vector_block = [&](auto rows, auto vectors, int64_t op, int64_t q0) {
    constexpr int kR = decltype(rows)::value, kV = decltype(vectors)::value;
    Vec sum[kR][kV];
    for (auto& row : sum)
      for (Vec& v : row)
        v = Vec::broadcast(bias);
    const float* first_row = padded + op * a.stride_h * row_len + q0;
    const int64_t tap_count = cp.r * cp.s;
    for (int64_t tap = 0; tap < tap_count; ++tap) {
      const float* src = first_row + layout.tap_offsets[static_cast<size_t>(tap)];
      const Vec t = Vec::broadcast(taps[tap]);
#pragma GCC unroll 4
      for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < kV; ++v)
          sum[r][v] =
              fmadd(t, Vec::load(src + r * a.stride_h * row_len + v * Vec::kLanes), sum[r][v]);
      }
    }
    for (int r = 0; r < kR; ++r) {
      for (int v = 0; v < kV; ++v) {
        const int64_t at = (op + r) * cp.q + q0 + v * Vec::kLanes;
        const int64_t lanes = std::min<int64_t>(Vec::kLanes, cp.q - q0 - v * Vec::kLanes);
        Vec out = sum[r][v];
        if (lanes == Vec::kLanes) {
          if (residual != nullptr) out = out + Vec::load(residual + at);
          out.store(y + at);
        } else {
          if (residual != nullptr) out = out + Vec::load_first(residual + at, lanes);
          out.store_first(y + at, lanes);
        }
      }
    }
  };
  using One = std::integral_constant<int, 1>;
  using Four = std::integral_constant<int, 4>;
  constexpr int64_t kRowsAtOnce = 4;
  for (int64_t op = 0; op < cp.p; op += kRowsAtOnce) {
    const int64_t rows = std::min(kRowsAtOnce, cp.p - op);
    int64_t q0 = 0;
    for (; q0 + 4 * Vec::kLanes <= cp.q; q0 += 4 * Vec::kLanes)
      for (int64_t r = 0; r < rows; ++r)
        vector_block(One{}, Four{}, op + r, q0);
    // The rest, a vector at a time.
    for (; q0 < cp.q; q0 += Vec::kLanes) {
      if (rows == kRowsAtOnce) {
        vector_block(Four{}, One{}, op, q0);
      } else {
        for (int64_t r = 0; r < rows; ++r)
          vector_block(One{}, One{}, op + r, q0);
      }
    }
  }
  // Once over the whole plane: row by row, narrow rows (7 or 14 columns) would be all tail.
  activate_in_place(y, cp.p * cp.q, act);
}

}  // namespace detail

inline Tensor<float> conv2d_depthwise_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape());
  const int64_t hw = cp.h * cp.w, pq = cp.p * cp.q;
  const float* residual =
      call.epilogue.residual != nullptr ? call.epilogue.residual->data() : nullptr;
  // Several planes per task when planes are small, so task overhead stays negligible.
  const int64_t planes = cp.n * cp.c;
  const int64_t per_task = std::max<int64_t>(1, 4096 / std::max<int64_t>(pq, 1));
  const detail::DepthwiseLayout layout(cp);
  parallel_for(0, (planes + per_task - 1) / per_task, [&](int64_t task) {
    for (int64_t plane = task * per_task; plane < std::min(planes, (task + 1) * per_task);
         ++plane) {
      const int64_t c = plane % cp.c;
      detail::depthwise_plane(call.x.data() + plane * hw, call.weight.data() + c * cp.r * cp.s,
                              call.bias.empty() ? 0.0f : call.bias(c),
                              residual != nullptr ? residual + plane * pq : nullptr,
                              call.epilogue.act, cp, layout, y.data() + plane * pq);
    }
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
