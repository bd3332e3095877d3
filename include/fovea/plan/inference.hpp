// prepare_for_inference: the load-time steps of the CPU inference path, applied once to a
// model whose weights are final: batch norms folded into their convs, and every conv told to
// keep its kernel's packed weights, so packing happens once per layer instead of per call.
//
// Folding also switches the zoo's blocks to their fused path: ResNet's conv + ReLU + residual
// add, and MobileNetV2's and EfficientNet's conv + activation and projection + input, each in
// one conv2d_fused. Peak activation memory is measured by plan/activation_memory.hpp.
// Not done (yet): a planned activation arena, blocked layouts.
#pragma once

#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/plan/fold_batchnorm.hpp"

namespace fovea {

struct InferencePlanReport {
  int folded_batchnorms = 0;
  int cached_convs = 0;
};

namespace detail {

inline int enable_weight_caching(nn::Module& module) {
  int count = 0;
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&module)) {
    conv->set_weight_caching(true);
    ++count;
  }
  for (const auto& child : module.children())
    count += enable_weight_caching(*child.second);
  return count;
}

}  // namespace detail

// Call after the weights are loaded; call again if they change.
inline InferencePlanReport prepare_for_inference(nn::Module& model) {
  model.set_training(false);
  InferencePlanReport report;
  report.folded_batchnorms = fold_batchnorm_in_place(model);
  report.cached_convs = detail::enable_weight_caching(model);
  return report;
}

}  // namespace fovea
