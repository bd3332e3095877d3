// Device pooling (include/fovea/cuda/pool2d.hpp): max and average pooling with one thread per
// NHWC output (channels innermost, so a warp reads 32 neighbouring channels), and global average
// pooling with one thread per (image, channel). Window rules are those of
// ops/pool2d/reference.hpp, line for line.
#include <cmath>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "fovea/cuda/pool2d.hpp"

namespace fovea::cuda {

namespace detail {
namespace {

constexpr int kPoolThreads = 256;

struct PoolProblem {
  const void* x = nullptr;
  void* y = nullptr;
  int n = 0, h = 0, w = 0, c = 0, p = 0, q = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = true;
};

struct OutputPosition {
  int n, p, q, c;
};

__device__ OutputPosition output_position(const PoolProblem& pr, int64_t index) {
  OutputPosition o;
  o.c = static_cast<int>(index % pr.c);
  int64_t t = index / pr.c;
  o.q = static_cast<int>(t % pr.q);
  t /= pr.q;
  o.p = static_cast<int>(t % pr.p);
  o.n = static_cast<int>(t / pr.p);
  return o;
}

__device__ int64_t input_offset(const PoolProblem& pr, int n, int ih, int iw, int c) {
  return ((static_cast<int64_t>(n) * pr.h + ih) * pr.w + iw) * pr.c + c;
}

// The window clipped to the input; padding never wins, and a NaN in the window wins.
template <class T>
__device__ void max_pool_output(const PoolProblem& pr, int64_t index) {
  const OutputPosition o = output_position(pr, index);
  const T* x = static_cast<const T*>(pr.x);
  const int h0 = max(o.p * pr.stride_h - pr.pad_top, 0);
  const int h1 = min(o.p * pr.stride_h - pr.pad_top + pr.kernel_h, pr.h);
  const int w0 = max(o.q * pr.stride_w - pr.pad_left, 0);
  const int w1 = min(o.q * pr.stride_w - pr.pad_left + pr.kernel_w, pr.w);
  T best = x[input_offset(pr, o.n, h0, w0, o.c)];
  for (int ih = h0; ih < h1; ++ih) {
    for (int iw = w0; iw < w1; ++iw) {
      const T v = x[input_offset(pr, o.n, ih, iw, o.c)];
      if (to_float(v) > to_float(best) || isnan(to_float(v))) best = v;
    }
  }
  static_cast<T*>(pr.y)[index] = best;
}

// The divisor is the window clipped to the padded input (count_include_pad) or the number of
// input elements it covers.
template <class T>
__device__ void avg_pool_output(const PoolProblem& pr, int64_t index) {
  const OutputPosition o = output_position(pr, index);
  const T* x = static_cast<const T*>(pr.x);
  const int start_h = o.p * pr.stride_h - pr.pad_top;
  const int end_h = min(start_h + pr.kernel_h, pr.h + pr.pad_bottom);
  const int start_w = o.q * pr.stride_w - pr.pad_left;
  const int end_w = min(start_w + pr.kernel_w, pr.w + pr.pad_right);
  const int h0 = max(start_h, 0), h1 = min(end_h, pr.h);
  const int w0 = max(start_w, 0), w1 = min(end_w, pr.w);
  float sum = 0.0f;
  for (int ih = h0; ih < h1; ++ih) {
    for (int iw = w0; iw < w1; ++iw)
      sum += to_float(x[input_offset(pr, o.n, ih, iw, o.c)]);
  }
  const int count =
      pr.count_include_pad ? (end_h - start_h) * (end_w - start_w) : (h1 - h0) * (w1 - w0);
  static_cast<T*>(pr.y)[index] = from_float<T>(sum / static_cast<float>(count));
}

template <class T, bool kMax>
static __global__ void __launch_bounds__(kPoolThreads)
    pool2d_nhwc_kernel(const PoolProblem problem, int64_t outputs) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < outputs;
       i += step) {
    if constexpr (kMax) {
      max_pool_output<T>(problem, i);
    } else {
      avg_pool_output<T>(problem, i);
    }
  }
}

// y[n, c] = mean over the image of x[n, :, :, c]; one thread per (n, c), c innermost.
template <class T>
static __global__ void __launch_bounds__(kPoolThreads)
    global_avg_pool2d_nhwc_kernel(const T* x, T* y, int images, int pixels, int channels) {
  const int64_t outputs = static_cast<int64_t>(images) * channels;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < outputs;
       i += step) {
    const int64_t n = i / channels, c = i % channels;
    const T* image = x + n * pixels * channels + c;
    float sum = 0.0f;
    for (int pixel = 0; pixel < pixels; ++pixel) {
      sum += to_float(image[static_cast<int64_t>(pixel) * channels]);
    }
    y[i] = from_float<T>(sum / static_cast<float>(pixels));
  }
}

