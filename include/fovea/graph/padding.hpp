// ONNX's spatial padding for Conv and the pools: explicit "pads" (all begins, then all ends) or
// auto_pad SAME_UPPER / SAME_LOWER / VALID, resolved per input once its size is known.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fovea/graph/node.hpp"

namespace fovea::graph {

struct SpatialAttrs {
  std::vector<int64_t> kernel;     // may be empty for Conv (then the weight decides)
  std::vector<int64_t> strides;    // one per spatial dimension
  std::vector<int64_t> dilations;  // one per spatial dimension
  std::vector<int64_t> pads;       // begins then ends; used when auto_pad is NOTSET
  std::string auto_pad = "NOTSET";

  // Reads kernel_shape, strides, dilations, pads and auto_pad; `spatial` is the number of
  // spatial dimensions when known from kernel_shape, else 0 (checked again at run time).
  static SpatialAttrs read(const NodeDef& node, bool has_dilations) {
    SpatialAttrs a;
    a.kernel = node.attr_ints("kernel_shape", {});
    a.strides = node.attr_ints("strides", {});
    a.dilations = has_dilations ? node.attr_ints("dilations", {}) : std::vector<int64_t>{};
    a.pads = node.attr_ints("pads", {});
    a.auto_pad = node.attr_string("auto_pad", "NOTSET");
    FOVEA_CHECK(a.auto_pad == "NOTSET" || a.auto_pad == "SAME_UPPER" ||
                    a.auto_pad == "SAME_LOWER" || a.auto_pad == "VALID",
                node.where(), ": auto_pad '", a.auto_pad,
                "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    FOVEA_CHECK(a.auto_pad == "NOTSET" || a.pads.empty(), node.where(), ": pads and auto_pad ",
                a.auto_pad, " cannot both be given");
    return a;
  }

  // Fills defaults for `spatial` dimensions and checks the lengths of the given lists.
  void complete(size_t spatial) {
    if (strides.empty()) strides.assign(spatial, 1);
    if (dilations.empty()) dilations.assign(spatial, 1);
    if (pads.empty()) pads.assign(2 * spatial, 0);
    FOVEA_CHECK(strides.size() == spatial && dilations.size() == spatial &&
                    pads.size() == 2 * spatial && (kernel.empty() || kernel.size() == spatial),
                "strides, dilations, pads and kernel_shape must have ", spatial, ", ", spatial,
                ", ", 2 * spatial, " and ", spatial, " entries for ", spatial,
                " spatial dimension(s)");
    for (size_t i = 0; i < spatial; ++i) {
      FOVEA_CHECK(strides[i] > 0 && dilations[i] > 0, "strides and dilations must be positive");
      FOVEA_CHECK(pads[i] >= 0 && pads[i + spatial] >= 0, "pads must not be negative");
    }
  }

  // (begin, end) padding of spatial dimension i for an input of extent `input` and a kernel of
  // extent `k`. SAME keeps ceil(input / stride) outputs; an odd total goes at the end for
  // SAME_UPPER and at the beginning for SAME_LOWER.
  std::pair<int64_t, int64_t> padding(size_t i, int64_t input, int64_t k) const {
    const size_t spatial = strides.size();
    if (auto_pad == "NOTSET") return {pads[i], pads[i + spatial]};
    if (auto_pad == "VALID") return {0, 0};
    const int64_t out = (input + strides[i] - 1) / strides[i];
    const int64_t span = (k - 1) * dilations[i] + 1;
    const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + span - input);
    const int64_t small = total / 2, large = total - total / 2;
    return auto_pad == "SAME_UPPER" ? std::make_pair(small, large) : std::make_pair(large, small);
  }
};

}  // namespace fovea::graph
