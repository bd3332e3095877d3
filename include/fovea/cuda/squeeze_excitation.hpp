// Device squeeze-and-excitation (torchvision.ops.SqueezeExcitation):
//   y = x * scale_act(fc2(act(fc1(mean of x over H, W))))
// as global average pooling, two GEMMs with fused bias and activation, and a per-channel scale.
// Instances: float, half, bfloat16.
#pragma once

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea::cuda {

// x: (N, C, H, W) NHWC. fc1_w [S, C] (torch's [S, C, 1, 1] has the same memory), fc1_b [S],
// fc2_w [C, S], fc2_b [C]. The output takes x's shape and layout.
template <class T>
DeviceTensor<T> squeeze_excitation(const DeviceTensor<T>& x, const DeviceTensor<T>& fc1_w,
                                   const DeviceTensor<T>& fc1_b, const DeviceTensor<T>& fc2_w,
                                   const DeviceTensor<T>& fc2_b, ActivationKind act,
                                   ActivationKind scale_act, Stream stream = {});

extern template DeviceTensor<float> squeeze_excitation(
    const DeviceTensor<float>&, const DeviceTensor<float>&, const DeviceTensor<float>&,
    const DeviceTensor<float>&, const DeviceTensor<float>&, ActivationKind, ActivationKind, Stream);
extern template DeviceTensor<half> squeeze_excitation(
    const DeviceTensor<half>&, const DeviceTensor<half>&, const DeviceTensor<half>&,
    const DeviceTensor<half>&, const DeviceTensor<half>&, ActivationKind, ActivationKind, Stream);
extern template DeviceTensor<bfloat16> squeeze_excitation(const DeviceTensor<bfloat16>&,
                                                          const DeviceTensor<bfloat16>&,
                                                          const DeviceTensor<bfloat16>&,
                                                          const DeviceTensor<bfloat16>&,
                                                          const DeviceTensor<bfloat16>&,
                                                          ActivationKind, ActivationKind, Stream);

}  // namespace fovea::cuda
