// Pooling layers: torch.nn.MaxPool2d, AvgPool2d and AdaptiveAvgPool2d. None has parameters.
#pragma once

#include <sstream>
#include <string>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/pool2d/backward.hpp"
#include "fovea/ops/pool2d/pool2d.hpp"

// Kept out of fovea::nn: an nn::detail namespace would hide fovea::detail from every layer.
namespace fovea::detail {

inline std::string describe_pool(const Pool2dAttrs& a) {
  std::ostringstream out;
  out << "kernel=" << a.kernel_h << "x" << a.kernel_w << ", stride=" << a.stride_h << "x"
      << a.stride_w << ", padding=" << a.pad_top << "," << a.pad_left << "," << a.pad_bottom << ","
      << a.pad_right;
  if (a.ceil_mode) out << ", ceil_mode=true";
  return out.str();
}

}  // namespace fovea::detail

namespace fovea::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dAttrs& attrs) : attrs_(attrs) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x);
    return max_pool2d(x, attrs_);
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    return max_pool2d_backward(saved_.pop(kind()), grad_out, attrs_);
  }
  int lower(Dataflow& graph, int x) override { return graph.max_pool(graph.path(), attrs_, x); }
  std::string kind() const override { return "MaxPool2d"; }
  std::string describe() const override { return fovea::detail::describe_pool(attrs_); }
  const Pool2dAttrs& attrs() const { return attrs_; }

 private:
  Pool2dAttrs attrs_;
  SavedForBackward<Tensor<float>> saved_;  // inputs
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dAttrs& attrs) : attrs_(attrs) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x.shape());
    return avg_pool2d(x, attrs_);
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    return avg_pool2d_backward_reference(saved_.pop(kind()), grad_out, attrs_);
  }
  int lower(Dataflow& graph, int x) override { return graph.avg_pool(graph.path(), attrs_, x); }
  std::string kind() const override { return "AvgPool2d"; }
  std::string describe() const override {
    return fovea::detail::describe_pool(attrs_) +
           (attrs_.count_include_pad ? "" : ", count_include_pad=false");
  }
  const Pool2dAttrs& attrs() const { return attrs_; }

 private:
  Pool2dAttrs attrs_;
  SavedForBackward<Shape> saved_;  // input shapes
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w) : out_h_(out_h), out_w_(out_w) {
    FOVEA_CHECK(out_h > 0 && out_w > 0, "AdaptiveAvgPool2d output size must be positive, got ",
                out_h, "x", out_w);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x.shape());
    return adaptive_avg_pool2d(x, out_h_, out_w_);
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    return adaptive_avg_pool2d_backward_reference(saved_.pop(kind()), grad_out);
  }
  int lower(Dataflow& graph, int x) override {
    return graph.adaptive_avg_pool(graph.path(), out_h_, out_w_, x);
  }
  std::string kind() const override { return "AdaptiveAvgPool2d"; }
  std::string describe() const override {
    return "output_size=" + std::to_string(out_h_) + "x" + std::to_string(out_w_);
  }
  int64_t out_h() const { return out_h_; }
  int64_t out_w() const { return out_w_; }

 private:
  int64_t out_h_, out_w_;
  SavedForBackward<Shape> saved_;  // input shapes
};

}  // namespace fovea::nn
