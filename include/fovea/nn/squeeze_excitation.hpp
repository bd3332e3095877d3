// SqueezeExcitation layer: torchvision.ops.SqueezeExcitation, children named as there so state
// dicts load unchanged: "avgpool" (AdaptiveAvgPool2d 1x1), "fc1" (1x1 Conv2d channels ->
// squeeze_channels, with bias), "fc2" (1x1 Conv2d back, with bias), "activation" and
// "scale_activation". Used by MobileNetV3 (ReLU, Hardsigmoid) and EfficientNet (SiLU, Sigmoid).
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/nn/activation.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/attention/attention.hpp"
#include "fovea/ops/attention/backward.hpp"

namespace fovea::nn {

class SqueezeExcitation : public Module {
 public:
  SqueezeExcitation(int64_t channels, int64_t squeeze_channels,
                    ActivationKind act = ActivationKind::relu,
                    ActivationKind scale_act = ActivationKind::sigmoid) {
    FOVEA_CHECK(channels > 0 && squeeze_channels > 0, "SqueezeExcitation(", channels, ", ",
                squeeze_channels, "): channel counts must be positive");
    register_module("avgpool", std::make_unique<AdaptiveAvgPool2d>(1, 1));
    fc1_ = &register_module(
        "fc1", std::make_unique<Conv2d>(channels, squeeze_channels, 1, Conv2dAttrs{}, true));
    fc2_ = &register_module(
        "fc2", std::make_unique<Conv2d>(squeeze_channels, channels, 1, Conv2dAttrs{}, true));
    activation_ = &register_module("activation", std::make_unique<Activation>(act));
    scale_activation_ =
        &register_module("scale_activation", std::make_unique<Activation>(scale_act));
  }

  // One fused op rather than running the children, so a fast SE kernel applies to the layer.
  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x);
    return squeeze_excitation(x, fc1_->weight(), fc1_->bias(), fc2_->weight(), fc2_->bias(),
                              activation_->activation_kind(), scale_activation_->activation_kind());
  }

  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const SqueezeExcitationGradients<float> g = squeeze_excitation_backward_reference(
        saved_.pop(kind()), fc1_->weight(), fc1_->bias(), fc2_->weight(), fc2_->bias(),
        activation_->activation_kind(), scale_activation_->activation_kind(), grad_out);
    accumulate_gradient(fc1_->grad_of(fc1_->weight()), g.fc1_weight);
    accumulate_gradient(fc1_->grad_of(fc1_->bias()), g.fc1_bias);
    accumulate_gradient(fc2_->grad_of(fc2_->weight()), g.fc2_weight);
    accumulate_gradient(fc2_->grad_of(fc2_->bias()), g.fc2_bias);
    return g.input;
  }

  // The gates as ops of their own (pool, fc1, activation, fc2, scale activation), then x times
  // them.
  int lower(Dataflow& graph, int x) override {
    int gates = graph.lower_child("avgpool", *children().front().second, x);
    gates = graph.lower_child("fc1", *fc1_, gates);
    gates = graph.lower_child("activation", *activation_, gates);
    gates = graph.lower_child("fc2", *fc2_, gates);
    gates = graph.lower_child("scale_activation", *scale_activation_, gates);
    return graph.channel_scale(graph.path(), x, gates);
  }
  std::string kind() const override { return "SqueezeExcitation"; }
  std::string describe() const override {
    std::ostringstream out;
    out << channels() << ", " << squeeze_channels();
    return out.str();
  }

  int64_t channels() const { return fc1_->in_channels(); }
  int64_t squeeze_channels() const { return fc1_->out_channels(); }

  // The gates scale_act(fc2(act(fc1(mean of x)))) of an NHWC x, [N, C]: forward(x) is x times
  // them (nn/excite_project.hpp folds them into the next conv's weights instead).
  Tensor<float> gates_nhwc(const Tensor<float>& x) const {
    FOVEA_CHECK(x.rank() == 4 && x.layout() == Layout::nhwc,
                "SqueezeExcitation::gates_nhwc wants a rank-4 NHWC tensor, got ", x.shape(), " in ",
                layout_name(x.layout()));
    fovea::detail::check_squeeze_excitation_shapes(x.shape(), fc1_->weight().shape(),
                                                   fc1_->bias().shape(), fc2_->weight().shape(),
                                                   fc2_->bias().shape());
    return cpu::squeeze_excitation_gates_nhwc(x, fc1_->weight(), fc1_->bias(), fc2_->weight(),
                                              fc2_->bias(), activation_->activation_kind(),
                                              scale_activation_->activation_kind());
  }
  Conv2d& fc1() { return *fc1_; }
  Conv2d& fc2() { return *fc2_; }

 private:
  Conv2d* fc1_;
  Conv2d* fc2_;
  Activation* activation_;
  Activation* scale_activation_;
  SavedForBackward<Tensor<float>> saved_;  // inputs
};

}  // namespace fovea::nn
