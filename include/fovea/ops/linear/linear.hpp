// linear: the entry point layers call. The CPU path (cpu/linear.hpp: dot products for small
// batches, the packed GEMM for large ones) runs unless the kernel policy is reference_only.
#pragma once

#include <string>

#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/cpu/linear.hpp"
#include "fovea/ops/linear/reference.hpp"

namespace fovea {

inline Tensor<float> linear(const Tensor<float>& x, const Tensor<float>& weight,
                            const Tensor<float>& bias) {
  if (kernel_policy() == KernelPolicy::reference_only || x.rank() != 2 || weight.rank() != 2) {
    record_kernel("linear", "linear_reference");
    return linear_reference(x, weight, bias);
  }
  static const std::string kernel = std::string("linear_f32_") + cpu::kIsaName;
  record_kernel("linear", kernel);
  return cpu::linear_f32(x, weight, bias);
}

}  // namespace fovea
