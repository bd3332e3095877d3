// activation: the entry point layers call. The CPU path (cpu/elementwise.hpp) runs unless the
// kernel policy is reference_only; last_kernel("activation") names the one that ran.
#pragma once

#include <string>

#include "fovea/cpu/elementwise.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/ops/activation/reference.hpp"

namespace fovea {

inline Tensor<float> activation(const Tensor<float>& x, ActivationKind kind) {
  if (kernel_policy() == KernelPolicy::reference_only) {
    record_kernel("activation", "activation_reference");
    return activation_reference(x, kind);
  }
  static const std::string kernel = std::string("activation_f32_") + cpu::kIsaName;
  record_kernel("activation", kernel);
  return cpu::activation_f32(x, kind);
}

}  // namespace fovea
