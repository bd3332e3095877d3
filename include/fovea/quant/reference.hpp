// The integer reference of every INT8 op: plain loops over the definitions, single-threaded,
// never optimized. It is the oracle the CPU kernels (each ISA) and the CUDA kernels must match
// bit for bit. Every op ends in scheme.hpp's requantize, so the only arithmetic that is not
// integer is that one formula.
//
// Activations are QTensors (u8, NHWC at rank 4; the loops index logically, so NCHW works too).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "fovea/ops/conv2d/params.hpp"
#include "fovea/ops/pool2d/params.hpp"
#include "fovea/quant/qtensor.hpp"

namespace fovea::quant {

namespace detail {

inline void check_conv_weights(const QConvWeights& w, int64_t k) {
  FOVEA_CHECK(static_cast<int64_t>(w.scales.size()) == k, "INT8 conv: ", w.scales.size(),
              " weight scales for ", k, " output channels");
  FOVEA_CHECK(w.bias.shape() == Shape{k}, "INT8 conv: bias must be [", k, "], got ",
              w.bias.shape());
  FOVEA_CHECK(w.reduction() <= kMaxReduction, "INT8 conv: a reduction of ", w.reduction(),
              " terms could overflow int32 (at most ", kMaxReduction, ")");
}

// The int32 sum of output (n, k, op, oq): bias + Σ (x − zp) · w, padding reading as zp.
inline int32_t conv_sum(const QTensor& x, const QConvWeights& w, const Conv2dParams& cp, int64_t n,
                        int64_t k, int64_t op, int64_t oq) {
  const Conv2dAttrs& a = cp.attrs;
  const int32_t zp = x.params.zero_point;
  const int64_t first_c = (k / cp.k_per_group()) * cp.c_per_group();
  int32_t sum = w.bias(k);
  for (int64_t ci = 0; ci < cp.c_per_group(); ++ci) {
    for (int64_t r = 0; r < cp.r; ++r) {
      const int64_t ih = op * a.stride_h - a.pad_top + r * a.dilation_h;
      for (int64_t s = 0; s < cp.s; ++s) {
        const int64_t iw = oq * a.stride_w - a.pad_left + s * a.dilation_w;
        const bool inside = ih >= 0 && ih < cp.h && iw >= 0 && iw < cp.w;
        const int32_t xv = inside ? x.q(n, first_c + ci, ih, iw) : zp;
        sum += (xv - zp) * w.weight(k, ci, r, s);
      }
    }
  }
  return sum;
}

}  // namespace detail

// y = requantize(bias + Σ (x − zp_x) · w, residual) with a clamp activation: conv2d with any
// stride, padding, dilation and groups (depthwise included). Output (N, K, P, Q) in NHWC.
inline QTensor qconv2d_reference(const QTensor& x, const QConvWeights& w, const Conv2dAttrs& attrs,
                                 const QEpilogue& epilogue) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), w.weight.shape(), attrs);
  detail::check_conv_weights(w, cp.k);
  const QTensor* residual = epilogue.residual;
  FOVEA_CHECK(residual == nullptr || residual->shape() == cp.output_shape(),
              "INT8 conv: residual must be ", cp.output_shape(), ", got ", residual->shape());
  const std::vector<float> m = conv_multipliers(x.params.scale, w.scales, epilogue.out.scale);
  const float mr =
      residual != nullptr ? multiplier(residual->params.scale, epilogue.out.scale) : 0.0f;
  const ClampBounds bounds = clamp_bounds(epilogue.act, epilogue.out);
  QTensor y = make_qtensor(cp.output_shape(), epilogue.out);
  for (int64_t n = 0; n < cp.n; ++n)
    for (int64_t k = 0; k < cp.k; ++k)
      for (int64_t op = 0; op < cp.p; ++op)
        for (int64_t oq = 0; oq < cp.q; ++oq) {
          const int32_t sum = detail::conv_sum(x, w, cp, n, k, op, oq);
          const float addend =
              residual != nullptr
                  ? residual_addend(residual->q(n, k, op, oq), residual->params.zero_point, mr)
                  : 0.0f;
          y.q(n, k, op, oq) =
              requantize(sum, m[static_cast<size_t>(k)], addend, epilogue.out.zero_point, bounds);
        }
  return y;
}

