// Structured channel pruning in one call: find the channel groups, score them, choose the
// channels to keep and shrink the model, reporting its cost before and after. The steps are
// separate headers for callers that need one of them:
//   channel_groups.hpp  which channels are coupled (convs, batch norms, residual adds, SE)
//   group_tensors.hpp   the tensor slices behind each group
//   importance.hpp      l1, l2, bn_gamma and taylor scores
//   select.hpp          per-group or global ranking, widths rounded to a multiple
//   shrink.hpp          the physical shrink
//   cost.hpp            parameters and MACs
//   widths.hpp          saving a pruned model and rebuilding it from a file's metadata
//   target.hpp          pruning until the MACs fall to a fraction of the dense model's
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fovea/core/shape.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"
#include "fovea/prune/cost.hpp"
#include "fovea/prune/select.hpp"
#include "fovea/prune/shrink.hpp"

namespace fovea::prune {

struct GroupWidth {
  std::string name;
  int64_t before = 0, after = 0;
};

struct PruneReport {
  double ratio = 0;                // the fraction of channels asked to go (PruneOptions::ratio)
  ModelCost before, after;         // on the input shape given to prune_model
  std::vector<GroupWidth> groups;  // the prunable groups
};

// Prunes `model` in place by `options`; `input` is the shape the MACs are counted on.
inline PruneReport prune_model(nn::Module& model, const PruneOptions& options, const Shape& input) {
  PruneReport report;
  report.ratio = options.ratio;
  report.before = model_cost(model, input);
  const std::vector<ChannelGroup> groups = find_channel_groups(model);
  const KeptChannels kept = choose_channels(model, groups, options);
  shrink_to(model, groups, kept);
  report.after = model_cost(model, input);
  for (size_t g = 0; g < groups.size(); ++g)
    if (groups[g].prunable())
      report.groups.push_back(
          {groups[g].name, groups[g].channels, static_cast<int64_t>(kept[g].size())});
  return report;
}

}  // namespace fovea::prune
