// The conv epilogue every conv kernel ends with: bias, residual, activation, one rounding.
#pragma once

#include <cstdint>

#include "common/activation.cuh"
#include "common/element.cuh"
#include "conv2d/conv_problem.hpp"

namespace fovea::cuda::detail {

// Stores activation(acc + bias[k] + residual[offset]) to y[offset]; `offset` is the output's
// NHWC offset and `k` its output channel.
template <class T>
__device__ __forceinline__ void store_conv_output(const ConvProblem& problem, float acc, int k,
                                                  int64_t offset) {
  float v = acc;
  if (problem.bias != nullptr) v += to_float(static_cast<const T*>(problem.bias)[k]);
  if (problem.residual != nullptr) v += to_float(static_cast<const T*>(problem.residual)[offset]);
  static_cast<T*>(problem.y)[offset] = from_float<T>(activate(problem.activation, v));
}

}  // namespace fovea::cuda::detail
