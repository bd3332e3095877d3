// Activations that are not clamps (SiLU, sigmoid, hard-swish, tanh, hard-sigmoid) on 8-bit
// inputs: one table of 256 outputs, table[q] = quantize(act(dequantize(q))). An 8-bit input has
// only 256 values, so the table is the activation, exactly. Tables are built on the host when a
// model is quantized and stored in its file; every backend then looks up the same bytes.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "fovea/ops/activation/reference.hpp"
#include "fovea/quant/scheme.hpp"

namespace fovea::quant {

using LookupTable = std::array<uint8_t, 256>;

// act evaluated in double at each input value, rounded half to even onto the output's grid.
inline LookupTable make_lookup_table(ActivationKind act, const QuantParams& in,
                                     const QuantParams& out) {
  LookupTable table{};
  for (int q = 0; q < 256; ++q) {
    const double x = static_cast<double>(in.scale) * (q - in.zero_point);
    const double y = activate<double>(act, x) / static_cast<double>(out.scale);
    const double level = std::nearbyint(y) + out.zero_point;
    table[static_cast<size_t>(q)] = static_cast<uint8_t>(std::clamp(
        level, static_cast<double>(kActivationMin), static_cast<double>(kActivationMax)));
  }
  return table;
}

}  // namespace fovea::quant
