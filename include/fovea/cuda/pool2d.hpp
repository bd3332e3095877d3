// Device pooling on NHWC tensors: max, average (torch's ceil_mode and count_include_pad rules,
// as in ops/pool2d/reference.hpp) and global average. Instances: float, half, bfloat16.
#pragma once

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea::cuda {

// x: (N, C, H, W) in NHWC layout; the output takes the same layout.
template <class T>
DeviceTensor<T> max_pool2d(const DeviceTensor<T>& x, const Pool2dAttrs& attrs, Stream stream = {});
template <class T>
DeviceTensor<T> avg_pool2d(const DeviceTensor<T>& x, const Pool2dAttrs& attrs, Stream stream = {});
// (N, C, H, W) -> (N, C, 1, 1), accumulating in float.
template <class T>
DeviceTensor<T> global_avg_pool2d(const DeviceTensor<T>& x, Stream stream = {});

extern template DeviceTensor<float> max_pool2d(const DeviceTensor<float>&, const Pool2dAttrs&,
                                               Stream);
extern template DeviceTensor<half> max_pool2d(const DeviceTensor<half>&, const Pool2dAttrs&,
                                              Stream);
extern template DeviceTensor<bfloat16> max_pool2d(const DeviceTensor<bfloat16>&, const Pool2dAttrs&,
                                                  Stream);
extern template DeviceTensor<float> avg_pool2d(const DeviceTensor<float>&, const Pool2dAttrs&,
                                               Stream);
extern template DeviceTensor<half> avg_pool2d(const DeviceTensor<half>&, const Pool2dAttrs&,
                                              Stream);
extern template DeviceTensor<bfloat16> avg_pool2d(const DeviceTensor<bfloat16>&, const Pool2dAttrs&,
                                                  Stream);
extern template DeviceTensor<float> global_avg_pool2d(const DeviceTensor<float>&, Stream);
extern template DeviceTensor<half> global_avg_pool2d(const DeviceTensor<half>&, Stream);
extern template DeviceTensor<bfloat16> global_avg_pool2d(const DeviceTensor<bfloat16>&, Stream);

}  // namespace fovea::cuda
