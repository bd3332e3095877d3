// A cuDNN forward convolution over the same NHWC/KRSC FP16 device tensors our kernels read,
// configured as cuDNN's best algorithm for the problem (cudnnFindConvolutionForwardAlgorithmEx
// with a bounded workspace), FP32 accumulation, tensor cores allowed.
#pragma once

#include <cudnn.h>

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea::bench {

// Throws fovea::Error naming the cuDNN call when `status` is not success.
void check_cudnn(cudnnStatus_t status, const char* call, const char* file, int line);
#define FOVEA_CUDNN_CHECK(call) ::fovea::bench::check_cudnn((call), #call, __FILE__, __LINE__)

class CudnnConv {
 public:
  // Finds the fastest algorithm on these very buffers (y is overwritten).
  CudnnConv(cudnnHandle_t handle, const Conv2dParams& cp, const cuda::DeviceTensor<half>& x,
            const cuda::DeviceTensor<half>& w, cuda::DeviceTensor<half>& y);
  ~CudnnConv();
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  void run(const cuda::DeviceTensor<half>& x, const cuda::DeviceTensor<half>& w,
           cuda::DeviceTensor<half>& y);
  int algorithm() const { return static_cast<int>(algo_); }

 private:
  cudnnHandle_t handle_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cuda::DeviceBuffer workspace_;
  size_t workspace_bytes_ = 0;
};

}  // namespace fovea::bench
