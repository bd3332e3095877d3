// Batch-norm re-estimation after pruning: the "adaptive batch norm" of EagleEye (Li et al.,
// ECCV 2020). Removing channels changes what every later layer sees, so a batch norm's running
// statistics, measured on the dense model, no longer match its inputs; normalizing with stale
// statistics is what makes a model pruned without fine-tuning collapse. Passing a few hundred
// training images through the pruned model and averaging each batch norm's batch statistics
// restores much of the accuracy, with no gradients and no labels.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::prune {

// The batch norms of `model`, in registration order.
inline std::vector<nn::BatchNorm2d*> batch_norms(nn::Module& model) {
  std::vector<nn::BatchNorm2d*> norms;
  std::function<void(nn::Module&)> visit = [&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) norms.push_back(bn);
    for (const auto& child : m.children())
      visit(*child.second);
  };
  visit(model);
  return norms;
}

// Runs `batches` through `model` in inference mode while every batch norm re-estimates: each
// normalizes with its batch's statistics and ends with their average as its running
// statistics. Returns the number of batch norms re-estimated. Use it on a model that is not
// prepared for inference (its batch norms not folded), and with batches of 16 images or more,
// so that each batch's statistics mean something.
inline int64_t reestimate_batchnorm(nn::Module& model, const std::vector<Tensor<float>>& batches) {
  const std::vector<nn::BatchNorm2d*> norms = batch_norms(model);
  if (norms.empty() || batches.empty()) return 0;
  for (const nn::BatchNorm2d* bn : norms)
    FOVEA_CHECK(!bn->folded(),
                "reestimate_batchnorm: the model's batch norms are folded into "
                "its convs (prepared for inference); re-estimate before preparing");
  model.set_training(false);
  for (nn::BatchNorm2d* bn : norms)
    bn->begin_reestimate();
  try {
    for (const Tensor<float>& batch : batches)
      model.forward(batch);
  } catch (...) {
    for (nn::BatchNorm2d* bn : norms)
      bn->end_reestimate();
    throw;
  }
  for (nn::BatchNorm2d* bn : norms)
    FOVEA_CHECK(bn->end_reestimate() == int64_t(batches.size()),
                "reestimate_batchnorm: a batch norm of the model did not run on every batch "
                "(is the model prepared for inference, or does a branch skip it?)");
  return int64_t(norms.size());
}

}  // namespace fovea::prune
