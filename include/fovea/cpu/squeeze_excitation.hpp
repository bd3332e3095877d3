// Squeeze-and-excitation for NCHW and NHWC float tensors, in three passes instead of the
// reference's chain of ops: the channel means, the gates (two tiny matrix-vector products per
// image, fc1 → act → fc2 → scale_act, shared by both layouts), and y = x · gate.
//   NCHW: one vectorized float sum per plane, then one broadcast multiply per plane.
//   NHWC: the means summed in double across pixels, vectors across channels (the reference's
//         means bit for bit), then each pixel's channel vector times the image's gate vector.
// Neither is bit-identical to the reference (the dense layers sum in vector order, and SiLU and
// sigmoid use the vector exp): within 1e-4 relative of a double-precision reference.
#pragma once

#include <algorithm>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/elementwise.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

namespace detail {

inline float plane_sum(const float* x, int64_t count) {
  Vec acc = Vec::zero();
  int64_t i = 0;
  for (; i + Vec::kLanes <= count; i += Vec::kLanes)
    acc = acc + Vec::load(x + i);
  float sum = reduce_add(acc);
  for (; i < count; ++i)
    sum += x[i];
  return sum;
}

inline void scale_plane(const float* x, float gate, int64_t count, float* y) {
  const Vec g = Vec::broadcast(gate);
  int64_t i = 0;
  for (; i + Vec::kLanes <= count; i += Vec::kLanes)
    (Vec::load(x + i) * g).store(y + i);
  for (; i < count; ++i)
    y[i] = x[i] * gate;
}

// out[o] = act(bias[o] + Σ_i w[o, i] · in[i]) for a [outs, ins] weight.
inline void dense_layer(const float* w, const float* bias, const float* in, int64_t ins,
                        int64_t outs, ActivationKind act, float* out) {
  for (int64_t o = 0; o < outs; ++o) {
    const float* row = w + o * ins;
    Vec acc = Vec::zero();
    int64_t i = 0;
    for (; i + Vec::kLanes <= ins; i += Vec::kLanes)
      acc = fmadd(Vec::load(row + i), Vec::load(in + i), acc);
    float sum = reduce_add(acc);
    for (; i < ins; ++i)
      sum += row[i] * in[i];
    out[o] = bias[o] + sum;
  }
  activate_in_place(out, outs, act);
}

// The excitation, in place: each image's C channel means in `gates` [N, C] become its gates,
// scale_act(fc2 · act(fc1 · means + fc1_b) + fc2_b).
inline void excitation_gates(float* gates, int64_t n, int64_t c, const Tensor<float>& fc1_w,
                             const Tensor<float>& fc1_b, const Tensor<float>& fc2_w,
                             const Tensor<float>& fc2_b, ActivationKind act,
                             ActivationKind scale_act) {
  const int64_t s = fc1_w.dim(0);
  // A tensor, not a vector: from the pass's arena, so a planned forward allocates nothing.
  Tensor<float> hidden = Tensor<float>::uninitialized(Shape{s});
  for (int64_t image = 0; image < n; ++image) {
    float* g = gates + image * c;
    dense_layer(fc1_w.data(), fc1_b.data(), g, c, s, act, hidden.data());
    dense_layer(fc2_w.data(), fc2_b.data(), hidden.data(), s, c, scale_act, g);
  }
}

// y[i] = x[i] · gate[i] for i < count, a pixel's channels times their gates.
inline void scale_channels(const float* x, const float* gate, int64_t count, float* y) {
  int64_t i = 0;
  for (; i + Vec::kLanes <= count; i += Vec::kLanes)
    (Vec::load(x + i) * Vec::load(gate + i)).store(y + i);
  if (i < count)
    (Vec::load_first(x + i, count - i) * Vec::load_first(gate + i, count - i))
        .store_first(y + i, count - i);
}

}  // namespace detail

