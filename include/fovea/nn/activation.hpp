// Activation layer: one module for torch's parameterless activations (ReLU, SiLU, Hardswish, …);
// kind() gives the torch class name, so summaries read like torch's.
#pragma once

#include <string>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/activation/activation.hpp"
#include "fovea/ops/activation/backward.hpp"

namespace fovea::nn {

class Activation : public Module {
 public:
  explicit Activation(ActivationKind kind) : kind_(kind) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x);
    return fovea::activation(x, kind_);
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    return activation_backward(saved_.pop(kind()), grad_out, kind_);
  }

  int lower(Dataflow& graph, int x) override { return graph.activation(graph.path(), kind_, x); }
  std::string kind() const override { return activation_name(kind_); }
  ActivationKind activation_kind() const { return kind_; }

 private:
  ActivationKind kind_;
  SavedForBackward<Tensor<float>> saved_;  // inputs
};

}  // namespace fovea::nn
