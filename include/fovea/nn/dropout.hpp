// Dropout layer: torch.nn.Dropout(p). At inference it returns its input; in training mode it
// zeroes each element with probability p and scales the rest by 1 / (1 - p) (inverted dropout),
// drawing from its own seeded generator so runs are reproducible.
#pragma once

#include <sstream>
#include <string>

#include "fovea/core/rng.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"

namespace fovea::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, uint64_t seed = 0) : p_(p), rng_(seed) {
    FOVEA_CHECK(p >= 0 && p <= 1, "Dropout probability must be in [0, 1], got ", p);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (!training() || p_ == 0) return x;
    Tensor<float> y(x.shape(), x.layout());
    Tensor<float> multiplier(x.shape(), x.layout());
    // p = 1 drops everything; the scale would be infinite, and torch returns zeros too.
    const double keep_scale = p_ < 1 ? 1.0 / (1.0 - p_) : 0.0;
    // Same shape and layout, so memory order matches element for element.
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool drop = rng_.uniform() < p_;
      y[i] = drop ? 0.0f : static_cast<float>(x[i] * keep_scale);
      multiplier[i] = drop ? 0.0f : static_cast<float>(keep_scale);
    }
    saved_.push(multiplier);
    return y;
  }

  // dL/dx = dL/dy times the same mask and scale the forward applied.
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    if (p_ == 0) return grad_out;
    const Tensor<float> multiplier = saved_.pop(kind());
    FOVEA_CHECK(grad_out.shape() == multiplier.shape(), "Dropout backward: gradient ",
                grad_out.shape(), " does not match the input ", multiplier.shape());
    const Tensor<float> g = grad_out.layout() == multiplier.layout()
                                ? grad_out
                                : grad_out.to_layout(multiplier.layout());
    Tensor<float> grad_in(g.shape(), g.layout());
    for (int64_t i = 0; i < g.numel(); ++i)
      grad_in[i] = g[i] * multiplier[i];
    return grad_in;
  }
  // The generator's state, so a resumed training run draws the same masks.
  Rng& rng() { return rng_; }

  int lower(Dataflow& graph, int x) override {
    (void)graph;
    return x;  // the identity at inference
  }
  std::string kind() const override { return "Dropout"; }
  std::string describe() const override {
    std::ostringstream out;
    out << "p=" << p_;
    return out.str();
  }
  double p() const { return p_; }

 private:
  double p_;
  Rng rng_;
  SavedForBackward<Tensor<float>> saved_;  // multipliers (0 or 1 / (1 - p))
};

}  // namespace fovea::nn
