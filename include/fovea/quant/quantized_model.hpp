// QuantizedModel: a model's dataflow graph (nn/dataflow.hpp) compiled for INT8, run op by op.
// Each op runs in INT8 (u8 activations with calibrated params, the integer kernels) or stays in
// FP32 (the float kernels), as the mixed-precision policy chose; values cross between the two
// through quantize and dequantize, each done once per value. An all-FP32 model is the same
// graph run in float, which calibration observes.
//
// It is an nn::Module whose forward takes the float model's input (N, C, H, W) and returns its
// logits, so load_model, BatchRunner and the examples run it as they run any model. forward
// keeps no state between calls: one model serves concurrent forwards (the packed weights are
// made once, under a lock).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fovea/cpu/channels_last.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/ops/activation/activation.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"
#include "fovea/ops/elementwise/flatten.hpp"
#include "fovea/ops/linear/linear.hpp"
#include "fovea/ops/pool2d/pool2d.hpp"
#include "fovea/quant/lookup_table.hpp"
#include "fovea/quant/ops.hpp"

namespace fovea::quant {

enum class Precision { int8, fp32 };

inline const char* precision_name(Precision p) {
  return p == Precision::int8 ? "int8" : "fp32";
}

// One op of a compiled model.
struct QNode {
  nn::DataflowNode def;  // the op; conv and linear keep their float weights only in FP32
  Precision precision = Precision::fp32;
  QuantParams out;      // the output's params (meaningful when the output is u8)
  QConvLayer conv;      // INT8 conv and linear (linear weights as [K, C, 1, 1])
  LookupTable table{};  // INT8 activations that are not clamps
  // Packed weights of the kernel that ran last (INT8 or FP32), kept between forwards.
  std::unique_ptr<Conv2dPrepared> prepared = std::make_unique<Conv2dPrepared>();

  // Whether the op writes u8 (an INT8 op, except the last conv or linear, which outputs float).
  bool outputs_int8() const {
    if (precision != Precision::int8 || def.op == nn::DataflowOp::input) return false;
    const bool sums = def.op == nn::DataflowOp::conv || def.op == nn::DataflowOp::linear;
    return !(sums && conv.dequantize);
  }
};

// Calls back with each op's index and float output (all-FP32 models only): how calibration
// watches the values.
using ValueObserver = std::function<void(int node, const Tensor<float>& value)>;

class QuantizedModel : public nn::Module {
 public:
  QuantizedModel(std::vector<QNode> nodes, std::string architecture)
      : nodes_(std::move(nodes)), architecture_(std::move(architecture)) {
    FOVEA_CHECK(nodes_.size() >= 2 && nodes_.front().def.op == nn::DataflowOp::input,
                "QuantizedModel: a graph needs its input op and at least one more");
    readers_.assign(nodes_.size(), 0);
    for (const QNode& n : nodes_)
      for (int i : n.def.inputs) {
        FOVEA_CHECK(i >= 0 && static_cast<size_t>(i) < nodes_.size(), "QuantizedModel: op '",
                    n.def.name, "' reads a value that does not exist");
        ++readers_[static_cast<size_t>(i)];
      }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (Tensor<float> y; run_planned(x, y)) return y;  // prepared for inference
    return run(x, nullptr);
  }

  // forward, calling `observe` with every op's float output. Every op must be FP32.
  Tensor<float> forward_observed(const Tensor<float>& x, const ValueObserver& observe) {
    for (const QNode& n : nodes_)
      FOVEA_CHECK(n.precision == Precision::fp32, "forward_observed needs an all-FP32 model; '",
                  n.def.name, "' is INT8");
    return run(x, &observe);
  }

  std::string kind() const override { return "QuantizedModel"; }
  std::string describe() const override {
    return architecture_ + ", " + std::to_string(int8_ops()) + " of " +
           std::to_string(nodes_.size() - 1) + " ops in INT8";
  }

  const std::vector<QNode>& nodes() const { return nodes_; }
  const std::string& architecture() const { return architecture_; }
  int int8_ops() const {
    int count = 0;
    for (const QNode& n : nodes_)
      count += n.precision == Precision::int8 && n.def.op != nn::DataflowOp::input;
    return count;
  }

 private:
  // A value as float (NHWC at rank 4), as u8, or both once converted.
  struct Value {
    Tensor<float> f;
    QTensor q;
    bool has_f = false, has_q = false;
  };

