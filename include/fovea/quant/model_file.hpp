// The quantized model file: a safetensors file whose metadata holds the graph and whose tensors
// hold every op's weights and every value's params. It loads on its own, without the float
// model or the calibration data, and nothing in it is trusted before it is checked: dtypes,
// shapes, scales (finite, > 0), zero points ([0, 255]), graph edges (each op reads earlier
// values only) and the params INT8 ops must pass through. docs/int8.md describes the layout.
//
// Metadata: "architecture" = "int8" (what load_model dispatches on), "int8_format" = "1",
// "int8_graph" (JSON, one object per op: name, op, inputs, precision, act and the op's
// attributes), "int8_source_architecture", and whatever the writer adds (calibration,
// preprocessing, num_classes). Tensors: "values.scale" F32 [V] and "values.zero_point" I32 [V]
// (one per op's value), and per op i "ops.i.weight", "ops.i.weight_scale", "ops.i.bias",
// "ops.i.table".
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fovea/io/json.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/quant/compile.hpp"
#include "fovea/quant/quantized_model.hpp"

namespace fovea::quant {

inline constexpr const char* kInt8Architecture = "int8";
inline constexpr const char* kInt8FormatVersion = "1";

namespace detail {

inline json::Value ints(std::initializer_list<int64_t> values) {
  json::Value a = json::Value::array();
  for (int64_t v : values)
    a.push_back(v);
  return a;
}

inline std::string tensor_name(size_t op, const char* what) {
  return "ops." + std::to_string(op) + "." + what;
}

inline json::Value describe_op(const QNode& node) {
  const nn::DataflowNode& d = node.def;
  json::Value o = json::Value::object();
  o.set("name", d.name);
  o.set("op", nn::dataflow_op_name(d.op));
  json::Value inputs = json::Value::array();
  for (int i : d.inputs)
    inputs.push_back(i);
  o.set("inputs", inputs);
  o.set("precision", precision_name(node.precision));
  o.set("act", activation_name(d.act));
  switch (d.op) {
    case nn::DataflowOp::conv:
      o.set("stride", ints({d.conv.stride_h, d.conv.stride_w}));
      o.set("padding",
            ints({d.conv.pad_top, d.conv.pad_left, d.conv.pad_bottom, d.conv.pad_right}));
      o.set("dilation", ints({d.conv.dilation_h, d.conv.dilation_w}));
      o.set("groups", d.conv.groups);
      o.set("dequantize", node.conv.dequantize);
      break;
    case nn::DataflowOp::linear:
      o.set("dequantize", node.conv.dequantize);
      break;
    case nn::DataflowOp::max_pool:
    case nn::DataflowOp::avg_pool:
      o.set("kernel", ints({d.pool.kernel_h, d.pool.kernel_w}));
      o.set("stride", ints({d.pool.stride_h, d.pool.stride_w}));
      o.set("padding",
            ints({d.pool.pad_top, d.pool.pad_left, d.pool.pad_bottom, d.pool.pad_right}));
      o.set("ceil_mode", d.pool.ceil_mode);
      o.set("count_include_pad", d.pool.count_include_pad);
      break;
    case nn::DataflowOp::adaptive_avg_pool:
      o.set("output_size", ints({d.out_h, d.out_w}));
      break;
    case nn::DataflowOp::subsample_pad_channels:
      o.set("pad", d.pad);
      break;
    default:
      break;
  }
  return o;
}

}  // namespace detail

// Writes `model` to `path` (atomically), with `metadata` added (e.g. calibration, preprocessing).
inline void save_quantized(const QuantizedModel& model, const std::string& path,
                           const std::map<std::string, std::string>& metadata = {}) {
  SafeTensorsWriter writer;
  for (const auto& [key, value] : metadata)
    writer.set_metadata(key, value);
  writer.set_metadata("architecture", kInt8Architecture);
  writer.set_metadata("int8_format", kInt8FormatVersion);
  writer.set_metadata("int8_source_architecture", model.architecture());
  const std::vector<QNode>& nodes = model.nodes();
  json::Value graph = json::Value::array();
  Tensor<float> scales(Shape{static_cast<int64_t>(nodes.size())});
  Tensor<int32_t> zero_points(Shape{static_cast<int64_t>(nodes.size())});
  for (size_t i = 0; i < nodes.size(); ++i) {
    const QNode& node = nodes[i];
    graph.push_back(detail::describe_op(node));
    scales[static_cast<int64_t>(i)] = node.out.scale;
    zero_points[static_cast<int64_t>(i)] = node.out.zero_point;
    const nn::DataflowOp op = node.def.op;
    const bool sums = op == nn::DataflowOp::conv || op == nn::DataflowOp::linear;
    if (sums && node.precision == Precision::int8) {
      const QConvWeights& w = node.conv.weights;
      writer.add(detail::tensor_name(i, "weight"), w.weight);
      writer.add(detail::tensor_name(i, "weight_scale"),
                 Tensor<float>::wrap(const_cast<float*>(w.scales.data()),
                                     Shape{static_cast<int64_t>(w.scales.size())}));
      writer.add(detail::tensor_name(i, "bias"), w.bias);
    } else if (sums) {
      writer.add(detail::tensor_name(i, "weight"), node.def.weight);
      if (!node.def.bias.empty()) writer.add(detail::tensor_name(i, "bias"), node.def.bias);
    } else if (op == nn::DataflowOp::activation && node.precision == Precision::int8 &&
               !is_clamp_activation(node.def.act)) {
      writer.add(detail::tensor_name(i, "table"),
                 Tensor<uint8_t>::wrap(const_cast<uint8_t*>(node.table.data()), Shape{256}));
    }
  }
  writer.set_metadata("int8_graph", json::dump(graph));
  writer.add("values.scale", scales);
  writer.add("values.zero_point", zero_points);
  writer.write(path);
}

namespace detail {

// Reads one op of a quantized file, checking everything against the file's own claims.
class QuantizedFileReader {
 public:
  explicit QuantizedFileReader(const SafeTensorsFile& file) : file_(file) {}

