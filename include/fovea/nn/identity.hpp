// Identity layer: torch.nn.Identity, a placeholder (e.g. a removed classifier head) that returns
// its input, sharing its storage.
#pragma once

#include <string>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::nn {

class Identity : public Module {
 public:
  Tensor<float> forward(const Tensor<float>& x) override { return x; }
  Tensor<float> backward(const Tensor<float>& grad_out) override { return grad_out; }
  int lower(Dataflow& graph, int x) override {
    (void)graph;
    return x;
  }
  std::string kind() const override { return "Identity"; }
};

}  // namespace fovea::nn
