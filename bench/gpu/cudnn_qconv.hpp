// A cuDNN INT8 forward convolution for the INT8 rows of the conv bench: cuDNN's legacy API
// INT8_CONFIG (x, w s8, int32 accumulation, y s8) or INT8_EXT_CONFIG (y float), NHWC tensors
// and NHWC (KRSC) filters, C and K multiples of 4. cuDNN has no zero points and no u8 × s8
// config, so the bench hands it x − 128 as s8 (our u8 bytes with the top bit flipped), which is
// our conv exactly when our input zero point is 128. The algorithm is the fastest that
// cudnnFindConvolutionForwardAlgorithmEx finds on the very buffers (bounded workspace).
#pragma once

#include <cudnn.h>

#include "cudnn_conv.hpp"
#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea::bench {

class CudnnInt8Conv {
 public:
  // y_type: CUDNN_DATA_INT8 (y holds K·P·Q·N bytes) or CUDNN_DATA_FLOAT. Throws fovea::Error
  // naming the cuDNN call when cuDNN cannot run the config (e.g. C % 4 != 0).
  CudnnInt8Conv(cudnnHandle_t handle, const Conv2dParams& cp, const cuda::DeviceTensor<int8_t>& x,
                const cuda::DeviceTensor<int8_t>& w, void* y, cudnnDataType_t y_type);
  ~CudnnInt8Conv();
  CudnnInt8Conv(const CudnnInt8Conv&) = delete;
  CudnnInt8Conv& operator=(const CudnnInt8Conv&) = delete;

  // y = alpha · conv(x, w), rounded and saturated to y's type.
  void run(const cuda::DeviceTensor<int8_t>& x, const cuda::DeviceTensor<int8_t>& w, void* y,
           float alpha = 1.0f);
  int algorithm() const { return static_cast<int>(algo_); }

 private:
  cudnnHandle_t handle_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  cuda::DeviceBuffer workspace_;
  size_t workspace_bytes_ = 0;
};

}  // namespace fovea::bench
