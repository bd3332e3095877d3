// Ops that only move elements or compute shapes: Identity, Dropout (inference), Flatten,
// Reshape, Concat, Transpose, Shape, Gather, Squeeze, Unsqueeze. They work on float and int
// values alike.
#pragma once

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "fovea/graph/kernel.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"
#include "fovea/ops/elementwise/indexing.hpp"

namespace fovea::graph {

namespace detail {

inline int64_t product(const Shape& s, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; ++i)
    p *= s[i];
  return p;
}

// Maps an axis in [-rank, rank) to [0, rank).
inline int resolve_axis(int64_t axis, int rank) {
  FOVEA_CHECK(axis >= -rank && axis < rank, "axis ", axis, " is out of range for rank ", rank);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace detail

// y[i_perm[0], ..., i_perm[r-1]] = x[i]: output dimension d is input dimension perm[d].
template <class T>
Tensor<T> transpose(const Tensor<T>& x, const std::vector<int64_t>& perm) {
  const int rank = x.rank();
  FOVEA_CHECK(static_cast<int>(perm.size()) == rank, "perm has ", perm.size(),
              " entries for a rank-", rank, " tensor");
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  std::vector<int64_t> dims;
  for (int64_t p : perm) {
    FOVEA_CHECK(p >= 0 && p < rank && !seen[static_cast<size_t>(p)],
                "perm is not a permutation of 0..", rank - 1);
    seen[static_cast<size_t>(p)] = true;
    dims.push_back(x.dim(static_cast<int>(p)));
  }
  Tensor<T> y{Shape(dims)};
  fovea::detail::for_each_index(y.shape(), [&](const fovea::detail::Index& o) {
    fovea::detail::Index i{};
    for (int d = 0; d < rank; ++d)
      i[static_cast<size_t>(perm[static_cast<size_t>(d)])] = o[static_cast<size_t>(d)];
    fovea::detail::element(y, o) = fovea::detail::element(x, i);
  });
  return y;
}

inline Kernel compile_identity(const NodeDef& node, int /*opset*/) {
  node.check_attributes({});
  node.check_outputs(1);
  return [](const Inputs& in) { return single(required(in, 0, "input")); };
}

// Inference dropout is the identity. The mask output and training mode are refused.
inline Kernel compile_dropout(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"ratio", "seed", "is_test"});
  node.check_outputs(1);
  FOVEA_CHECK(!node.has_input(2), node.where(), ": a training_mode input is not supported");
  return [](const Inputs& in) { return single(required(in, 0, "data")); };
}

// [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)], axis in [-r, r].
inline Kernel compile_flatten(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"axis"});
  node.check_outputs(1);
  const int64_t axis = node.attr_int("axis", 1);
  return [axis](const Inputs& in) {
    const GraphValue& x = required(in, 0, "input");
    const Shape s = x.shape();
    FOVEA_CHECK(axis >= -s.rank() && axis <= s.rank(), "axis ", axis, " is out of range for rank ",
                s.rank());
    const int a = static_cast<int>(axis < 0 ? axis + s.rank() : axis);
    const Shape out{detail::product(s, 0, a), detail::product(s, a, s.rank())};
    return single(visit_tensor(x, [&](const auto& t) { return t.reshape(out); }));
  };
}

// The target shape of Reshape: 0 copies the input's extent (or means 0 with allowzero), one -1
// is inferred from the element count.
inline Shape reshape_target(const Shape& input, const std::vector<int64_t>& spec, bool allowzero) {
  std::vector<int64_t> dims;
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allowzero) {
      FOVEA_CHECK(static_cast<int>(i) < input.rank(), "shape entry ", i,
                  " is 0 (copy) but the input ", input, " has no dimension ", i);
      d = input[static_cast<int>(i)];
    }
    if (d == -1) {
      FOVEA_CHECK(inferred < 0, "shape ", "has more than one -1");
      inferred = static_cast<int>(i);
      dims.push_back(1);
      continue;
    }
    FOVEA_CHECK(d >= 0, "shape entry ", i, " is ", d);
    known *= d;
    dims.push_back(d);
  }
  if (inferred >= 0) {
    FOVEA_CHECK(known > 0 && input.numel() % known == 0, "cannot infer the -1 of the shape for ",
                input.numel(), " elements");
    dims[static_cast<size_t>(inferred)] = input.numel() / known;
  }
  const Shape out(dims);
  FOVEA_CHECK(out.numel() == input.numel(), "cannot reshape ", input, " to ", out);
  return out;
}

inline Kernel compile_reshape(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"allowzero"});
  node.check_outputs(1);
  const bool allowzero = node.attr_int("allowzero", 0) != 0;
  return [allowzero](const Inputs& in) {
    const GraphValue& x = required(in, 0, "data");
    const Shape out = reshape_target(x.shape(), required(in, 1, "shape").to_ints(), allowzero);
    return single(visit_tensor(x, [&](const auto& t) { return t.reshape(out); }));
  };
}

inline Kernel compile_concat(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"axis"});
  node.check_outputs(1);
  FOVEA_CHECK(node.has("axis"), node.where(), ": attribute 'axis' is required");
  const int axis = static_cast<int>(node.attr_int("axis", 0));
  return [axis](const Inputs& in) {
    FOVEA_CHECK(!in.empty(), "concat needs at least one input");
    if (required(in, 0, "inputs").is_float()) {
      std::vector<Tensor<float>> parts;
      for (size_t i = 0; i < in.size(); ++i)
        parts.push_back(required_float(in, i, "inputs"));
      return single(concat(parts, axis));
    }
    std::vector<Tensor<int32_t>> parts;
    for (size_t i = 0; i < in.size(); ++i)
      parts.push_back(required(in, i, "inputs").as_int());
    return single(concat_reference(parts, axis));
  };
}

