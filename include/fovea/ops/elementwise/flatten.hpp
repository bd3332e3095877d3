// flatten: dimensions from start_dim on merged into one, like torch.flatten(x, start_dim).
#pragma once

#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/elementwise/indexing.hpp"

namespace fovea {

// A view of x's memory when x is NCHW, so it is free; an NHWC input is first copied to NCHW,
// because flattening must read elements in torch's (C, H, W) order.
template <class T>
Tensor<T> flatten(const Tensor<T>& x, int start_dim = 1) {
  FOVEA_CHECK(x.rank() >= 1, "flatten needs a tensor of rank 1 or more, got ", x.shape());
  const int start = detail::normalize_axis(start_dim, x.rank(), "flatten");
  int64_t dims[kMaxRank];
  std::copy(x.shape().begin(), x.shape().begin() + start, dims);
  dims[start] = 1;
  for (int i = start; i < x.rank(); ++i)
    dims[start] *= x.dim(i);
  const Tensor<T> rows = x.layout() == Layout::nchw ? x : x.to_layout(Layout::nchw);
  return rows.reshape(Shape::from_range(dims, dims + start + 1));
}

}  // namespace fovea
