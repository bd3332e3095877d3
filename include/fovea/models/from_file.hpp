// Builds the zoo model a weights file names in its metadata and loads the file into it; an
// ONNX graph file or an INT8 file gives the model it holds.
//
// By default the model comes prepared for inference (plan/inference.hpp): batch norms folded,
// packed weights kept, planned arenas, so `load_model(path).model->forward(x)` is the fast
// path. LoadFor::training gives the model as the file describes it, for training, fine-tuning
// or editing its weights.
//
// Thread safety: a prepared model's forward() may be called from many threads at once, each
// getting the results a serial call gives (each calling thread has its own arenas). Anything
// that changes the model (loading weights, set_training, prepare_for_inference, training
// steps) needs the model to itself.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fovea/graph/graph_model.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/io/state_dict.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"
#include "fovea/prune/widths.hpp"
#include "fovea/quant/model_file.hpp"

namespace fovea {

// The most classes a weights file's metadata may ask for (ImageNet-21k has 21,841).
inline constexpr int64_t kMaxClasses = 1 << 20;

enum class LoadFor {
  inference,  // prepared: folded, packed, planned (the default)
  training,   // as the file describes it, in inference mode until set_training(true)
};

struct LoadedModel {
  std::unique_ptr<nn::Module> model;
  std::string architecture;
  std::map<std::string, std::string> metadata;
};

// `architecture` may be empty (then the file's "architecture" metadata decides) or must agree
// with it. The metadata's "num_classes" (default 1000) and "bn_eps" (default: the
// architecture's own) configure the model before the weights are loaded.
inline LoadedModel load_model(const SafeTensorsFile& file, std::string architecture = "",
                              LoadFor purpose = LoadFor::inference) {
  const std::string& weights_path = file.source();
  const auto& meta = file.metadata();
  const auto arch_it = meta.find("architecture");
  if (arch_it != meta.end()) {
    FOVEA_CHECK(architecture.empty() || architecture == arch_it->second, weights_path,
                ": the file holds a '", arch_it->second, "' model, but '", architecture,
                "' was asked for");
    architecture = arch_it->second;
  }
  FOVEA_CHECK(!architecture.empty(), weights_path,
              ": no \"architecture\" in the file's metadata; name the model explicitly");
  // Files from weights_tools/import_onnx.py carry their own network (docs/onnx.md).
  const auto prepared = [purpose](LoadedModel loaded) {
    if (purpose == LoadFor::inference) prepare_for_inference(*loaded.model);
    return loaded;
  };
  if (architecture == "graph")
    return prepared(LoadedModel{load_graph_model(file), architecture, meta});
  // Files from examples/quantize hold a compiled INT8 model (docs/int8.md).
  if (architecture == quant::kInt8Architecture)
    return prepared(LoadedModel{quant::load_quantized(file), architecture, meta});
  ModelOptions options;
  const auto classes_it = meta.find("num_classes");
  if (classes_it != meta.end()) {
    const std::string& text = classes_it->second;
    size_t used = 0;
    try {
      options.num_classes = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    // The classifier's weights are allocated from this number before any tensor is read.
    FOVEA_CHECK(used != 0 && used == text.size() && options.num_classes > 0 &&
                    options.num_classes <= kMaxClasses,
                weights_path, ": metadata num_classes is '", text,
                "', expected a whole number in [1, ", kMaxClasses, "]");
  }
  const auto eps_it = meta.find("bn_eps");
  if (eps_it != meta.end()) {
    const std::string& text = eps_it->second;
    size_t used = 0;
    try {
      options.bn_eps = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FOVEA_CHECK(used != 0 && used == text.size() && options.bn_eps > 0 && options.bn_eps < 1,
                weights_path, ": metadata bn_eps is '", text, "', expected a number in (0, 1)");
  }
  LoadedModel loaded{build_model(architecture, options), architecture, meta};
  prune::apply_pruned_widths(meta, *loaded.model);  // a pruned model's narrower layers, if any
  load_state_dict(*loaded.model, file);
  return prepared(std::move(loaded));
}

inline LoadedModel load_model(const std::string& weights_path, std::string architecture = "",
                              LoadFor purpose = LoadFor::inference) {
  return load_model(SafeTensorsFile::open(weights_path), std::move(architecture), purpose);
}

inline LoadedModel load_model(const std::string& weights_path, LoadFor purpose) {
  return load_model(weights_path, "", purpose);
}

}  // namespace fovea
