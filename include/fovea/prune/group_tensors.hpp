// The tensors behind a channel group: for each member, which of its layer's tensors hold the
// group's channels, along which axis, and how many entries each channel spans there. Importance
// criteria read them (prune/importance.hpp); tests zero them to emulate pruning.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"

namespace fovea::prune {

// Channel c of the group is the entries [c·block, (c+1)·block) of `tensor` along `axis`.
struct ChannelSlice {
  std::string name;  // the tensor's full name ("layer1.0.bn1.running_mean")
  Tensor<float>* tensor = nullptr;
  nn::Module* layer = nullptr;  // its owner, for gradients (Module::grad_of)
  nn::TensorRole role = nn::TensorRole::parameter;
  int axis = 0;
  int64_t block = 1;
};

// The tensors of `member` that hold the group's channels. Writes through them must be followed
// by model.parameters_changed(), as for any write through named_tensors().
inline std::vector<ChannelSlice> member_slices(nn::Module& model, const GroupMember& member) {
  nn::Module& layer = model.submodule(member.module);
  std::vector<std::string> names;
  int axis = 0;
  switch (member.role) {
    case MemberRole::conv_out:
    case MemberRole::gate_out:
    case MemberRole::depthwise:
    case MemberRole::linear_out:
      names = {"weight", "bias"};  // a bias is optional; absent names are skipped below
      break;
    case MemberRole::conv_in:
    case MemberRole::linear_in:
      names = {"weight"};
      axis = 1;
      break;
    case MemberRole::batchnorm:
      names = {"weight", "bias", "running_mean", "running_var"};
      break;
  }
  std::vector<ChannelSlice> slices;
  for (const nn::NamedTensor& t : layer.named_tensors()) {
    bool wanted = false;
    for (const std::string& name : names)
      wanted = wanted || t.name == name;
    if (!wanted) continue;
    const int slice_axis = t.tensor->rank() == 1 ? 0 : axis;
    slices.push_back({member.module + "." + t.name, t.tensor, &layer, t.role, slice_axis,
                      slice_axis == 0 ? 1 : member.block});
  }
  FOVEA_CHECK(!slices.empty(), "channel groups: ", member.module, " (", layer.kind(),
              ") holds no tensor for its role ", member_role_name(member.role));
  return slices;
}

// Calls f(i) for the flat index i of every entry of channel c in the slice.
template <class F>
void for_each_channel_entry(const ChannelSlice& slice, int64_t c, F&& f) {
  const Tensor<float>& t = *slice.tensor;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < slice.axis; ++i)
    outer *= t.dim(i);
  for (int i = slice.axis + 1; i < t.rank(); ++i)
    inner *= t.dim(i);
  const int64_t extent = t.dim(slice.axis);
  FOVEA_CHECK((c + 1) * slice.block <= extent, slice.name, ": channel ", c, " of ", slice.block,
              " entries is outside its ", extent);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = c * slice.block; j < (c + 1) * slice.block; ++j)
      for (int64_t i = 0; i < inner; ++i)
        f((o * extent + j) * inner + i);
}

}  // namespace fovea::prune