  Tensor<float> run(const Tensor<float>& x, const ValueObserver* observe) const {
    FOVEA_CHECK(x.rank() == 4, "QuantizedModel (", architecture_,
                ") takes (N, C, H, W) input, got ", x.shape());
    std::vector<Value> values(nodes_.size());
    std::vector<int> readers = readers_;
    // INT8 ops quantize the input from either layout; FP32 ops get it in NHWC (as_float).
    values[0].f = x;
    values[0].has_f = true;
    if (observe != nullptr) (*observe)(0, as_float(values[0]));
    for (size_t i = 1; i < nodes_.size(); ++i) {
      const QNode& node = nodes_[i];
      try {
        values[i] =
            node.precision == Precision::int8 ? run_int8(node, values) : run_fp32(node, values);
      } catch (const Error& e) {
        fail(architecture_, " op '", node.def.name, "' (", nn::dataflow_op_name(node.def.op), ", ",
             precision_name(node.precision), "): ", e.what());
      }
      if (observe != nullptr) (*observe)(static_cast<int>(i), values[i].f);
      for (int in : node.def.inputs)
        if (--readers[static_cast<size_t>(in)] == 0) values[static_cast<size_t>(in)] = Value{};
    }
    const Tensor<float> logits = as_float(values.back());
    return logits.layout() == Layout::nhwc ? logits.to_layout(Layout::nchw) : logits;
  }

  // The value in float, NHWC at rank 4 (the FP32 ops' layout).
  static Tensor<float> as_float(Value& v) {
    if (!v.has_f) {
      v.f = dequantize(v.q);
      v.has_f = true;
    }
    if (v.f.rank() == 4 && v.f.layout() == Layout::nchw) v.f = cpu::to_channels_last(v.f);
    return v.f;
  }
  static QTensor as_int8(Value& v, const QuantParams& params) {
    if (!v.has_q) {
      v.q = quantize(v.f, params);
      v.has_q = true;
    }
    FOVEA_CHECK(v.q.params == params, "a value's params differ between its producer and reader");
    return v.q;
  }
  static Value float_value(Tensor<float> t) {
    Value v;
    v.f = std::move(t);
    v.has_f = true;
    return v;
  }
  static Value int8_value(QTensor t) {
    Value v;
    v.q = std::move(t);
    v.has_q = true;
    return v;
  }

  // [N, C] as an NHWC [N, C, 1, 1] image over the same bytes (the copy shares them).
  static QTensor as_image(const QTensor& rows) {
    FOVEA_CHECK(rows.q.rank() == 2, "a linear layer takes [N, C], got ", rows.shape());
    QTensor image = rows;
    image.q = rows.q.reshape(Shape{rows.dim(0), rows.dim(1), 1, 1});
    image.q = image.q.with_layout(Layout::nhwc);
    return image;
  }

  const QuantParams& params_of(int value) const { return nodes_[static_cast<size_t>(value)].out; }

  Value run_int8(const QNode& node, std::vector<Value>& values) const {
    const nn::DataflowNode& d = node.def;
    auto in = [&](size_t i) -> Value& { return values[static_cast<size_t>(d.inputs[i])]; };
    auto q_in = [&](size_t i) { return as_int8(in(i), params_of(d.inputs[i])); };
    switch (d.op) {
      case nn::DataflowOp::conv:
      case nn::DataflowOp::linear: {
        const bool linear = d.op == nn::DataflowOp::linear;
        // A linear layer is the 1×1 conv of a 1×1 image: [N, C] is [N, C, 1, 1] in NHWC.
        const QTensor x = linear ? as_image(q_in(0)) : q_in(0);
        const QTensor residual =
            d.has_residual() ? (linear ? as_image(q_in(1)) : q_in(1)) : QTensor{};
        const QTensor* r = d.has_residual() ? &residual : nullptr;
        const Shape rows{x.dim(0), node.conv.out_channels()};
        if (node.conv.dequantize) {
          Tensor<float> y = qconv2d_to_float(x, node.conv, node.prepared.get());
          return float_value(linear ? y.reshape(rows) : y);
        }
        QTensor y = qconv2d(x, node.conv, r, node.prepared.get());
        if (linear) y.q = y.q.reshape(rows);
        return int8_value(y);
      }
      case nn::DataflowOp::activation:
        if (is_clamp_activation(d.act))
          return int8_value(qclamp_reference(q_in(0), d.act, node.out));
        return int8_value(qlookup(q_in(0), node.table, node.out));
      case nn::DataflowOp::add:
        return int8_value(qadd(q_in(0), q_in(1), d.act, node.out));
      case nn::DataflowOp::max_pool:
        return int8_value(qmax_pool2d(q_in(0), d.pool));
      case nn::DataflowOp::avg_pool:
        return int8_value(qavg_pool2d_reference(q_in(0), d.pool, node.out));
      case nn::DataflowOp::adaptive_avg_pool:
        return int8_value(qadaptive_avg_pool2d(q_in(0), d.out_h, d.out_w, node.out));
      case nn::DataflowOp::flatten: {
        const QTensor x = q_in(0);
        return int8_value(QTensor{flatten(x.q, 1), x.params});
      }
      case nn::DataflowOp::channel_scale:
        return int8_value(qchannel_scale(q_in(0), as_float(in(1)), node.out));
      case nn::DataflowOp::subsample_pad_channels:
        return int8_value(qsubsample_pad_channels_reference(q_in(0), d.pad));
      case nn::DataflowOp::input:
        break;
    }
    fail("no INT8 form");
  }

