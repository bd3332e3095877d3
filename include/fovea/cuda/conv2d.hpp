// Device convolution: NHWC activations, KRSC weights, a fused epilogue.
//
// conv2d() picks a kernel for the problem:
//   - groups == C (one input channel per group, any channel multiplier): the direct depthwise
//     kernel;
//   - otherwise the implicit-GEMM kernel on tensor cores (FP16/BF16 inputs with FP32
//     accumulation; FP32 tensors run as TF32), one GEMM per group.
// Any stride, padding and dilation. Instances exist for float, half and bfloat16; see
// docs/cuda.md for the kernel names and how to add one.
#pragma once

#include <string>

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/activation/params.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea::cuda {

// What happens to each accumulated output before it is stored, in this order:
//   v = acc + bias[k]            (bias: [K], folded batch norm; may be null)
//   v = v + residual[n, k, p, q] (residual: same shape and layout as the output; may be null)
//   y = activation(v)
// so a ResNet block's "relu(bn(conv(x)) + identity)" is one kernel.
template <class T>
struct Conv2dEpilogue {
  const DeviceTensor<T>* bias = nullptr;
  const DeviceTensor<T>* residual = nullptr;
  ActivationKind activation = ActivationKind::identity;
};

// y = epilogue(conv(x, weight)). x: (N, C, H, W) in NHWC layout; weight: (K, C/groups, R, S) in
// NHWC layout (KRSC memory, see weight_to_krsc); y: (N, K, P, Q) in NHWC layout.
template <class T>
DeviceTensor<T> conv2d(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                       const Conv2dAttrs& attrs, const Conv2dEpilogue<T>& epilogue = {},
                       Stream stream = {});

// The same, into an existing output of the right shape (no allocation).
template <class T>
void conv2d_into(const DeviceTensor<T>& x, const DeviceTensor<T>& weight, const Conv2dAttrs& attrs,
                 const Conv2dEpilogue<T>& epilogue, DeviceTensor<T>& y, Stream stream = {});

// Whether conv2d supports the problem for element type `dtype`, and if not, why (empty when
// supported). Checks sizes against the kernels' 32-bit index limits and grid limits.
std::string conv2d_unsupported_reason(const Conv2dParams& params, DType dtype);

// The name of the kernel conv2d runs for the problem, e.g.
// "conv2d_f16_f32acc_nhwc_implicit_gemm_sm80_128x128x32" (benches and test messages use it).
std::string conv2d_kernel_name(const Conv2dParams& params, DType dtype);

extern template DeviceTensor<float> conv2d(const DeviceTensor<float>&, const DeviceTensor<float>&,
                                           const Conv2dAttrs&, const Conv2dEpilogue<float>&,
                                           Stream);
extern template DeviceTensor<half> conv2d(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                          const Conv2dAttrs&, const Conv2dEpilogue<half>&, Stream);
extern template DeviceTensor<bfloat16> conv2d(const DeviceTensor<bfloat16>&,
                                              const DeviceTensor<bfloat16>&, const Conv2dAttrs&,
                                              const Conv2dEpilogue<bfloat16>&, Stream);
extern template void conv2d_into(const DeviceTensor<float>&, const DeviceTensor<float>&,
                                 const Conv2dAttrs&, const Conv2dEpilogue<float>&,
                                 DeviceTensor<float>&, Stream);
extern template void conv2d_into(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                 const Conv2dAttrs&, const Conv2dEpilogue<half>&,
                                 DeviceTensor<half>&, Stream);
extern template void conv2d_into(const DeviceTensor<bfloat16>&, const DeviceTensor<bfloat16>&,
                                 const Conv2dAttrs&, const Conv2dEpilogue<bfloat16>&,
                                 DeviceTensor<bfloat16>&, Stream);

}  // namespace fovea::cuda
