// Linear layer: torch.nn.Linear's parameters "weight" [out, in] and optional "bias" [out].
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/keep_indices.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/linear/backward.hpp"
#include "fovea/ops/linear/linear.hpp"

namespace fovea::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true)
      : weight_(Shape{out_features, in_features}) {
    FOVEA_CHECK(in_features > 0 && out_features > 0, "Linear(", in_features, ", ", out_features,
                "): feature counts must be positive");
    register_parameter("weight", &weight_);
    if (bias) {
      bias_ = Tensor<float>(Shape{out_features});
      register_parameter("bias", &bias_);
    }
  }

  // x is [N, in_features].
  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) saved_.push(x);
    return linear(x, weight_, bias_);
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const Tensor<float> x = saved_.pop(kind());
    const LinearGradients<float> g = linear_backward(x, weight_, grad_out, has_bias());
    accumulate_gradient(grad_of(weight_), g.weight);
    if (has_bias()) accumulate_gradient(grad_of(bias_), g.bias);
    return g.input;
  }

  int lower(Dataflow& graph, int x) override {
    return graph.linear(graph.path(), weight_, bias_, x);
  }
  std::string kind() const override { return "Linear"; }
  std::string describe() const override {
    std::ostringstream out;
    out << in_features() << ", " << out_features();
    if (bias_.empty()) out << ", bias=false";
    return out.str();
  }

  int64_t in_features() const { return weight_.dim(1); }
  int64_t out_features() const { return weight_.dim(0); }
  Tensor<float>& weight() { return weight_; }
  Tensor<float>& bias() { return bias_; }  // empty when the layer has no bias
  bool has_bias() const { return !bias_.empty(); }
  // Structured pruning (fovea/prune/): keeps the output features `kept` (increasing indices)
  // of weight and bias.
  void keep_output_features(const std::vector<int64_t>& kept) {
    weight_ = fovea::detail::keep_indices(weight_, 0, kept, "Linear output features");
    if (!bias_.empty()) bias_ = fovea::detail::keep_indices(bias_, 0, kept, "Linear bias");
  }
  // Keeps the input features `kept` (increasing indices).
  void keep_input_features(const std::vector<int64_t>& kept) {
    weight_ = fovea::detail::keep_indices(weight_, 1, kept, "Linear input features");
  }

 private:
  Tensor<float> weight_;
  Tensor<float> bias_;
  SavedForBackward<Tensor<float>> saved_;  // inputs
};

}  // namespace fovea::nn
