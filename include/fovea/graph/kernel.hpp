// What an op compiles a node into: a Kernel maps the node's input values to its outputs. Ops
// read and check the node's attributes once, when the graph is loaded, and capture them.
#pragma once

#include <functional>
#include <vector>

#include "fovea/graph/node.hpp"
#include "fovea/graph/value.hpp"

namespace fovea::graph {

// One entry per node input; nullptr where an optional input was omitted ("").
using Inputs = std::vector<const GraphValue*>;
using Outputs = std::vector<GraphValue>;
using Kernel = std::function<Outputs(const Inputs&)>;

// Input i, which the op requires; `what` names it in the error ("X", "W").
inline const GraphValue& required(const Inputs& in, size_t i, const char* what) {
  FOVEA_CHECK(i < in.size() && in[i] != nullptr, "input ", i, " (", what, ") is missing");
  return *in[i];
}

inline const Tensor<float>& required_float(const Inputs& in, size_t i, const char* what) {
  const GraphValue& v = required(in, i, what);
  FOVEA_CHECK(v.is_float(), "input ", i, " (", what, ") must be float, got ", v.describe());
  return v.as_float();
}

inline const GraphValue* optional(const Inputs& in, size_t i) {
  return i < in.size() ? in[i] : nullptr;
}

inline Outputs single(GraphValue v) {
  Outputs out;
  out.push_back(std::move(v));
  return out;
}

}  // namespace fovea::graph
