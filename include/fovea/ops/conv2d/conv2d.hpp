// conv2d: the entry points layers call. They pick the kernel for the problem: the
// highest-priority CPU kernel whose supports() accepts it (cpu/conv2d_kernels.hpp), else the
// reference. set_kernel_policy(KernelPolicy::reference_only) or FOVEA_KERNELS=reference forces
// the reference; last_kernel("conv2d") names the kernel that ran.
#pragma once

#include "fovea/cpu/conv2d_kernels.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"
#include "fovea/ops/conv2d/reference.hpp"
#include "fovea/ops/elementwise/reference.hpp"

namespace fovea {

// act(conv2d_reference(x) + residual), each step a reference op.
inline Tensor<float> conv2d_fused_reference(const Tensor<float>& x, const Tensor<float>& weight,
                                            const Tensor<float>& bias, const Conv2dAttrs& attrs,
                                            const Conv2dEpilogue& epilogue) {
  Tensor<float> y = conv2d_reference(x, weight, bias, attrs);
  if (epilogue.residual != nullptr) y = add_reference(y, *epilogue.residual);
  if (epilogue.act != ActivationKind::identity) y = activation_reference(y, epilogue.act);
  return y;
}

// y = act(conv2d(x, weight, bias) + residual) in one pass over the output. `prepared`, when
// given, keeps the chosen kernel's packed weights between calls: the caller must reset() it
// whenever `weight` changes (nn::Conv2d does).
inline Tensor<float> conv2d_fused(const Tensor<float>& x, const Tensor<float>& weight,
                                  const Tensor<float>& bias, const Conv2dAttrs& attrs,
                                  const Conv2dEpilogue& epilogue,
                                  Conv2dPrepared* prepared = nullptr) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  FOVEA_CHECK(bias.empty() || bias.shape() == Shape{cp.k}, "conv2d bias must be [", cp.k, "], got ",
              bias.shape());
  FOVEA_CHECK(weight.layout() == Layout::nchw, "conv2d weight must be stored (K, C, R, S)");
  const Tensor<float>* residual = epilogue.residual;
  FOVEA_CHECK(residual == nullptr || residual->shape() == cp.output_shape(),
              "conv2d residual must have the output's shape ", cp.output_shape(), ", got ",
              residual->shape());
  const Conv2dProblem problem{cp, x.layout(),
                              residual != nullptr ? residual->layout() : x.layout()};
  const cpu::Conv2dKernel* kernel = choose_kernel(cpu::conv2d_kernels(), problem);
  if (kernel == nullptr) {
    record_kernel("conv2d", "conv2d_reference");
    return conv2d_fused_reference(x, weight, bias, attrs, epilogue);
  }
  record_kernel("conv2d", kernel->name);
  std::shared_ptr<const void> packed;
  if (kernel->run.prepare != nullptr) {
    const auto make = [&] { return kernel->run.prepare(weight, cp); };
    packed = prepared != nullptr ? prepared->get_or_make(kernel->name, make) : make();
  }
  return kernel->run.run(Conv2dCall{x, weight, bias, cp, epilogue, packed.get()});
}

inline Tensor<float> conv2d(const Tensor<float>& x, const Tensor<float>& weight,
                            const Tensor<float>& bias, const Conv2dAttrs& attrs) {
  return conv2d_fused(x, weight, bias, attrs, Conv2dEpilogue{});
}

}  // namespace fovea
