// Saving and loading sparse models. A model file stores the masks implicitly: pruned weights
// are exact zeros in the tensors (float zeros survive safetensors byte for byte), and the
// metadata key "sparse_masks" lists which weights are masked, in which pattern, at which
// sparsity:
//   {"layer1.0.conv1.weight":{"pattern":"unstructured","sparsity":0.9},
//    "layer1.0.conv2.weight":{"pattern":"2:4","sparsity":0.5},…}
// A loader rebuilds each mask as (w != 0), so fine-tuning a loaded model keeps its zeros, and
// checks the pattern. (A trained weight that is exactly zero is then masked too: it is zero
// either way.) Training checkpoints store the masks explicitly instead, as optimizer state
// (masked_optimizer.hpp), since a weight can be masked before it is zero.
#pragma once

#include <map>
#include <string>

#include "fovea/io/json.hpp"
#include "fovea/io/state_dict.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/prune/sparse/mask.hpp"

namespace fovea::prune::sparse {

inline constexpr const char* kSparseMasksKey = "sparse_masks";

// The "sparse_masks" metadata value for `masks` (each entry's measured mask sparsity).
inline std::string sparse_masks_json(const SparsityMasks& masks) {
  json::Value all = json::Value::object();
  for (const MaskedWeight& m : masks.entries()) {
    int64_t zeros = 0;
    for (int64_t i = 0; i < m.mask.numel(); ++i)
      zeros += m.mask.data()[i] == 0.0f ? 1 : 0;
    json::Value entry = json::Value::object();
    entry.set("pattern", json::Value(pattern_name(m.pattern)));
    entry.set("sparsity",
              json::Value(m.mask.numel() ? double(zeros) / double(m.mask.numel()) : 0.0));
    all.set(m.name, entry);
  }
  return json::dump(all);
}

// save_state_dict with the masks applied first (so the file's zeros are the masks) and listed
// in metadata["sparse_masks"].
inline void save_sparse_model(nn::Module& model, const std::string& path, SparsityMasks& masks,
                              std::map<std::string, std::string> metadata = {}) {
  masks.apply();
  metadata[kSparseMasksKey] = sparse_masks_json(masks);
  save_state_dict(model, path, metadata);
}

// The masks a model file's metadata lists, rebuilt from the zeros of `model`'s weights (call it
// after load_state_dict). No "sparse_masks" key gives no masks. Throws naming the weight when
// the metadata names a weight the model lacks, a 2:4 weight is not 2:4, or a weight has fewer
// zeros than the metadata says.
inline SparsityMasks masks_from_metadata(const std::map<std::string, std::string>& metadata,
                                         nn::Module& model) {
  SparsityMasks masks;
  const auto it = metadata.find(kSparseMasksKey);
  if (it == metadata.end()) return masks;
  const json::Value all = json::parse(it->second, std::string("metadata ") + kSparseMasksKey);
  FOVEA_CHECK(all.is_object(), "metadata ", kSparseMasksKey,
              " must be a JSON object from weight name to {pattern, sparsity}");
  SelectOptions every;
  every.grouped_convs = true;
  const auto weights = select_weights(model, every);
  for (const auto& [name, value] : all.as_object()) {
    Tensor<float>* weight = nullptr;
    for (const auto& [wname, w] : weights)
      if (wname == name) weight = w;
    FOVEA_CHECK(weight != nullptr, "metadata ", kSparseMasksKey, " names '", name,
                "', which is not a conv or linear weight of this model");
    FOVEA_CHECK(value.is_object() && value.find("pattern") != nullptr &&
                    value.at("pattern").is_string() && value.find("sparsity") != nullptr &&
                    value.at("sparsity").is_number(),
                "metadata ", kSparseMasksKey, ": '", name,
                "' needs {\"pattern\": string, \"sparsity\": number}");
    const Pattern pattern = parse_pattern(value.at("pattern").as_string());
    const double stated = value.at("sparsity").as_number();
    MaskedWeight m{name, weight, Tensor<float>(weight->shape()), pattern};
    for (int64_t i = 0; i < weight->numel(); ++i)
      m.mask.data()[i] = weight->data()[i] != 0.0f ? 1.0f : 0.0f;
    FOVEA_CHECK(pattern != Pattern::two_four || is_2_4(*weight), "'", name,
                "' is listed as 2:4 sparse but has a group of 4 input channels with more than 2 "
                "nonzeros");
    const double measured = sparsity_of(*weight);
    FOVEA_CHECK(measured + 1e-9 >= stated, "'", name, "' is listed as ", stated,
                " sparse but only ", measured, " of its weights are zero");
    masks.entries().push_back(std::move(m));
  }
  return masks;
}

}  // namespace fovea::prune::sparse