  std::unique_ptr<QuantizedModel> read() {
    const auto& meta = file_.metadata();
    const auto version = meta.find("int8_format");
    check(version != meta.end() && version->second == kInt8FormatVersion, "int8_format must be \"",
          kInt8FormatVersion, "\", got ",
          version == meta.end() ? "none" : "\"" + version->second + "\"");
    const auto graph_it = meta.find("int8_graph");
    check(graph_it != meta.end(), "no \"int8_graph\" metadata");
    const json::Value graph = json::parse(graph_it->second, file_.source() + " int8_graph");
    check(graph.is_array() && graph.size() >= 2, "int8_graph must list the input and its ops");
    const int64_t count = static_cast<int64_t>(graph.size());
    const Tensor<float> scales = load_exact<float>("values.scale", DType::f32, Shape{count});
    const Tensor<int32_t> zero_points =
        load_exact<int32_t>("values.zero_point", DType::i32, Shape{count});
    std::vector<QNode> nodes(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      QNode& node = nodes[static_cast<size_t>(i)];
      node.out = QuantParams{scales[i], zero_points[i]};
      check_params(node.out, file_.source() + ": value " + std::to_string(i));
      read_op(graph.at(static_cast<size_t>(i)), static_cast<size_t>(i), nodes);
    }
    for (const TensorRecord& r : file_.tensors())
      check(claimed_.count(r.name) != 0, "tensor '", r.name, "' belongs to no op");
    const auto source = meta.find("int8_source_architecture");
    return std::make_unique<QuantizedModel>(std::move(nodes),
                                            source != meta.end() ? source->second : "int8");
  }

 private:
  template <class... Parts>
  void check(bool ok, const Parts&... parts) const {
    if (!ok) fail(file_.source(), ": ", parts...);
  }

  template <class T>
  Tensor<T> load_exact(const std::string& name, DType dtype, const Shape& shape) {
    check(file_.contains(name), "missing tensor '", name, "'");
    const TensorRecord& r = file_.record(name);
    check(r.dtype == dtype, "tensor '", name, "' must be ", dtype_name(dtype), ", got ",
          dtype_name(r.dtype));
    check(shape.rank() == 0 || r.shape == shape, "tensor '", name, "' must be ", shape, ", got ",
          r.shape);
    claimed_.insert(name);
    return file_.load<T>(name);
  }

  std::vector<int64_t> int_list(const json::Value& o, const char* key, size_t size,
                                const std::string& where) const {
    const json::Value* v = o.find(key);
    check(v != nullptr && v->is_array() && v->size() == size, where, ": '", key, "' must be ", size,
          " integers");
    std::vector<int64_t> out;
    for (const json::Value& e : v->as_array()) {
      check(e.is_integer(), where, ": '", key, "' must be ", size, " integers");
      out.push_back(e.as_int64());
    }
    return out;
  }

  static ActivationKind parse_act(const std::string& name, bool& ok) {
    for (ActivationKind k : kAllActivationKinds)
      if (name == activation_name(k)) return k;
    ok = false;
    return ActivationKind::identity;
  }

  static nn::DataflowOp parse_op(const std::string& name, bool& ok) {
    using nn::DataflowOp;
    for (DataflowOp op : {DataflowOp::input, DataflowOp::conv, DataflowOp::linear,
                          DataflowOp::activation, DataflowOp::add, DataflowOp::max_pool,
                          DataflowOp::avg_pool, DataflowOp::adaptive_avg_pool, DataflowOp::flatten,
                          DataflowOp::channel_scale, DataflowOp::subsample_pad_channels})
      if (name == nn::dataflow_op_name(op)) return op;
    ok = false;
    return DataflowOp::input;
  }

