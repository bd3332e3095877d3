// softmax: the entry points layers call. The reference is the only kernel in the core; the fast
// CPU and CUDA paths register theirs in front of it.
#pragma once

#include "fovea/ops/softmax/reference.hpp"

namespace fovea {

inline Tensor<float> softmax(const Tensor<float>& x, int axis) {
  return softmax_reference(x, axis);
}

inline Tensor<float> log_softmax(const Tensor<float>& x, int axis) {
  return log_softmax_reference(x, axis);
}

}  // namespace fovea
