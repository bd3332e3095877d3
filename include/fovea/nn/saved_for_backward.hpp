// SavedForBackward: what a layer's training-mode forward keeps for its backward. A stack, not a
// slot, because one module may run several times in a forward pass (LeNet5 reuses its ReLU and
// pool): backward visits them in reverse, so last-in-first-out pairs each call with its own.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"

namespace fovea::nn {

template <class Saved>
class SavedForBackward {
 public:
  void push(Saved saved) { stack_.push_back(std::move(saved)); }
  // `kind` names the layer in the error when backward outnumbers training-mode forwards.
  Saved pop(const std::string& kind) {
    FOVEA_CHECK(!stack_.empty(), kind, ".backward has no training-mode forward left to ",
                "differentiate (call set_training(true) before forward)");
    Saved saved = std::move(stack_.back());
    stack_.pop_back();
    return saved;
  }
  size_t size() const { return stack_.size(); }

 private:
  std::vector<Saved> stack_;
};

// grad += update, element by element (same shape).
inline void accumulate_gradient(Tensor<float>& grad, const Tensor<float>& update) {
  FOVEA_CHECK(grad.shape() == update.shape(), "gradient ", update.shape(),
              " does not match its parameter ", grad.shape());
  for (int64_t i = 0; i < grad.numel(); ++i)
    grad[i] += update[i];
}

}  // namespace fovea::nn
