// Elementwise entry points layers call: add, mul and concat pick the kernel for the problem, plus
// flatten. add of two tensors of one shape and layout takes the CPU path (cpu/elementwise.hpp)
// unless the kernel policy is reference_only; everything else is the reference.
#pragma once

#include <string>
#include <vector>

#include "fovea/cpu/elementwise.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/ops/elementwise/flatten.hpp"
#include "fovea/ops/elementwise/reference.hpp"

namespace fovea {

inline Tensor<float> add(const Tensor<float>& a, const Tensor<float>& b) {
  if (kernel_policy() == KernelPolicy::best && a.shape() == b.shape() && a.layout() == b.layout()) {
    static const std::string kernel = std::string("add_f32_same_shape_") + cpu::kIsaName;
    record_kernel("add", kernel);
    return cpu::add_same_shape(a, b);
  }
  record_kernel("add", "add_reference");
  return add_reference(a, b);
}

inline Tensor<float> mul(const Tensor<float>& a, const Tensor<float>& b) {
  return mul_reference(a, b);
}

inline Tensor<float> concat(const std::vector<Tensor<float>>& parts, int axis) {
  return concat_reference(parts, axis);
}

}  // namespace fovea
