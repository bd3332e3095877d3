// CudnnInt8Conv (cudnn_qconv.hpp): descriptors, algorithm search and the timed call.
#include "cudnn_qconv.hpp"

#include "fovea/core/error.hpp"

namespace fovea::bench {

namespace {

constexpr size_t kMaxWorkspaceBytes = size_t{512} << 20;

int to_int(int64_t v) {
  return static_cast<int>(v);
}

}  // namespace

CudnnInt8Conv::CudnnInt8Conv(cudnnHandle_t handle, const Conv2dParams& cp,
                             const cuda::DeviceTensor<int8_t>& x,
                             const cuda::DeviceTensor<int8_t>& w, void* y, cudnnDataType_t y_type)
    : handle_(handle) {
  const Conv2dAttrs& a = cp.attrs;
  FOVEA_CHECK(a.pad_top == a.pad_bottom && a.pad_left == a.pad_right,
              "cuDNN's legacy conv API takes symmetric padding only");
  FOVEA_CHECK(cp.c_per_group() % 4 == 0 && cp.k % 4 == 0,
              "cuDNN's INT8 convolutions need C and K to be multiples of 4, got C = ", cp.c,
              ", K = ", cp.k);
  FOVEA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
  FOVEA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
  FOVEA_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
  FOVEA_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
  FOVEA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_INT8,
                                               to_int(cp.n), to_int(cp.c), to_int(cp.h),
                                               to_int(cp.w)));
  FOVEA_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_INT8, CUDNN_TENSOR_NHWC,
                                               to_int(cp.k), to_int(cp.c_per_group()), to_int(cp.r),
                                               to_int(cp.s)));
  // INT8 configs accumulate in int32: the convolution's compute type.
  FOVEA_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      conv_desc_, to_int(a.pad_top), to_int(a.pad_left), to_int(a.stride_h), to_int(a.stride_w),
      to_int(a.dilation_h), to_int(a.dilation_w), CUDNN_CROSS_CORRELATION, CUDNN_DATA_INT32));
  FOVEA_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv_desc_, to_int(cp.groups())));
  FOVEA_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_, CUDNN_TENSOR_OP_MATH));
  int n = 0, k = 0, p = 0, q = 0;
  FOVEA_CUDNN_CHECK(
      cudnnGetConvolution2dForwardOutputDim(conv_desc_, x_desc_, w_desc_, &n, &k, &p, &q));
  FOVEA_CHECK(n == cp.n && k == cp.k && p == cp.p && q == cp.q, "cuDNN output (", n, ", ", k, ", ",
              p, ", ", q, ") differs from ours ", cp.output_shape());
  FOVEA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NHWC, y_type, n, k, p, q));

  cuda::DeviceBuffer search_workspace(kMaxWorkspaceBytes);
  constexpr int kRequested = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  cudnnConvolutionFwdAlgoPerf_t perf[kRequested];
  int returned = 0;
  FOVEA_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
      handle_, x_desc_, x.data(), w_desc_, w.data(), conv_desc_, y_desc_, y, kRequested, &returned,
      perf, search_workspace.data(), kMaxWorkspaceBytes));
  int best = -1;
  for (int i = 0; i < returned && best < 0; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS) best = i;
  }
  FOVEA_CHECK(best >= 0, "cuDNN found no working INT8 forward algorithm for ", cp.input_shape(),
              " * ", cp.weight_shape());
  algo_ = perf[best].algo;
  workspace_bytes_ = perf[best].memory;
  workspace_ = cuda::DeviceBuffer(workspace_bytes_);
}

CudnnInt8Conv::~CudnnInt8Conv() {
  (void)cudnnDestroyConvolutionDescriptor(conv_desc_);
  (void)cudnnDestroyFilterDescriptor(w_desc_);
  (void)cudnnDestroyTensorDescriptor(y_desc_);
  (void)cudnnDestroyTensorDescriptor(x_desc_);
}

void CudnnInt8Conv::run(const cuda::DeviceTensor<int8_t>& x, const cuda::DeviceTensor<int8_t>& w,
                        void* y, float alpha) {
  const float beta = 0.0f;
  FOVEA_CUDNN_CHECK(cudnnConvolutionForward(handle_, &alpha, x_desc_, x.data(), w_desc_, w.data(),
                                            conv_desc_, algo_, workspace_.data(), workspace_bytes_,
                                            &beta, y_desc_, y));
}

}  // namespace fovea::bench
