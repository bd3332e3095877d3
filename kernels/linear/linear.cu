// Device linear layer (include/fovea/cuda/linear.hpp) as a 1x1 convolution over 1x1 images on
// the implicit-GEMM kernel: x [N, in] is NHWC (N, in, 1, 1) and weight [out, in] is KRSC
// (out, in, 1, 1) in the same bytes, so no data moves.
#include <cstdint>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "conv2d/launch.hpp"
#include "fovea/cuda/linear.hpp"

namespace fovea::cuda {

template <class T>
void linear_into(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                 const NonDeducedT<DeviceTensor<T>>* bias, ActivationKind activation,
                 DeviceTensor<T>& y, Stream stream) {
  const LinearParams lp = LinearParams::make(x.shape(), weight.shape());
  FOVEA_CHECK(bias == nullptr || bias->shape() == Shape{lp.out}, "CUDA linear bias must be [",
              lp.out, "], got ", bias->shape());
  FOVEA_CHECK(y.shape() == lp.output_shape(), "CUDA linear output must be ", lp.output_shape(),
              ", got ", y.shape());
  detail::check_index_range(x.shape(), "CUDA linear input");
  detail::check_index_range(weight.shape(), "CUDA linear weight");
  detail::check_index_range(y.shape(), "CUDA linear output");
  detail::ConvProblem pr;
  pr.x = x.data();
  pr.weight = weight.data();
  pr.bias = bias == nullptr ? nullptr : bias->data();
  pr.y = y.data();
  pr.n = static_cast<int>(lp.n), pr.h = 1, pr.w = 1, pr.c = static_cast<int>(lp.in);
  pr.k = static_cast<int>(lp.out), pr.r = 1, pr.s = 1, pr.p = 1, pr.q = 1;
  pr.groups = 1, pr.c_per_group = pr.c, pr.k_per_group = pr.k;
  pr.gemm_m = pr.n, pr.gemm_k = pr.c;
  pr.activation = activation;
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  pr.vector_loads = pr.c % kVec == 0 && reinterpret_cast<uintptr_t>(pr.x) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(pr.weight) % 16 == 0;
  // A 1-input-feature problem goes to the depthwise kernel (groups 1 == C 1), an empty one
  // (in == 0) to the GEMM with zero reduction steps: both give bias plus activation exactly.
  detail::run_conv_problem<detail::DeviceElementOf<T>>(pr, detail::native(stream));
}

template <class T>
DeviceTensor<T> linear(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                       const NonDeducedT<DeviceTensor<T>>* bias, ActivationKind activation,
                       Stream stream) {
  DeviceTensor<T> y(LinearParams::make(x.shape(), weight.shape()).output_shape());
  linear_into(x, weight, bias, activation, y, stream);
  return y;
}

template DeviceTensor<float> linear(const DeviceTensor<float>&, const DeviceTensor<float>&,
                                    const DeviceTensor<float>*, ActivationKind, Stream);
template DeviceTensor<half> linear(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                   const DeviceTensor<half>*, ActivationKind, Stream);
template DeviceTensor<bfloat16> linear(const DeviceTensor<bfloat16>&, const DeviceTensor<bfloat16>&,
                                       const DeviceTensor<bfloat16>*, ActivationKind, Stream);

template void linear_into(const DeviceTensor<float>&, const DeviceTensor<float>&,
                          const DeviceTensor<float>*, ActivationKind, DeviceTensor<float>&, Stream);
template void linear_into(const DeviceTensor<half>&, const DeviceTensor<half>&,
                          const DeviceTensor<half>*, ActivationKind, DeviceTensor<half>&, Stream);
template void linear_into(const DeviceTensor<bfloat16>&, const DeviceTensor<bfloat16>&,
                          const DeviceTensor<bfloat16>*, ActivationKind, DeviceTensor<bfloat16>&,
                          Stream);

}  // namespace fovea::cuda
