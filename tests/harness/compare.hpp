// Comparison helpers shared by every test: error measures and per-dtype tolerances.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "fovea/core/tensor.hpp"

namespace fovea::test {

// Tolerances, declared once per element type: max |a - b| / max(|b|) over a whole tensor.
template <class T>
inline constexpr double kRelTolerance = 0;
template <>
inline constexpr double kRelTolerance<double> = 1e-12;
template <>
inline constexpr double kRelTolerance<float> = 1e-5;
template <>
inline constexpr double kRelTolerance<half> = 2e-3;
template <>
inline constexpr double kRelTolerance<bfloat16> = 1.6e-2;

// max |x|, for a relative error's scale.
template <class T>
double max_abs(const Tensor<T>& x) {
  double m = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    m = std::max(m, std::abs(convert<double>(x[i])));
  return m;
}

// max |got - want| / scale (infinite where one holds a NaN and the other not), for errors
// judged against a scale other than want's own. Logical indices are compared, so the two
// tensors may differ in layout.
template <class A, class B>
double max_error_relative_to(const Tensor<A>& got, const Tensor<B>& want, double scale) {
  FOVEA_CHECK(got.shape() == want.shape(), "compared tensors differ in shape: ", got.shape(),
              " vs ", want.shape());
  const Tensor<double> g = got.layout() == Layout::nchw
                               ? got.template cast<double>()
                               : got.to_layout(Layout::nchw).template cast<double>();
  const Tensor<double> w = want.layout() == Layout::nchw
                               ? want.template cast<double>()
                               : want.to_layout(Layout::nchw).template cast<double>();
  double max_diff = 0;
  for (int64_t i = 0; i < g.numel(); ++i) {
    if (std::isnan(g[i]) != std::isnan(w[i])) return INFINITY;
    max_diff = std::max(max_diff, std::abs(g[i] - w[i]));
  }
  return scale > 0 ? max_diff / scale : max_diff;
}

// max |got - want| / max |want|: the relative error of a whole tensor, as the parity tests
// report it.
template <class A, class B>
double max_relative_error(const Tensor<A>& got, const Tensor<B>& want) {
  return max_error_relative_to(got, want, max_abs(want));
}

template <class A, class B>
double max_abs_error(const Tensor<A>& got, const Tensor<B>& want) {
  FOVEA_CHECK(got.shape() == want.shape(), "compared tensors differ in shape: ", got.shape(),
              " vs ", want.shape());
  double max_diff = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    max_diff = std::max(max_diff, std::abs(convert<double>(got[i]) - convert<double>(want[i])));
  }
  return max_diff;
}

}  // namespace fovea::test
