// Channel groups: the channels of a network that can only be removed together. Removing
// channel c of a conv's output means removing input channel c of every layer that reads it, the
// batch norm's entries c, and, through a residual add, channel c of every other branch summed
// with it. A group lists those coupled places; pruning keeps the same subset of channels in
// each of them (prune/shrink.hpp).
//
// The groups come from the model's own structure: Module::lower (nn/dataflow.hpp), in its
// structure-only form, gives the inference computation as a graph with the batch norms listed,
// and a union-find over "channel spaces" follows it. A conv or linear starts a new space at its
// output; activations, pools, flatten, depthwise convs and channel scaling pass their input's
// space on; an add and a squeeze-excitation's channel scaling merge the spaces they combine.
// Walking the graph rather than the module tree means every family that lowers (the whole zoo)
// gets its groups without code of its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::prune {

// How one layer takes part in a group.
enum class MemberRole : uint8_t {
  conv_out,    // a conv's filters: they produce the group's channels
  gate_out,    // a squeeze-excitation conv's filters: they produce the gates of the channels
  depthwise,   // a depthwise conv: channel c in, channel c out, one filter each
  conv_in,     // a plain conv reading the channels
  batchnorm,   // a batch norm's scale, shift and running statistics
  linear_out,  // a linear layer's rows: they produce the group's features
  linear_in,   // a linear layer reading the channels, `block` features each after a flatten
};

inline const char* member_role_name(MemberRole role) {
  switch (role) {
    case MemberRole::conv_out:
      return "conv_out";
    case MemberRole::gate_out:
      return "gate_out";
    case MemberRole::depthwise:
      return "depthwise";
    case MemberRole::conv_in:
      return "conv_in";
    case MemberRole::batchnorm:
      return "batchnorm";
    case MemberRole::linear_out:
      return "linear_out";
    case MemberRole::linear_in:
      return "linear_in";
  }
  return "?";
}

// Whether the member's weights make the channels themselves, so their magnitude says how much a
// channel contributes (prune/importance.hpp). Gates only scale a channel made elsewhere.
inline bool produces_channels(MemberRole role) {
  return role == MemberRole::conv_out || role == MemberRole::depthwise ||
         role == MemberRole::linear_out;
}

struct GroupMember {
  std::string module;  // the layer's path in the model ("layer1.0.conv1")
  MemberRole role = MemberRole::conv_out;
  int64_t block = 1;  // linear_in: channel c is input features [c·block, (c+1)·block)
};

struct ChannelGroup {
  // The path of the first layer that produces the channels, in forward order: the same for
  // every build of an architecture, so a pruned model's widths can be stored by group name.
  std::string name;
  int64_t channels = 0;
  std::vector<GroupMember> members;
  std::string fixed;  // why these channels must all stay; empty when the group can be pruned

  bool prunable() const { return fixed.empty(); }
  // The fewest channels the group may keep: 2 where a depthwise conv is a member, since a
  // depthwise conv of one channel would be a plain 1 → 1 conv, the groups of the pruned model
  // would differ from a fresh one's, and its widths could not be stored by group name.
  int64_t min_channels() const {
    for (const GroupMember& m : members)
      if (m.role == MemberRole::depthwise) return std::min<int64_t>(2, channels);
    return 1;
  }
};

namespace detail {

// Channel spaces joined by union-find; each remembers its channel count, whether it must stay
// whole, and the members attached to it.
class ChannelSpaces {
 public:
  int make(int64_t channels) {
    parent_.push_back(static_cast<int>(parent_.size()));
    channels_.push_back(channels);
    fixed_.emplace_back();
    return static_cast<int>(parent_.size()) - 1;
  }
  int find(int s) {
    while (parent_[static_cast<size_t>(s)] != s)
      s = parent_[static_cast<size_t>(s)] =
          parent_[static_cast<size_t>(parent_[static_cast<size_t>(s)])];
    return s;
  }
  int64_t channels(int s) { return channels_[static_cast<size_t>(find(s))]; }
  // Records a layer's view of the space's channel count; the first view sets it.
  void expect_channels(int s, int64_t channels, const std::string& where) {
    int64_t& known = channels_[static_cast<size_t>(find(s))];
    if (known == 0) known = channels;
    FOVEA_CHECK(known == channels, "channel groups: ", where, " sees ", channels,
                " channels where ", known, " were found before");
  }
  int unite(int a, int b, const std::string& where) {
    a = find(a);
    b = find(b);
    if (a == b) return a;
    if (channels_[static_cast<size_t>(a)] != 0) expect_channels(b, channels(a), where);
    if (b < a) std::swap(a, b);  // the older space stays the root: groups keep forward order
    parent_[static_cast<size_t>(b)] = a;
    if (fixed_[static_cast<size_t>(a)].empty())
      fixed_[static_cast<size_t>(a)] = fixed_[static_cast<size_t>(b)];
    return a;
  }
  void fix(int s, const std::string& reason) {
    std::string& fixed = fixed_[static_cast<size_t>(find(s))];
    if (fixed.empty()) fixed = reason;
  }
  const std::string& fixed(int s) { return fixed_[static_cast<size_t>(find(s))]; }
  void attach(int s, GroupMember member) { members_.push_back({s, std::move(member)}); }

  std::vector<std::pair<int, GroupMember>>& members() { return members_; }

 private:
  std::vector<int> parent_;
  std::vector<int64_t> channels_;  // 0 until a layer says
  std::vector<std::string> fixed_;
  std::vector<std::pair<int, GroupMember>> members_;  // in forward order
};

// The structure-only dataflow graph of `model` (batch norms listed, nothing fused).
inline nn::Dataflow lower_structure(nn::Module& model) {
  nn::Dataflow graph;
  graph.set_structure_only(true);
  model.lower(graph, nn::Dataflow::kInput);
  return graph;
}

}  // namespace detail

