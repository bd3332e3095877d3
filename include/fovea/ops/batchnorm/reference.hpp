// Reference batch normalization over channel dimension 1 of a tensor of rank 2 or more (NCHW or
// NHWC for rank 4, output in the input's layout), and the per-channel batch statistics that
// training mode normalizes with.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/elementwise/indexing.hpp"

namespace fovea {

namespace detail {

inline void check_channel_vector(const Shape& s, int64_t channels, const char* what) {
  FOVEA_CHECK(s == Shape{channels}, "batchnorm ", what, " must be [", channels, "], got ", s);
}

// x is (N, C, ...) and the four vectors are [C].
inline void check_batchnorm_arguments(const Shape& x, const Shape& gamma, const Shape& beta,
                                      const Shape& mean, const Shape& var, double eps) {
  FOVEA_CHECK(x.rank() >= 2, "batchnorm input must be (N, C, ...), got ", x);
  check_channel_vector(gamma, x[1], "weight (gamma)");
  check_channel_vector(beta, x[1], "bias (beta)");
  check_channel_vector(mean, x[1], "running mean");
  check_channel_vector(var, x[1], "running var");
  FOVEA_CHECK(eps >= 0, "batchnorm eps must not be negative, got ", eps);
}

}  // namespace detail

// y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c], with c the index of dimension 1.
template <class T>
Tensor<T> batchnorm_reference(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                              const Tensor<T>& mean, const Tensor<T>& var, double eps) {
  using Acc = typename AccumulatorOf<T>::type;
  detail::check_batchnorm_arguments(x.shape(), gamma.shape(), beta.shape(), mean.shape(),
                                    var.shape(), eps);
  Tensor<T> y(x.shape(), x.layout());
  detail::for_each_index(x.shape(), [&](const detail::Index& i) {
    const int64_t c = i[1];
    const Acc normalized = (convert<Acc>(detail::element(x, i)) - convert<Acc>(mean(c))) /
                           std::sqrt(convert<Acc>(var(c)) + Acc(eps));
    detail::element(y, i) = convert<T>(normalized * convert<Acc>(gamma(c)) + convert<Acc>(beta(c)));
  });
  return y;
}

// Per-channel mean and biased variance over every dimension but 1, and how many values each
// channel had (training mode needs it for the unbiased running variance).
template <class T>
struct BatchStatistics {
  Tensor<T> mean, var;
  int64_t count = 0;
};

template <class T>
BatchStatistics<T> batch_statistics_reference(const Tensor<T>& x) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(x.rank() >= 2, "batch statistics need an input (N, C, ...), got ", x.shape());
  const int64_t channels = x.dim(1);
  BatchStatistics<T> stats{Tensor<T>(Shape{channels}), Tensor<T>(Shape{channels}),
                           x.numel() / std::max<int64_t>(channels, 1)};
  FOVEA_CHECK(stats.count > 0, "batch statistics of ", x.shape(), " have no values per channel");
  // Two passes (mean, then squared deviations) so the variance does not cancel catastrophically.
  std::vector<Acc> sum(static_cast<size_t>(channels), Acc(0));
  detail::for_each_index(x.shape(), [&](const detail::Index& i) {
    sum[static_cast<size_t>(i[1])] += convert<Acc>(detail::element(x, i));
  });
  std::vector<Acc> squares(static_cast<size_t>(channels), Acc(0));
  detail::for_each_index(x.shape(), [&](const detail::Index& i) {
    const Acc d =
        convert<Acc>(detail::element(x, i)) - sum[static_cast<size_t>(i[1])] / Acc(stats.count);
    squares[static_cast<size_t>(i[1])] += d * d;
  });
  for (int64_t c = 0; c < channels; ++c) {
    stats.mean(c) = convert<T>(sum[static_cast<size_t>(c)] / Acc(stats.count));
    stats.var(c) = convert<T>(squares[static_cast<size_t>(c)] / Acc(stats.count));
  }
  return stats;
}

}  // namespace fovea
