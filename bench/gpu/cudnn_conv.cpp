// CudnnConv (cudnn_conv.hpp): descriptors, algorithm search and the timed call.
#include "cudnn_conv.hpp"

#include "fovea/core/error.hpp"

namespace fovea::bench {

namespace {

// cuDNN algorithms wanting more scratch than this are left out of the search.
constexpr size_t kMaxWorkspaceBytes = size_t{512} << 20;

int to_int(int64_t v) {
  return static_cast<int>(v);
}

}  // namespace

void check_cudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  fail(call, " failed at ", file, ":", line, ": ", cudnnGetErrorString(status));
}

CudnnConv::CudnnConv(cudnnHandle_t handle, const Conv2dParams& cp,
                     const cuda::DeviceTensor<half>& x, const cuda::DeviceTensor<half>& w,
                     cuda::DeviceTensor<half>& y)
    : handle_(handle) {
  const Conv2dAttrs& a = cp.attrs;
  FOVEA_CHECK(a.pad_top == a.pad_bottom && a.pad_left == a.pad_right,
              "cuDNN's legacy conv API takes symmetric padding only");
  FOVEA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
  FOVEA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
  FOVEA_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
  FOVEA_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
  FOVEA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF,
                                               to_int(cp.n), to_int(cp.c), to_int(cp.h),
                                               to_int(cp.w)));
  // NHWC filter format is KRSC memory, exactly our device weight layout.
  FOVEA_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_HALF, CUDNN_TENSOR_NHWC,
                                               to_int(cp.k), to_int(cp.c_per_group()), to_int(cp.r),
                                               to_int(cp.s)));
  FOVEA_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      conv_desc_, to_int(a.pad_top), to_int(a.pad_left), to_int(a.stride_h), to_int(a.stride_w),
      to_int(a.dilation_h), to_int(a.dilation_w), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  FOVEA_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv_desc_, to_int(cp.groups())));
  FOVEA_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_, CUDNN_TENSOR_OP_MATH));
  int n = 0, k = 0, p = 0, q = 0;
  FOVEA_CUDNN_CHECK(
      cudnnGetConvolution2dForwardOutputDim(conv_desc_, x_desc_, w_desc_, &n, &k, &p, &q));
  FOVEA_CHECK(n == cp.n && k == cp.k && p == cp.p && q == cp.q, "cuDNN output (", n, ", ", k, ", ",
              p, ", ", q, ") differs from ours ", cp.output_shape());
  FOVEA_CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, n, k, p, q));

  cuda::DeviceBuffer search_workspace(kMaxWorkspaceBytes);
  constexpr int kRequested = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  cudnnConvolutionFwdAlgoPerf_t perf[kRequested];
  int returned = 0;
  FOVEA_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
      handle_, x_desc_, x.data(), w_desc_, w.data(), conv_desc_, y_desc_, y.data(), kRequested,
      &returned, perf, search_workspace.data(), kMaxWorkspaceBytes));
  // Results come sorted by time; take the fastest that ran.
  int best = -1;
  for (int i = 0; i < returned && best < 0; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS) best = i;
  }
  FOVEA_CHECK(best >= 0, "cuDNN found no working forward algorithm for ", cp.input_shape(), " * ",
              cp.weight_shape());
  algo_ = perf[best].algo;
  workspace_bytes_ = perf[best].memory;
  workspace_ = cuda::DeviceBuffer(workspace_bytes_);
}

CudnnConv::~CudnnConv() {
  (void)cudnnDestroyConvolutionDescriptor(conv_desc_);
  (void)cudnnDestroyFilterDescriptor(w_desc_);
  (void)cudnnDestroyTensorDescriptor(y_desc_);
  (void)cudnnDestroyTensorDescriptor(x_desc_);
}

void CudnnConv::run(const cuda::DeviceTensor<half>& x, const cuda::DeviceTensor<half>& w,
                    cuda::DeviceTensor<half>& y) {
  const float alpha = 1.0f, beta = 0.0f;
  FOVEA_CUDNN_CHECK(cudnnConvolutionForward(handle_, &alpha, x_desc_, x.data(), w_desc_, w.data(),
                                            conv_desc_, algo_, workspace_.data(), workspace_bytes_,
                                            &beta, y_desc_, y.data()));
}

}  // namespace fovea::bench
