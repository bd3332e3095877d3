// Dataflow: a model's inference computation as a flat list of primitive ops (conv, linear,
// activation, add, pools, flatten, channel scale), each naming the module it came from. A
// module appends its own ops in Module::lower, next to its forward, so the graph follows the
// module tree rather than a trace. Tools that transform whole models work on it: INT8
// quantization (fovea/quant/) calibrates, quantizes and runs it op by op.
//
// Every op produces one value, identified by the op's index; op 0 is the model's input. Batch
// norms must be folded into their convs first (prepare_for_inference or
// fold_batchnorm_in_place): a folded batch norm lowers to nothing.
//
// fuse() then merges what the kernels run as one pass: a residual add into the conv that feeds
// it, and a clamp activation (ReLU, ReLU6) into the conv, linear or add before it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/ops/activation/params.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea::nn {

enum class DataflowOp {
  input,
  conv,                    // inputs {x} or {x, residual}: act(conv(x) + bias + residual)
  linear,                  // inputs {x} or {x, residual}: act(x · Wᵀ + bias + residual)
  activation,              // inputs {x}
  add,                     // inputs {a, b}: act(a + b)
  max_pool,                // inputs {x}
  avg_pool,                // inputs {x}
  adaptive_avg_pool,       // inputs {x}, to out_h × out_w
  flatten,                 // inputs {x}: (N, C, H, W) → (N, C·H·W) in (c, h, w) order
  channel_scale,           // inputs {x, gates}: x[n, c, h, w] · gates[n, c]
  subsample_pad_channels,  // inputs {x}: x[:, :, ::2, ::2] with `pad` zero channels each side
};

inline const char* dataflow_op_name(DataflowOp op) {
  switch (op) {
    case DataflowOp::input:
      return "input";
    case DataflowOp::conv:
      return "conv";
    case DataflowOp::linear:
      return "linear";
    case DataflowOp::activation:
      return "activation";
    case DataflowOp::add:
      return "add";
    case DataflowOp::max_pool:
      return "max_pool";
    case DataflowOp::avg_pool:
      return "avg_pool";
    case DataflowOp::adaptive_avg_pool:
      return "adaptive_avg_pool";
    case DataflowOp::flatten:
      return "flatten";
    case DataflowOp::channel_scale:
      return "channel_scale";
    case DataflowOp::subsample_pad_channels:
      return "subsample_pad_channels";
  }
  return "?";
}

struct DataflowNode {
  DataflowOp op = DataflowOp::input;
  std::string name;                               // the module's path, e.g. "layer1.0.conv2"
  std::vector<int> inputs;                        // ids of earlier nodes
  ActivationKind act = ActivationKind::identity;  // after the sum (conv, linear, add), or the op
  Conv2dAttrs conv;
  Pool2dAttrs pool;
  int64_t out_h = 1, out_w = 1;  // adaptive_avg_pool
  int64_t pad = 0;               // subsample_pad_channels
  Tensor<float> weight, bias;    // conv [K, C/groups, R, S], linear [K, C]; bias may be empty

  bool has_residual() const {
    return (op == DataflowOp::conv || op == DataflowOp::linear) && inputs.size() == 2;
  }
};

class Dataflow {
 public:
  Dataflow() { nodes_.push_back(DataflowNode{}); }  // node 0: the input

  static constexpr int kInput = 0;

  const std::vector<DataflowNode>& nodes() const { return nodes_; }
  std::vector<DataflowNode>& nodes() { return nodes_; }
  const DataflowNode& node(int id) const { return nodes_.at(static_cast<size_t>(id)); }
  int output() const { return static_cast<int>(nodes_.size()) - 1; }

  // A graph for tools that read its structure rather than run it (fovea/prune/'s channel
  // groups): batch norms need not be folded. Each batch norm, folded or not, lowers to nothing
  // and is listed instead with the value it normalizes. Such a graph is not to be fused or run.
  struct BatchNormSite {
    std::string name;  // the module's path
    int value;         // the value it normalizes
  };
  void set_structure_only(bool on) { structure_only_ = on; }
  bool structure_only() const { return structure_only_; }
  void note_batchnorm(const std::string& name, int x) { batchnorms_.push_back({name, x}); }
  const std::vector<BatchNormSite>& batchnorms() const { return batchnorms_; }

  // The path of the module being lowered ("" at the root); children extend it.
  const std::string& path() const { return path_; }
  std::string path_of(const std::string& child) const {
    return path_.empty() ? child : path_ + "." + child;
  }

  // Lowers `child`, named `name` under the current path, on value x.
  int lower_child(const std::string& name, Module& child, int x) {
    std::string saved = path_of(name);
    std::swap(saved, path_);
    const int y = child.lower(*this, x);
    std::swap(saved, path_);
    return y;
  }
  // Lowers every child of a Sequential-like module in order.
  int lower_children(Module& module, int x) {
    for (const auto& [name, child] : module.children())
      x = lower_child(name, *child, x);
    return x;
  }