// The same sums, dequantized to float instead of requantized: float(sum) · s_x · s_w[k]. For a
// model's last layer, whose output (the logits) leaves INT8. Output (N, K, P, Q), NCHW.
inline Tensor<float> qconv2d_dequantized_reference(const QTensor& x, const QConvWeights& w,
                                                   const Conv2dAttrs& attrs) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), w.weight.shape(), attrs);
  detail::check_conv_weights(w, cp.k);
  const std::vector<float> m = conv_multipliers(x.params.scale, w.scales, 1.0f);
  Tensor<float> y(cp.output_shape());
  for (int64_t n = 0; n < cp.n; ++n)
    for (int64_t k = 0; k < cp.k; ++k)
      for (int64_t op = 0; op < cp.p; ++op)
        for (int64_t oq = 0; oq < cp.q; ++oq)
          y(n, k, op, oq) = dequantize_accumulator(detail::conv_sum(x, w, cp, n, k, op, oq),
                                                   m[static_cast<size_t>(k)]);
  return y;
}

// A linear layer on x [N, C]: the 1×1 conv of a 1×1 image. Output [N, K].
inline QTensor qlinear_reference(const QTensor& x, const QConvWeights& w,
                                 const QEpilogue& epilogue) {
  FOVEA_CHECK(x.q.rank() == 2, "INT8 linear: input must be [N, C], got ", x.shape());
  const QTensor image{x.q.reshape(Shape{x.dim(0), x.dim(1), 1, 1}), x.params};
  QTensor y = qconv2d_reference(image, w, Conv2dAttrs{}, epilogue);
  return QTensor{y.q.reshape(Shape{x.dim(0), w.out_channels()}), y.params};
}

inline Tensor<float> qlinear_dequantized_reference(const QTensor& x, const QConvWeights& w) {
  FOVEA_CHECK(x.q.rank() == 2, "INT8 linear: input must be [N, C], got ", x.shape());
  const QTensor image{x.q.reshape(Shape{x.dim(0), x.dim(1), 1, 1}), x.params};
  return qconv2d_dequantized_reference(image, w, Conv2dAttrs{})
      .reshape(Shape{x.dim(0), w.out_channels()});
}

// y = requantize((a − zp_a) · s_a/s_y + (b − zp_b) · s_b/s_y) with a clamp activation: the
// residual formula of a conv, with a's difference as the sum.
inline QTensor qadd_reference(const QTensor& a, const QTensor& b, ActivationKind act,
                              const QuantParams& out) {
  FOVEA_CHECK(a.shape() == b.shape(), "INT8 add: shapes differ, ", a.shape(), " and ", b.shape());
  const float ma = multiplier(a.params.scale, out.scale);
  const float mb = multiplier(b.params.scale, out.scale);
  const ClampBounds bounds = clamp_bounds(act, out);
  QTensor y = make_qtensor(a.shape(), out);
  const Tensor<uint8_t> bq = b.q.layout() == a.q.layout() ? b.q : b.q.to_layout(a.q.layout());
  for (int64_t i = 0; i < a.q.numel(); ++i) {
    const float addend = residual_addend(bq[i], b.params.zero_point, mb);
    y.q[i] = requantize(a.q[i] - a.params.zero_point, ma, addend, out.zero_point, bounds);
  }
  return y;
}

// A standalone clamp activation (ReLU, ReLU6, identity) that may also change params.
inline QTensor qclamp_reference(const QTensor& x, ActivationKind act, const QuantParams& out) {
  const float m = multiplier(x.params.scale, out.scale);
  const ClampBounds bounds = clamp_bounds(act, out);
  QTensor y = make_qtensor(x.shape(), out);
  for (int64_t i = 0; i < x.q.numel(); ++i)
    y.q[i] = requantize(x.q[i] - x.params.zero_point, m, 0.0f, out.zero_point, bounds);
  return y;
}

// Max over each window clipped to the input; max is monotonic, so the params pass through.
inline QTensor qmax_pool2d_reference(const QTensor& x, const Pool2dAttrs& attrs) {
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "INT8 max_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  QTensor y = make_qtensor(pp.output_shape(), x.params);
  for (int64_t n = 0; n < pp.n; ++n)
    for (int64_t c = 0; c < pp.c; ++c)
      for (int64_t op = 0; op < pp.p; ++op) {
        const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
        const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
        for (int64_t oq = 0; oq < pp.q; ++oq) {
          const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
          const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
          uint8_t best = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              best = std::max(best, x.q(n, c, ih, iw));
          y.q(n, c, op, oq) = best;
        }
      }
  return y;
}

