// Graph: a network read from a weights file's graph JSON, run node by node. Value names map to
// slots; each node's kernel is compiled once at load, and at run time a value's slot is cleared
// right after its last reader, so memory holds only the live activations.
#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fovea/graph/ops.hpp"
#include "fovea/graph/schema.hpp"
#include "fovea/io/safetensors.hpp"

namespace fovea::graph {

class Graph {
 public:
  // Builds the graph in `file`'s "graph" metadata with its tensors as initializers. Throws
  // listing every node whose op type is not supported, or naming the first node whose
  // attributes are not, or any dangling value name.
  static Graph load(const SafeTensorsFile& file) {
    const auto it = file.metadata().find("graph");
    FOVEA_CHECK(it != file.metadata().end(), file.source(),
                ": no \"graph\" in the metadata (not a graph model; see docs/onnx.md)");
    Graph g;
    g.def_ = parse_graph(it->second, file.source() + " graph metadata");
    g.build(file);
    return g;
  }

  int opset() const { return def_.opset; }
  const std::vector<ValueInfo>& inputs() const { return def_.inputs; }
  const std::vector<ValueInfo>& outputs() const { return def_.outputs; }
  const std::vector<NodeDef>& nodes() const { return def_.nodes; }

  // Float initializers by ONNX name (the model's weights).
  std::vector<std::pair<std::string, Tensor<float>*>> float_initializers() {
    std::vector<std::pair<std::string, Tensor<float>*>> out;
    for (const InitializerDef& init : def_.initializers) {
      GraphValue& v = constants_[static_cast<size_t>(slot_of_.at(init.name))];
      if (v.is_float()) out.emplace_back(init.name, &v.as_float());
    }
    return out;
  }

  // Runs the graph on `feeds` (one per graph input, by name) and returns every graph output.
  // Float inputs must be float tensors; int64/int32 inputs int tensors. NHWC tensors are
  // accepted and read in logical order.
  std::map<std::string, GraphValue> run(const std::map<std::string, GraphValue>& feeds) const {
    std::vector<GraphValue> slots = constants_;
    for (const auto& [name, value] : feeds) {
      FOVEA_CHECK(input_slots_.count(name) != 0, "graph has no input '", name, "'");
    }
    for (const ValueInfo& in : def_.inputs) {
      const auto it = feeds.find(in.name);
      FOVEA_CHECK(it != feeds.end(), "graph input '", in.name, "' was not given");
      const bool want_float = in.dtype == "float" || in.dtype == "float16" || in.dtype == "double";
      FOVEA_CHECK(it->second.is_float() == want_float, "graph input '", in.name, "' is ", in.dtype,
                  ", got ", it->second.describe());
      GraphValue v = it->second;
      if (v.is_float() && v.as_float().layout() == Layout::nhwc) {
        v = GraphValue(v.as_float().to_layout(Layout::nchw));
      }
      check_input_shape(in, v.shape());
      slots[static_cast<size_t>(input_slots_.at(in.name))] = std::move(v);
    }
    for (const Step& step : steps_) {
      Inputs args;
      for (int s : step.inputs) {
        args.push_back(s < 0 ? nullptr : &slots[static_cast<size_t>(s)]);
      }
      Outputs results;
      try {
        results = step.kernel(args);
      } catch (const Error& e) {
        fail(def_.nodes[step.node].where(), ": ", e.what());
      }
      for (size_t i = 0; i < step.outputs.size() && i < results.size(); ++i) {
        if (step.outputs[i] >= 0) slots[static_cast<size_t>(step.outputs[i])] = results[i];
      }
      for (int s : step.release)
        slots[static_cast<size_t>(s)] = GraphValue();
    }
    std::map<std::string, GraphValue> out;
    for (const ValueInfo& o : def_.outputs) {
      out[o.name] = slots[static_cast<size_t>(slot_of_.at(o.name))];
    }
    return out;
  }

 private:
  struct Step {
    size_t node;  // index into def_.nodes (an index survives copying the Graph)
    Kernel kernel;
    std::vector<int> inputs, outputs;  // slots; -1 for omitted optional ones
    std::vector<int> release;          // slots whose last reader is this step
  };

