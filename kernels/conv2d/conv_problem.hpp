// ConvProblem: everything a device conv kernel needs, built once on the host by the launcher
// (conv2d.cu) and passed to the kernel by value. Sizes are int: the launcher has checked that
// every tensor has fewer than 2^31 elements, and offsets into tensors are formed in int64.
#pragma once

#include "fovea/ops/activation/params.hpp"

namespace fovea::cuda::detail {

struct ConvProblem {
  const void* x = nullptr;         // (N, H, W, C)
  const void* weight = nullptr;    // (K, R, S, C / groups)
  const void* bias = nullptr;      // [K] or null
  const void* residual = nullptr;  // (N, P, Q, K) or null
  void* y = nullptr;               // (N, P, Q, K)
  int n = 0, h = 0, w = 0, c = 0;
  int k = 0, r = 0, s = 0;
  int p = 0, q = 0;
  int stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0, dilation_h = 1, dilation_w = 1;
  int groups = 1, c_per_group = 0, k_per_group = 0;
  // The GEMM each group computes: M = N*P*Q output pixels, N = k_per_group output channels,
  // K = R*S*c_per_group reduction, ordered (r, s, c) so both operands read contiguous channels.
  int gemm_m = 0, gemm_k = 0;
  ActivationKind activation = ActivationKind::identity;
  // 16-byte loads of x and weight: c_per_group is a multiple of the vector width and both
  // pointers are 16-byte aligned (checked by the launcher).
  bool vector_loads = false;
};

}  // namespace fovea::cuda::detail
