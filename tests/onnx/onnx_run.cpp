// onnx_run: runs a graph weights file (weights_tools/import_onnx.py) on .npy inputs and writes
// every graph output as OUT_DIR/output_<i>.npy, for the conformance and torch tests' drivers.
//
//   onnx_run MODEL.safetensors OUT_DIR [INPUT.npy ...]     (inputs in graph input order)
//
// Exit codes: 0 ok, 1 a run-time error, 2 bad usage, 3 the loader refused the graph.
#include <cstdio>
#include <map>
#include <string>

#include "fovea/graph/graph_model.hpp"
#include "fovea/io/npy.hpp"

int main(int argc, char** argv) {
  using namespace fovea;
  if (argc < 3) {
    std::fprintf(stderr, "usage: onnx_run MODEL.safetensors OUT_DIR [INPUT.npy ...]\n");
    return 2;
  }
  std::unique_ptr<GraphModel> model;
  try {
    model = load_graph_model(argv[1]);
  } catch (const Error& e) {
    std::fprintf(stderr, "onnx_run: cannot load: %s\n", e.what());
    return 3;
  }
  try {
    const auto& inputs = model->graph().inputs();
    FOVEA_CHECK(static_cast<size_t>(argc - 3) == inputs.size(), "the graph has ", inputs.size(),
                " inputs, ", argc - 3, " .npy files were given");
    std::map<std::string, graph::GraphValue> feeds;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string path = argv[3 + i];
      const std::string& dtype = inputs[i].dtype;
      if (dtype == "int64" || dtype == "int32") {
        feeds[inputs[i].name] = graph::GraphValue(read_npy<int32_t>(path));
      } else {
        feeds[inputs[i].name] = graph::GraphValue(read_npy<float>(path));
      }
    }
    const auto results = model->run(feeds);
    const auto& outputs = model->graph().outputs();
    for (size_t i = 0; i < outputs.size(); ++i) {
      const graph::GraphValue& v = results.at(outputs[i].name);
      const std::string path = std::string(argv[2]) + "/output_" + std::to_string(i) + ".npy";
      if (v.is_float()) {
        write_npy(path, v.as_float());
      } else {
        write_npy(path, v.as_int());
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "onnx_run: %s\n", e.what());
    return 1;
  }
  return 0;
}
