// Gradients without a step: forward and backward over some batches, summing into the layers'
// grad tensors (Module::grad_of) and changing nothing else. Criteria that read gradients, such
// as Taylor pruning (prune/importance.hpp), need exactly this: the model's weights and its
// batch-norm running statistics stay as they were.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/data/augment.hpp"
#include "fovea/data/image_set.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/train/loss.hpp"

namespace fovea::train {

// Runs `batches` batches of `batch_size` images drawn at random (seeded) from `set` forward
// and backward in training mode, adding each batch's mean cross-entropy gradient to the grads
// already held (zero_grad first for a fresh sum). Batch norms normalize with their batch
// statistics, as in training, but their running statistics are not updated. Returns the
// images used. The model is left in inference mode.
inline int64_t accumulate_gradients(nn::Module& model, const data::ImageSet& set, int64_t batches,
                                    int64_t batch_size, const data::Normalization& norm,
                                    uint64_t seed, int64_t out_pad = 0) {
  // Momentum 0 keeps the running statistics: running = 1 · running + 0 · batch.
  std::vector<std::pair<nn::BatchNorm2d*, double>> momenta;
  std::function<void(nn::Module&)> visit = [&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
      momenta.emplace_back(bn, bn->momentum());
      bn->set_momentum(0);
    }
    for (const auto& child : m.children())
      visit(*child.second);
  };
  visit(model);
  std::vector<int64_t> order = data::all_indices(set.size());
  Rng rng(seed);
  data::shuffle(order, rng);
  int64_t used = 0;
  model.set_training(true);
  for (int64_t b = 0; b < batches; ++b) {
    const auto begin = std::min(order.size(), static_cast<size_t>(b * batch_size));
    const auto end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    if (end - begin < 2) break;  // batch norm needs two images
    const std::vector<int64_t> ids(order.begin() + static_cast<long>(begin),
                                   order.begin() + static_cast<long>(end));
    const data::Batch batch = data::make_batch(set, ids, {}, nullptr, norm, out_pad);
    const Tensor<float> logits = model.forward(batch.images);
    model.backward(cross_entropy(logits, batch.labels).grad);
    used += static_cast<int64_t>(ids.size());
  }
  model.set_training(false);
  for (const auto& [bn, momentum] : momenta)
    bn->set_momentum(momentum);
  return used;
}

}  // namespace fovea::train
