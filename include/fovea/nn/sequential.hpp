// Sequential: children run in order, named "0", "1", … as in torch.nn.Sequential.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::nn {

class Sequential : public Module {
 public:
  // Appends a child under the next index and returns it.
  template <class M>
  M& add(std::unique_ptr<M> child) {
    return register_module(std::to_string(children().size()), std::move(child));
  }
  // Appends a child under an explicit name (torchvision names some, e.g. "conv1", "bn1").
  template <class M>
  M& add(std::string name, std::unique_ptr<M> child) {
    return register_module(std::move(name), std::move(child));
  }

  size_t size() const { return children().size(); }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> y = x;
    for (const auto& child : children())
      y = child.second->forward(y);
    return y;
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    Tensor<float> g = grad_out;
    for (auto child = children().rbegin(); child != children().rend(); ++child)
      g = child->second->backward(g);
    return g;
  }
  int lower(Dataflow& graph, int x) override { return graph.lower_children(*this, x); }
  std::string kind() const override { return "Sequential"; }
};

}  // namespace fovea::nn
