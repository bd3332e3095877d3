// pool2d: the entry points layers call. The reference is the only kernel in the core; the fast
// CPU and CUDA paths register theirs in front of it.
#pragma once

#include "fovea/ops/pool2d/reference.hpp"

namespace fovea {

inline Tensor<float> max_pool2d(const Tensor<float>& x, const Pool2dAttrs& attrs) {
  return max_pool2d_reference(x, attrs);
}

inline Tensor<float> avg_pool2d(const Tensor<float>& x, const Pool2dAttrs& attrs) {
  return avg_pool2d_reference(x, attrs);
}

inline Tensor<float> adaptive_avg_pool2d(const Tensor<float>& x, int64_t out_h, int64_t out_w) {
  return adaptive_avg_pool2d_reference(x, out_h, out_w);
}

inline Tensor<float> global_avg_pool2d(const Tensor<float>& x) {
  return global_avg_pool2d_reference(x);
}

inline Tensor<float> global_max_pool2d(const Tensor<float>& x) {
  return global_max_pool2d_reference(x);
}

}  // namespace fovea
