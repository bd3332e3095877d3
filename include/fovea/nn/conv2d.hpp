// Conv2d layer: torch.nn.Conv2d's parameters ("weight" (K, C/groups, R, S), optional "bias").
#pragma once

#include <sstream>
#include <string>

#include "fovea/nn/module.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"

namespace fovea::nn {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, const Conv2dAttrs& attrs,
         bool bias)
      : Conv2d(in_channels, out_channels, kernel_size, kernel_size, attrs, bias) {}

  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
         const Conv2dAttrs& attrs, bool bias)
      : attrs_(attrs),
        weight_(Shape{out_channels, in_channels / attrs.groups, kernel_h, kernel_w}) {
    FOVEA_CHECK(
        attrs.groups > 0 && in_channels % attrs.groups == 0 && out_channels % attrs.groups == 0,
        "Conv2d(", in_channels, ", ", out_channels, "): channels must divide by groups ",
        attrs.groups);
    register_parameter("weight", &weight_);
    if (bias) {
      bias_ = Tensor<float>(Shape{out_channels});
      register_parameter("bias", &bias_);
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return conv2d(x, weight_, bias_, attrs_);
  }

  std::string kind() const override { return "Conv2d"; }
  std::string describe() const override {
    std::ostringstream out;
    out << in_channels() << ", " << out_channels() << ", kernel=" << weight_.dim(2) << "x"
        << weight_.dim(3) << ", stride=" << attrs_.stride_h << "x" << attrs_.stride_w
        << ", padding=" << attrs_.pad_top << "," << attrs_.pad_left << "," << attrs_.pad_bottom
        << "," << attrs_.pad_right;
    if (attrs_.dilation_h != 1 || attrs_.dilation_w != 1)
      out << ", dilation=" << attrs_.dilation_h << "x" << attrs_.dilation_w;
    if (attrs_.groups != 1) out << ", groups=" << attrs_.groups;
    if (bias_.empty()) out << ", bias=false";
    return out.str();
  }

  const Conv2dAttrs& attrs() const { return attrs_; }
  int64_t in_channels() const { return weight_.dim(1) * attrs_.groups; }
  int64_t out_channels() const { return weight_.dim(0); }
  Tensor<float>& weight() { return weight_; }
  Tensor<float>& bias() { return bias_; }  // empty when the layer has no bias
  bool has_bias() const { return !bias_.empty(); }

 private:
  Conv2dAttrs attrs_;
  Tensor<float> weight_;
  Tensor<float> bias_;
};

}  // namespace fovea::nn
