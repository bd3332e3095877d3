// Shape maths of the elementwise ops: NumPy broadcasting for add and mul, and the output shape
// of concat.
#pragma once

#include <algorithm>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"
#include "fovea/ops/elementwise/indexing.hpp"

namespace fovea {

// NumPy broadcasting: shapes are aligned on their last dimension, missing leading dimensions
// count as 1, and each pair of extents must be equal or contain a 1. `op` names the caller in
// the error.
inline Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> dims(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) {
    const int ia = i - (rank - a.rank()), ib = i - (rank - b.rank());
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    FOVEA_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                " cannot broadcast (dimension ", i - rank, " is ", da, " vs ", db, ")");
    dims[static_cast<size_t>(i)] = da == 1 ? db : da;
  }
  return Shape(dims);
}

// The index into an operand of shape `from` that broadcasting reads for output index `out`
// (whose rank is `out_rank`): leading dimensions dropped, extent-1 dimensions pinned to 0.
inline detail::Index broadcast_source_index(const detail::Index& out, int out_rank,
                                            const Shape& from) {
  detail::Index index{};
  const int skip = out_rank - from.rank();
  for (int i = 0; i < from.rank(); ++i) {
    index[static_cast<size_t>(i)] = from[i] == 1 ? 0 : out[static_cast<size_t>(i + skip)];
  }
  return index;
}

// The shape of concatenating `parts` along `axis` (already normalized): every part has the same
// rank and the same extents except along `axis`.
inline Shape concat_shape(const std::vector<Shape>& parts, int axis) {
  FOVEA_CHECK(!parts.empty(), "concat needs at least one tensor");
  Shape out = parts[0];
  for (size_t p = 1; p < parts.size(); ++p) {
    const Shape& s = parts[p];
    FOVEA_CHECK(s.rank() == out.rank(), "concat: part ", p, " has shape ", s, " of rank ", s.rank(),
                ", part 0 has shape ", parts[0], " of rank ", out.rank());
    for (int i = 0; i < s.rank(); ++i) {
      FOVEA_CHECK(i == axis || s[i] == parts[0][i], "concat along axis ", axis, ": part ", p,
                  " has shape ", s, ", expected ", parts[0], " outside that axis");
    }
    out[axis] += s[axis];
  }
  return out;
}

}  // namespace fovea
