// Batch normalization in inference mode for NCHW float tensors: per channel, the running
// statistics and affine parameters collapse to y = x · scale + shift (computed in double, as
// the reference does its arithmetic), applied as one vectorized FMA pass per plane.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// x of rank >= 2 in NCHW order, channels along dimension 1; the vectors are [C] (checked by
// the caller).
inline Tensor<float> batchnorm_inference_nchw(const Tensor<float>& x, const Tensor<float>& gamma,
                                              const Tensor<float>& beta, const Tensor<float>& mean,
                                              const Tensor<float>& var, double eps) {
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t plane = n * c == 0 ? 0 : x.numel() / (n * c);
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    const double s = double(gamma(k)) / std::sqrt(double(var(k)) + eps);
    scale[static_cast<size_t>(k)] = static_cast<float>(s);
    shift[static_cast<size_t>(k)] = static_cast<float>(double(beta(k)) - double(mean(k)) * s);
  }
  Tensor<float> y = Tensor<float>::uninitialized(x.shape());
  const int64_t planes = n * c;
  // Several planes per task when planes are small, so task overhead stays negligible.
  const int64_t per_task = std::max<int64_t>(1, 8192 / std::max<int64_t>(plane, 1));
  parallel_for(0, (planes + per_task - 1) / per_task, [&](int64_t task) {
    for (int64_t p = task * per_task; p < std::min(planes, (task + 1) * per_task); ++p) {
      const size_t k = static_cast<size_t>(p % c);
      const Vec a = Vec::broadcast(scale[k]), b = Vec::broadcast(shift[k]);
      const float* in = x.data() + p * plane;
      float* out = y.data() + p * plane;
      int64_t i = 0;
      for (; i + Vec::kLanes <= plane; i += Vec::kLanes)
        fmadd(Vec::load(in + i), a, b).store(out + i);
      if (i < plane)
        fmadd(Vec::load_first(in + i, plane - i), a, b).store_first(out + i, plane - i);
    }
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
