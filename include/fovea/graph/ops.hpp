// The op table: every ONNX op type the graph runtime runs, and the function that compiles a node
// of that type. An op type not listed here makes the loader refuse the file, naming the node.
// weights_tools/import_onnx.py keeps the same list (SUPPORTED_OPS) to fail before writing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fovea/graph/ops_elementwise.hpp"
#include "fovea/graph/ops_nn.hpp"
#include "fovea/graph/ops_reduce.hpp"
#include "fovea/graph/ops_shape.hpp"

namespace fovea::graph {

using CompileFn = Kernel (*)(const NodeDef&, int opset);

inline const std::map<std::string, CompileFn>& op_table() {
  static const std::map<std::string, CompileFn> table = {
      {"Add", [](const NodeDef& n, int o) { return compile_binary(n, o, BinaryOp::add); }},
      {"AveragePool", [](const NodeDef& n, int o) { return compile_pool(n, o, false); }},
      {"BatchNormalization", compile_batchnorm},
      {"Clip", compile_clip},
      {"Concat", compile_concat},
      {"Conv", compile_conv},
      {"Div", [](const NodeDef& n, int o) { return compile_binary(n, o, BinaryOp::div); }},
      {"Dropout", compile_dropout},
      {"Exp", compile_exp},
      {"Flatten", compile_flatten},
      {"Gather", compile_gather},
      {"Gemm", compile_gemm},
      {"GlobalAveragePool", compile_global_average_pool},
      {"HardSigmoid", compile_hard_sigmoid},
      {"HardSwish",
       [](const NodeDef& n, int o) { return compile_activation(n, o, ActivationKind::hardswish); }},
      {"Identity", compile_identity},
      {"MatMul", compile_matmul},
      {"MaxPool", [](const NodeDef& n, int o) { return compile_pool(n, o, true); }},
      {"Mul", [](const NodeDef& n, int o) { return compile_binary(n, o, BinaryOp::mul); }},
      {"ReduceMax", [](const NodeDef& n, int o) { return compile_reduce(n, o, ReduceOp::max); }},
      {"ReduceMean", [](const NodeDef& n, int o) { return compile_reduce(n, o, ReduceOp::mean); }},
      {"ReduceSum", [](const NodeDef& n, int o) { return compile_reduce(n, o, ReduceOp::sum); }},
      {"Relu",
       [](const NodeDef& n, int o) { return compile_activation(n, o, ActivationKind::relu); }},
      {"Reshape", compile_reshape},
      {"Shape", compile_shape},
      {"Sigmoid",
       [](const NodeDef& n, int o) { return compile_activation(n, o, ActivationKind::sigmoid); }},
      {"Softmax", compile_softmax},
      {"Squeeze", [](const NodeDef& n, int o) { return compile_squeeze(n, o, false); }},
      {"Sub", [](const NodeDef& n, int o) { return compile_binary(n, o, BinaryOp::sub); }},
      {"Transpose", compile_transpose},
      {"Unsqueeze", [](const NodeDef& n, int o) { return compile_squeeze(n, o, true); }},
  };
  return table;
}

inline std::vector<std::string> supported_op_types() {
  std::vector<std::string> names;
  for (const auto& entry : op_table())
    names.push_back(entry.first);
  return names;
}

}  // namespace fovea::graph