// x · scale_act(fc2(act(fc1(mean of x over H, W)))) with fc1 [S, C] and fc2 [C, S] (the 1×1
// conv weights' data) and their biases; shapes are checked by the caller.
inline Tensor<float> squeeze_excitation_nchw(const Tensor<float>& x, const Tensor<float>& fc1_w,
                                             const Tensor<float>& fc1_b, const Tensor<float>& fc2_w,
                                             const Tensor<float>& fc2_b, ActivationKind act,
                                             ActivationKind scale_act) {
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  const int64_t planes = n * c;
  // Several planes per task when planes are small, so task overhead stays negligible.
  const int64_t per_task = std::max<int64_t>(1, 8192 / std::max<int64_t>(hw, 1));
  const int64_t tasks = (planes + per_task - 1) / per_task;
  Tensor<float> gates = Tensor<float>::uninitialized(Shape{planes});
  parallel_for(0, tasks, [&](int64_t task) {
    for (int64_t p = task * per_task; p < std::min(planes, (task + 1) * per_task); ++p)
      gates.data()[p] = detail::plane_sum(x.data() + p * hw, hw) / float(hw);
  });
  detail::excitation_gates(gates.data(), n, c, fc1_w, fc1_b, fc2_w, fc2_b, act, scale_act);
  Tensor<float> y = Tensor<float>::uninitialized(x.shape());
  parallel_for(0, tasks, [&](int64_t task) {
    for (int64_t p = task * per_task; p < std::min(planes, (task + 1) * per_task); ++p)
      detail::scale_plane(x.data() + p * hw, gates.data()[p], hw, y.data() + p * hw);
  });
  return y;
}

// The gates of an NHWC x, [N, C]: scale_act(fc2(act(fc1(channel means)))), the means by
// detail::channel_means_nhwc. For squeeze_excitation_nhwc below, and for a caller that folds the
// gates into the next 1×1 conv's weights (conv2d_nhwc_pointwise_gated_run).
inline Tensor<float> squeeze_excitation_gates_nhwc(const Tensor<float>& x,
                                                   const Tensor<float>& fc1_w,
                                                   const Tensor<float>& fc1_b,
                                                   const Tensor<float>& fc2_w,
                                                   const Tensor<float>& fc2_b, ActivationKind act,
                                                   ActivationKind scale_act) {
  const int64_t n = x.dim(0), c = x.dim(1);
  Tensor<float> gates = Tensor<float>::uninitialized(Shape{n, c});
  detail::channel_means_nhwc(x, gates.data());
  detail::excitation_gates(gates.data(), n, c, fc1_w, fc1_b, fc2_w, fc2_b, act, scale_act);
  return gates;
}

// The same for an NHWC x, output NHWC: the gates, then y = x · gate pixel by pixel, about 8192
// floats of one image per task.
inline Tensor<float> squeeze_excitation_nhwc(const Tensor<float>& x, const Tensor<float>& fc1_w,
                                             const Tensor<float>& fc1_b, const Tensor<float>& fc2_w,
                                             const Tensor<float>& fc2_b, ActivationKind act,
                                             ActivationKind scale_act) {
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  const Tensor<float> gates =
      squeeze_excitation_gates_nhwc(x, fc1_w, fc1_b, fc2_w, fc2_b, act, scale_act);
  Tensor<float> y = Tensor<float>::uninitialized(x.shape(), Layout::nhwc);
  const int64_t per_task = std::max<int64_t>(1, 8192 / std::max<int64_t>(c, 1));
  const int64_t blocks = (hw + per_task - 1) / per_task;
  parallel_for(0, n * blocks, [&](int64_t task) {
    const int64_t image = task / blocks, p0 = (task % blocks) * per_task;
    const float* gate = gates.data() + image * c;
    for (int64_t p = p0; p < std::min(hw, p0 + per_task); ++p) {
      const int64_t offset = (image * hw + p) * c;
      detail::scale_channels(x.data() + offset, gate, c, y.data() + offset);
    }
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
