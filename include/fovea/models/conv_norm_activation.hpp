// Conv2dNormActivation: torchvision.ops.misc's conv → batch norm → optional activation block.
// It is a Sequential, so its children are "0", "1", "2" and the state_dict names match
// torchvision's ("features.0.0.weight", "features.0.1.running_mean"). Once the batch norm is
// folded into the conv (plan/fold_batchnorm.hpp), inference runs the block as one conv with the
// activation in its epilogue.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/excite_project.hpp"
#include "fovea/nn/expand_depthwise.hpp"
#include "fovea/nn/sequential.hpp"

namespace fovea::models {

class Conv2dNormActivation : public nn::Sequential {
 public:
  // Padding is (kernel - 1) / 2, as torchvision computes it; the conv has no bias because the
  // batch norm's shift replaces it. A missing `activation` leaves the block at conv + norm.
  Conv2dNormActivation(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                       int64_t groups, std::optional<ActivationKind> activation,
                       double bn_eps = 1e-5) {
    conv_ = &add(std::make_unique<nn::Conv2d>(
        in_channels, out_channels, kernel, Conv2dAttrs::make(stride, (kernel - 1) / 2, 1, groups),
        /*bias=*/false));
    norm_ = &add(std::make_unique<nn::BatchNorm2d>(out_channels, bn_eps));
    if (activation) {
      add(std::make_unique<nn::Activation>(*activation));
      epilogue_.act = *activation;
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return runs_fused() ? conv_->forward_fused(x, epilogue_) : Sequential::forward(x);
  }

  // Whether forward runs as one fused conv: in inference once the norm is folded.
  bool runs_fused() const { return !training() && norm_->folded(); }
  // block(x) + residual as one fused conv, for a block without activation whose caller adds
  // its input back (EfficientNet's projection). Needs runs_fused().
  Tensor<float> forward_adding(const Tensor<float>& x, const Tensor<float>& residual) {
    FOVEA_CHECK(runs_fused() && epilogue_.act == ActivationKind::identity,
                "Conv2dNormActivation::forward_adding needs a folded block without activation");
    return conv_->forward_fused(x, Conv2dEpilogue{ActivationKind::identity, &residual});
  }

  // block(se(x)) + residual (if given) for a folded block without activation, se's gates folded
  // into this conv's weights where the CPU kernels allow (nn/excite_project.hpp): EfficientNet's
  // projection. Needs runs_fused().
  Tensor<float> forward_excited(const Tensor<float>& x, nn::SqueezeExcitation& se,
                                const Tensor<float>* residual = nullptr) {
    FOVEA_CHECK(runs_fused() && epilogue_.act == ActivationKind::identity,
                "Conv2dNormActivation::forward_excited needs a folded block without activation");
    return nn::excite_project(x, se, *conv_, residual);
  }

  // depthwise(block(x)) for this block, a 1×1 expansion, and the depthwise block after it,
  // then `projection` (a 1×1 conv without activation) and `residual` if given; every block
  // run fused, as one pass over the image where the CPU kernels allow
  // (nn/expand_depthwise.hpp).
  Tensor<float> forward_into_depthwise(Conv2dNormActivation& depthwise, const Tensor<float>& x,
                                       nn::Conv2d* projection = nullptr,
                                       const Tensor<float>* residual = nullptr) {
    FOVEA_CHECK(runs_fused() && depthwise.runs_fused(),
                "Conv2dNormActivation::forward_into_depthwise needs two folded blocks");
    return nn::expand_depthwise_project(x, *conv_, epilogue_.act, *depthwise.conv_,
                                        depthwise.epilogue_.act, projection, residual);
  }

  // projection(block(x)) + residual (if given) for this block, a depthwise conv, and
  // `projection` (a 1×1 conv without activation): a block without expansion, as one pass over
  // the image where the CPU kernels allow (nn/expand_depthwise.hpp).
  Tensor<float> forward_into_projection(const Tensor<float>& x, nn::Conv2d& projection,
                                        const Tensor<float>* residual = nullptr) {
    FOVEA_CHECK(runs_fused(), "Conv2dNormActivation::forward_into_projection needs a folded block");
    return nn::depthwise_project(x, *conv_, epilogue_.act, projection, residual);
  }

  std::string kind() const override { return "Conv2dNormActivation"; }

 private:
  nn::Conv2d* conv_;
  nn::BatchNorm2d* norm_;
  Conv2dEpilogue epilogue_;  // the activation, fused into the conv once the norm is folded
};

}  // namespace fovea::models
