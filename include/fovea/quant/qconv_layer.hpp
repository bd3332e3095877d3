// QConvLayer: one quantized conv or linear layer of a compiled INT8 model, with the params of
// everything around it fixed by calibration: its input, its output (or float output for the
// logits), its residual. From these the host derives, once, the per-channel values every
// kernel's requantization uses (QConvRequant), so no kernel computes a float of its own.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "fovea/ops/conv2d/params.hpp"
#include "fovea/quant/qtensor.hpp"

namespace fovea::quant {

struct QConvLayer {
  QConvWeights weights;
  Conv2dAttrs attrs;
  QuantParams input;
  ActivationKind act = ActivationKind::identity;  // a clamp: identity, ReLU or ReLU6
  QuantParams output;
  bool dequantize = false;              // float output, float(acc) · s_x · s_w[k]
  std::optional<QuantParams> residual;  // the residual's params, when the layer adds one

  int64_t out_channels() const { return weights.out_channels(); }
  bool depthwise() const {
    const int64_t g = attrs.groups;
    return g > 1 && weights.weight.dim(1) == 1 && weights.out_channels() == g;
  }
};

// The per-channel values of a layer's requantization, padded with zeros to a multiple of
// kPadChannels so kernels may load whole vectors past the last channel.
struct QConvRequant {
  static constexpr int64_t kPadChannels = 64;
  std::vector<int32_t> bias;      // bias_q − zp_x · Σ w: the sum of x · w then needs no zp
  std::vector<float> multiplier;  // s_x · s_w[k] / s_y, or s_x · s_w[k] when dequantizing
  int32_t zero_point = 0;
  float t_lo = 0, t_hi = 255;     // the clamp's bounds minus the zero point
  float residual_multiplier = 0;  // s_r / s_y
  int32_t residual_zero_point = 0;
  // Whether the clamp is the whole u8 range and no input can make |t| reach 2^30. Then
  // rounding before clamping cannot overflow int32, and a kernel's saturating narrowing to u8
  // is the clamp (the same bits: rounding is monotonic and the bounds are integers).
  bool clamp_by_saturation = false;
};

namespace detail {

// The largest |t| of a layer's requantization over every input: |Σ x · w + bias| · m plus the
// residual's 255 · m_r, with x in [0, 255].
inline double largest_requant_input(const QConvLayer& layer, const QConvRequant& r) {
  const QConvWeights& w = layer.weights;
  const int64_t per_channel = w.reduction();
  double largest = 0;
  for (int64_t c = 0; c < w.out_channels(); ++c) {
    double weight_sum = 0;
    for (int64_t i = 0; i < per_channel; ++i)
      weight_sum += std::abs(static_cast<double>(w.weight.data()[c * per_channel + i]));
    const double sum =
        kActivationMax * weight_sum + std::abs(static_cast<double>(r.bias[static_cast<size_t>(c)]));
    largest = std::max(largest, sum * std::abs(r.multiplier[static_cast<size_t>(c)]));
  }
  return largest + kActivationMax * std::abs(static_cast<double>(r.residual_multiplier));
}

}  // namespace detail

inline QConvRequant derive_requant(const QConvLayer& layer) {
  const QConvWeights& w = layer.weights;
  const int64_t k = w.out_channels();
  const int64_t padded = (k + QConvRequant::kPadChannels - 1) / QConvRequant::kPadChannels *
                         QConvRequant::kPadChannels;
  QConvRequant r;
  r.bias.assign(static_cast<size_t>(padded), 0);
  const int64_t per_channel = w.reduction();
  for (int64_t c = 0; c < k; ++c) {
    int32_t sum = 0;
    for (int64_t i = 0; i < per_channel; ++i)
      sum += w.weight.data()[c * per_channel + i];
    r.bias[static_cast<size_t>(c)] = w.bias[c] - layer.input.zero_point * sum;
  }
  const std::vector<float> m =
      conv_multipliers(layer.input.scale, w.scales, layer.dequantize ? 1.0f : layer.output.scale);
  r.multiplier.assign(static_cast<size_t>(padded), 0.0f);
  std::copy(m.begin(), m.end(), r.multiplier.begin());
  if (!layer.dequantize) {
    const ClampBounds b = clamp_bounds(layer.act, layer.output);
    r.zero_point = layer.output.zero_point;
    r.t_lo = static_cast<float>(b.lo - r.zero_point);
    r.t_hi = static_cast<float>(b.hi - r.zero_point);
  }
  if (layer.residual) {
    r.residual_multiplier = multiplier(layer.residual->scale, layer.output.scale);
    r.residual_zero_point = layer.residual->zero_point;
  }
  r.clamp_by_saturation = !layer.dequantize && r.zero_point + r.t_lo == kActivationMin &&
                          r.zero_point + r.t_hi == kActivationMax &&
                          detail::largest_requant_input(layer, r) < 0x1p30;
  return r;
}

}  // namespace fovea::quant
