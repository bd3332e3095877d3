// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_: every gradient is scaled
// by min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖ the 2-norm of all gradients together.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/nn/module.hpp"

namespace fovea::train {

// Returns the norm before clipping.
inline double clip_grad_norm(std::vector<nn::NamedTensor>& params, double max_norm) {
  double squares = 0;
  for (const nn::NamedTensor& p : params)
    for (float g : *p.grad)
      squares += double(g) * g;
  const double norm = std::sqrt(squares);
  const double coef = std::min(1.0, max_norm / (norm + 1e-6));
  if (coef < 1) {
    for (nn::NamedTensor& p : params)
      for (float& g : *p.grad)
        g = static_cast<float>(g * coef);
  }
  return norm;
}

}  // namespace fovea::train
