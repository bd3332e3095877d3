// conv2d: the entry point layers call. It picks the kernel for the problem; the reference is the
// only one in the core, and the fast CPU and CUDA paths register theirs in front of it.
#pragma once

#include "fovea/ops/conv2d/reference.hpp"

namespace fovea {

inline Tensor<float> conv2d(const Tensor<float>& x, const Tensor<float>& weight,
                            const Tensor<float>& bias, const Conv2dAttrs& attrs) {
  return conv2d_reference(x, weight, bias, attrs);
}

}  // namespace fovea
