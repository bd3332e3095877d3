// Activation layer: one module for torch's parameterless activations (ReLU, SiLU, Hardswish, …);
// kind() gives the torch class name, so summaries read like torch's.
#pragma once

#include <string>

#include "fovea/nn/module.hpp"
#include "fovea/ops/activation/activation.hpp"

namespace fovea::nn {

class Activation : public Module {
 public:
  explicit Activation(ActivationKind kind) : kind_(kind) {}

  Tensor<float> forward(const Tensor<float>& x) override { return fovea::activation(x, kind_); }

  std::string kind() const override { return activation_name(kind_); }
  ActivationKind activation_kind() const { return kind_; }

 private:
  ActivationKind kind_;
};

}  // namespace fovea::nn
