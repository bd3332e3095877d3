// batchnorm: the entry points layers call. The reference is the only kernel in the core; the
// fast CPU and CUDA paths register theirs in front of it.
#pragma once

#include "fovea/ops/batchnorm/reference.hpp"

namespace fovea {

inline Tensor<float> batchnorm(const Tensor<float>& x, const Tensor<float>& gamma,
                               const Tensor<float>& beta, const Tensor<float>& mean,
                               const Tensor<float>& var, double eps) {
  return batchnorm_reference(x, gamma, beta, mean, var, eps);
}

inline BatchStatistics<float> batch_statistics(const Tensor<float>& x) {
  return batch_statistics_reference(x);
}

}  // namespace fovea
