// Central finite differences in double precision: the scalar L = Σ y · probe for a fixed random
// probe, so dL/dy = probe, and each input element's analytic gradient is compared with
// (L(x + h) − L(x − h)) / 2h.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "fovea/core/tensor.hpp"

namespace fovea::test {

inline double probe_sum(const Tensor<double>& y, const Tensor<double>& probe) {
  double sum = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    sum += y[i] * probe[i];
  return sum;
}

// Checks `analytic` (dL/dx) against finite differences of x ↦ probe_sum(f(x), probe), where x is
// perturbed in place. Returns the largest error relative to max(1, |numeric|).
inline double check_gradient(const char* what, Tensor<double>& x, const Tensor<double>& analytic,
                             const std::function<Tensor<double>()>& f, const Tensor<double>& probe,
                             double tolerance = 1e-6) {
  INFO(what);
  REQUIRE(analytic.shape() == x.shape());
  const double h = 1e-6;
  double worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = probe_sum(f(), probe);
    x[i] = saved - h;
    const double down = probe_sum(f(), probe);
    x[i] = saved;
    const double numeric = (up - down) / (2 * h);
    // Logical indexing: analytic may be stored in another layout than x.
    const double error = std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric));
    worst = std::max(worst, error);
  }
  CHECK(worst < tolerance);
  return worst;
}

inline Tensor<double> random_tensor(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  return Tensor<double>(s).fill_uniform(seed, lo, hi);
}

}  // namespace fovea::test
