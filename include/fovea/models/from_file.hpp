// Builds the zoo model a weights file names in its metadata and loads the file into it; an
// ONNX graph file or an INT8 file gives the model it holds.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fovea/graph/graph_model.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/io/state_dict.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/quant/model_file.hpp"

namespace fovea {

struct LoadedModel {
  std::unique_ptr<nn::Module> model;
  std::string architecture;
  std::map<std::string, std::string> metadata;
};

// `architecture` may be empty (then the file's "architecture" metadata decides) or must agree
// with it. The metadata's "num_classes" (default 1000) and "bn_eps" (default: the
// architecture's own) configure the model before the weights are loaded.
inline LoadedModel load_model(const std::string& weights_path, std::string architecture = "") {
  const SafeTensorsFile file = SafeTensorsFile::open(weights_path);
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
  if (architecture == "graph") return LoadedModel{load_graph_model(file), architecture, meta};
  // Files from examples/quantize hold a compiled INT8 model (docs/int8.md).
  if (architecture == quant::kInt8Architecture)
    return LoadedModel{quant::load_quantized(file), architecture, meta};
  ModelOptions options;
  const auto classes_it = meta.find("num_classes");
  if (classes_it != meta.end()) {
    try {
      options.num_classes = std::stoll(classes_it->second);
    } catch (const std::exception&) {
      fail(weights_path, ": metadata num_classes is '", classes_it->second, "', not a number");
    }
    FOVEA_CHECK(options.num_classes > 0, weights_path, ": metadata num_classes is ",
                options.num_classes);
  }
  const auto eps_it = meta.find("bn_eps");
  if (eps_it != meta.end()) {
    try {
      options.bn_eps = std::stod(eps_it->second);
    } catch (const std::exception&) {
      fail(weights_path, ": metadata bn_eps is '", eps_it->second, "', not a number");
    }
  }
  LoadedModel loaded{build_model(architecture, options), architecture, meta};
  load_state_dict(*loaded.model, file);
  return loaded;
}

}  // namespace fovea
