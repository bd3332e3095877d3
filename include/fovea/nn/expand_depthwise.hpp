// Inference's inverted-residual blocks with folded batch norms: a 1×1 expansion conv, the
// depthwise conv after it, each with its activation, and optionally the 1×1 projection after
// them with its residual (MobileNetV2's whole block); or a depthwise conv and its projection
// (a block without expansion). Where the CPU kernels would run every conv
// in NHWC (the pointwise GEMM and the depthwise kernel), they run as one pass over the image
// (cpu/expand_depthwise_nhwc.hpp) with the layers' own packed weights, unless splitting a small
// image among the threads would expand many rows twice (cpu::expand_depthwise_nhwc_pays);
// otherwise, as separate convs. The result is the same bits either way.
#pragma once

#include <memory>
#include <string>

#include "fovea/cpu/conv2d_kernels.hpp"
#include "fovea/cpu/expand_depthwise_nhwc.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/nn/conv2d.hpp"

namespace fovea::nn {

namespace detail {

// The NHWC kernel the table gives `layer` on an NHWC input of `shape` when it is `run`; else
// null (another kernel, or the reference policy). Const access, so the packed weights stay.
inline const cpu::Conv2dKernel* nhwc_kernel_if(const Conv2d& layer, const Shape& shape,
                                               Tensor<float> (*run)(const Conv2dCall&),
                                               Conv2dParams& params) {
  params = Conv2dParams::make(shape, layer.weight().shape(), layer.attrs());
  const cpu::Conv2dKernel* kernel =
      choose_kernel(cpu::conv2d_kernels(), Conv2dProblem{params, Layout::nhwc, Layout::nhwc});
  return kernel != nullptr && kernel->run.run == run ? kernel : nullptr;
}

inline const float* bias_of(const Conv2d& layer) {
  return layer.has_bias() ? layer.bias().data() : nullptr;
}

}  // namespace detail

namespace detail {

// projection(depthwise(expand(x))) + residual, `expand` and `projection` optional (not both
// absent): expand_depthwise_project and depthwise_project.
inline Tensor<float> depthwise_chain(const Tensor<float>& x, Conv2d* expand,
                                     ActivationKind expand_act, Conv2d& depthwise,
                                     ActivationKind depthwise_act, Conv2d* projection,
                                     const Tensor<float>* residual) {
  FOVEA_CHECK(residual == nullptr || projection != nullptr,
              "expand_depthwise_project: a residual is added by the projection; none was given");
  if (x.rank() == 4 && x.layout() == Layout::nhwc) {
    Conv2dParams ep, dp, pp;
    const cpu::Conv2dKernel* ek =
        expand != nullptr ? nhwc_kernel_if(*expand, x.shape(), cpu::conv2d_nhwc_pointwise_run, ep)
                          : nullptr;
    const cpu::Conv2dKernel* dk =
        ek != nullptr || expand == nullptr
            ? nhwc_kernel_if(depthwise, ek != nullptr ? ep.output_shape() : x.shape(),
                             cpu::conv2d_depthwise_nhwc_run, dp)
            : nullptr;
    const cpu::Conv2dKernel* pk =
        dk != nullptr && projection != nullptr
            ? nhwc_kernel_if(*projection, dp.output_shape(), cpu::conv2d_nhwc_pointwise_run, pp)
            : nullptr;
    const bool residual_fits =
        residual == nullptr || (residual->layout() == Layout::nhwc && pk != nullptr &&
                                residual->shape() == pp.output_shape());
    // Without an expansion nothing is done twice, and the pass always pays.
    if (dk != nullptr && (projection == nullptr || pk != nullptr) && residual_fits &&
        (expand == nullptr || cpu::expand_depthwise_nhwc_pays(dp, pk != nullptr))) {
      static const std::string kNames[] = {
          std::string("conv2d_f32_nhwc_expand_depthwise_") + cpu::kIsaName,
          std::string("conv2d_f32_nhwc_expand_depthwise_project_") + cpu::kIsaName,
          std::string("conv2d_f32_nhwc_depthwise_project_") + cpu::kIsaName};
      record_kernel("conv2d", kNames[expand == nullptr ? 2 : projection != nullptr ? 1 : 0]);
      const std::shared_ptr<const void> packed_expand =
          ek != nullptr ? expand->prepared_weights(*ek, ep) : nullptr;
      const std::shared_ptr<const void> packed_depthwise = depthwise.prepared_weights(*dk, dp);
      const cpu::ExpandDepthwiseNhwc f{
          static_cast<const cpu::PackedMatrixB*>(packed_expand.get()),
          expand != nullptr ? bias_of(*expand) : nullptr,
          expand_act,
          dp,
          *static_cast<const cpu::DepthwiseNhwcWeights*>(packed_depthwise.get()),
          bias_of(depthwise),
          depthwise_act};
      if (projection == nullptr) return cpu::expand_depthwise_nhwc(x, f);
      const std::shared_ptr<const void> packed_projection = projection->prepared_weights(*pk, pp);
      return cpu::expand_depthwise_project_nhwc(
          x, f,
          cpu::ProjectNhwc{*static_cast<const cpu::PackedMatrixB*>(packed_projection.get()),
                           bias_of(*projection), ActivationKind::identity,
                           residual != nullptr ? residual->data() : nullptr});
    }
  }
  const Conv2dEpilogue depthwise_epilogue{depthwise_act, nullptr};
  Tensor<float> y =
      expand != nullptr
          ? depthwise.forward_fused(expand->forward_fused(x, Conv2dEpilogue{expand_act, nullptr}),
                                    depthwise_epilogue)
          : depthwise.forward_fused(x, depthwise_epilogue);
  if (projection == nullptr) return y;
  return projection->forward_fused(y, Conv2dEpilogue{ActivationKind::identity, residual});
}

}  // namespace detail

// projection(depthwise(expand(x))) + residual, or depthwise(expand(x)) without a projection.
// The projection has no activation (a linear bottleneck); `residual` may be null.
inline Tensor<float> expand_depthwise_project(const Tensor<float>& x, Conv2d& expand,
                                              ActivationKind expand_act, Conv2d& depthwise,
                                              ActivationKind depthwise_act,
                                              Conv2d* projection = nullptr,
                                              const Tensor<float>* residual = nullptr) {
  return detail::depthwise_chain(x, &expand, expand_act, depthwise, depthwise_act, projection,
                                 residual);
}

// projection(depthwise(x)) + residual: a block without expansion (MobileNetV2's first), as one
// pass in the same way.
inline Tensor<float> depthwise_project(const Tensor<float>& x, Conv2d& depthwise,
                                       ActivationKind depthwise_act, Conv2d& projection,
                                       const Tensor<float>* residual = nullptr) {
  return detail::depthwise_chain(x, nullptr, ActivationKind::identity, depthwise, depthwise_act,
                                 &projection, residual);
}

}  // namespace fovea::nn