  int new_slot(const std::string& name, const std::string& what) {
    FOVEA_CHECK(slot_of_.count(name) == 0, "graph value '", name, "' (", what,
                ") is defined twice");
    const int s = static_cast<int>(slot_of_.size());
    slot_of_[name] = s;
    return s;
  }

  void build(const SafeTensorsFile& file) {
    // Every unsupported op type at once, so one import attempt lists all the work to do.
    std::vector<std::string> unsupported;
    for (const NodeDef& node : def_.nodes) {
      if (op_table().count(node.op_type) == 0) unsupported.push_back(node.where());
    }
    if (!unsupported.empty()) {
      std::ostringstream out;
      out << file.source() << ": " << unsupported.size() << " node(s) use ops fovea does not "
          << "support:";
      for (const std::string& u : unsupported)
        out << "\n  " << u;
      throw Error(out.str());
    }
    for (const InitializerDef& init : def_.initializers) {
      new_slot(init.name, "initializer");
      constants_.push_back(init.is_int ? GraphValue(file.load<int32_t>(init.tensor))
                                       : GraphValue(file.load<float>(init.tensor)));
    }
    for (const ValueInfo& in : def_.inputs)
      input_slots_[in.name] = new_slot(in.name, "input");
    for (size_t index = 0; index < def_.nodes.size(); ++index) {
      const NodeDef& node = def_.nodes[index];
      Step step{index, nullptr, {}, {}, {}};
      try {
        step.kernel = op_table().at(node.op_type)(node, def_.opset);
      } catch (const Error& e) {
        const std::string message = e.what();
        // Errors raised by the attribute readers already name the node.
        if (message.rfind(node.where(), 0) == 0) throw;
        fail(node.where(), ": ", message);
      }
      for (const std::string& name : node.inputs) {
        if (name.empty()) {
          step.inputs.push_back(-1);
          continue;
        }
        FOVEA_CHECK(slot_of_.count(name) != 0, node.where(), " reads '", name,
                    "', which no earlier node, input or initializer defines");
        step.inputs.push_back(slot_of_.at(name));
      }
      for (const std::string& name : node.outputs) {
        step.outputs.push_back(name.empty() ? -1 : new_slot(name, node.where() + " output"));
      }
      steps_.push_back(std::move(step));
    }
    constants_.resize(slot_of_.size());
    std::set<int> kept;
    for (const ValueInfo& o : def_.outputs) {
      FOVEA_CHECK(slot_of_.count(o.name) != 0, "graph output '", o.name, "' is never defined");
      kept.insert(slot_of_.at(o.name));
    }
    // Release each value after its last reader; graph outputs stay.
    std::map<int, size_t> last_reader;
    for (size_t i = 0; i < steps_.size(); ++i) {
      for (int s : steps_[i].inputs) {
        if (s >= 0) last_reader[s] = i;
      }
    }
    for (const auto& [slot, step] : last_reader) {
      if (kept.count(slot) == 0) steps_[step].release.push_back(slot);
    }
  }

  // Fixed extents in the graph's input shape must match; symbolic ones (strings) match any.
  static void check_input_shape(const ValueInfo& in, const Shape& got) {
    if (!in.shape.is_array()) return;
    const json::Value::Array& dims = in.shape.as_array();
    FOVEA_CHECK(dims.size() == static_cast<size_t>(got.rank()), "graph input '", in.name,
                "' wants shape ", json::dump(in.shape), ", got ", got);
    for (size_t i = 0; i < dims.size(); ++i) {
      if (!dims[i].is_integer()) continue;
      FOVEA_CHECK(dims[i].as_int64() == got[static_cast<int>(i)], "graph input '", in.name,
                  "' wants shape ", json::dump(in.shape), ", got ", got);
    }
  }

  GraphDef def_;
  std::map<std::string, int> slot_of_;
  std::map<std::string, int> input_slots_;
  std::vector<GraphValue> constants_;  // initializers in their slots, other slots empty
  std::vector<Step> steps_;
};

}  // namespace fovea::graph
