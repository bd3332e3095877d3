// Linear problem description: input [N, in], weight [out, in] (torch's layout), output [N, out].
#pragma once

#include <cstdint>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"

namespace fovea {

struct LinearParams {
  int64_t n = 0, in = 0, out = 0;

  static LinearParams make(const Shape& input, const Shape& weight) {
    FOVEA_CHECK(input.rank() == 2, "linear input must be [N, in_features], got ", input,
                " (flatten image tensors first)");
    FOVEA_CHECK(weight.rank() == 2, "linear weight must be [out_features, in_features], got ",
                weight);
    FOVEA_CHECK(weight[1] == input[1], "linear weight ", weight, " expects ", weight[1],
                " input features, input ", input, " has ", input[1]);
    LinearParams p;
    p.n = input[0], p.in = input[1], p.out = weight[0];
    return p;
  }

  Shape output_shape() const { return {n, out}; }
  // Multiply-adds counted as two operations, as for conv2d.
  double flops() const { return 2.0 * n * in * out; }
};

}  // namespace fovea