  void read_op(const json::Value& o, size_t i, std::vector<QNode>& nodes) {
    std::string where = "op " + std::to_string(i);
    check(o.is_object(), where, " must be a JSON object");
    const json::Value* name = o.find("name");
    const json::Value* op_name = o.find("op");
    check(name != nullptr && name->is_string() && op_name != nullptr && op_name->is_string(), where,
          " needs string 'name' and 'op'");
    where += " '" + name->as_string() + "'";
    QNode& node = nodes[i];
    nn::DataflowNode& d = node.def;
    d.name = name->as_string();
    bool ok = true;
    d.op = parse_op(op_name->as_string(), ok);
    check(ok, where, ": unknown op '", op_name->as_string(), "'");
    check((i == 0) == (d.op == nn::DataflowOp::input), where,
          i == 0 ? ": the first op must be the input" : ": only the first op may be the input");
    const json::Value* inputs = o.find("inputs");
    check(inputs != nullptr && inputs->is_array(), where, ": 'inputs' must be a list");
    for (const json::Value& v : inputs->as_array()) {
      check(v.is_integer() && v.as_int64() >= 0 && v.as_int64() < static_cast<int64_t>(i), where,
            ": inputs must be earlier ops");
      d.inputs.push_back(static_cast<int>(v.as_int64()));
    }
    const size_t min_inputs = d.op == nn::DataflowOp::input ? 0
                              : d.op == nn::DataflowOp::add || d.op == nn::DataflowOp::channel_scale
                                  ? 2
                                  : 1;
    const bool sums = d.op == nn::DataflowOp::conv || d.op == nn::DataflowOp::linear;
    const size_t max_inputs = sums ? 2 : min_inputs;
    check(d.inputs.size() >= min_inputs && d.inputs.size() <= max_inputs, where, ": ",
          d.inputs.size(), " inputs, expected ", min_inputs,
          max_inputs != min_inputs ? " or " + std::to_string(max_inputs) : std::string());
    const json::Value* precision = o.find("precision");
    check(precision != nullptr && precision->is_string() &&
              (precision->as_string() == "int8" || precision->as_string() == "fp32"),
          where, ": precision must be \"int8\" or \"fp32\"");
    node.precision = precision->as_string() == "int8" ? Precision::int8 : Precision::fp32;
    check(!(i == 0 && node.precision == Precision::int8), where, ": the input is float");
    const json::Value* act = o.find("act");
    check(act != nullptr && act->is_string(), where, ": 'act' must be an activation name");
    d.act = parse_act(act->as_string(), ok);
    check(ok, where, ": unknown activation '", act->as_string(), "'");
    read_attributes(o, d, where);
    if (node.precision == Precision::int8)
      read_int8(o, i, nodes, where);
    else if (sums)
      read_fp32_weights(i, d, where);
  }

  void read_attributes(const json::Value& o, nn::DataflowNode& d, const std::string& where) {
    if (d.op == nn::DataflowOp::conv) {
      const auto stride = int_list(o, "stride", 2, where);
      const auto pad = int_list(o, "padding", 4, where);
      const auto dilation = int_list(o, "dilation", 2, where);
      const json::Value* groups = o.find("groups");
      check(groups != nullptr && groups->is_integer() && groups->as_int64() > 0, where,
            ": 'groups' must be a positive integer");
      d.conv =
          Conv2dAttrs{stride[0],   stride[1],         pad[0], pad[1], pad[2], pad[3], dilation[0],
                      dilation[1], groups->as_int64()};
      check(stride[0] > 0 && stride[1] > 0 && dilation[0] > 0 && dilation[1] > 0 && pad[0] >= 0 &&
                pad[1] >= 0 && pad[2] >= 0 && pad[3] >= 0,
            where, ": strides and dilations must be positive, padding not negative");
    } else if (d.op == nn::DataflowOp::max_pool || d.op == nn::DataflowOp::avg_pool) {
      const auto kernel = int_list(o, "kernel", 2, where);
      const auto stride = int_list(o, "stride", 2, where);
      const auto pad = int_list(o, "padding", 4, where);
      d.pool = Pool2dAttrs{kernel[0], kernel[1], stride[0], stride[1], pad[0],
                           pad[1],    pad[2],    pad[3],    false,     true};
      const json::Value* ceil = o.find("ceil_mode");
      const json::Value* include = o.find("count_include_pad");
      check(ceil != nullptr && ceil->is_bool() && include != nullptr && include->is_bool(), where,
            ": 'ceil_mode' and 'count_include_pad' must be true or false");
      d.pool.ceil_mode = ceil->as_bool();
      d.pool.count_include_pad = include->as_bool();
    } else if (d.op == nn::DataflowOp::adaptive_avg_pool) {
      const auto size = int_list(o, "output_size", 2, where);
      check(size[0] > 0 && size[1] > 0, where, ": output_size must be positive");
      d.out_h = size[0];
      d.out_w = size[1];
    } else if (d.op == nn::DataflowOp::subsample_pad_channels) {
      const json::Value* pad = o.find("pad");
      check(pad != nullptr && pad->is_integer() && pad->as_int64() >= 0, where,
            ": 'pad' must be a whole number");
      d.pad = pad->as_int64();
    }
  }

