// CPU paths for the cheap ops between convolutions: same-shape add, activations, max pooling
// and global average pooling on NCHW tensors. Flat loops over contiguous memory, split into
// chunks over the thread pool.
//
// add is bit-identical to add_reference (a float sum rounded from double is the float sum), and
// the pools are too (max is exact; the average accumulates in double like the reference).
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline constexpr int64_t kElementwiseChunk = 1 << 15;

// Calls fn(begin, end) over [0, count) in chunks spread over the pool.
template <class Fn>
void for_chunks(int64_t count, Fn fn) {
  parallel_for(0, (count + kElementwiseChunk - 1) / kElementwiseChunk, [&](int64_t chunk) {
    const int64_t begin = chunk * kElementwiseChunk;
    fn(begin, std::min(count, begin + kElementwiseChunk));
  });
}

// a + b for tensors of the same shape and layout.
inline Tensor<float> add_same_shape(const Tensor<float>& a, const Tensor<float>& b) {
  Tensor<float> y = Tensor<float>::uninitialized(a.shape(), a.layout());
  for_chunks(a.numel(), [&](int64_t begin, int64_t end) {
    const float *pa = a.data(), *pb = b.data();
    float* py = y.data();
    for (int64_t i = begin; i < end; ++i)
      py[i] = pa[i] + pb[i];
  });
  return y;
}

inline Tensor<float> activation_f32(const Tensor<float>& x, ActivationKind kind) {
  Tensor<float> y = Tensor<float>::uninitialized(x.shape(), x.layout());
  for_chunks(x.numel(), [&](int64_t begin, int64_t end) {
    std::copy(x.data() + begin, x.data() + end, y.data() + begin);
    activate_in_place(y.data() + begin, end - begin, kind);
  });
  return y;
}

// max_pool2d on NCHW, one plane per task: for each output row, first the maximum down the
// window's rows for every input column (a vectorizable loop), then across the window's columns.
// Max is exact, so the order does not change the result; any NaN in a window gives NaN, as in
// the reference.
inline Tensor<float> max_pool2d_nchw(const Tensor<float>& x, const Pool2dParams& pp) {
  const Pool2dAttrs& a = pp.attrs;
  Tensor<float> y = Tensor<float>::uninitialized(pp.output_shape());
  const auto larger = [](float v, float best) { return (v > best || v != v) ? v : best; };
  parallel_for(0, pp.n * pp.c, [&](int64_t plane) {
    const float* in = x.data() + plane * pp.h * pp.w;
    float* out = y.data() + plane * pp.p * pp.q;
    thread_local AlignedBuffer column_max;
    column_max.resize_kept(pp.w);
    float* cm = column_max.data();
    for (int64_t op = 0; op < pp.p; ++op) {
      const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
      const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
      std::copy(in + h0 * pp.w, in + (h0 + 1) * pp.w, cm);
      for (int64_t ih = h0 + 1; ih < h1; ++ih) {
        const float* row = in + ih * pp.w;
        for (int64_t iw = 0; iw < pp.w; ++iw)
          cm[iw] = larger(row[iw], cm[iw]);
      }
      for (int64_t oq = 0; oq < pp.q; ++oq) {
        const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
        const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
        float best = cm[w0];
        for (int64_t iw = w0 + 1; iw < w1; ++iw)
          best = larger(cm[iw], best);
        out[op * pp.q + oq] = best;
      }
    }
  });
  return y;
}

// Mean of each NCHW plane: (N, C, H, W) -> (N, C, 1, 1).
inline Tensor<float> global_avg_pool2d_nchw(const Tensor<float>& x) {
  const int64_t planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor<float> y(Shape{x.dim(0), x.dim(1), 1, 1});
  parallel_for(0, (planes + 63) / 64, [&](int64_t task) {
    for (int64_t plane = task * 64; plane < std::min(planes, task * 64 + 64); ++plane) {
      const float* in = x.data() + plane * hw;
      double sum = 0;
      for (int64_t i = 0; i < hw; ++i)
        sum += in[i];
      y.data()[plane] = static_cast<float>(sum / double(hw));
    }
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
