// A model's size and compute: parameters, and the multiply-adds (MACs) of one forward pass on
// an input shape, found by carrying the shape through the model's structure-only dataflow graph
// (nn/dataflow.hpp). Convs and linear layers count; batch norms, activations, pools, adds and
// squeeze-excitation scaling are a small share and are left out, as the usual MAC counts do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/ops/pool2d/params.hpp"
#include "fovea/prune/channel_groups.hpp"

namespace fovea::prune {

struct ModelCost {
  int64_t parameters = 0;  // learned values (not running statistics)
  int64_t macs = 0;        // multiply-adds of one forward pass on the given input
};

struct LayerMacs {
  std::string name;  // the conv's or linear layer's path in the model
  int64_t macs = 0;
};

// Multiply-adds of each conv and linear layer of one inference forward of `model` on an input
// of shape `input` (N, C, H, W), in forward order.
inline std::vector<LayerMacs> layer_macs(nn::Module& model, const Shape& input) {
  using nn::DataflowOp;
  FOVEA_CHECK(input.rank() == 4, "count_macs needs an (N, C, H, W) input shape, got ", input);
  const nn::Dataflow graph = detail::lower_structure(model);
  std::vector<Shape> shape(graph.nodes().size());
  shape[0] = input;
  std::vector<LayerMacs> macs;
  for (size_t v = 1; v < shape.size(); ++v) {
    const nn::DataflowNode& n = graph.nodes()[v];
    const Shape& x = shape[static_cast<size_t>(n.inputs.at(0))];
    switch (n.op) {
      case DataflowOp::conv: {
        const Conv2dParams p = Conv2dParams::make(x, n.weight.shape(), n.conv);
        macs.push_back({n.name, p.n * p.k * p.p * p.q * p.c_per_group() * p.r * p.s});
        shape[v] = p.output_shape();
        break;
      }
      case DataflowOp::linear:
        FOVEA_CHECK(x.rank() == 2 && x[1] == n.weight.dim(1), n.name, ": linear on ", x,
                    " with weight ", n.weight.shape());
        macs.push_back({n.name, x[0] * n.weight.dim(0) * n.weight.dim(1)});
        shape[v] = Shape{x[0], n.weight.dim(0)};
        break;
      case DataflowOp::max_pool:
      case DataflowOp::avg_pool:
        shape[v] = Pool2dParams::make(x, n.pool, n.name.c_str()).output_shape();
        break;
      case DataflowOp::adaptive_avg_pool:
        shape[v] = Shape{x[0], x[1], n.out_h, n.out_w};
        break;
      case DataflowOp::flatten:
        shape[v] = Shape{x[0], x.numel() / x[0]};
        break;
      case DataflowOp::subsample_pad_channels:
        shape[v] = Shape{x[0], x[1] + 2 * n.pad, (x[2] + 1) / 2, (x[3] + 1) / 2};
        break;
      case DataflowOp::activation:
      case DataflowOp::add:
      case DataflowOp::channel_scale:
        shape[v] = x;
        break;
      case DataflowOp::input:
        fail("count_macs: ", n.name, " is a second input");
    }
  }
  return macs;
}

// Multiply-adds of one inference forward of `model` on an input of shape `input` (N, C, H, W).
inline int64_t count_macs(nn::Module& model, const Shape& input) {
  int64_t total = 0;
  for (const LayerMacs& layer : layer_macs(model, input))
    total += layer.macs;
  return total;
}

inline ModelCost model_cost(nn::Module& model, const Shape& input) {
  return ModelCost{model.parameter_count(), count_macs(model, input)};
}

}  // namespace fovea::prune