  int conv(const std::string& name, const Tensor<float>& weight, const Tensor<float>& bias,
           const Conv2dAttrs& attrs, int x) {
    DataflowNode n = make(DataflowOp::conv, name, {x});
    n.weight = weight;
    n.bias = bias;
    n.conv = attrs;
    return push(std::move(n));
  }
  int linear(const std::string& name, const Tensor<float>& weight, const Tensor<float>& bias,
             int x) {
    DataflowNode n = make(DataflowOp::linear, name, {x});
    n.weight = weight;
    n.bias = bias;
    return push(std::move(n));
  }
  int activation(const std::string& name, ActivationKind act, int x) {
    if (act == ActivationKind::identity) return x;
    DataflowNode n = make(DataflowOp::activation, name, {x});
    n.act = act;
    return push(std::move(n));
  }
  int add(const std::string& name, int a, int b, ActivationKind act = ActivationKind::identity) {
    DataflowNode n = make(DataflowOp::add, name, {a, b});
    n.act = act;
    return push(std::move(n));
  }
  int max_pool(const std::string& name, const Pool2dAttrs& attrs, int x) {
    DataflowNode n = make(DataflowOp::max_pool, name, {x});
    n.pool = attrs;
    return push(std::move(n));
  }
  int avg_pool(const std::string& name, const Pool2dAttrs& attrs, int x) {
    DataflowNode n = make(DataflowOp::avg_pool, name, {x});
    n.pool = attrs;
    return push(std::move(n));
  }
  int adaptive_avg_pool(const std::string& name, int64_t out_h, int64_t out_w, int x) {
    DataflowNode n = make(DataflowOp::adaptive_avg_pool, name, {x});
    n.out_h = out_h;
    n.out_w = out_w;
    return push(std::move(n));
  }
  int flatten(const std::string& name, int x) { return push(make(DataflowOp::flatten, name, {x})); }
  int channel_scale(const std::string& name, int x, int gates) {
    return push(make(DataflowOp::channel_scale, name, {x, gates}));
  }
  int subsample_pad_channels(const std::string& name, int64_t pad, int x) {
    DataflowNode n = make(DataflowOp::subsample_pad_channels, name, {x});
    n.pad = pad;
    return push(std::move(n));
  }

  // How many ops read each value (the graph's output counts one reader more).
  std::vector<int> reader_counts() const {
    std::vector<int> readers(nodes_.size(), 0);
    for (const DataflowNode& n : nodes_)
      for (int i : n.inputs)
        ++readers[static_cast<size_t>(i)];
    ++readers.back();
    return readers;
  }

  // Merges, where the sum feeds only the op after it: add(conv, r) into conv with residual r,
  // and a ReLU or ReLU6 into the conv, linear or add before it. The merged op takes the place
  // of the op it absorbed (so the residual is computed before it), keeping the producer's name.
  void fuse() {
    FOVEA_CHECK(!structure_only_, "dataflow: a structure-only graph cannot be fused");
    const std::vector<int> readers = reader_counts();
    std::vector<bool> dropped(nodes_.size(), false);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      DataflowNode& n = nodes_[i];
      if (n.op == DataflowOp::add && n.act == ActivationKind::identity) {
        for (int side = 0; side < 2; ++side) {
          const int p = n.inputs[static_cast<size_t>(side)];
          if (!sums_alone(nodes_[static_cast<size_t>(p)], readers[static_cast<size_t>(p)]))
            continue;
          const int residual = n.inputs[static_cast<size_t>(1 - side)];
          n = std::move(nodes_[static_cast<size_t>(p)]);
          n.inputs.push_back(residual);
          dropped[static_cast<size_t>(p)] = true;
          break;
        }
      } else if (n.op == DataflowOp::activation &&
                 (n.act == ActivationKind::relu || n.act == ActivationKind::relu6)) {
        const int p = n.inputs[0];
        const DataflowNode& producer = nodes_[static_cast<size_t>(p)];
        const bool sums = producer.op == DataflowOp::conv || producer.op == DataflowOp::linear ||
                          producer.op == DataflowOp::add;
        if (sums && producer.act == ActivationKind::identity &&
            readers[static_cast<size_t>(p)] == 1) {
          const ActivationKind act = n.act;
          n = std::move(nodes_[static_cast<size_t>(p)]);
          n.act = act;
          dropped[static_cast<size_t>(p)] = true;
        }
      }
    }
    renumber(dropped);
  }

 private:
  static DataflowNode make(DataflowOp op, const std::string& name, std::vector<int> inputs) {
    DataflowNode n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(inputs);
    return n;
  }

  int push(DataflowNode n) {
    for (int i : n.inputs)
      FOVEA_CHECK(i >= 0 && i < static_cast<int>(nodes_.size()), "dataflow: op '", n.name,
                  "' reads value ", i, ", which does not exist yet");
    nodes_.push_back(std::move(n));
    return output();
  }

  // A conv or linear without activation or residual, read by one op only.
  static bool sums_alone(const DataflowNode& n, int readers) {
    return (n.op == DataflowOp::conv || n.op == DataflowOp::linear) && !n.has_residual() &&
           n.act == ActivationKind::identity && readers == 1;
  }

  void renumber(const std::vector<bool>& dropped) {
    std::vector<int> new_id(nodes_.size(), -1);
    std::vector<DataflowNode> kept;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (dropped[i]) continue;
      new_id[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(nodes_[i]));
    }
    // A dropped node's only reader took its place, so no one reads a dropped id.
    for (DataflowNode& n : kept)
      for (int& in : n.inputs)
        in = new_id[static_cast<size_t>(in)];
    nodes_ = std::move(kept);
  }

  std::vector<DataflowNode> nodes_;
  std::string path_;
  bool structure_only_ = false;
  std::vector<BatchNormSite> batchnorms_;  // structure-only graphs
};

// The dataflow graph of `model`'s inference forward, fused. Batch norms must be folded.
inline Dataflow lower_to_dataflow(Module& model) {
  Dataflow graph;
  model.lower(graph, Dataflow::kInput);
  graph.fuse();
  return graph;
}

}  // namespace fovea::nn