// The multiplier of an average over `count` elements: (s_x / s_y) / count, both rounded once.
inline float average_multiplier(float ratio, int64_t count) {
  return ratio / static_cast<float>(count);
}

// torch's avg_pool2d (its divisor rule, as avg_pool2d_reference): requantize(Σ (x − zp_x) ·
// (s_x/s_y) / count). Padding is the real 0, so it adds nothing to the sum.
inline QTensor qavg_pool2d_reference(const QTensor& x, const Pool2dAttrs& attrs,
                                     const QuantParams& out) {
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "INT8 avg_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  const float ratio = multiplier(x.params.scale, out.scale);
  const int32_t zp = x.params.zero_point;
  QTensor y = make_qtensor(pp.output_shape(), out);
  for (int64_t n = 0; n < pp.n; ++n)
    for (int64_t c = 0; c < pp.c; ++c)
      for (int64_t op = 0; op < pp.p; ++op) {
        const int64_t start_h = op * a.stride_h - a.pad_top;
        const int64_t end_h = std::min(start_h + a.kernel_h, pp.h + a.pad_bottom);
        const int64_t h0 = std::max<int64_t>(start_h, 0), h1 = std::min(end_h, pp.h);
        for (int64_t oq = 0; oq < pp.q; ++oq) {
          const int64_t start_w = oq * a.stride_w - a.pad_left;
          const int64_t end_w = std::min(start_w + a.kernel_w, pp.w + a.pad_right);
          const int64_t w0 = std::max<int64_t>(start_w, 0), w1 = std::min(end_w, pp.w);
          int32_t sum = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              sum += x.q(n, c, ih, iw) - zp;
          const int64_t count =
              a.count_include_pad ? (end_h - start_h) * (end_w - start_w) : (h1 - h0) * (w1 - w0);
          y.q(n, c, op, oq) = requantize(sum, average_multiplier(ratio, count), 0.0f,
                                         out.zero_point, ClampBounds{});
        }
      }
  return y;
}

// torch's adaptive_avg_pool2d windows, each averaged as qavg_pool2d_reference averages.
inline QTensor qadaptive_avg_pool2d_reference(const QTensor& x, int64_t out_h, int64_t out_w,
                                              const QuantParams& out) {
  FOVEA_CHECK(x.q.rank() == 4 && x.dim(2) > 0 && x.dim(3) > 0,
              "INT8 adaptive_avg_pool2d: input must be a non-empty (N, C, H, W), got ", x.shape());
  FOVEA_CHECK(out_h > 0 && out_w > 0, "INT8 adaptive_avg_pool2d: output size must be positive");
  const int64_t h = x.dim(2), w = x.dim(3);
  const float ratio = multiplier(x.params.scale, out.scale);
  const int32_t zp = x.params.zero_point;
  QTensor y = make_qtensor(Shape{x.dim(0), x.dim(1), out_h, out_w}, out);
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t op = 0; op < out_h; ++op) {
        const int64_t h0 = op * h / out_h, h1 = ((op + 1) * h + out_h - 1) / out_h;
        for (int64_t oq = 0; oq < out_w; ++oq) {
          const int64_t w0 = oq * w / out_w, w1 = ((oq + 1) * w + out_w - 1) / out_w;
          int32_t sum = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              sum += x.q(n, c, ih, iw) - zp;
          y.q(n, c, op, oq) = requantize(sum, average_multiplier(ratio, (h1 - h0) * (w1 - w0)),
                                         0.0f, out.zero_point, ClampBounds{});
        }
      }
  return y;
}

// Mean over each whole image: (N, C, H, W) → (N, C, 1, 1).
inline QTensor qglobal_avg_pool2d_reference(const QTensor& x, const QuantParams& out) {
  return qadaptive_avg_pool2d_reference(x, 1, 1, out);
}

// Inputs joined along the channels, each requantized to the output's params.
inline QTensor qconcat_channels_reference(const std::vector<QTensor>& inputs,
                                          const QuantParams& out) {
  FOVEA_CHECK(!inputs.empty(), "INT8 concat: no inputs");
  Shape shape = inputs.front().shape();
  FOVEA_CHECK(shape.rank() == 4, "INT8 concat: inputs must be (N, C, H, W), got ", shape);
  shape[1] = 0;
  for (const QTensor& t : inputs) {
    FOVEA_CHECK(
        t.q.rank() == 4 && t.dim(0) == shape[0] && t.dim(2) == shape[2] && t.dim(3) == shape[3],
        "INT8 concat: ", t.shape(), " does not match ", inputs.front().shape(),
        " outside the channels");
    shape[1] += t.dim(1);
  }
  QTensor y = make_qtensor(shape, out);
  int64_t first = 0;
  for (const QTensor& t : inputs) {
    const float m = multiplier(t.params.scale, out.scale);
    for (int64_t n = 0; n < t.dim(0); ++n)
      for (int64_t c = 0; c < t.dim(1); ++c)
        for (int64_t h = 0; h < t.dim(2); ++h)
          for (int64_t w = 0; w < t.dim(3); ++w)
            y.q(n, first + c, h, w) = requantize(t.q(n, c, h, w) - t.params.zero_point, m, 0.0f,
                                                 out.zero_point, ClampBounds{});
    first += t.dim(1);
  }
  return y;
}

