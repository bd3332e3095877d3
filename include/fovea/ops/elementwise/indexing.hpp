// Rank-generic element addressing for the reference ops that work on any rank (broadcasting,
// concat, softmax, batch norm): a logical index, its memory offset in either layout, a walk over
// every index of a shape, and the resolution of negative axes.
#pragma once

#include <array>
#include <cstdint>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"
#include "fovea/core/tensor.hpp"

namespace fovea::detail {

using Index = std::array<int64_t, kMaxRank>;

// Memory offset of a logical index; reading through the strides makes NHWC tensors work too.
template <class T>
int64_t offset_of(const Tensor<T>& t, const Index& index) {
  int64_t off = 0;
  for (int i = 0; i < t.rank(); ++i) {
    off += index[static_cast<size_t>(i)] * t.strides()[static_cast<size_t>(i)];
  }
  return off;
}

template <class T>
const T& element(const Tensor<T>& t, const Index& index) {
  return t.data()[offset_of(t, index)];
}
template <class T>
T& element(Tensor<T>& t, const Index& index) {
  return t.data()[offset_of(t, index)];
}

// Calls visit(index) for every logical index of `shape`, last dimension fastest.
template <class Visit>
void for_each_index(const Shape& shape, Visit visit) {
  if (shape.numel() == 0) return;
  Index index{};
  const int rank = shape.rank();
  while (true) {
    visit(static_cast<const Index&>(index));
    int d = rank - 1;
    while (d >= 0 && ++index[static_cast<size_t>(d)] == shape[d]) {
      index[static_cast<size_t>(d)] = 0;
      --d;
    }
    if (d < 0) return;
  }
}

// Maps axis in [-rank, rank) to [0, rank), the way torch and NumPy read negative axes.
inline int normalize_axis(int axis, int rank, const char* op) {
  FOVEA_CHECK(axis >= -rank && axis < rank, op, ": axis ", axis, " is out of range for rank ", rank,
              " (expected ", -rank, " to ", rank - 1, ")");
  return axis < 0 ? axis + rank : axis;
}

}  // namespace fovea::detail
