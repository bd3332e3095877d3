// expand_then_depthwise: inference's depthwise(expand(x)) for a 1×1 expansion conv and the
// depthwise conv after it (MobileNetV2's and EfficientNet's blocks), batch norms folded, each
// with its activation. Where the CPU kernels would run both in NHWC, it runs them as one pass
// over the image (cpu/expand_depthwise_nhwc.hpp), with the layers' own packed weights;
// otherwise, as two convs. The result is the same bits either way.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "fovea/cpu/conv2d_kernels.hpp"
#include "fovea/cpu/expand_depthwise_nhwc.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/nn/conv2d.hpp"

namespace fovea::nn {

inline Tensor<float> expand_then_depthwise(const Tensor<float>& x, Conv2d& expand,
                                           ActivationKind expand_act, Conv2d& depthwise,
                                           ActivationKind depthwise_act) {
  const Conv2d& expand_layer = expand;  // const access keeps the packed weights
  const Conv2d& depthwise_layer = depthwise;
  if (x.rank() == 4 && x.layout() == Layout::nhwc) {
    const Conv2dParams ep =
        Conv2dParams::make(x.shape(), expand_layer.weight().shape(), expand_layer.attrs());
    const Conv2dParams dp = Conv2dParams::make(ep.output_shape(), depthwise_layer.weight().shape(),
                                               depthwise_layer.attrs());
    const cpu::Conv2dKernel* ek =
        choose_kernel(cpu::conv2d_kernels(), Conv2dProblem{ep, Layout::nhwc, Layout::nhwc});
    const cpu::Conv2dKernel* dk =
        choose_kernel(cpu::conv2d_kernels(), Conv2dProblem{dp, Layout::nhwc, Layout::nhwc});
    if (ek != nullptr && dk != nullptr && ek->run.run == cpu::conv2d_nhwc_pointwise_run &&
        dk->run.run == cpu::conv2d_depthwise_nhwc_run) {
      static const std::string name =
          std::string("conv2d_f32_nhwc_expand_depthwise_") + cpu::kIsaName;
      record_kernel("conv2d", name);
      const std::shared_ptr<const void> packed_expand = expand.prepared_weights(*ek, ep);
      const std::shared_ptr<const void> packed_depthwise = depthwise.prepared_weights(*dk, dp);
      const auto bias = [](const Conv2d& layer) {
        return layer.has_bias() ? layer.bias().data() : nullptr;
      };
      return cpu::expand_depthwise_nhwc(
          x, cpu::ExpandDepthwiseNhwc{
                 *static_cast<const cpu::PackedMatrixB*>(packed_expand.get()), bias(expand_layer),
                 expand_act, dp,
                 *static_cast<const cpu::DepthwiseNhwcWeights*>(packed_depthwise.get()),
                 bias(depthwise_layer), depthwise_act});
    }
  }
  return depthwise.forward_fused(expand.forward_fused(x, Conv2dEpilogue{expand_act, nullptr}),
                                 Conv2dEpilogue{depthwise_act, nullptr});
}

}  // namespace fovea::nn
