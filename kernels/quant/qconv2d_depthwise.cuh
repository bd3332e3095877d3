// INT8 direct depthwise convolution, NHWC, on CUDA cores: C/groups == 1, so output channel k
// reads input channel k / k_per_group only (k_per_group is the channel multiplier). A padded tap
// reads as the input zero point, which the host's bias correction (−zp_x·Σw) cancels exactly.
//
// Weights are packed tap-major: row (r·S + s) holds that tap of every output channel, so
// neighbouring threads (neighbouring channels) read neighbouring weight bytes. One thread owns
// kVec consecutive channels of one output pixel: kVec = 4 when the multiplier is 1 and C % 4 ==
// 0 (one 4-byte load of input and of weights per tap, four int32 sums), else 1. Grid-stride
// loop over (pixel, channel vector) with the channel vector innermost.
//
// Levels: launch_qconv2d_depthwise (host) -> qconv2d_depthwise_kernel (static __global__ entry)
// -> depthwise_qoutput (per-thread device function). Instantiated only in qconv2d_int8.cu.
#pragma once

#include <cstdint>

#include "common/check.hpp"
#include "common/limits.hpp"
#include "quant/qconv_epilogue.cuh"
#include "quant/qconv_launch.hpp"
#include "quant/qconv_problem.hpp"

namespace fovea::cuda::detail {

// The kVec outputs of item `index` = pixel · (K / kVec) + channel vector.
template <class Out, int kVec>
__device__ void depthwise_qoutput(const QConvProblem& pr, int64_t index) {
  const int vectors = pr.k / kVec;
  const int k0 = static_cast<int>(index % vectors) * kVec;
  const int64_t pixel = index / vectors;
  const int oq = static_cast<int>(pixel % pr.q);
  const int64_t t = pixel / pr.q;
  const int op = static_cast<int>(t % pr.p);
  const int n = static_cast<int>(t / pr.p);
  const int c0 = k0 / pr.k_per_group;  // kVec == 4 only with multiplier 1: c0 == k0
  const uint8_t* x = pr.x + static_cast<int64_t>(n) * pr.h * pr.w * pr.c + c0;
  int32_t acc[kVec];
#pragma unroll
  for (int e = 0; e < kVec; ++e)
    acc[e] = 0;
  for (int r = 0; r < pr.r; ++r) {
    const int ih = op * pr.stride_h - pr.pad_top + r * pr.dilation_h;
    const bool row_inside = ih >= 0 && ih < pr.h;
    for (int s = 0; s < pr.s; ++s) {
      const int iw = oq * pr.stride_w - pr.pad_left + s * pr.dilation_w;
      const bool inside = row_inside && iw >= 0 && iw < pr.w;
      const int64_t offset = (static_cast<int64_t>(ih) * pr.w + iw) * pr.c;
      const int8_t* w = pr.weight + static_cast<int64_t>(r * pr.s + s) * pr.row_length + k0;
      if constexpr (kVec == 4) {
        const uint32_t xv = inside ? __ldg(reinterpret_cast<const uint32_t*>(x + offset))
                                   : zero_point_word(pr.input_zero_point);
        const uint32_t wv = __ldg(reinterpret_cast<const uint32_t*>(w));
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int32_t xe = static_cast<int32_t>((xv >> (8 * e)) & 0xffu);
          const int32_t we = static_cast<int32_t>(static_cast<int8_t>((wv >> (8 * e)) & 0xffu));
          acc[e] += xe * we;
        }
      } else {
        const int32_t xe = inside ? static_cast<int32_t>(x[offset]) : pr.input_zero_point;
        acc[0] += xe * static_cast<int32_t>(*w);
      }
    }
  }
#pragma unroll
  for (int e = 0; e < kVec; ++e)
    store_qconv_output<Out>(pr, acc[e], k0 + e, pixel * pr.k + k0 + e);
}

template <class Out, int kVec>
static __global__ void __launch_bounds__(kDepthwiseThreads)
    qconv2d_depthwise_kernel(const QConvProblem problem, int64_t items) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < items;
       i += step) {
    depthwise_qoutput<Out, kVec>(problem, i);
  }
}

template <class Out, int kVec>
void launch_qconv2d_depthwise(const QConvProblem& problem, cudaStream_t stream) {
  const int64_t items = static_cast<int64_t>(problem.gemm_m) * (problem.k / kVec);
  qconv2d_depthwise_kernel<Out, kVec>
      <<<grid_stride_blocks(items, kDepthwiseThreads), kDepthwiseThreads, 0, stream>>>(problem,
                                                                                       items);
  FOVEA_CUDA_CHECK_LAUNCH("qconv2d_depthwise_kernel");
}

}  // namespace fovea::cuda::detail
