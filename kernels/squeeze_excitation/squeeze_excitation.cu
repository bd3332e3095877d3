// Device squeeze-and-excitation (include/fovea/cuda/squeeze_excitation.hpp): global average
// pooling, fc1 + act and fc2 + scale_act as GEMMs with fused epilogues, then one pass scaling
// every channel of x.
#include <utility>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "fovea/cuda/linear.hpp"
#include "fovea/cuda/pool2d.hpp"
#include "fovea/cuda/squeeze_excitation.hpp"

namespace fovea::cuda {

namespace detail {
namespace {

constexpr int kScaleThreads = 256;

// y[n, h, w, c] = x[n, h, w, c] * scale[n, c] in NHWC, one rounding.
template <class T>
static __global__ void __launch_bounds__(kScaleThreads)
    channel_scale_nhwc_kernel(const T* x, const T* scale, T* y, int64_t elements, int channels,
                              int64_t image_elements) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < elements;
       i += step) {
    const int64_t n = i / image_elements;
    const int64_t c = i % channels;
    y[i] = from_float<T>(to_float(x[i]) * to_float(scale[n * channels + c]));
  }
}

}  // namespace
}  // namespace detail

template <class T>
DeviceTensor<T> squeeze_excitation(const DeviceTensor<T>& x, const DeviceTensor<T>& fc1_w,
                                   const DeviceTensor<T>& fc1_b, const DeviceTensor<T>& fc2_w,
                                   const DeviceTensor<T>& fc2_b, ActivationKind act,
                                   ActivationKind scale_act, Stream stream) {
  FOVEA_CHECK(x.rank() == 4 && x.layout() == Layout::nhwc,
              "CUDA squeeze_excitation input must be (N, C, H, W) in NHWC layout, got ", x.shape(),
              " in ", layout_name(x.layout()));
  const int64_t n = x.dim(0), c = x.dim(1);
  FOVEA_CHECK(fc1_w.rank() == 2 && fc1_w.dim(1) == c,
              "CUDA squeeze_excitation fc1 weight must be [S, ", c, "], got ", fc1_w.shape());
  const int64_t s = fc1_w.dim(0);
  FOVEA_CHECK(fc2_w.shape() == Shape({c, s}), "CUDA squeeze_excitation fc2 weight must be [", c,
              ", ", s, "], got ", fc2_w.shape());
  DeviceTensor<T> pooled = global_avg_pool2d(x, stream).reshape(Shape{n, c});
  const DeviceTensor<T> hidden = linear(pooled, fc1_w, &fc1_b, act, stream);
  const DeviceTensor<T> scale = linear(hidden, fc2_w, &fc2_b, scale_act, stream);
  DeviceTensor<T> y(x.shape(), Layout::nhwc);
  const int64_t elements = x.numel();
  if (elements == 0) return y;
  detail::channel_scale_nhwc_kernel<<<detail::grid_stride_blocks(elements, detail::kScaleThreads),
                                      detail::kScaleThreads, 0, detail::native(stream)>>>(
      detail::device_ptr(x.data()), detail::device_ptr(scale.data()), detail::device_ptr(y.data()),
      elements, static_cast<int>(c), x.dim(2) * x.dim(3) * c);
  FOVEA_CUDA_CHECK_LAUNCH("channel_scale_nhwc_kernel");
  return y;
}

template DeviceTensor<float> squeeze_excitation(
    const DeviceTensor<float>&, const DeviceTensor<float>&, const DeviceTensor<float>&,
    const DeviceTensor<float>&, const DeviceTensor<float>&, ActivationKind, ActivationKind, Stream);
template DeviceTensor<half> squeeze_excitation(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                               const DeviceTensor<half>&, const DeviceTensor<half>&,
                                               const DeviceTensor<half>&, ActivationKind,
                                               ActivationKind, Stream);
template DeviceTensor<bfloat16> squeeze_excitation(const DeviceTensor<bfloat16>&,
                                                   const DeviceTensor<bfloat16>&,
                                                   const DeviceTensor<bfloat16>&,
                                                   const DeviceTensor<bfloat16>&,
                                                   const DeviceTensor<bfloat16>&, ActivationKind,
                                                   ActivationKind, Stream);

}  // namespace fovea::cuda
