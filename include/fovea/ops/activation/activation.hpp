// activation: the entry point layers call. The reference is the only kernel in the core; the
// fast CPU and CUDA paths register theirs in front of it.
#pragma once

#include "fovea/ops/activation/reference.hpp"

namespace fovea {

inline Tensor<float> activation(const Tensor<float>& x, ActivationKind kind) {
  return activation_reference(x, kind);
}

}  // namespace fovea
