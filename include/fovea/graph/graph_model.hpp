// GraphModel: a Graph as an nn::Module, so code written for zoo models (examples/classify,
// load_model) runs an imported ONNX network too. forward() needs a graph with one float input
// and one output; run() takes any number of named inputs.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fovea/graph/graph.hpp"
#include "fovea/nn/module.hpp"

namespace fovea {

class GraphModel : public nn::Module {
 public:
  explicit GraphModel(graph::Graph g) : graph_(std::move(g)) {
    // The initializers are this module's parameters, under their ONNX names.
    for (const auto& [name, tensor] : graph_.float_initializers())
      register_parameter(name, tensor);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (Tensor<float> y; run_planned(x, y)) return y;  // prepared for inference
    FOVEA_CHECK(graph_.inputs().size() == 1 && graph_.outputs().size() == 1,
                "GraphModel::forward needs a graph with one input and one output, this one has ",
                graph_.inputs().size(), " and ", graph_.outputs().size(), "; call run()");
    const auto out = graph_.run({{graph_.inputs()[0].name, graph::GraphValue(x)}});
    return out.at(graph_.outputs()[0].name).as_float();
  }

  std::map<std::string, graph::GraphValue> run(
      const std::map<std::string, graph::GraphValue>& feeds) const {
    return graph_.run(feeds);
  }

  const graph::Graph& graph() const { return graph_; }
  std::string kind() const override { return "Graph"; }
  std::string describe() const override {
    return std::to_string(graph_.nodes().size()) + " nodes, opset " +
           std::to_string(graph_.opset());
  }

 private:
  graph::Graph graph_;
};

// Loads a weights file written by weights_tools/import_onnx.py.
inline std::unique_ptr<GraphModel> load_graph_model(const SafeTensorsFile& file) {
  return std::make_unique<GraphModel>(graph::Graph::load(file));
}

inline std::unique_ptr<GraphModel> load_graph_model(const std::string& path) {
  return load_graph_model(SafeTensorsFile::open(path));
}

}  // namespace fovea