// The channel groups of `model`, in forward order of the layers that make them. The network's
// input and the classifier's output are fixed groups, as are the channels of a grouped conv
// other than depthwise and of CIFAR ResNets' option-A shortcut (its zero padding places input
// channel c at output channel c + pad, which no subset of channels keeps).
inline std::vector<ChannelGroup> find_channel_groups(nn::Module& model) {
  using nn::DataflowNode;
  using nn::DataflowOp;
  const nn::Dataflow graph = detail::lower_structure(model);
  const std::vector<DataflowNode>& nodes = graph.nodes();
  detail::ChannelSpaces spaces;
  std::vector<int> space(nodes.size(), -1);  // each value's channel space
  std::map<int, size_t> producer_member;     // conv node → its conv_out member's index

  space[0] = spaces.make(0);
  spaces.fix(space[0], "the network's input");
  for (size_t v = 1; v < nodes.size(); ++v) {
    const DataflowNode& n = nodes[v];
    const int in = space[static_cast<size_t>(n.inputs.at(0))];
    switch (n.op) {
      case DataflowOp::conv: {
        const int64_t groups = n.conv.groups;
        const int64_t out_channels = n.weight.dim(0);
        spaces.expect_channels(in, n.weight.dim(1) * groups, n.name);
        const bool depthwise = groups > 1 && n.weight.dim(1) == 1 && out_channels == groups;
        if (depthwise) {
          space[v] = in;
          spaces.attach(in, {n.name, MemberRole::depthwise});
          break;
        }
        space[v] = spaces.make(out_channels);
        if (groups != 1) {
          spaces.fix(in, "grouped conv " + n.name);
          spaces.fix(space[v], "grouped conv " + n.name);
          break;
        }
        spaces.attach(in, {n.name, MemberRole::conv_in});
        producer_member[static_cast<int>(v)] = spaces.members().size();
        spaces.attach(space[v], {n.name, MemberRole::conv_out});
        break;
      }
      case DataflowOp::linear: {
        // After a flatten each channel is out_h·out_w features; before the classifier's first
        // layer the channels are the features themselves (block 1).
        const int64_t features = n.weight.dim(1);
        const int64_t channels = spaces.channels(in);
        FOVEA_CHECK(channels > 0 && features % channels == 0, "channel groups: ", n.name, " reads ",
                    features, " features from ", channels, " channels");
        spaces.attach(in, {n.name, MemberRole::linear_in, features / channels});
        space[v] = spaces.make(n.weight.dim(0));
        spaces.attach(space[v], {n.name, MemberRole::linear_out});
        break;
      }
      case DataflowOp::activation:
      case DataflowOp::max_pool:
      case DataflowOp::avg_pool:
      case DataflowOp::adaptive_avg_pool:
      case DataflowOp::flatten:
        space[v] = in;
        break;
      case DataflowOp::add:
        space[v] = spaces.unite(in, space[static_cast<size_t>(n.inputs.at(1))], n.name);
        break;
      case DataflowOp::channel_scale: {
        // x · gates: gate c scales channel c, so the conv making the gates joins x's group. Its
        // filters make gates rather than channels: mark it so importance leaves it out.
        int g = n.inputs.at(1);
        while (nodes[static_cast<size_t>(g)].op == DataflowOp::activation)
          g = nodes[static_cast<size_t>(g)].inputs.at(0);
        const auto producer = producer_member.find(g);
        if (producer != producer_member.end())
          spaces.members()[producer->second].second.role = MemberRole::gate_out;
        space[v] = spaces.unite(in, space[static_cast<size_t>(n.inputs.at(1))], n.name);
        break;
      }
      case DataflowOp::subsample_pad_channels:
        space[v] = spaces.make(spaces.channels(in) + 2 * n.pad);
        spaces.fix(in, "option-A shortcut " + n.name);
        spaces.fix(space[v], "option-A shortcut " + n.name);
        break;
      case DataflowOp::input:
        fail("channel groups: ", n.name, " is a second input");
    }
  }
  spaces.fix(space.back(), "the network's output");
  for (const nn::Dataflow::BatchNormSite& bn : graph.batchnorms())
    spaces.attach(space[static_cast<size_t>(bn.value)], {bn.name, MemberRole::batchnorm});

  // One group per space that has members, in the forward order of its first member (batch
  // norms come last in the list but never start a group: their value's producer came first).
  std::vector<ChannelGroup> groups;
  std::map<int, size_t> group_of;  // root space → index in groups
  for (auto& [s, member] : spaces.members()) {
    const int root = spaces.find(s);
    auto it = group_of.find(root);
    if (it == group_of.end()) {
      it = group_of.emplace(root, groups.size()).first;
      ChannelGroup group;
      group.channels = spaces.channels(root);
      group.fixed = spaces.fixed(root);
      // Only the input's channels have no layer making them.
      if (root == spaces.find(space[0])) group.name = "input";
      groups.push_back(std::move(group));
    }
    ChannelGroup& group = groups[it->second];
    if (group.name.empty() && produces_channels(member.role)) group.name = member.module;
    group.members.push_back(member);
  }
  for (ChannelGroup& group : groups) {
    FOVEA_CHECK(!group.name.empty(), "channel groups: no layer makes the channels that ",
                group.members[0].module, " reads");
  }
  return groups;
}

}  // namespace fovea::prune
