// Dropout layer: torch.nn.Dropout(p). At inference it returns its input; in training mode it
// zeroes each element with probability p and scales the rest by 1 / (1 - p) (inverted dropout),
// drawing from its own seeded generator so runs are reproducible.
#pragma once

#include <sstream>
#include <string>

#include "fovea/core/rng.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, uint64_t seed = 0) : p_(p), rng_(seed) {
    FOVEA_CHECK(p >= 0 && p <= 1, "Dropout probability must be in [0, 1], got ", p);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (!training() || p_ == 0) return x;
    Tensor<float> y(x.shape(), x.layout());
    // p = 1 drops everything; the scale would be infinite, and torch returns zeros too.
    const double keep_scale = p_ < 1 ? 1.0 / (1.0 - p_) : 0.0;
    // Same shape and layout, so memory order matches element for element.
    for (int64_t i = 0; i < x.numel(); ++i) {
      y[i] = rng_.uniform() < p_ ? 0.0f : static_cast<float>(x[i] * keep_scale);
    }
    return y;
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
};

}  // namespace fovea::nn
