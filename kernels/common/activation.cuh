// The activations of ops/activation/params.hpp on the device, in float, with the formulas of
// ops/activation/reference.hpp. A NaN input gives NaN for every kind, as on the host.
#pragma once

#include "fovea/ops/activation/params.hpp"

namespace fovea::cuda::detail {

__device__ __forceinline__ float relu6(float v) {
  return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
}
__device__ __forceinline__ float sigmoid(float v) {
  return 1.f / (1.f + expf(-v));
}

__device__ __forceinline__ float activate(ActivationKind kind, float x) {
  switch (kind) {
    case ActivationKind::identity:
      return x;
    case ActivationKind::relu:
      return x < 0.f ? 0.f : x;
    case ActivationKind::relu6:
      return relu6(x);
    case ActivationKind::silu:
      return x * sigmoid(x);
    case ActivationKind::sigmoid:
      return sigmoid(x);
    case ActivationKind::tanh:
      return tanhf(x);
    case ActivationKind::hardswish:
      return x * relu6(x + 3.f) / 6.f;
    case ActivationKind::hardsigmoid:
      return relu6(x + 3.f) / 6.f;
  }
  return x;
}

}  // namespace fovea::cuda::detail
