// Process-wide resource limits that turn a hostile or mistaken size into a clear error before
// any memory is touched. The loaders' own limits (file sizes, image pixels, JSON depth) live
// with them; docs/robustness.md lists every limit and its default.
#pragma once

#include <atomic>
#include <cstdint>

#include "fovea/core/error.hpp"

namespace fovea {

namespace detail {
inline std::atomic<int64_t>& max_tensor_bytes_setting() {
  // 16 GiB: far above any zoo model's largest tensor at batch 256 (ResNet-50's first stage
  // holds 0.8 GB there), far below what a corrupt shape or a typo asks for.
  static std::atomic<int64_t> bytes{int64_t{16} << 30};
  return bytes;
}
}  // namespace detail

// The most bytes one tensor may hold; a larger one is refused with fovea::Error naming its shape.
inline int64_t max_tensor_bytes() {
  return detail::max_tensor_bytes_setting().load();
}
inline void set_max_tensor_bytes(int64_t bytes) {
  FOVEA_CHECK(bytes > 0, "set_max_tensor_bytes wants a positive size, got ", bytes);
  detail::max_tensor_bytes_setting().store(bytes);
}

}  // namespace fovea
