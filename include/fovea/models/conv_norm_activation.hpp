// Conv2dNormActivation: torchvision.ops.misc's conv → batch norm → optional activation block.
// It is a Sequential, so its children are "0", "1", "2" and the state_dict names match
// torchvision's ("features.0.0.weight", "features.0.1.running_mean").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/sequential.hpp"

namespace fovea::models {

class Conv2dNormActivation : public nn::Sequential {
 public:
  // Padding is (kernel - 1) / 2, as torchvision computes it; the conv has no bias because the
  // batch norm's shift replaces it. A missing `activation` leaves the block at conv + norm.
  Conv2dNormActivation(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                       int64_t groups, std::optional<ActivationKind> activation,
                       double bn_eps = 1e-5) {
    add(std::make_unique<nn::Conv2d>(in_channels, out_channels, kernel,
                                     Conv2dAttrs::make(stride, (kernel - 1) / 2, 1, groups),
                                     /*bias=*/false));
    add(std::make_unique<nn::BatchNorm2d>(out_channels, bn_eps));
    if (activation) add(std::make_unique<nn::Activation>(*activation));
  }

  std::string kind() const override { return "Conv2dNormActivation"; }
};

}  // namespace fovea::models
