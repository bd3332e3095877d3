// The naive device reference convolution: one thread per output, accumulating in double, no
// tiling, no tensor cores. It exists so tests can check the fast kernels on shapes too large for
// the host reference; it is itself checked against conv2d_reference (ops/conv2d/reference.hpp).
#pragma once

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea::cuda {

// y = conv(x, weight) + bias, rounded once to T. x NHWC, weight KRSC (NHWC layout), bias [K] or
// null; returns NHWC.
template <class T>
DeviceTensor<T> conv2d_reference_device(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                                        const NonDeducedT<DeviceTensor<T>>* bias,
                                        const Conv2dAttrs& attrs, Stream stream = {});

extern template DeviceTensor<float> conv2d_reference_device(const DeviceTensor<float>&,
                                                            const DeviceTensor<float>&,
                                                            const DeviceTensor<float>*,
                                                            const Conv2dAttrs&, Stream);
extern template DeviceTensor<half> conv2d_reference_device(const DeviceTensor<half>&,
                                                           const DeviceTensor<half>&,
                                                           const DeviceTensor<half>*,
                                                           const Conv2dAttrs&, Stream);
extern template DeviceTensor<bfloat16> conv2d_reference_device(const DeviceTensor<bfloat16>&,
                                                               const DeviceTensor<bfloat16>&,
                                                               const DeviceTensor<bfloat16>*,
                                                               const Conv2dAttrs&, Stream);

}  // namespace fovea::cuda
