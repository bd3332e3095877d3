// GraphDef: the graph JSON that weights_tools/import_onnx.py writes into a weights file's
// "graph" metadata (docs/onnx.md has the schema), parsed and checked for shape, not semantics.
#pragma once

#include <string>
#include <vector>

#include "fovea/graph/node.hpp"
#include "fovea/io/json.hpp"

namespace fovea::graph {

struct ValueInfo {
  std::string name;
  std::string dtype;  // ONNX's name, lower case: "float", "int64", ...
  json::Value shape;  // array of integers, strings (symbolic) or null; null if unknown
};

struct InitializerDef {
  std::string name;    // the ONNX value name nodes refer to
  std::string tensor;  // the tensor's name in the safetensors file
  bool is_int = false;
};

struct GraphDef {
  int opset = 0;
  std::vector<ValueInfo> inputs, outputs;
  std::vector<InitializerDef> initializers;
  std::vector<NodeDef> nodes;
};

namespace detail {

inline const json::Value& member(const json::Value& object, const char* key, const char* what) {
  FOVEA_CHECK(object.is_object(), "graph JSON: ", what, " must be an object");
  const json::Value* v = object.find(key);
  FOVEA_CHECK(v != nullptr, "graph JSON: ", what, " has no \"", key, "\"");
  return *v;
}

inline std::string string_member(const json::Value& object, const char* key, const char* what) {
  const json::Value& v = member(object, key, what);
  FOVEA_CHECK(v.is_string(), "graph JSON: ", what, " \"", key, "\" must be a string");
  return v.as_string();
}

inline const json::Value::Array& array_member(const json::Value& object, const char* key,
                                              const char* what) {
  const json::Value& v = member(object, key, what);
  FOVEA_CHECK(v.is_array(), "graph JSON: ", what, " \"", key, "\" must be an array");
  return v.as_array();
}

inline std::vector<std::string> strings(const json::Value& object, const char* key,
                                        const std::string& what) {
  std::vector<std::string> out;
  for (const json::Value& v : array_member(object, key, what.c_str())) {
    FOVEA_CHECK(v.is_string(), "graph JSON: ", what, " \"", key, "\" must hold strings");
    out.push_back(v.as_string());
  }
  return out;
}

inline std::vector<ValueInfo> value_infos(const json::Value& graph, const char* key) {
  std::vector<ValueInfo> out;
  for (const json::Value& v : array_member(graph, key, "the graph")) {
    const json::Value* shape = v.is_object() ? v.find("shape") : nullptr;
    out.push_back({string_member(v, "name", key), string_member(v, "dtype", key),
                   shape != nullptr ? *shape : json::Value()});
  }
  return out;
}

}  // namespace detail

inline GraphDef parse_graph(const std::string& text, const std::string& source) {
  const json::Value graph = json::parse(text, source);
  GraphDef def;
  const json::Value& opset = detail::member(graph, "opset", "the graph");
  FOVEA_CHECK(opset.is_integer() && opset.as_int64() > 0 && opset.as_int64() < 1000,
              "graph JSON: \"opset\" must be a positive integer");
  def.opset = static_cast<int>(opset.as_int64());
  def.inputs = detail::value_infos(graph, "inputs");
  def.outputs = detail::value_infos(graph, "outputs");
  for (const json::Value& v : detail::array_member(graph, "initializers", "the graph")) {
    const std::string kind = detail::string_member(v, "kind", "an initializer");
    FOVEA_CHECK(kind == "float" || kind == "int", "graph JSON: initializer kind '", kind,
                "' is not float or int");
    def.initializers.push_back({detail::string_member(v, "name", "an initializer"),
                                detail::string_member(v, "tensor", "an initializer"),
                                kind == "int"});
  }
  for (const json::Value& v : detail::array_member(graph, "nodes", "the graph")) {
    NodeDef node;
    node.name = detail::string_member(v, "name", "a node");
    node.op_type = detail::string_member(v, "op_type", "a node");
    node.inputs = detail::strings(v, "inputs", node.where());
    node.outputs = detail::strings(v, "outputs", node.where());
    node.attributes = detail::member(v, "attributes", "a node");
    FOVEA_CHECK(node.attributes.is_object(), "graph JSON: ", node.where(),
                ": \"attributes\" must be an object");
    def.nodes.push_back(std::move(node));
  }
  return def;
}

}  // namespace fovea::graph
