// to_channels_last: an NCHW tensor copied into NHWC, the first step of a channels-last forward
// (nn::Conv2d converts the model's input with it). Each image is a C × HW → HW × C transpose,
// done in blocks of pixels spread over the thread pool. Tensor::to_layout's general per-element
// loop had run on one thread at any thread count: 0.8 % of a two-thread MobileNetV2 forward's
// samples under perf, all on the caller.
#pragma once

#include <algorithm>
#include <cstdint>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline Tensor<float> to_channels_last(const Tensor<float>& x) {
  FOVEA_CHECK(x.rank() == 4 && x.layout() == Layout::nchw,
              "to_channels_last wants an NCHW rank-4 tensor, got ", x.shape(), " in ",
              layout_name(x.layout()));
  const int64_t channels = x.dim(1), pixels = x.dim(2) * x.dim(3);
  Tensor<float> y = Tensor<float>::uninitialized(x.shape(), Layout::nhwc);
  // A block's C source rows and its destination stay in L1 for any model's input channels.
  constexpr int64_t kPixelsPerBlock = 512;
  const int64_t blocks = (pixels + kPixelsPerBlock - 1) / kPixelsPerBlock;
  const float* src = x.data();
  float* dst = y.data();
  parallel_for(0, x.dim(0) * blocks, [&](int64_t task) {
    const int64_t n = task / blocks, p0 = task % blocks * kPixelsPerBlock;
    const int64_t p1 = std::min(pixels, p0 + kPixelsPerBlock);
    const float* image = src + n * channels * pixels;
    float* out = dst + n * pixels * channels;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t c = 0; c < channels; ++c)
        out[p * channels + c] = image[c * pixels + p];
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
