// Random inputs shared by the tests: tensors filled uniformly from a seed.
#pragma once

#include <cstdint>

#include "fovea/core/tensor.hpp"

namespace fovea::test {

// An NCHW tensor of `shape` with values uniform in [lo, hi), the same for the same seed.
inline Tensor<float> random_tensor(const Shape& shape, uint64_t seed, float lo = -1, float hi = 1) {
  Tensor<float> t(shape);
  t.fill_uniform(seed, lo, hi);
  return t;
}

}  // namespace fovea::test
