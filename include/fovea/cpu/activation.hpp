// Activations applied in place to a run of floats: the fused epilogues of the CPU kernels.
// The switch sits outside the loop so each loop is simple enough for the compiler to vectorize;
// the loops are compiled per ISA, hence the ISA namespace.
#pragma once

#include <cmath>
#include <cstdint>

#include "fovea/cpu/simd.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline void activate_in_place(float* y, int64_t count, ActivationKind kind) {
  switch (kind) {
    case ActivationKind::identity:
      return;
    case ActivationKind::relu:
      for (int64_t i = 0; i < count; ++i)
        y[i] = y[i] < 0.0f ? 0.0f : y[i];
      return;
    case ActivationKind::relu6:
      for (int64_t i = 0; i < count; ++i)
        y[i] = y[i] < 0.0f ? 0.0f : (y[i] > 6.0f ? 6.0f : y[i]);
      return;
    case ActivationKind::silu:
      for (int64_t i = 0; i < count; ++i)
        y[i] = y[i] / (1.0f + std::exp(-y[i]));
      return;
    case ActivationKind::sigmoid:
      for (int64_t i = 0; i < count; ++i)
        y[i] = 1.0f / (1.0f + std::exp(-y[i]));
      return;
    case ActivationKind::tanh:
      for (int64_t i = 0; i < count; ++i)
        y[i] = std::tanh(y[i]);
      return;
    case ActivationKind::hardswish:
      for (int64_t i = 0; i < count; ++i) {
        const float t = y[i] + 3.0f;
        y[i] = y[i] * (t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t)) / 6.0f;
      }
      return;
    case ActivationKind::hardsigmoid:
      for (int64_t i = 0; i < count; ++i) {
        const float t = y[i] + 3.0f;
        y[i] = (t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t)) / 6.0f;
      }
      return;
  }
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
