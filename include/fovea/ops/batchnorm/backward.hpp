// Batch-norm gradients in training mode, where the batch's own mean and (biased) variance
// normalize it, so they depend on x too. With x̂ = (x − μ) / σ, σ = sqrt(var + eps), over the M
// values of a channel:
//   dβ = Σ dy,  dγ = Σ dy · x̂,  dx = γ / (M σ) · (M · dy − dβ − x̂ · dγ).
// The running statistics are no function of the loss and take no gradient.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/batchnorm/reference.hpp"

namespace fovea {

template <class T>
struct BatchNormGradients {
  Tensor<T> input, weight, bias;
};

// y = batchnorm(x) normalized with x's own statistics: the training-mode forward, for checks.
template <class T>
Tensor<T> batchnorm_training_reference(const Tensor<T>& x, const Tensor<T>& gamma,
                                       const Tensor<T>& beta, double eps) {
  const BatchStatistics<T> s = batch_statistics_reference(x);
  return batchnorm_reference(x, gamma, beta, s.mean, s.var, eps);
}

// `mean` and `var` are the batch statistics the forward normalized with (biased variance).
template <class T>
BatchNormGradients<T> batchnorm_training_backward_reference(const Tensor<T>& x,
                                                            const Tensor<T>& gamma,
                                                            const Tensor<T>& mean,
                                                            const Tensor<T>& var, double eps,
                                                            const Tensor<T>& grad_y) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(x.rank() == 4, "batchnorm backward needs (N, C, H, W), got ", x.shape());
  FOVEA_CHECK(grad_y.shape() == x.shape(), "batchnorm backward: gradient ", grad_y.shape(),
              " does not match the input ", x.shape());
  const int64_t channels = x.dim(1), count = x.numel() / channels;
  detail::check_channel_vector(gamma.shape(), channels, "weight (gamma)");
  detail::check_channel_vector(mean.shape(), channels, "batch mean");
  detail::check_channel_vector(var.shape(), channels, "batch var");
  BatchNormGradients<T> g{Tensor<T>(x.shape(), x.layout()), Tensor<T>(Shape{channels}),
                          Tensor<T>(Shape{channels})};
  for (int64_t c = 0; c < channels; ++c) {
    const Acc mu = convert<Acc>(mean(c));
    const Acc sigma = std::sqrt(convert<Acc>(var(c)) + Acc(eps));
    Acc sum_dy(0), sum_dy_xhat(0);
    for (int64_t n = 0; n < x.dim(0); ++n)
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w) {
          const Acc dy = convert<Acc>(grad_y(n, c, h, w));
          sum_dy += dy;
          sum_dy_xhat += dy * (convert<Acc>(x(n, c, h, w)) - mu) / sigma;
        }
    g.bias(c) = convert<T>(sum_dy);
    g.weight(c) = convert<T>(sum_dy_xhat);
    const Acc scale = convert<Acc>(gamma(c)) / (Acc(count) * sigma);
    for (int64_t n = 0; n < x.dim(0); ++n)
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w) {
          const Acc xhat = (convert<Acc>(x(n, c, h, w)) - mu) / sigma;
          const Acc dy = convert<Acc>(grad_y(n, c, h, w));
          g.input(n, c, h, w) = convert<T>(scale * (Acc(count) * dy - sum_dy - xhat * sum_dy_xhat));
        }
  }
  return g;
}

namespace detail {

// Σ values[i] and Σ values[i] · (weights[i] − center) in double, with eight independent partial
// sums the compiler keeps in vector registers.
inline void add_plane_sums(const float* values, const float* weights, double center, int64_t count,
                           double& sum, double& weighted_sum) {
  double s[8] = {}, ws[8] = {};
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    for (int j = 0; j < 8; ++j) {
      s[j] += double(values[i + j]);
      ws[j] += double(values[i + j]) * (double(weights[i + j]) - center);
    }
  }
  for (; i < count; ++i) {
    s[0] += double(values[i]);
    ws[0] += double(values[i]) * (double(weights[i]) - center);
  }
  for (int j = 0; j < 8; ++j) {
    sum += s[j];
    weighted_sum += ws[j];
  }
}

// Σ values[i] in double, eight partial sums as above.
inline double plane_sum(const float* values, int64_t count) {
  double s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    for (int j = 0; j < 8; ++j)
      s[j] += double(values[i + j]);
  }
  for (; i < count; ++i)
    s[0] += double(values[i]);
  double total = 0;
  for (int j = 0; j < 8; ++j)
    total += s[j];
  return total;
}

// Σ (values[i] − mean)² in double, eight partial sums as above.
inline double plane_squared_deviation(const float* values, int64_t count, double mean) {
  double s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const double d = double(values[i + j]) - mean;
      s[j] += d * d;
    }
  }
  for (; i < count; ++i) {
    const double d = double(values[i]) - mean;
    s[0] += d * d;
  }
  double total = 0;
  for (int j = 0; j < 8; ++j)
    total += s[j];
  return total;
}

}  // namespace detail

template <class T>
struct BatchNormTraining {
  Tensor<T> output;
  BatchStatistics<T> statistics;  // the biased batch statistics the output was normalized with
};

