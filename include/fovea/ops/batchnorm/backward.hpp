// Batch-norm gradients in training mode, where the batch's own mean and (biased) variance
// normalize it, so they depend on x too. With x̂ = (x − μ) / σ, σ = sqrt(var + eps), over the M
// values of a channel:
//   dβ = Σ dy,  dγ = Σ dy · x̂,  dx = γ / (M σ) · (M · dy − dβ − x̂ · dγ).
// The running statistics are no function of the loss and take no gradient.
#pragma once

#include <cmath>
#include <vector>

#include "fovea/core/tensor.hpp"
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
          g.input(n, c, h, w) =
              convert<T>(scale * (Acc(count) * dy - sum_dy - xhat * sum_dy_xhat));
        }
  }
  return g;
}

}  // namespace fovea
