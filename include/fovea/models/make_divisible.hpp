// make_divisible: torchvision's channel rounding (from the TensorFlow MobileNet code), shared by
// MobileNetV2 and EfficientNet so their widths match torchvision's exactly.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fovea::models {

// `v` rounded to the nearest multiple of `divisor`, at least `min_value` (default: divisor),
// and bumped up one step if rounding lost more than 10%. Mirrors Python's
// max(min_value, int(v + divisor / 2) // divisor * divisor) in the same double arithmetic.
inline int64_t make_divisible(double v, int64_t divisor = 8, int64_t min_value = 0) {
  if (min_value == 0) min_value = divisor;
  const double half = static_cast<double>(divisor) / 2;
  int64_t rounded = std::max(min_value, static_cast<int64_t>(v + half) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

}  // namespace fovea::models