// The training-mode forward: batch statistics (two passes in double, as the reference) and
// y = x · scale + shift per channel in float. NCHW works a channel per task, so the sums never
// depend on the thread count; NHWC goes to the references.
inline BatchNormTraining<float> batchnorm_training(const Tensor<float>& x,
                                                   const Tensor<float>& gamma,
                                                   const Tensor<float>& beta, double eps) {
  if (x.layout() != Layout::nchw || x.rank() != 4) {
    BatchStatistics<float> s = batch_statistics_reference(x);
    Tensor<float> y = batchnorm_reference(x, gamma, beta, s.mean, s.var, eps);
    return {std::move(y), std::move(s)};
  }
  const int64_t images = x.dim(0), channels = x.dim(1), plane = x.dim(2) * x.dim(3);
  detail::check_channel_vector(gamma.shape(), channels, "weight (gamma)");
  detail::check_channel_vector(beta.shape(), channels, "bias (beta)");
  BatchNormTraining<float> r{
      Tensor<float>(x.shape()),
      {Tensor<float>(Shape{channels}), Tensor<float>(Shape{channels}), images * plane}};
  FOVEA_CHECK(r.statistics.count > 0, "batch statistics of ", x.shape(),
              " have no values per channel");
  parallel_for(0, channels, [&](int64_t c) {
    double sum = 0;
    for (int64_t n = 0; n < images; ++n)
      sum += detail::plane_sum(x.data() + (n * channels + c) * plane, plane);
    const double mean = sum / double(r.statistics.count);
    double squares = 0;
    for (int64_t n = 0; n < images; ++n)
      squares +=
          detail::plane_squared_deviation(x.data() + (n * channels + c) * plane, plane, mean);
    const double var = squares / double(r.statistics.count);
    r.statistics.mean(c) = static_cast<float>(mean);
    r.statistics.var(c) = static_cast<float>(var);
    // Normalize with the rounded statistics, as the reference forward does.
    const double inv_sigma = 1.0 / std::sqrt(double(r.statistics.var(c)) + eps);
    const float scale = static_cast<float>(double(gamma(c)) * inv_sigma);
    const float shift = static_cast<float>(double(beta(c)) - double(r.statistics.mean(c)) *
                                                                 double(gamma(c)) * inv_sigma);
    for (int64_t n = 0; n < images; ++n) {
      const float* src = x.data() + (n * channels + c) * plane;
      float* dst = r.output.data() + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i)
        dst[i] = src[i] * scale + shift;
    }
  });
  return r;
}

// batchnorm_training_backward_reference's sums in double per channel (a channel per task), and
// dx = a·dy + b·(x − μ) + c in float with the coefficients worked out in double. NCHW only; NHWC
// goes to the reference.
inline BatchNormGradients<float> batchnorm_training_backward(const Tensor<float>& x,
                                                             const Tensor<float>& gamma,
                                                             const Tensor<float>& mean,
                                                             const Tensor<float>& var, double eps,
                                                             const Tensor<float>& grad_y) {
  if (x.layout() != Layout::nchw || grad_y.layout() != Layout::nchw || x.rank() != 4)
    return batchnorm_training_backward_reference(x, gamma, mean, var, eps, grad_y);
  FOVEA_CHECK(grad_y.shape() == x.shape(), "batchnorm backward: gradient ", grad_y.shape(),
              " does not match the input ", x.shape());
  const int64_t images = x.dim(0), channels = x.dim(1), plane = x.dim(2) * x.dim(3);
  const int64_t count = images * plane;
  detail::check_channel_vector(gamma.shape(), channels, "weight (gamma)");
  detail::check_channel_vector(mean.shape(), channels, "batch mean");
  detail::check_channel_vector(var.shape(), channels, "batch var");
  BatchNormGradients<float> g{Tensor<float>(x.shape()), Tensor<float>(Shape{channels}),
                              Tensor<float>(Shape{channels})};
  parallel_for(0, channels, [&](int64_t c) {
    const double mu = double(mean(c)), inv_sigma = 1.0 / std::sqrt(double(var(c)) + eps);
    double sum_dy = 0, sum_dy_centered = 0;  // Σ dy and Σ dy·(x − μ)
    for (int64_t n = 0; n < images; ++n) {
      const int64_t offset = (n * channels + c) * plane;
      detail::add_plane_sums(grad_y.data() + offset, x.data() + offset, mu, plane, sum_dy,
                             sum_dy_centered);
    }
    const double sum_dy_xhat = sum_dy_centered * inv_sigma;
    g.bias(c) = static_cast<float>(sum_dy);
    g.weight(c) = static_cast<float>(sum_dy_xhat);
    // dx = γ/(Mσ) · (M dy − Σdy − (x − μ)/σ · Σdy·x̂).
    const double k = double(gamma(c)) * inv_sigma / double(count);
    const double slope = k * inv_sigma * sum_dy_xhat;
    const float a = static_cast<float>(k * double(count));
    const float b = static_cast<float>(-slope);
    const float offset_term = static_cast<float>(-k * sum_dy);
    const float mu_f = mean(c);
    for (int64_t n = 0; n < images; ++n) {
      const int64_t offset = (n * channels + c) * plane;
      const float* dy = grad_y.data() + offset;
      const float* xs = x.data() + offset;
      float* dx = g.input.data() + offset;
      for (int64_t i = 0; i < plane; ++i)
        dx[i] = a * dy[i] + b * (xs[i] - mu_f) + offset_term;
    }
  });
  return g;
}

}  // namespace fovea