template <class T>
void require_nhwc_input(const DeviceTensor<T>& x, const char* op) {
  FOVEA_CHECK(x.rank() == 4 && x.layout() == Layout::nhwc, "CUDA ", op,
              " input must be (N, C, H, W) in NHWC layout, got ", x.shape(), " in ",
              layout_name(x.layout()));
  check_index_range(x.shape(), "CUDA pooling input");
}

template <class T, bool kMax>
DeviceTensor<T> pool2d(const DeviceTensor<T>& x, const Pool2dAttrs& attrs, Stream stream) {
  const char* op = kMax ? "max_pool2d" : "avg_pool2d";
  require_nhwc_input(x, op);
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, op);
  DeviceTensor<T> y(pp.output_shape(), Layout::nhwc);
  check_index_range(y.shape(), "CUDA pooling output");
  const Pool2dAttrs& a = pp.attrs;
  const int64_t window_limits[] = {a.kernel_h, a.kernel_w, a.stride_h, a.stride_w};
  for (int64_t v : window_limits) {
    FOVEA_CHECK(v <= kMaxElements, "CUDA ", op, " kernel or stride ", v, " is too large");
  }
  PoolProblem pr;
  pr.x = x.data();
  pr.y = y.data();
  pr.n = static_cast<int>(pp.n), pr.h = static_cast<int>(pp.h), pr.w = static_cast<int>(pp.w);
  pr.c = static_cast<int>(pp.c), pr.p = static_cast<int>(pp.p), pr.q = static_cast<int>(pp.q);
  pr.kernel_h = static_cast<int>(a.kernel_h), pr.kernel_w = static_cast<int>(a.kernel_w);
  pr.stride_h = static_cast<int>(a.stride_h), pr.stride_w = static_cast<int>(a.stride_w);
  pr.pad_top = static_cast<int>(a.pad_top), pr.pad_left = static_cast<int>(a.pad_left);
  pr.pad_bottom = static_cast<int>(a.pad_bottom), pr.pad_right = static_cast<int>(a.pad_right);
  pr.count_include_pad = a.count_include_pad;
  const int64_t outputs = y.numel();
  if (outputs == 0) return y;
  pool2d_nhwc_kernel<DeviceElementOf<T>, kMax>
      <<<grid_stride_blocks(outputs, kPoolThreads), kPoolThreads, 0, native(stream)>>>(pr, outputs);
  FOVEA_CUDA_CHECK_LAUNCH("pool2d_nhwc_kernel");
  return y;
}

}  // namespace
}  // namespace detail

template <class T>
DeviceTensor<T> max_pool2d(const DeviceTensor<T>& x, const Pool2dAttrs& attrs, Stream stream) {
  return detail::pool2d<T, true>(x, attrs, stream);
}

template <class T>
DeviceTensor<T> avg_pool2d(const DeviceTensor<T>& x, const Pool2dAttrs& attrs, Stream stream) {
  return detail::pool2d<T, false>(x, attrs, stream);
}

template <class T>
DeviceTensor<T> global_avg_pool2d(const DeviceTensor<T>& x, Stream stream) {
  detail::require_nhwc_input(x, "global_avg_pool2d");
  FOVEA_CHECK(x.dim(2) > 0 && x.dim(3) > 0,
              "CUDA global_avg_pool2d input must have a non-empty image, got ", x.shape());
  DeviceTensor<T> y(Shape{x.dim(0), x.dim(1), 1, 1}, Layout::nhwc);
  const int64_t outputs = y.numel();
  if (outputs == 0) return y;
  detail::global_avg_pool2d_nhwc_kernel<<<detail::grid_stride_blocks(outputs, detail::kPoolThreads),
                                          detail::kPoolThreads, 0, detail::native(stream)>>>(
      detail::device_ptr(x.data()), detail::device_ptr(y.data()), static_cast<int>(x.dim(0)),
      static_cast<int>(x.dim(2) * x.dim(3)), static_cast<int>(x.dim(1)));
  FOVEA_CUDA_CHECK_LAUNCH("global_avg_pool2d_nhwc_kernel");
  return y;
}

#define FOVEA_POOL2D_INSTANCES(T)                                                          \
  template DeviceTensor<T> max_pool2d(const DeviceTensor<T>&, const Pool2dAttrs&, Stream); \
  template DeviceTensor<T> avg_pool2d(const DeviceTensor<T>&, const Pool2dAttrs&, Stream); \
  template DeviceTensor<T> global_avg_pool2d(const DeviceTensor<T>&, Stream);
FOVEA_POOL2D_INSTANCES(float)
FOVEA_POOL2D_INSTANCES(half)
FOVEA_POOL2D_INSTANCES(bfloat16)
#undef FOVEA_POOL2D_INSTANCES

}  // namespace fovea::cuda
