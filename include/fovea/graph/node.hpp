// NodeDef: one node of the graph JSON (docs/onnx.md), and typed readers for its attributes that
// apply ONNX's defaults and name the node in every error.
#pragma once

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/io/json.hpp"

namespace fovea::graph {

struct NodeDef {
  std::string name, op_type;
  std::vector<std::string> inputs, outputs;  // "" marks an omitted optional input or output
  json::Value attributes = json::Value::object();

  // "node 'conv1' (Conv)": the prefix of every error about this node.
  std::string where() const { return "node '" + name + "' (" + op_type + ")"; }

  bool has(const std::string& attr) const { return attributes.find(attr) != nullptr; }

  // Input i when the node has it and it is not the empty name.
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
  bool has_output(size_t i) const { return i < outputs.size() && !outputs[i].empty(); }

  // Rejects attributes the op's implementation does not read: an unknown one could change the
  // result, so the node must not run as if it were absent.
  void check_attributes(std::initializer_list<const char*> known) const {
    for (const auto& member : attributes.as_object()) {
      bool found = false;
      for (const char* k : known)
        found = found || member.first == k;
      FOVEA_CHECK(found, where(), ": attribute '", member.first, "' is not supported");
    }
  }

  // Rejects every output past the first `count` that a graph would read.
  void check_outputs(size_t count) const {
    FOVEA_CHECK(has_output(0), where(), ": its first output has no name");
    for (size_t i = count; i < outputs.size(); ++i) {
      FOVEA_CHECK(outputs[i].empty(), where(), ": output ", i, " ('", outputs[i],
                  "') is not supported");
    }
  }

  int64_t attr_int(const std::string& attr, int64_t fallback) const {
    const json::Value* v = attributes.find(attr);
    if (v == nullptr) return fallback;
    FOVEA_CHECK(v->is_integer(), where(), ": attribute '", attr, "' must be an integer, got ",
                json::abbreviate(json::dump(*v)));
    return v->as_int64();
  }

  double attr_float(const std::string& attr, double fallback) const {
    const json::Value* v = attributes.find(attr);
    return v == nullptr ? fallback : to_double(attr, *v);
  }

  std::string attr_string(const std::string& attr, const std::string& fallback) const {
    const json::Value* v = attributes.find(attr);
    if (v == nullptr) return fallback;
    FOVEA_CHECK(v->is_string(), where(), ": attribute '", attr, "' must be a string");
    return v->as_string();
  }

  std::vector<int64_t> attr_ints(const std::string& attr, std::vector<int64_t> fallback) const {
    const json::Value* v = attributes.find(attr);
    if (v == nullptr) return fallback;
    FOVEA_CHECK(v->is_array(), where(), ": attribute '", attr, "' must be a list of integers");
    std::vector<int64_t> out;
    for (const json::Value& e : v->as_array()) {
      FOVEA_CHECK(e.is_integer(), where(), ": attribute '", attr, "' must be a list of integers");
      out.push_back(e.as_int64());
    }
    return out;
  }

 private:
  // Numbers, or the strings "inf", "-inf" and "nan" the importer writes for values JSON lacks.
  double to_double(const std::string& attr, const json::Value& v) const {
    if (v.is_number()) return v.as_number();
    if (v.is_string()) {
      if (v.as_string() == "inf") return std::numeric_limits<double>::infinity();
      if (v.as_string() == "-inf") return -std::numeric_limits<double>::infinity();
      if (v.as_string() == "nan") return std::numeric_limits<double>::quiet_NaN();
    }
    fail(where(), ": attribute '", attr, "' must be a number, got ",
         json::abbreviate(json::dump(v)));
  }
};

}  // namespace fovea::graph
