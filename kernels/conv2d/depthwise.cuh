// Direct depthwise convolution, NHWC: groups == C, so each output channel k reads the single
// input channel k / k_per_group (k_per_group is the channel multiplier). One thread per output
// element with the channel innermost, so neighbouring threads read neighbouring channels.
//
// Levels: launch_depthwise (host) -> conv2d_depthwise_kernel (static __global__ entry) ->
// depthwise_output (per-output device function). Instantiated only from depthwise.cu.
#pragma once

#include <cstdint>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "conv2d/conv_problem.hpp"
#include "conv2d/epilogue.cuh"

namespace fovea::cuda::detail {

inline constexpr int kDepthwiseThreads = 256;

// The output at NHWC offset `index`: its (n, p, q, k) come from the offset.
template <class T>
__device__ void depthwise_output(const ConvProblem& pr, int64_t index) {
  const int k = static_cast<int>(index % pr.k);
  int64_t t = index / pr.k;
  const int oq = static_cast<int>(t % pr.q);
  t /= pr.q;
  const int op = static_cast<int>(t % pr.p);
  const int n = static_cast<int>(t / pr.p);
  const int c = k / pr.k_per_group;
  const T* x = static_cast<const T*>(pr.x);
  const T* weight = static_cast<const T*>(pr.weight) + static_cast<int64_t>(k) * pr.r * pr.s;
  const int64_t image = static_cast<int64_t>(n) * pr.h * pr.w * pr.c + c;
  float acc = 0.0f;
  for (int r = 0; r < pr.r; ++r) {
    const int ih = op * pr.stride_h - pr.pad_top + r * pr.dilation_h;
    if (ih < 0 || ih >= pr.h) continue;
    for (int s = 0; s < pr.s; ++s) {
      const int iw = oq * pr.stride_w - pr.pad_left + s * pr.dilation_w;
      if (iw < 0 || iw >= pr.w) continue;
      acc += to_float(x[image + (static_cast<int64_t>(ih) * pr.w + iw) * pr.c]) *
             to_float(weight[r * pr.s + s]);
    }
  }
  store_conv_output<T>(pr, acc, k, index);
}

template <class T>
static __global__ void __launch_bounds__(kDepthwiseThreads)
    conv2d_depthwise_kernel(const ConvProblem problem, int64_t outputs) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < outputs;
       i += step) {
    depthwise_output<T>(problem, i);
  }
}

template <class T>
void launch_depthwise(const ConvProblem& problem, cudaStream_t stream) {
  const int64_t outputs = static_cast<int64_t>(problem.gemm_m) * problem.k;
  conv2d_depthwise_kernel<T>
      <<<grid_stride_blocks(outputs, kDepthwiseThreads), kDepthwiseThreads, 0, stream>>>(problem,
                                                                                         outputs);
  FOVEA_CUDA_CHECK_LAUNCH("conv2d_depthwise_kernel");
}

}  // namespace fovea::cuda::detail
