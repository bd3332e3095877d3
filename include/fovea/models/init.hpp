// init_weights: a deterministic, torch-like random initialization for a freshly built model, so
// tests and benchmarks run on realistic weights without a checkpoint.
#pragma once

#include <cmath>
#include <cstdint>

#include "fovea/core/rng.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/module.hpp"

namespace fovea {

namespace detail {

inline void init_module(nn::Module& m, Rng& rng) {
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
    // kaiming_normal_(mode="fan_out", nonlinearity="relu") as torchvision's ResNet does. torch's
    // fan_out is out_channels × kernel area, whatever the groups.
    const Tensor<float>& w = conv->weight();
    const double fan_out = static_cast<double>(w.dim(0) * w.dim(2) * w.dim(3));
    conv->weight().fill_normal(rng, 0.0, std::sqrt(2.0 / fan_out));
    if (conv->has_bias()) conv->bias().fill(0.0f);
  } else if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
    // torch.nn.Linear's default: weight and bias uniform in ±1/sqrt(in_features).
    const double bound = 1.0 / std::sqrt(static_cast<double>(linear->in_features()));
    linear->weight().fill_uniform(rng, -bound, bound);
    if (linear->has_bias()) linear->bias().fill_uniform(rng, -bound, bound);
  } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
    bn->weight().fill(1.0f);
    bn->bias().fill(0.0f);
    bn->running_mean().fill(0.0f);
    bn->running_var().fill(1.0f);
  }
  for (const auto& child : m.children())
    init_module(*child.second, rng);
}

}  // namespace detail

// Convs: kaiming normal (fan_out, ReLU gain), zero bias. Linears: uniform ±1/sqrt(in).
// Batch norms: identity (weight 1, bias 0, running mean 0, running variance 1). Modules are
// visited depth first in registration order from one generator, so a seed fixes every value.
inline void init_weights(nn::Module& model, uint64_t seed) {
  Rng rng(seed);
  detail::init_module(model, rng);
}

}  // namespace fovea
