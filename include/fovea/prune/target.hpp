// Pruning to a compute budget: the smallest ratio whose pruned model keeps at most a given
// fraction of the dense model's MACs. Widths are rounded to a multiple, so MACs fall in steps
// as the ratio rises, and a per-group ratio r does not give (1 − r)² of the MACs exactly (fixed
// groups, such as the network's input and output or a CIFAR ResNet's stages, keep their
// cost). The search therefore raises the ratio in small steps and predicts each step's MACs
// from the widths alone, without shrinking anything, then prunes once at the ratio found.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"
#include "fovea/prune/cost.hpp"
#include "fovea/prune/prune.hpp"
#include "fovea/prune/select.hpp"

namespace fovea::prune {

// The MACs `dense` (layer_macs of the unpruned model) become when each group keeps `kept`:
// a conv's or linear layer's count scales with the fraction kept of the channels it makes and
// of those it reads; a depthwise conv's, which reads and makes the same channels, once.
inline int64_t predicted_macs(const std::vector<LayerMacs>& dense,
                              const std::vector<ChannelGroup>& groups, const KeptChannels& kept) {
  std::map<std::string, double> scale;  // layer path → product of its kept fractions
  for (size_t g = 0; g < groups.size(); ++g) {
    const double fraction =
        static_cast<double>(kept[g].size()) / static_cast<double>(groups[g].channels);
    for (const GroupMember& m : groups[g].members) {
      if (m.role == MemberRole::batchnorm) continue;
      const auto it = scale.emplace(m.module, 1.0).first;
      it->second *= fraction;
    }
  }
  double total = 0;
  for (const LayerMacs& layer : dense) {
    const auto it = scale.find(layer.name);
    total += static_cast<double>(layer.macs) * (it == scale.end() ? 1.0 : it->second);
  }
  return static_cast<int64_t>(std::llround(total));
}

// The ratio steps the search takes: fine enough that each step changes at most a few groups'
// rounded widths.
inline constexpr double kTargetRatioStep = 0.005;

// The smallest ratio (in steps of kTargetRatioStep) at which pruning `model` by `options`
// leaves at most `keep_macs` of its MACs on `input`. Throws, giving the fewest MACs reachable,
// when even the largest ratio keeps more.
inline double ratio_for_macs(nn::Module& model, PruneOptions options, const Shape& input,
                             double keep_macs) {
  FOVEA_CHECK(keep_macs > 0 && keep_macs <= 1, "the MAC target must be a fraction in (0, 1], got ",
              keep_macs);
  const std::vector<ChannelGroup> groups = find_channel_groups(model);
  const std::vector<std::vector<double>> scores = score_channels(model, groups, options.criterion);
  const std::vector<LayerMacs> dense = layer_macs(model, input);
  int64_t total = 0;
  for (const LayerMacs& layer : dense)
    total += layer.macs;
  const double budget = keep_macs * static_cast<double>(total);
  double fewest = static_cast<double>(total);
  const int steps = static_cast<int>(std::lround(1.0 / kTargetRatioStep));
  for (int step = 0; step < steps; ++step) {
    options.ratio = step * kTargetRatioStep;
    const auto macs = static_cast<double>(
        predicted_macs(dense, groups, choose_channels(groups, scores, options)));
    if (macs <= budget) return options.ratio;
    fewest = std::min(fewest, macs);
  }
  fail("pruning cannot bring the MACs down to ", keep_macs * 100, " % of ", total,
       ": the narrowest widths this model's groups allow (rounded to multiples of ",
       options.multiple, ") keep ", fewest / static_cast<double>(total) * 100,
       " %; use a smaller multiple or a larger target");
}

// Prunes `model` in place to at most `keep_macs` of its MACs on `input` (options.ratio is
// replaced by the ratio found).
inline PruneReport prune_to_macs(nn::Module& model, PruneOptions options, const Shape& input,
                                 double keep_macs) {
  options.ratio = ratio_for_macs(model, options, input, keep_macs);
  return prune_model(model, options, input);
}

}  // namespace fovea::prune