  Value run_fp32(const QNode& node, std::vector<Value>& values) const {
    const nn::DataflowNode& d = node.def;
    auto f_in = [&](size_t i) { return as_float(values[static_cast<size_t>(d.inputs[i])]); };
    switch (d.op) {
      case nn::DataflowOp::conv: {
        const Tensor<float> residual = d.has_residual() ? f_in(1) : Tensor<float>();
        const Conv2dEpilogue epilogue{d.act, d.has_residual() ? &residual : nullptr};
        return float_value(
            conv2d_fused(f_in(0), d.weight, d.bias, d.conv, epilogue, node.prepared.get()));
      }
      case nn::DataflowOp::linear: {
        Tensor<float> y = linear(f_in(0), d.weight, d.bias);
        if (d.has_residual()) y = add(y, f_in(1));
        return float_value(activation(y, d.act));
      }
      case nn::DataflowOp::activation:
        return float_value(activation(f_in(0), d.act));
      case nn::DataflowOp::add:
        return float_value(activation(add(f_in(0), f_in(1)), d.act));
      case nn::DataflowOp::max_pool:
        return float_value(max_pool2d(f_in(0), d.pool));
      case nn::DataflowOp::avg_pool:
        return float_value(avg_pool2d(f_in(0), d.pool));
      case nn::DataflowOp::adaptive_avg_pool:
        return float_value(adaptive_avg_pool2d(f_in(0), d.out_h, d.out_w));
      case nn::DataflowOp::flatten:
        return float_value(flatten(f_in(0), 1));
      case nn::DataflowOp::channel_scale:
        return float_value(channel_scale_float(f_in(0), f_in(1)));
      case nn::DataflowOp::subsample_pad_channels:
        return float_value(subsample_pad_channels_float(f_in(0), d.pad));
      case nn::DataflowOp::input:
        break;
    }
    fail("no FP32 form");
  }

  // x[n, c, h, w] · gates[n, c], in x's layout.
  static Tensor<float> channel_scale_float(const Tensor<float>& x, const Tensor<float>& gates) {
    FOVEA_CHECK(x.rank() == 4 && gates.numel() == x.dim(0) * x.dim(1),
                "channel scale: ", gates.shape(), " gates for input ", x.shape());
    Tensor<float> y = Tensor<float>::uninitialized(x.shape(), x.layout());
    for (int64_t n = 0; n < x.dim(0); ++n)
      for (int64_t c = 0; c < x.dim(1); ++c)
        for (int64_t h = 0; h < x.dim(2); ++h)
          for (int64_t w = 0; w < x.dim(3); ++w)
            y(n, c, h, w) = x(n, c, h, w) * gates[n * x.dim(1) + c];
    return y;
  }

  static Tensor<float> subsample_pad_channels_float(const Tensor<float>& x, int64_t pad) {
    Tensor<float> y(Shape{x.dim(0), x.dim(1) + 2 * pad, (x.dim(2) + 1) / 2, (x.dim(3) + 1) / 2},
                    x.layout());
    for (int64_t n = 0; n < y.dim(0); ++n)
      for (int64_t c = 0; c < x.dim(1); ++c)
        for (int64_t h = 0; h < y.dim(2); ++h)
          for (int64_t w = 0; w < y.dim(3); ++w)
            y(n, c + pad, h, w) = x(n, c, 2 * h, 2 * w);
    return y;
  }

  std::vector<QNode> nodes_;
  std::string architecture_;
  std::vector<int> readers_;  // ops reading each value
};

}  // namespace fovea::quant
