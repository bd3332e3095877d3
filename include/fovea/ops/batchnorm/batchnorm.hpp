// batchnorm: the entry points layers call. Inference-mode batch norm of NCHW float tensors runs
// cpu/batchnorm.hpp (one FMA per element) unless the policy is reference-only; other layouts,
// and batch statistics, run the reference.
#pragma once

#include <string>

#include "fovea/cpu/batchnorm.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/ops/batchnorm/reference.hpp"

namespace fovea {

inline Tensor<float> batchnorm(const Tensor<float>& x, const Tensor<float>& gamma,
                               const Tensor<float>& beta, const Tensor<float>& mean,
                               const Tensor<float>& var, double eps) {
  if (kernel_policy() == KernelPolicy::reference_only || x.rank() < 2 ||
      x.layout() != Layout::nchw) {
    record_kernel("batchnorm", "batchnorm_reference");
    return batchnorm_reference(x, gamma, beta, mean, var, eps);
  }
  detail::check_batchnorm_arguments(x.shape(), gamma.shape(), beta.shape(), mean.shape(),
                                    var.shape(), eps);
  static const std::string kernel = std::string("batchnorm_f32_nchw_") + cpu::kIsaName;
  record_kernel("batchnorm", kernel);
  return cpu::batchnorm_inference_nchw(x, gamma, beta, mean, var, eps);
}

inline BatchStatistics<float> batch_statistics(const Tensor<float>& x) {
  return batch_statistics_reference(x);
}

}  // namespace fovea
