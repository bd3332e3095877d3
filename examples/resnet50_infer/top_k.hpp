// The k largest entries of one row of a (N, classes) tensor, largest first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "fovea/core/tensor.hpp"

namespace fovea::examples {

// Ties keep the lower class index first, so the order never depends on the sort.
inline std::vector<int64_t> top_k(const Tensor<float>& scores, int64_t row, int64_t k) {
  const int64_t classes = scores.dim(1);
  k = std::min(k, classes);
  std::vector<int64_t> order(static_cast<size_t>(classes));
  for (int64_t c = 0; c < classes; ++c)
    order[static_cast<size_t>(c)] = c;
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    const float sa = scores(row, a), sb = scores(row, b);
    return sa > sb || (sa == sb && a < b);
  });
  order.resize(static_cast<size_t>(k));
  return order;
}

}  // namespace fovea::examples
