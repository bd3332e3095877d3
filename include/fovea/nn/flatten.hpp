// Flatten layer: torch.nn.Flatten(start_dim), merging every dimension from start_dim on.
#pragma once

#include <string>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/elementwise/backward.hpp"
#include "fovea/ops/elementwise/flatten.hpp"

namespace fovea::nn {

class Flatten : public Module {
 public:
  explicit Flatten(int start_dim = 1) : start_dim_(start_dim) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x.shape());
    return flatten(x, start_dim_);
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    return flatten_backward(saved_.pop(kind()), grad_out);
  }
  int lower(Dataflow& graph, int x) override {
    FOVEA_CHECK(start_dim_ == 1, "Flatten(start_dim=", start_dim_,
                ") cannot be lowered: only start_dim 1 (batch kept) has a dataflow op");
    return graph.flatten(graph.path(), x);
  }
  std::string kind() const override { return "Flatten"; }
  std::string describe() const override { return "start_dim=" + std::to_string(start_dim_); }
  int start_dim() const { return start_dim_; }

 private:
  int start_dim_;
  SavedForBackward<Shape> saved_;  // input shapes
};

}  // namespace fovea::nn
