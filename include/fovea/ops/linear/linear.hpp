// linear: the entry point layers call. The reference is the only kernel in the core; the fast
// CPU and CUDA paths register theirs in front of it.
#pragma once

#include "fovea/ops/linear/reference.hpp"

namespace fovea {

inline Tensor<float> linear(const Tensor<float>& x, const Tensor<float>& weight,
                            const Tensor<float>& bias) {
  return linear_reference(x, weight, bias);
}

}  // namespace fovea
