// Elementwise entry points layers call: add, mul and concat pick the kernel for the problem (the
// reference is the only one in the core; fast paths register in front of it), plus flatten.
#pragma once

#include <vector>

#include "fovea/ops/elementwise/flatten.hpp"
#include "fovea/ops/elementwise/reference.hpp"

namespace fovea {

inline Tensor<float> add(const Tensor<float>& a, const Tensor<float>& b) {
  return add_reference(a, b);
}

inline Tensor<float> mul(const Tensor<float>& a, const Tensor<float>& b) {
  return mul_reference(a, b);
}

inline Tensor<float> concat(const std::vector<Tensor<float>>& parts, int axis) {
  return concat_reference(parts, axis);
}

}  // namespace fovea
