// Folding an inference batch norm into the convolution before it: conv then bn equals one conv
// with scaled weights and a shifted bias, which removes a whole pass over the activations.
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"

namespace fovea {

struct FoldedConv {
  Tensor<float> weight, bias;
};

// With scale[k] = gamma[k] / sqrt(var[k] + eps):
//   weight'[k, ...] = weight[k, ...] * scale[k]
//   bias'[k]        = (bias[k] - mean[k]) * scale[k] + beta[k]     (bias[k] = 0 when empty)
// The inputs are left untouched; the arithmetic is done in double and rounded once.
inline FoldedConv fold_batchnorm(const Tensor<float>& conv_weight, const Tensor<float>& conv_bias,
                                 const Tensor<float>& gamma, const Tensor<float>& beta,
                                 const Tensor<float>& mean, const Tensor<float>& var, double eps) {
  FOVEA_CHECK(conv_weight.rank() == 4 && conv_weight.layout() == Layout::nchw,
              "fold_batchnorm: conv weight must be (K, C/groups, R, S) in NCHW, got ",
              conv_weight.shape());
  const int64_t k = conv_weight.dim(0);
  const Shape channels{k};
  FOVEA_CHECK(conv_bias.empty() || conv_bias.shape() == channels,
              "fold_batchnorm: conv bias must be [", k, "] or empty, got ", conv_bias.shape());
  FOVEA_CHECK(gamma.shape() == channels && beta.shape() == channels && mean.shape() == channels &&
                  var.shape() == channels,
              "fold_batchnorm: batch norm parameters must all be [", k, "] to match conv weight ",
              conv_weight.shape(), ", got weight ", gamma.shape(), ", bias ", beta.shape(),
              ", mean ", mean.shape(), ", var ", var.shape());
  FoldedConv folded{Tensor<float>(conv_weight.shape()), Tensor<float>(channels)};
  const int64_t per_channel = conv_weight.numel() / std::max<int64_t>(k, 1);
  for (int64_t o = 0; o < k; ++o) {
    const double scale = double(gamma(o)) / std::sqrt(double(var(o)) + eps);
    for (int64_t i = o * per_channel; i < (o + 1) * per_channel; ++i) {
      folded.weight[i] = static_cast<float>(double(conv_weight[i]) * scale);
    }
    const double bias = conv_bias.empty() ? 0.0 : double(conv_bias(o));
    folded.bias(o) = static_cast<float>((bias - double(mean(o))) * scale + double(beta(o)));
  }
  return folded;
}

}  // namespace fovea
