// Structured pruning proper: every member of a group keeps the same channels, so the model
// stays an ordinary fovea model whose convs, batch norms and linear layers are simply
// narrower. Nothing is masked: the dropped channels' weights are gone, and so is their cost.
#pragma once

#include <cstdint>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/keep_indices.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"
#include "fovea/prune/select.hpp"

namespace fovea::prune {

namespace detail {

template <class Layer>
Layer& layer_as(nn::Module& model, const GroupMember& member, const char* expected) {
  nn::Module& m = model.submodule(member.module);
  auto* layer = dynamic_cast<Layer*>(&m);
  FOVEA_CHECK(layer != nullptr, "pruning: ", member.module, " is a ", m.kind(), ", but its role ",
              member_role_name(member.role), " needs a ", expected);
  return *layer;
}

// Channel c of a linear layer's input is features [c·block, (c+1)·block).
inline std::vector<int64_t> features_of(const std::vector<int64_t>& channels, int64_t block) {
  std::vector<int64_t> features;
  features.reserve(channels.size() * static_cast<size_t>(block));
  for (int64_t c : channels)
    for (int64_t j = 0; j < block; ++j)
      features.push_back(c * block + j);
  return features;
}

inline void shrink_member(nn::Module& model, const GroupMember& member,
                          const std::vector<int64_t>& kept) {
  switch (member.role) {
    case MemberRole::conv_out:
    case MemberRole::gate_out:
    case MemberRole::depthwise:
      layer_as<nn::Conv2d>(model, member, "Conv2d").keep_output_channels(kept);
      return;
    case MemberRole::conv_in:
      layer_as<nn::Conv2d>(model, member, "Conv2d").keep_input_channels(kept);
      return;
    case MemberRole::batchnorm:
      layer_as<nn::BatchNorm2d>(model, member, "BatchNorm2d").keep_channels(kept);
      return;
    case MemberRole::linear_out:
      layer_as<nn::Linear>(model, member, "Linear").keep_output_features(kept);
      return;
    case MemberRole::linear_in:
      layer_as<nn::Linear>(model, member, "Linear")
          .keep_input_features(features_of(kept, member.block));
      return;
  }
}

}  // namespace detail

// Shrinks `model` in place so that group g keeps the channels kept[g] in each of its members.
// `groups` must be find_channel_groups(model) as the model is now; a group keeping all its
// channels is left alone. The layers' tensors are replaced, so packed weights, gradients and
// optimizer state made before no longer apply: prune first, then train or plan for inference.
inline void shrink_to(nn::Module& model, const std::vector<ChannelGroup>& groups,
                      const KeptChannels& kept) {
  FOVEA_CHECK(kept.size() == groups.size(), "pruning: ", kept.size(), " kept-channel lists for ",
              groups.size(), " groups");
  for (size_t g = 0; g < groups.size(); ++g) {
    const ChannelGroup& group = groups[g];
    const int64_t width = static_cast<int64_t>(kept[g].size());
    fovea::detail::check_kept_indices(kept[g], group.channels, group.name.c_str());
    if (width == group.channels) continue;  // increasing and in range: all of them
    FOVEA_CHECK(group.prunable(), "pruning: group ", group.name, " cannot lose channels (",
                group.fixed, ")");
    FOVEA_CHECK(width >= group.min_channels(), "pruning: group ", group.name, " must keep ",
                group.min_channels(), " channels or more (its depthwise conv would become a ",
                "plain conv), got ", width);
    for (const GroupMember& member : group.members)
      detail::shrink_member(model, member, kept[g]);
  }
  model.parameters_changed();
}

}  // namespace fovea::prune
