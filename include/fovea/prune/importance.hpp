// Importance criteria: one score per channel of a group, higher meaning more worth keeping.
//   l1, l2    magnitude of the filters that make the channel (Li et al. 2017), summed over the
//             group's producing layers (every conv of a ResNet stage, an MBConv's expansion and
//             depthwise convs); biases and squeeze-excitation gates are left out.
//   bn_gamma  |γ| of the channel's batch norms (network slimming, Liu et al. 2017), summed over
//             the group; a group without batch norm (a classifier's hidden layer, a squeeze
//             width) falls back to l1.
//   taylor    |Σ w · ∂L/∂w| over every parameter the channel's removal would take away
//             (producing filters and biases, batch-norm scale and shift, the readers' input
//             weights): the first-order change of the loss when they all go to zero (Molchanov
//             et al. 2017). The gradients are the ones accumulated in the layers' grad tensors
//             (Module::grad_of): run backward over some batches first, without zero_grad after.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"
#include "fovea/prune/group_tensors.hpp"

namespace fovea::prune {

enum class Criterion : uint8_t { l1, l2, bn_gamma, taylor };

inline const char* criterion_name(Criterion c) {
  switch (c) {
    case Criterion::l1:
      return "l1";
    case Criterion::l2:
      return "l2";
    case Criterion::bn_gamma:
      return "bn_gamma";
    case Criterion::taylor:
      return "taylor";
  }
  return "?";
}

inline Criterion criterion_from_name(const std::string& name) {
  for (Criterion c : {Criterion::l1, Criterion::l2, Criterion::bn_gamma, Criterion::taylor})
    if (name == criterion_name(c)) return c;
  fail("unknown pruning criterion '", name, "' (known: l1, l2, bn_gamma, taylor)");
}

namespace detail {

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Σ |w|^power over the producing filters (rank ≥ 2 tensors: biases are left out).
inline std::vector<double> filter_magnitude(nn::Module& model, const ChannelGroup& group,
                                            int power) {
  std::vector<double> score(static_cast<size_t>(group.channels), 0.0);
  for (const GroupMember& m : group.members) {
    if (!produces_channels(m.role)) continue;
    for (const ChannelSlice& s : member_slices(model, m)) {
      if (s.tensor->rank() < 2) continue;
      const float* w = s.tensor->data();
      for (int64_t c = 0; c < group.channels; ++c)
        for_each_channel_entry(s, c, [&](int64_t i) {
          const double v = std::abs(static_cast<double>(w[i]));
          score[static_cast<size_t>(c)] += power == 1 ? v : v * v;
        });
    }
  }
  return score;
}

inline std::vector<double> batchnorm_gamma(nn::Module& model, const ChannelGroup& group) {
  std::vector<double> score(static_cast<size_t>(group.channels), 0.0);
  bool found = false;
  for (const GroupMember& m : group.members) {
    if (m.role != MemberRole::batchnorm) continue;
    for (const ChannelSlice& s : member_slices(model, m)) {
      if (!ends_with(s.name, ".weight")) continue;
      found = true;
      for (int64_t c = 0; c < group.channels; ++c)
        score[static_cast<size_t>(c)] += std::abs(static_cast<double>((*s.tensor)[c]));
    }
  }
  return found ? score : filter_magnitude(model, group, 1);
}

inline std::vector<double> taylor(nn::Module& model, const ChannelGroup& group) {
  std::vector<double> sum(static_cast<size_t>(group.channels), 0.0);
  for (const GroupMember& m : group.members) {
    for (const ChannelSlice& s : member_slices(model, m)) {
      if (s.role != nn::TensorRole::parameter) continue;
      const float* w = s.tensor->data();
      const float* g = s.layer->grad_of(*s.tensor).data();
      for (int64_t c = 0; c < group.channels; ++c)
        for_each_channel_entry(s, c, [&](int64_t i) {
          sum[static_cast<size_t>(c)] += static_cast<double>(w[i]) * static_cast<double>(g[i]);
        });
    }
  }
  for (double& v : sum)
    v = std::abs(v);
  return sum;
}

}  // namespace detail

// One score per channel of `group` (group.channels of them).
inline std::vector<double> channel_importance(nn::Module& model, const ChannelGroup& group,
                                              Criterion criterion) {
  switch (criterion) {
    case Criterion::l1:
      return detail::filter_magnitude(model, group, 1);
    case Criterion::l2: {
      std::vector<double> score = detail::filter_magnitude(model, group, 2);
      for (double& v : score)
        v = std::sqrt(v);
      return score;
    }
    case Criterion::bn_gamma:
      return detail::batchnorm_gamma(model, group);
    case Criterion::taylor:
      return detail::taylor(model, group);
  }
  fail("unknown pruning criterion");
}

}  // namespace fovea::prune