  void read_fp32_weights(size_t i, nn::DataflowNode& d, const std::string& where) {
    const std::string w = tensor_name(i, "weight"), b = tensor_name(i, "bias");
    d.weight = load_exact<float>(w, DType::f32, Shape{});
    const int rank = d.op == nn::DataflowOp::conv ? 4 : 2;
    check(d.weight.rank() == rank, where, ": weight must have rank ", rank, ", got ",
          d.weight.shape());
    if (file_.contains(b)) d.bias = load_exact<float>(b, DType::f32, Shape{d.weight.dim(0)});
  }

  void read_int8(const json::Value& o, size_t i, std::vector<QNode>& nodes,
                 const std::string& where) {
    QNode& node = nodes[i];
    const nn::DataflowNode& d = node.def;
    const QuantParams& input = nodes[static_cast<size_t>(d.inputs[0])].out;
    if (passes_params_through(d.op))
      check(node.out == input, where, ": an INT8 ", nn::dataflow_op_name(d.op),
            " must keep its input's params");
    if (d.op == nn::DataflowOp::activation && !is_clamp_activation(d.act)) {
      const Tensor<uint8_t> table =
          load_exact<uint8_t>(tensor_name(i, "table"), DType::u8, Shape{256});
      std::copy(table.begin(), table.end(), node.table.begin());
    }
    if (d.op != nn::DataflowOp::conv && d.op != nn::DataflowOp::linear) return;
    check(is_clamp_activation(d.act), where, ": an INT8 conv's activation must be a clamp");
    const json::Value* dequantize = o.find("dequantize");
    check(dequantize != nullptr && dequantize->is_bool(), where,
          ": 'dequantize' must be true or false");
    QConvLayer& layer = node.conv;
    layer.weights.weight = load_exact<int8_t>(tensor_name(i, "weight"), DType::i8, Shape{});
    const Tensor<int8_t>& w = layer.weights.weight;
    check(w.rank() == 4 && w.numel() > 0, where, ": weight must be a non-empty rank-4 tensor, got ",
          w.shape());
    const int64_t k = w.dim(0);
    const Tensor<float> scales =
        load_exact<float>(tensor_name(i, "weight_scale"), DType::f32, Shape{k});
    for (int64_t c = 0; c < k; ++c)
      check(std::isfinite(scales[c]) && scales[c] > 0, where, ": weight_scale[", c,
            "] must be finite and > 0, got ", scales[c]);
    layer.weights.scales.assign(scales.begin(), scales.end());
    layer.weights.bias = load_exact<int32_t>(tensor_name(i, "bias"), DType::i32, Shape{k});
    for (int64_t c = 0; c < k; ++c)
      check(std::abs(static_cast<int64_t>(layer.weights.bias[c])) <= (int64_t{1} << 30), where,
            ": bias[", c, "] is outside ±2^30");
    for (int64_t e = 0; e < w.numel(); ++e)
      check(w[e] >= -kWeightMax, where, ": weight ", int(w[e]), " is outside [-127, 127]");
    check(layer.weights.reduction() <= kMaxReduction, where, ": a reduction of ",
          layer.weights.reduction(), " terms could overflow int32");
    layer.attrs = d.op == nn::DataflowOp::conv ? d.conv : Conv2dAttrs{};
    if (d.op == nn::DataflowOp::linear)
      check(w.dim(2) == 1 && w.dim(3) == 1, where, ": linear weight must be [K, C, 1, 1]");
    check(k % layer.attrs.groups == 0, where, ": ", k, " output channels do not divide by groups ",
          layer.attrs.groups);
    layer.input = input;
    layer.act = d.act;
    layer.output = node.out;
    layer.dequantize = dequantize->as_bool();
    check(!layer.dequantize || i + 1 == nodes.size(), where,
          ": only the last op may leave INT8 as float");
    if (d.has_residual()) layer.residual = nodes[static_cast<size_t>(d.inputs[1])].out;
  }

  const SafeTensorsFile& file_;
  std::set<std::string> claimed_;
};

}  // namespace detail

// Builds the model a quantized file holds; throws naming the file and what is wrong.
inline std::unique_ptr<QuantizedModel> load_quantized(const SafeTensorsFile& file) {
  return detail::QuantizedFileReader(file).read();
}

}  // namespace fovea::quant
