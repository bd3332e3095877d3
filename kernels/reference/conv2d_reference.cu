// The naive device reference conv (include/fovea/cuda/reference.hpp): one thread per output, a
// direct loop over the definition accumulating in double, like conv2d_reference on the host.
// Deliberately plain: no shared memory, no tiling, no tensor cores, nothing to get subtly wrong.
#include <cstdint>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "fovea/cuda/reference.hpp"

namespace fovea::cuda {

namespace detail {
namespace {

constexpr int kReferenceThreads = 128;

struct ReferenceProblem {
  int64_t n, h, w, c, k, r, s, p, q;
  int64_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int64_t c_per_group, k_per_group;
};

// y[n, p, q, k] = bias[k] + sum over (ci, r, s) of x[n, ih, iw, first_c + ci] * w[k, r, s, ci].
template <class T>
static __global__ void __launch_bounds__(kReferenceThreads)
    conv2d_reference_nhwc_kernel(const ReferenceProblem pr, const T* x, const T* weight,
                                 const T* bias, T* y) {
  const int64_t outputs = pr.n * pr.p * pr.q * pr.k;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < outputs;
       i += step) {
    const int64_t k = i % pr.k;
    const int64_t oq = i / pr.k % pr.q;
    const int64_t op = i / (pr.k * pr.q) % pr.p;
    const int64_t n = i / (pr.k * pr.q * pr.p);
    const int64_t first_c = k / pr.k_per_group * pr.c_per_group;
    double sum = bias == nullptr ? 0.0 : to_double(bias[k]);
    for (int64_t ci = 0; ci < pr.c_per_group; ++ci) {
      for (int64_t r = 0; r < pr.r; ++r) {
        const int64_t ih = op * pr.stride_h - pr.pad_top + r * pr.dilation_h;
        if (ih < 0 || ih >= pr.h) continue;
        for (int64_t s = 0; s < pr.s; ++s) {
          const int64_t iw = oq * pr.stride_w - pr.pad_left + s * pr.dilation_w;
          if (iw < 0 || iw >= pr.w) continue;
          const T xv = x[((n * pr.h + ih) * pr.w + iw) * pr.c + first_c + ci];
          const T wv = weight[((k * pr.r + r) * pr.s + s) * pr.c_per_group + ci];
          sum += to_double(xv) * to_double(wv);
        }
      }
    }
    y[i] = from_double<T>(sum);
  }
}

}  // namespace
}  // namespace detail

template <class T>
DeviceTensor<T> conv2d_reference_device(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                                        const NonDeducedT<DeviceTensor<T>>* bias,
                                        const Conv2dAttrs& attrs, Stream stream) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  FOVEA_CHECK(x.layout() == Layout::nhwc && weight.layout() == Layout::nhwc,
              "CUDA reference conv2d needs an NHWC input and a KRSC (NHWC) weight");
  FOVEA_CHECK(bias == nullptr || bias->shape() == Shape{cp.k},
              "CUDA reference conv2d bias must be [", cp.k, "], got ", bias->shape());
  DeviceTensor<T> y(cp.output_shape(), Layout::nhwc);
  if (y.numel() == 0) return y;
  const Conv2dAttrs& a = cp.attrs;
  const detail::ReferenceProblem pr{cp.n,
                                    cp.h,
                                    cp.w,
                                    cp.c,
                                    cp.k,
                                    cp.r,
                                    cp.s,
                                    cp.p,
                                    cp.q,
                                    a.stride_h,
                                    a.stride_w,
                                    a.pad_top,
                                    a.pad_left,
                                    a.dilation_h,
                                    a.dilation_w,
                                    cp.c_per_group(),
                                    cp.k_per_group()};
  detail::conv2d_reference_nhwc_kernel<<<detail::grid_stride_blocks(y.numel(),
                                                                    detail::kReferenceThreads),
                                         detail::kReferenceThreads, 0, detail::native(stream)>>>(
      pr, detail::device_ptr(x.data()), detail::device_ptr(weight.data()),
      bias == nullptr ? nullptr : detail::device_ptr(bias->data()), detail::device_ptr(y.data()));
  FOVEA_CUDA_CHECK_LAUNCH("conv2d_reference_nhwc_kernel");
  return y;
}

template DeviceTensor<float> conv2d_reference_device(const DeviceTensor<float>&,
                                                     const DeviceTensor<float>&,
                                                     const DeviceTensor<float>*, const Conv2dAttrs&,
                                                     Stream);
template DeviceTensor<half> conv2d_reference_device(const DeviceTensor<half>&,
                                                    const DeviceTensor<half>&,
                                                    const DeviceTensor<half>*, const Conv2dAttrs&,
                                                    Stream);
template DeviceTensor<bfloat16> conv2d_reference_device(const DeviceTensor<bfloat16>&,
                                                        const DeviceTensor<bfloat16>&,
                                                        const DeviceTensor<bfloat16>*,
                                                        const Conv2dAttrs&, Stream);

}  // namespace fovea::cuda
