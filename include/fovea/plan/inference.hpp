// prepare_for_inference: the load-time steps of the CPU inference path, applied once to a
// model whose weights are final: batch norms folded into their convs, every conv told to keep
// its kernel's packed weights, so packing happens once per layer instead of per call, and the
// model's forward() sent through a PlannedForward (planned arenas, images side by side).
// load_model does this by default.
//
// Folding also switches the zoo's blocks to their fused path: ResNet's conv + ReLU + residual
// add, and MobileNetV2's and EfficientNet's conv + activation and projection + input, each in
// one conv2d_fused. Peak activation memory is measured by plan/activation_memory.hpp.
//
// Layout: models without depthwise convs (ResNet, VGG, AlexNet) compute in NHWC (channels last)
// at every batch size. There a 1×1 conv is one GEMM whose rows are pixels, with no ragged
// columns on 7×7 images; strided convs read their input in place; and Winograd's transforms
// vectorize across channels. ResNet-50 at batch 1, one thread: 40.2-41.3 ms against NCHW's
// 45.5-47.7; at batch 8: 337-352 against 380-382 ms. VGG-16, ResNet-18 and AlexNet are within
// 5 % either way. Models with depthwise convs (MobileNetV2, EfficientNet) compute single images
// in NHWC, where a depthwise conv needs no transposes (MobileNetV2 6 % faster at one thread),
// and batches in NCHW: at batch 8 the activations leave the cache, and there the NHWC depthwise
// convs on 56×56 and larger planes ran at half the NCHW kernels' speed (MobileNetV2 10 % slower
// in all). The first conv converts the NCHW input; the global pool's [N, C, 1, 1] output is the
// same bytes in both layouts, so the logits do not change form.
#pragma once

#include <cstdint>
#include <limits>

#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/plan/fold_batchnorm.hpp"
#include "fovea/plan/planned_forward.hpp"

namespace fovea {

// The layout the convs compute in: chosen from the model (automatic), or forced.
enum class InferenceLayout { automatic, nchw, nhwc };

struct InferencePlanReport {
  int folded_batchnorms = 0;
  int cached_convs = 0;
  int64_t channels_last_max_batch = 0;  // batches up to this size compute in NHWC

  Layout layout_for_batch(int64_t batch) const {
    return batch <= channels_last_max_batch ? Layout::nhwc : Layout::nchw;
  }
};

// The largest batch a model with depthwise convs computes in NHWC under
// InferenceLayout::automatic.
inline constexpr int64_t kChannelsLastMaxBatch = 1;

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

inline bool has_depthwise_conv(const nn::Module& module) {
  if (const auto* conv = dynamic_cast<const nn::Conv2d*>(&module)) {
    const int64_t groups = conv->attrs().groups;
    if (groups > 1 && groups == conv->in_channels() && groups == conv->out_channels()) return true;
  }
  for (const auto& child : module.children())
    if (has_depthwise_conv(*child.second)) return true;
  return false;
}

inline void set_channels_last(nn::Module& module, int64_t max_batch) {
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&module)) conv->set_channels_last(max_batch);
  for (const auto& child : module.children())
    set_channels_last(*child.second, max_batch);
}

}  // namespace detail

// Call after the weights are loaded; call again if they change.
inline InferencePlanReport prepare_for_inference(
    nn::Module& model, InferenceLayout layout = InferenceLayout::automatic) {
  model.set_training(false);
  InferencePlanReport report;
  report.folded_batchnorms = fold_batchnorm_in_place(model);
  report.cached_convs = detail::enable_weight_caching(model);
  if (layout == InferenceLayout::nhwc ||
      (layout == InferenceLayout::automatic && !detail::has_depthwise_conv(model))) {
    report.channels_last_max_batch = std::numeric_limits<int64_t>::max();
  } else if (layout == InferenceLayout::automatic) {
    report.channels_last_max_batch = kChannelsLastMaxBatch;
  }
  detail::set_channels_last(model, report.channels_last_max_batch);
  model.set_forward_plan(std::make_unique<PlannedForward>(model));
  return report;
}

}  // namespace fovea
