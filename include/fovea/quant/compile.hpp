// From a float model's dataflow graph and its calibrated value ranges to a QuantizedModel: every
// op's precision, every value's params, the INT8 weights (per output channel, symmetric), int32
// biases and lookup tables.
//
// Params: each value's from its calibrated range (activation_params), except where an INT8 op
// must not change them: max pooling, flatten and the option-A shortcut pass their input's
// params through, so they move bytes without requantizing. The model's last op, a conv or
// linear, outputs float logits instead of u8. A conv or linear whose bias would not fit the
// accumulator (bias_fits) stays FP32 whatever was asked.
#pragma once

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "fovea/nn/dataflow.hpp"
#include "fovea/quant/lookup_table.hpp"
#include "fovea/quant/observer.hpp"
#include "fovea/quant/quantized_model.hpp"

namespace fovea::quant {

// Per output channel k of w (K, ...): scale max|w_k| / 127, weights rounded to it, and the bias
// in units of input_scale · scale[k].
inline QConvWeights quantize_conv_weights(const Tensor<float>& weight, const Tensor<float>& bias,
                                          float input_scale) {
  const int64_t k = weight.dim(0);
  const int64_t per_channel = weight.numel() / k;
  QConvWeights q;
  q.weight = Tensor<int8_t>(weight.rank() == 4 ? weight.shape() : Shape{k, per_channel, 1, 1});
  q.bias = Tensor<int32_t>(Shape{k});
  for (int64_t c = 0; c < k; ++c) {
    const float* w = weight.data() + c * per_channel;
    double max_abs = 0;
    for (int64_t i = 0; i < per_channel; ++i)
      max_abs = std::max(max_abs, std::abs(static_cast<double>(w[i])));
    const float scale = weight_scale(max_abs);
    q.scales.push_back(scale);
    for (int64_t i = 0; i < per_channel; ++i)
      q.weight.data()[c * per_channel + i] = quantize_weight(w[i], scale);
    q.bias[c] = bias.empty() ? 0 : quantize_bias(bias[c], input_scale, scale);
  }
  return q;
}

// Whether every channel's bias fits the int32 accumulator at this input scale (quantize_bias's
// ±2^30). A layer whose input is tiny next to its bias (a signal that has all but vanished)
// would lose its bias in INT8, so it stays FP32.
inline bool bias_fits(const Tensor<float>& weight, const Tensor<float>& bias, float input_scale) {
  if (bias.empty()) return true;
  const int64_t k = weight.dim(0), per_channel = weight.numel() / k;
  for (int64_t c = 0; c < k; ++c) {
    double max_abs = 0;
    for (int64_t i = 0; i < per_channel; ++i)
      max_abs =
          std::max(max_abs, std::abs(static_cast<double>(weight.data()[c * per_channel + i])));
    const double units = static_cast<double>(input_scale) * weight_scale(max_abs);
    if (std::abs(static_cast<double>(bias[c])) / units > static_cast<double>(1 << 30)) return false;
  }
  return true;
}

// Whether an op has an INT8 form that the compiler can give it.
inline bool has_int8_form(const nn::DataflowNode& d) {
  return d.op != nn::DataflowOp::input;
}

// Whether an INT8 op passes its input's params through unchanged.
inline bool passes_params_through(nn::DataflowOp op) {
  return op == nn::DataflowOp::max_pool || op == nn::DataflowOp::flatten ||
         op == nn::DataflowOp::subsample_pad_channels;
}

// Compiles `graph` with the given ranges (one per op's value); ops named in `fp32_ops` stay in
// FP32, and so does a flatten whose input does. `ranges` may be empty when every op is FP32.
inline QuantizedModel compile_model(const nn::Dataflow& graph,
                                    const std::vector<ValueRange>& ranges,
                                    const std::set<std::string>& fp32_ops,
                                    const std::string& architecture, bool all_fp32 = false) {
  const std::vector<nn::DataflowNode>& defs = graph.nodes();
  FOVEA_CHECK(all_fp32 || ranges.size() == defs.size(), "compile_model: ", ranges.size(),
              " ranges for ", defs.size(), " values");
  std::vector<QNode> nodes(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    QNode& node = nodes[i];
    const nn::DataflowNode& d = defs[i];
    node.def = d;
    const bool wanted = !all_fp32 && has_int8_form(d) && fp32_ops.count(d.name) == 0;
    const bool follows_float = d.op == nn::DataflowOp::flatten &&
                               nodes[static_cast<size_t>(d.inputs[0])].precision == Precision::fp32;
    node.precision = wanted && !follows_float ? Precision::int8 : Precision::fp32;
    if (all_fp32) continue;
    const QuantParams& input =
        d.inputs.empty() ? node.out : nodes[static_cast<size_t>(d.inputs[0])].out;
    const bool sums = d.op == nn::DataflowOp::conv || d.op == nn::DataflowOp::linear;
    if (sums && !bias_fits(d.weight, d.bias, input.scale)) node.precision = Precision::fp32;
    node.out = node.precision == Precision::int8 && passes_params_through(d.op)
                   ? input
                   : activation_params(ranges[i].lo, ranges[i].hi);
    if (node.precision != Precision::int8) continue;
    if (sums) {
      QConvLayer& layer = node.conv;
      layer.input = input;
      layer.weights = quantize_conv_weights(d.weight, d.bias, input.scale);
      layer.attrs = d.op == nn::DataflowOp::conv ? d.conv : Conv2dAttrs{};
      FOVEA_CHECK(is_clamp_activation(d.act), "compile_model: '", d.name, "' ends in ",
                  activation_name(d.act), ", which a conv cannot clamp to");
      layer.act = d.act;
      layer.output = node.out;
      layer.dequantize = i + 1 == defs.size();
      if (d.has_residual()) layer.residual = nodes[static_cast<size_t>(d.inputs[1])].out;
      // The float weights are not needed any more.
      node.def.weight = Tensor<float>();
      node.def.bias = Tensor<float>();
    } else if (d.op == nn::DataflowOp::activation && !is_clamp_activation(d.act)) {
      node.table = make_lookup_table(d.act, input, node.out);
    }
  }
  return QuantizedModel(std::move(nodes), architecture);
}

// The graph run in FP32 throughout: what calibration observes.
inline QuantizedModel compile_fp32(const nn::Dataflow& graph, const std::string& architecture) {
  return compile_model(graph, {}, {}, architecture, /*all_fp32=*/true);
}

}  // namespace fovea::quant
