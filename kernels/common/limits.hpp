// Size limits shared by the launchers, and the grid arithmetic they use.
#pragma once

#include <climits>
#include <cstdint>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"

namespace fovea::cuda::detail {

// Half the int32 range: kernels index dimensions and per-tensor positions in int32, add two such
// values at most, and form memory offsets in int64.
inline constexpr int64_t kMaxElements = INT_MAX / 2;

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Throws unless `shape` is small enough for 32-bit kernel indices; `what` names the tensor.
inline void check_index_range(const Shape& shape, const char* what) {
  FOVEA_CHECK(shape.numel() <= kMaxElements, what, " ", shape, " has more than ", kMaxElements,
              " elements, the CUDA kernels' 32-bit index limit");
}

// Blocks for a grid-stride loop over `items` with `threads` per block: enough to fill any
// current GPU many times over, never more than the items need, at least one.
inline unsigned grid_stride_blocks(int64_t items, int threads) {
  const int64_t blocks = ceil_div(items, threads);
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > (1 << 16) ? (1 << 16) : blocks));
}

}  // namespace fovea::cuda::detail