// A 256-entry table: y = table[x]. Activations that are not clamps (SiLU, sigmoid, hard-swish,
// tanh, hard-sigmoid) run this way, so they are exact by construction (lookup_table.hpp builds
// the tables).
inline QTensor qlookup_reference(const QTensor& x, const std::array<uint8_t, 256>& table,
                                 const QuantParams& out) {
  QTensor y = make_qtensor(x.shape(), out);
  for (int64_t i = 0; i < x.q.numel(); ++i)
    y.q[i] = table[x.q[i]];
  return y;
}

// Squeeze-excitation's product: y[n, c, h, w] = requantize((x − zp_x) · gate[n, c] · s_x/s_y),
// the multiplier gate · ratio rounded once. `gates` is float [N, C] (or [N, C, 1, 1]).
inline QTensor qchannel_scale_reference(const QTensor& x, const Tensor<float>& gates,
                                        const QuantParams& out) {
  FOVEA_CHECK(x.q.rank() == 4, "INT8 channel scale: input must be (N, C, H, W), got ", x.shape());
  FOVEA_CHECK(gates.numel() == x.dim(0) * x.dim(1), "INT8 channel scale: ", gates.shape(),
              " gates for input ", x.shape());
  const float ratio = multiplier(x.params.scale, out.scale);
  QTensor y = make_qtensor(x.shape(), out);
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c) {
      const float m = gates[n * x.dim(1) + c] * ratio;
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w)
          y.q(n, c, h, w) = requantize(x.q(n, c, h, w) - x.params.zero_point, m, 0.0f,
                                       out.zero_point, ClampBounds{});
    }
  return y;
}

// The CIFAR ResNets' option-A shortcut: x[:, :, ::2, ::2] with `pad` channels of the real 0
// (the zero point) on each side. The params pass through.
inline QTensor qsubsample_pad_channels_reference(const QTensor& x, int64_t pad) {
  FOVEA_CHECK(x.q.rank() == 4, "INT8 shortcut: input must be (N, C, H, W), got ", x.shape());
  QTensor y = make_qtensor(
      Shape{x.dim(0), x.dim(1) + 2 * pad, (x.dim(2) + 1) / 2, (x.dim(3) + 1) / 2}, x.params);
  y.q.fill(static_cast<uint8_t>(x.params.zero_point));
  for (int64_t n = 0; n < y.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t h = 0; h < y.dim(2); ++h)
        for (int64_t w = 0; w < y.dim(3); ++w)
          y.q(n, c + pad, h, w) = x.q(n, c, 2 * h, 2 * w);
  return y;
}

// Float → u8 with `params`; rank-4 results are NHWC whatever the input's layout.
inline QTensor quantize_reference(const Tensor<float>& x, const QuantParams& params) {
  QTensor y = make_qtensor(x.shape(), params);
  if (x.rank() == 4) {
    for (int64_t n = 0; n < x.dim(0); ++n)
      for (int64_t c = 0; c < x.dim(1); ++c)
        for (int64_t h = 0; h < x.dim(2); ++h)
          for (int64_t w = 0; w < x.dim(3); ++w)
            y.q(n, c, h, w) = quantize_value(x(n, c, h, w), params);
  } else {
    for (int64_t i = 0; i < x.numel(); ++i)
      y.q[i] = quantize_value(x[i], params);
  }
  return y;
}

// u8 → float, in the QTensor's layout.
inline Tensor<float> dequantize_reference(const QTensor& x) {
  Tensor<float> y = Tensor<float>::uninitialized(x.shape(), x.q.layout());
  for (int64_t i = 0; i < x.q.numel(); ++i)
    y[i] = dequantize_value(x.q[i], x.params);
  return y;
}

}  // namespace fovea::quant
