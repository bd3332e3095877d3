// The data an INT8 op works on: an activation tensor with its params, and a quantized conv or
// linear layer's weights. Formats are defined once here (STYLE.md pattern 8); scheme.hpp says
// what the numbers mean.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/activation/params.hpp"
#include "fovea/quant/scheme.hpp"

namespace fovea::quant {

// A u8 activation. Rank-4 tensors are (N, C, H, W) in NHWC, the layout every INT8 kernel reads;
// rank 2 is (N, features).
struct QTensor {
  Tensor<uint8_t> q;
  QuantParams params;

  const Shape& shape() const { return q.shape(); }
  int64_t dim(int i) const { return q.dim(i); }
};

// A quantized conv (weight [K, C/groups, R, S]) or linear layer (weight [K, C, 1, 1]).
struct QConvWeights {
  Tensor<int8_t> weight;
  std::vector<float> scales;  // per output channel
  Tensor<int32_t> bias;  // [K], in units of input scale · scales[k]; zeros if the layer had none

  int64_t out_channels() const { return weight.dim(0); }
  // C/groups · R · S: the length of one output's sum.
  int64_t reduction() const { return weight.dim(1) * weight.dim(2) * weight.dim(3); }
};

// What follows a conv's sum: an optional residual (added in the requantization), a clamp
// activation (identity, ReLU or ReLU6) and the output's params.
struct QEpilogue {
  ActivationKind act = ActivationKind::identity;
  const QTensor* residual = nullptr;
  QuantParams out;
};

// The requantization multipliers of a conv's output channels: s_x · s_w[k] / s_y.
inline std::vector<float> conv_multipliers(float input_scale, const std::vector<float>& scales,
                                           float output_scale) {
  std::vector<float> m(scales.size());
  for (size_t k = 0; k < scales.size(); ++k)
    m[k] = multiplier(static_cast<double>(input_scale) * scales[k], output_scale);
  return m;
}

// A QTensor of the given shape and params, uninitialized; NHWC at rank 4.
inline QTensor make_qtensor(const Shape& shape, const QuantParams& params) {
  return QTensor{
      Tensor<uint8_t>::uninitialized(shape, shape.rank() == 4 ? Layout::nhwc : Layout::nchw),
      params};
}

}  // namespace fovea::quant