inline Kernel compile_transpose(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"perm"});
  node.check_outputs(1);
  const std::vector<int64_t> given = node.attr_ints("perm", {});
  return [given](const Inputs& in) {
    const GraphValue& x = required(in, 0, "data");
    std::vector<int64_t> perm = given;
    if (perm.empty()) {  // default: reverse the dimensions
      for (int d = x.shape().rank() - 1; d >= 0; --d)
        perm.push_back(d);
    }
    return single(visit_tensor(x, [&](const auto& t) { return transpose(t, perm); }));
  };
}

// The input's shape as a 1-D int tensor, sliced to [start, end) (opset 15; clamped like Slice).
inline Kernel compile_shape(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"start", "end"});
  node.check_outputs(1);
  const int64_t start = node.attr_int("start", 0);
  const bool has_end = node.has("end");
  const int64_t end = node.attr_int("end", 0);
  return [=](const Inputs& in) {
    const Shape s = required(in, 0, "data").shape();
    const int64_t r = s.rank();
    const auto clamp = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    const int64_t b = clamp(start), e = has_end ? clamp(end) : r;
    Tensor<int32_t> out(Shape{std::max<int64_t>(e - b, 0)});
    for (int64_t i = b; i < e; ++i)
      out[i - b] = static_cast<int32_t>(s[static_cast<int>(i)]);
    return single(GraphValue(out));
  };
}

template <class T>
Tensor<T> gather(const Tensor<T>& data, const std::vector<int64_t>& indices,
                 const Shape& index_shape, int axis) {
  const Shape& s = data.shape();
  std::vector<int64_t> dims(s.begin(), s.begin() + axis);
  dims.insert(dims.end(), index_shape.begin(), index_shape.end());
  dims.insert(dims.end(), s.begin() + axis + 1, s.end());
  const int64_t outer = detail::product(s, 0, axis), inner = detail::product(s, axis + 1, s.rank());
  const int64_t extent = s[axis];
  Tensor<T> y{Shape(dims)};
  const int64_t count = static_cast<int64_t>(indices.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      int64_t idx = indices[static_cast<size_t>(j)];
      FOVEA_CHECK(idx >= -extent && idx < extent, "index ", idx, " is out of range for extent ",
                  extent);
      if (idx < 0) idx += extent;
      for (int64_t i = 0; i < inner; ++i) {
        y[(o * count + j) * inner + i] = data[(o * extent + idx) * inner + i];
      }
    }
  }
  return y;
}

inline Kernel compile_gather(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"axis"});
  node.check_outputs(1);
  const int64_t axis = node.attr_int("axis", 0);
  return [axis](const Inputs& in) {
    const GraphValue& data = required(in, 0, "data");
    const GraphValue& indices = required(in, 1, "indices");
    const int a = detail::resolve_axis(axis, data.shape().rank());
    return single(visit_tensor(
        data, [&](const auto& t) { return gather(t, indices.to_ints(), indices.shape(), a); }));
  };
}

// Squeeze (drop) or Unsqueeze (insert) extent-1 dimensions; axes come from the attribute before
// opset 13 and from input 1 after.
inline Kernel compile_squeeze(const NodeDef& node, int opset, bool insert) {
  node.check_attributes(opset < 13 ? std::initializer_list<const char*>{"axes"}
                                   : std::initializer_list<const char*>{});
  node.check_outputs(1);
  const std::vector<int64_t> attr_axes = node.attr_ints("axes", {});
  FOVEA_CHECK(!insert || opset >= 13 || !attr_axes.empty(), node.where(),
              ": attribute 'axes' is required");
  return [=](const Inputs& in) {
    const GraphValue& x = required(in, 0, "data");
    std::vector<int64_t> axes = attr_axes;
    if (opset >= 13) {
      if (insert || optional(in, 1) != nullptr) axes = required(in, 1, "axes").to_ints();
    }
    const Shape s = x.shape();
    std::vector<int64_t> dims;
    if (insert) {
      const int rank = s.rank() + static_cast<int>(axes.size());
      std::vector<bool> added(static_cast<size_t>(rank), false);
      for (int64_t a : axes) {
        const int r = detail::resolve_axis(a, rank);
        FOVEA_CHECK(!added[static_cast<size_t>(r)], "axis ", a, " is repeated");
        added[static_cast<size_t>(r)] = true;
      }
      int next = 0;
      for (int d = 0; d < rank; ++d)
        dims.push_back(added[static_cast<size_t>(d)] ? 1 : s[next++]);
    } else {
      std::vector<bool> drop(static_cast<size_t>(s.rank()), axes.empty());
      for (int64_t a : axes)
        drop[static_cast<size_t>(detail::resolve_axis(a, s.rank()))] = true;
      for (int d = 0; d < s.rank(); ++d) {
        if (drop[static_cast<size_t>(d)] && (s[d] == 1 || !axes.empty())) {
          FOVEA_CHECK(s[d] == 1, "cannot squeeze dimension ", d, " of ", s, ": it is not 1");
          continue;
        }
        dims.push_back(s[d]);
      }
    }
    const Shape out(dims);
    return single(visit_tensor(x, [&](const auto& t) { return t.reshape(out); }));
  };
}

}  // namespace fovea::graph
