// Device fully connected layer / GEMM: y = activation(x weight^T + bias). It runs on the
// implicit-GEMM conv kernel as a 1x1 convolution over a 1x1 image: x [N, in] is NHWC (N, in, 1,
// 1) and weight [out, in] is KRSC (out, in, 1, 1), byte for byte. Instances: float (TF32),
// half, bfloat16.
#pragma once

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/activation/params.hpp"
#include "fovea/ops/linear/params.hpp"

namespace fovea::cuda {

// x [N, in], weight [out, in] (torch's layout), bias [out] or null; returns [N, out].
template <class T>
DeviceTensor<T> linear(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                       const NonDeducedT<DeviceTensor<T>>* bias,
                       ActivationKind activation = ActivationKind::identity, Stream stream = {});

// The same, into an existing [N, out] output (no allocation).
template <class T>
void linear_into(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                 const NonDeducedT<DeviceTensor<T>>* bias, ActivationKind activation,
                 DeviceTensor<T>& y, Stream stream = {});

extern template DeviceTensor<float> linear(const DeviceTensor<float>&, const DeviceTensor<float>&,
                                           const DeviceTensor<float>*, ActivationKind, Stream);
extern template DeviceTensor<half> linear(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                          const DeviceTensor<half>*, ActivationKind, Stream);
extern template DeviceTensor<bfloat16> linear(const DeviceTensor<bfloat16>&,
                                              const DeviceTensor<bfloat16>&,
                                              const DeviceTensor<bfloat16>*, ActivationKind,
                                              Stream);

extern template void linear_into(const DeviceTensor<float>&, const DeviceTensor<float>&,
                                 const DeviceTensor<float>*, ActivationKind, DeviceTensor<float>&,
                                 Stream);
extern template void linear_into(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                 const DeviceTensor<half>*, ActivationKind, DeviceTensor<half>&,
                                 Stream);
extern template void linear_into(const DeviceTensor<bfloat16>&, const DeviceTensor<bfloat16>&,
                                 const DeviceTensor<bfloat16>*, ActivationKind,
                                 DeviceTensor<bfloat16>&, Stream);

}  // namespace fovea::cuda
