// Choosing which channels to keep: rank each group's channels by an importance criterion, then
// keep the same fraction of every group (per_group) or rank all groups' channels together
// (global), each group's scores divided by their mean first so layers of different scale
// compare. Kept widths are rounded to a multiple (8 by default: the SIMD width the CPU kernels
// vectorize over), and no group drops below one multiple, so none is emptied (nor below
// ChannelGroup::min_channels).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"
#include "fovea/prune/importance.hpp"

namespace fovea::prune {

enum class Scope : uint8_t {
  per_group,  // every group loses `ratio` of its channels
  global,     // `ratio` of all prunable channels go, the least important network-wide
};

struct PruneOptions {
  double ratio = 0.0;  // fraction of channels to remove, in [0, 1)
  Criterion criterion = Criterion::l1;
  Scope scope = Scope::per_group;
  // Kept widths are multiples of this or the group's whole width; 1 keeps exact counts.
  int64_t multiple = 8;
};

// For each group (in find_channel_groups order), the channels to keep: increasing indices.
using KeptChannels = std::vector<std::vector<int64_t>>;

// The width nearest `want` that a group of `channels` may keep: a multiple of `multiple` no less
// than `multiple`, or all of it. Ties keep the wider.
inline int64_t rounded_width(int64_t channels, double want, int64_t multiple) {
  FOVEA_CHECK(multiple >= 1, "pruning: the width multiple must be at least 1, got ", multiple);
  if (multiple == 1)
    return std::clamp<int64_t>(static_cast<int64_t>(std::llround(want)), 1, channels);
  int64_t best = channels;
  for (int64_t w = (channels - 1) / multiple * multiple; w >= multiple; w -= multiple) {
    if (std::abs(static_cast<double>(w) - want) < std::abs(static_cast<double>(best) - want))
      best = w;
  }
  return best;
}

namespace detail {

// The `width` highest-scoring channels (ties: the lower index), in increasing order.
inline std::vector<int64_t> top_channels(const std::vector<double>& score, int64_t width) {
  std::vector<int64_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)];
  });
  order.resize(static_cast<size_t>(width));
  std::sort(order.begin(), order.end());
  return order;
}

// How many channels of each group the global ranking removes before rounding.
inline std::vector<int64_t> global_removals(const std::vector<ChannelGroup>& groups,
                                            const std::vector<std::vector<double>>& scores,
                                            const PruneOptions& options) {
  struct Ranked {
    double score;
    size_t group;
  };
  std::vector<Ranked> ranked;
  int64_t total = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!groups[g].prunable()) continue;
    const std::vector<double>& s = scores[g];
    const double mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
    for (double v : s)
      ranked.push_back({mean > 0 ? v / mean : 0.0, g});
    total += groups[g].channels;
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked& a, const Ranked& b) { return a.score < b.score; });
  std::vector<int64_t> removed(groups.size(), 0);
  int64_t budget = static_cast<int64_t>(std::llround(options.ratio * static_cast<double>(total)));
  for (const Ranked& r : ranked) {
    if (budget == 0) break;
    const int64_t channels = groups[r.group].channels;
    const int64_t min_keep =
        std::max(std::min(channels, options.multiple), groups[r.group].min_channels());
    if (channels - removed[r.group] <= min_keep) continue;
    ++removed[r.group];
    --budget;
  }
  return removed;
}

}  // namespace detail

// The channels to keep of each group, given one score per channel of every group (the fixed
// groups' scores are not read).
inline KeptChannels choose_channels(const std::vector<ChannelGroup>& groups,
                                    const std::vector<std::vector<double>>& scores,
                                    const PruneOptions& options) {
  FOVEA_CHECK(options.ratio >= 0 && options.ratio < 1, "pruning ratio must be in [0, 1), got ",
              options.ratio);
  FOVEA_CHECK(scores.size() == groups.size(), "pruning: ", scores.size(), " score lists for ",
              groups.size(), " groups");
  const std::vector<int64_t> removed = options.scope == Scope::global
                                           ? detail::global_removals(groups, scores, options)
                                           : std::vector<int64_t>();
  KeptChannels kept(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const int64_t channels = groups[g].channels;
    int64_t width = channels;
    if (groups[g].prunable()) {
      FOVEA_CHECK(static_cast<int64_t>(scores[g].size()) == channels, "pruning: group ",
                  groups[g].name, " has ", channels, " channels but ", scores[g].size(), " scores");
      const double want = options.scope == Scope::global
                              ? static_cast<double>(channels - removed[g])
                              : static_cast<double>(channels) * (1.0 - options.ratio);
      width = std::max(rounded_width(channels, want, options.multiple), groups[g].min_channels());
    }
    if (width == channels) {
      kept[g].resize(static_cast<size_t>(channels));
      std::iota(kept[g].begin(), kept[g].end(), 0);
    } else {
      kept[g] = detail::top_channels(scores[g], width);
    }
  }
  return kept;
}

// One score per channel of every prunable group of `model` by `criterion` (fixed groups get
// none), for choose_channels.
inline std::vector<std::vector<double>> score_channels(nn::Module& model,
                                                       const std::vector<ChannelGroup>& groups,
                                                       Criterion criterion) {
  std::vector<std::vector<double>> scores(groups.size());
  bool any_signal = false;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!groups[g].prunable()) continue;
    scores[g] = channel_importance(model, groups[g], criterion);
    for (double v : scores[g])
      any_signal = any_signal || v != 0;
  }
  FOVEA_CHECK(any_signal || criterion != Criterion::taylor,
              "pruning by taylor needs gradients: every one is zero (run backward on some batches "
              "first, and do not zero_grad before pruning)");
  return scores;
}

// Scores every group of `model` by options.criterion and chooses the channels to keep.
inline KeptChannels choose_channels(nn::Module& model, const std::vector<ChannelGroup>& groups,
                                    const PruneOptions& options) {
  return choose_channels(groups, score_channels(model, groups, options.criterion), options);
}

}  // namespace fovea::prune
