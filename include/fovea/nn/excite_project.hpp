// Inference's squeeze-and-excitation followed by a 1×1 projection without activation (the tail
// of EfficientNet's MBConv): projection(se(y)) + residual. Where the projection would run the
// NHWC pointwise GEMM on y and scaling its weights costs less than scaling y
// (cpu::conv2d_nhwc_gating_pays: H·W ≥ K), the gates go into the projection's weights image by
// image (cpu::conv2d_nhwc_pointwise_gated_run) and y · gates is never formed, which saves a pass
// that reads and writes the block's widest tensor. Otherwise the two layers run one after the
// other. The two orders round differently: (y · g) · W against y · (g · W).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fovea/cpu/conv2d_nhwc.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/expand_depthwise.hpp"
#include "fovea/nn/squeeze_excitation.hpp"

namespace fovea::nn {

// projection(se(y)) + residual; `residual` may be null.
inline Tensor<float> excite_project(const Tensor<float>& y, SqueezeExcitation& se,
                                    Conv2d& projection, const Tensor<float>* residual = nullptr) {
  if (y.rank() == 4 && y.layout() == Layout::nhwc) {
    Conv2dParams pp;
    const cpu::Conv2dKernel* pk =
        detail::nhwc_kernel_if(projection, y.shape(), cpu::conv2d_nhwc_pointwise_run, pp);
    const bool residual_fits = residual == nullptr || (residual->layout() == Layout::nhwc &&
                                                       residual->shape() == pp.output_shape());
    if (pk != nullptr && residual_fits && cpu::conv2d_nhwc_gating_pays(pp)) {
      static const std::string gated =
          std::string("conv2d_f32_nhwc_pointwise_gated_") + cpu::kIsaName;
      const Tensor<float> gates = se.gates_nhwc(y);
      record_kernel("conv2d", gated);
      const std::shared_ptr<const void> packed = projection.prepared_weights(*pk, pp);
      const Conv2dEpilogue epilogue{ActivationKind::identity, residual};
      // Const access: weight() for writing would drop the packed weights.
      const Conv2d& layer = projection;
      return cpu::conv2d_nhwc_pointwise_gated_run(
          Conv2dCall{y, layer.weight(), layer.bias(), pp, epilogue, packed.get()}, gates.data());
    }
  }
  return projection.forward_fused(se.forward(y),
                                  Conv2dEpilogue{ActivationKind::identity, residual});
}

}  // namespace fovea::nn
