// keep_indices: a tensor's slices along one axis, for layers that drop channels (structured
// pruning, fovea/prune/). The layers' keep_*_channels methods rebuild their tensors with it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"

// Kept out of fovea::nn: an nn::detail namespace would hide fovea::detail from every layer.
namespace fovea::detail {

// Checks that `kept` lists channels of a `count`-channel axis, increasing, at least one, so a
// pruned layer keeps its channels' order (its consumers' order must match).
inline void check_kept_indices(const std::vector<int64_t>& kept, int64_t count, const char* what) {
  FOVEA_CHECK(!kept.empty(), what, ": keeping no channel of ", count, " would empty the layer");
  for (size_t i = 0; i < kept.size(); ++i) {
    FOVEA_CHECK(kept[i] >= 0 && kept[i] < count, what, ": channel ", kept[i], " is not one of ",
                count);
    FOVEA_CHECK(i == 0 || kept[i] > kept[i - 1], what, ": kept channels must be increasing, got ",
                kept[i - 1], " then ", kept[i]);
  }
}

// A new contiguous NCHW tensor holding t's slices `kept` along `axis`, in that order.
inline Tensor<float> keep_indices(const Tensor<float>& t, int axis,
                                  const std::vector<int64_t>& kept, const char* what) {
  FOVEA_CHECK(axis >= 0 && axis < t.rank(), what, ": axis ", axis, " of a rank-", t.rank(),
              " tensor");
  FOVEA_CHECK(t.layout() == Layout::nchw, what, ": weights must be in NCHW order");
  check_kept_indices(kept, t.dim(axis), what);
  // Row-major: the tensor is `outer` blocks of dim(axis) slices of `inner` values each.
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i)
    outer *= t.dim(i);
  for (int i = axis + 1; i < t.rank(); ++i)
    inner *= t.dim(i);
  Shape shape = t.shape();
  shape[axis] = static_cast<int64_t>(kept.size());
  Tensor<float> out(shape);
  const float* src = t.data();
  float* dst = out.data();
  for (int64_t o = 0; o < outer; ++o) {
    const float* block = src + o * t.dim(axis) * inner;
    for (int64_t k : kept) {
      const float* slice = block + k * inner;
      dst = std::copy(slice, slice + inner, dst);
    }
  }
  return out;
}

}  // namespace fovea::detail
