// prune's unstructured and 2:4 sparsity (--method magnitude | 2:4): which weights, the one-shot
// and the gradual recipes, and the nonzero work of the result.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "fovea/nn/module.hpp"
#include "fovea/prune/cost.hpp"
#include "fovea/prune/sparse/mask.hpp"
#include "fovea/prune/sparse/masked_optimizer.hpp"
#include "prune_data.hpp"
#include "prune_report.hpp"

namespace fovea::examples {

// The weights magnitude and 2:4 sparsify: every conv (not grouped) and linear weight but the
// first and the last, which hold few weights and much of the accuracy (as in Zhu & Gupta's
// and NVIDIA's recipes).
inline prune::sparse::SelectOptions sparse_selection(nn::Module& model) {
  prune::sparse::SelectOptions options;
  const auto weights = prune::sparse::select_weights(model, options);
  const auto layer = [](const std::string& weight) {
    return weight.substr(0, weight.size() - std::string(".weight").size());
  };
  if (weights.size() > 2)
    options.exclude = {layer(weights.front().first), layer(weights.back().first)};
  return options;
}

// Zeroes weights (magnitude, 2:4), one-shot or during fine-tuning, and returns the masks.
// Unstructured sparsity rises along Zhu & Gupta's schedule over the first two thirds of
// fine-tuning (ten mask updates) and stays fixed for the rest; 2:4 prunes once, then fine-tunes
// with its masks fixed (NVIDIA's ASP recipe).
// `data` null or `tune.epochs` 0: one-shot.
inline prune::sparse::SparsityMasks sparsify(nn::Module& model, prune::sparse::Pattern pattern,
                                             double sparsity, bool global, const Cifar10* data,
                                             const FineTune& tune) {
  using namespace prune::sparse;
  const SelectOptions selection = sparse_selection(model);
  if (pattern == Pattern::two_four) sparsity = 0.5;
  if (data == nullptr || tune.epochs == 0) {
    SparsityMasks masks = SparsityMasks::for_model(model, pattern, selection);
    masks.prune_to(sparsity, global);
    masks.apply();
    return masks;
  }
  // Gradual: the masks grow during fine-tuning (the statistics follow by themselves).
  fine_tune(model, *data, tune,
            [&](train::Optimizer& sgd, int64_t steps) -> std::unique_ptr<train::Optimizer> {
              std::optional<GradualSchedule> schedule;
              if (pattern == Pattern::unstructured) {
                const int64_t span = std::max<int64_t>(1, steps * 2 / 3);
                const int64_t updates = std::min<int64_t>(10, span);
                schedule = GradualSchedule{0, sparsity, 0, span / updates, updates};
              }
              auto masked = std::make_unique<MaskedOptimizer>(
                  sgd, SparsityMasks::for_model(model, pattern, selection), schedule, global);
              if (pattern == Pattern::two_four) masked->prune_now();
              return masked;
            });
  return SparsityMasks::from_zeros(model, pattern, selection);
}

// Multiply-adds and parameters that are not zero: a sparse kernel's share of the dense work.
inline ModelFigures nonzero_cost(nn::Module& model, const Shape& input) {
  prune::sparse::SelectOptions every;
  every.grouped_convs = true;
  std::map<std::string, double> density;  // by layer path
  int64_t zeros = 0;
  for (const auto& [name, weight] : prune::sparse::select_weights(model, every)) {
    const double sparsity = prune::sparse::sparsity_of(*weight);
    density[name.substr(0, name.size() - std::string(".weight").size())] = 1 - sparsity;
    zeros += std::llround(sparsity * double(weight->numel()));
  }
  ModelFigures f;
  for (const prune::LayerMacs& layer : prune::layer_macs(model, input)) {
    const auto it = density.find(layer.name);
    f.macs += std::llround(double(layer.macs) * (it != density.end() ? it->second : 1.0));
  }
  f.parameters = model.parameter_count() - zeros;
  return f;
}

}  // namespace fovea::examples
