// Device softmax (include/fovea/cuda/softmax.hpp): one block per line along the innermost memory
// axis; the block finds the line's maximum, sums exp(x - max) in float, then writes
// exp(x - max) / sum, as ops/softmax/reference.hpp does in double.
#include <cmath>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "fovea/cuda/softmax.hpp"

namespace fovea::cuda {

namespace detail {
namespace {

constexpr int kSoftmaxThreads = 256;
constexpr int kSoftmaxWarps = kSoftmaxThreads / 32;

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// Reduces `v` over the block; every thread gets the result. `shared` holds one value per warp
// and may be reused by the next call (the leading barrier protects it).
template <class Op>
__device__ float block_reduce(float v, Op op, float identity, float* shared) {
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  for (int offset = 16; offset > 0; offset /= 2)
    v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kSoftmaxWarps ? shared[lane] : identity;
    for (int offset = 16; offset > 0; offset /= 2) {
      v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

template <class T>
static __global__ void __launch_bounds__(kSoftmaxThreads)
    softmax_lines_kernel(const T* x, T* y, int64_t lines, int length) {
  __shared__ float shared[kSoftmaxWarps];
  for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) {
    const T* in = x + line * length;
    T* out = y + line * length;
    float max = -INFINITY;
    for (int i = static_cast<int>(threadIdx.x); i < length; i += kSoftmaxThreads) {
      max = fmaxf(max, to_float(in[i]));
    }
    max = block_reduce(max, MaxOp{}, -INFINITY, shared);
    float sum = 0.0f;
    for (int i = static_cast<int>(threadIdx.x); i < length; i += kSoftmaxThreads) {
      sum += expf(to_float(in[i]) - max);
    }
    sum = block_reduce(sum, SumOp{}, 0.0f, shared);
    for (int i = static_cast<int>(threadIdx.x); i < length; i += kSoftmaxThreads) {
      out[i] = from_float<T>(expf(to_float(in[i]) - max) / sum);
    }
  }
}

}  // namespace
}  // namespace detail

template <class T>
DeviceTensor<T> softmax(const DeviceTensor<T>& x, int axis, Stream stream) {
  FOVEA_CHECK(x.rank() >= 1, "CUDA softmax needs a tensor of rank 1 or more, got ", x.shape());
  FOVEA_CHECK(axis >= -x.rank() && axis < x.rank(), "CUDA softmax axis ", axis,
              " is out of range for a rank-", x.rank(), " tensor");
  const int a = axis < 0 ? axis + x.rank() : axis;
  const int innermost = x.layout() == Layout::nhwc ? 1 : x.rank() - 1;
  FOVEA_CHECK(a == innermost, "CUDA softmax runs along the innermost memory axis (", innermost,
              " for ", x.shape(), " in ", layout_name(x.layout()), "), got axis ", axis);
  detail::check_index_range(x.shape(), "CUDA softmax input");
  DeviceTensor<T> y(x.shape(), x.layout());
  const int64_t length = x.dim(a);
  if (x.numel() == 0) return y;
  const int64_t lines = x.numel() / length;
  const unsigned blocks = static_cast<unsigned>(lines < 65536 ? lines : 65536);
  detail::softmax_lines_kernel<<<blocks, detail::kSoftmaxThreads, 0, detail::native(stream)>>>(
      detail::device_ptr(x.data()), detail::device_ptr(y.data()), lines, static_cast<int>(length));
  FOVEA_CUDA_CHECK_LAUNCH("softmax_lines_kernel");
  return y;
}

template DeviceTensor<float> softmax(const DeviceTensor<float>&, int, Stream);
template DeviceTensor<half> softmax(const DeviceTensor<half>&, int, Stream);
template DeviceTensor<bfloat16> softmax(const DeviceTensor<bfloat16>&, int, Stream);

}  // namespace fovea::cuda
