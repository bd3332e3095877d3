// Device softmax along the innermost memory axis: the last axis of a row-major tensor, or the
// channel axis (1) of an NHWC tensor. Sums in float. Instances: float, half, bfloat16.
#pragma once

#include "fovea/cuda/device_tensor.hpp"

namespace fovea::cuda {

// `axis` may be negative (counted from the end); it must be the innermost axis in memory.
template <class T>
DeviceTensor<T> softmax(const DeviceTensor<T>& x, int axis, Stream stream = {});

extern template DeviceTensor<float> softmax(const DeviceTensor<float>&, int, Stream);
extern template DeviceTensor<half> softmax(const DeviceTensor<half>&, int, Stream);
extern template DeviceTensor<bfloat16> softmax(const DeviceTensor<bfloat16>&, int, Stream);

}  // namespace fovea::cuda
