// Saving and loading pruned models. A pruned model's tensors are narrower than its
// architecture's, so a loader must shrink the freshly built model to the same widths before it
// can load the tensors. The widths travel in the weights file's metadata as "pruned_widths", a
// JSON object from group name (prune/channel_groups.hpp) to kept channel count:
//   {"conv1":48,"layer1.0.conv1":40,…}
// Group names are layer paths, the same in every build of the architecture, so the original
// model is not needed: build, apply_pruned_widths, load_state_dict.
#pragma once

#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/io/json.hpp"
#include "fovea/io/state_dict.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/channel_groups.hpp"
#include "fovea/prune/shrink.hpp"

namespace fovea::prune {

inline constexpr const char* kPrunedWidthsKey = "pruned_widths";

// The width of every prunable group of `model`, as the "pruned_widths" metadata value.
inline std::string pruned_widths_json(nn::Module& model) {
  json::Value widths = json::Value::object();
  for (const ChannelGroup& group : find_channel_groups(model))
    if (group.prunable()) widths.set(group.name, json::Value(group.channels));
  return json::dump(widths);
}

// Shrinks a freshly built `model` to the widths in metadata["pruned_widths"], keeping each
// group's first channels (load_state_dict then overwrites every value); no such key leaves the
// model as it is. Throws naming the group when a width does not fit the model.
inline void apply_pruned_widths(const std::map<std::string, std::string>& metadata,
                                nn::Module& model) {
  const auto it = metadata.find(kPrunedWidthsKey);
  if (it == metadata.end()) return;
  const json::Value widths = json::parse(it->second, std::string("metadata ") + kPrunedWidthsKey);
  FOVEA_CHECK(widths.is_object(), "metadata ", kPrunedWidthsKey,
              " must be a JSON object from group name to width");
  const std::vector<ChannelGroup> groups = find_channel_groups(model);
  KeptChannels kept(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    kept[g].resize(static_cast<size_t>(groups[g].channels));
    std::iota(kept[g].begin(), kept[g].end(), 0);
  }
  for (const auto& [name, value] : widths.as_object()) {
    size_t g = 0;
    while (g < groups.size() && groups[g].name != name)
      ++g;
    FOVEA_CHECK(g < groups.size(), "metadata ", kPrunedWidthsKey, " names group '", name,
                "', which this model does not have");
    FOVEA_CHECK(value.is_integer(), "metadata ", kPrunedWidthsKey, ": group '", name,
                "' needs a whole number of channels");
    const int64_t width = value.as_int64();
    FOVEA_CHECK(width >= 1 && width <= groups[g].channels, "metadata ", kPrunedWidthsKey,
                ": group '", name, "' keeps ", width, " channels, expected 1 to ",
                groups[g].channels);
    kept[g].resize(static_cast<size_t>(width));
  }
  shrink_to(model, groups, kept);
}

// save_state_dict with the model's widths added to `metadata` (which should name the
// architecture and num_classes, as for any model file), so load_model can rebuild it.
inline void save_pruned_model(nn::Module& model, const std::string& path,
                              std::map<std::string, std::string> metadata) {
  metadata[kPrunedWidthsKey] = pruned_widths_json(model);
  save_state_dict(model, path, metadata);
}

}  // namespace fovea::prune
