// Squeeze-excitation gradients, composed from the other ops' backward references in the
// reverse order of squeeze_excitation_reference: y = x · s with s = scale_act(fc2(act(fc1(m))))
// and m = mean of x over H, W, so x receives dy · s directly and again through m.
#pragma once

#include "fovea/ops/activation/backward.hpp"
#include "fovea/ops/attention/reference.hpp"
#include "fovea/ops/conv2d/backward.hpp"
#include "fovea/ops/elementwise/backward.hpp"
#include "fovea/ops/pool2d/backward.hpp"

namespace fovea {

template <class T>
struct SqueezeExcitationGradients {
  Tensor<T> input, fc1_weight, fc1_bias, fc2_weight, fc2_bias;
};

template <class T>
SqueezeExcitationGradients<T> squeeze_excitation_backward_reference(
    const Tensor<T>& x, const Tensor<T>& fc1_w, const Tensor<T>& fc1_b, const Tensor<T>& fc2_w,
    const Tensor<T>& fc2_b, ActivationKind act, ActivationKind scale_act, const Tensor<T>& grad_y) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(grad_y.shape() == x.shape(), "squeeze_excitation backward: gradient ", grad_y.shape(),
              " does not match the input ", x.shape());
  const Tensor<T> squeezed = global_avg_pool2d_reference(x);
  const Tensor<T> z1 = conv2d_reference(squeezed, fc1_w, fc1_b, Conv2dAttrs{});
  const Tensor<T> hidden = activation_reference(z1, act);
  const Tensor<T> z2 = conv2d_reference(hidden, fc2_w, fc2_b, Conv2dAttrs{});
  const Tensor<T> scale = activation_reference(z2, scale_act);

  SqueezeExcitationGradients<T> g;
  g.input = Tensor<T>(x.shape(), x.layout());
  Tensor<T> grad_scale(scale.shape());
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c) {
      Acc sum(0);
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w) {
          sum += convert<Acc>(grad_y(n, c, h, w)) * convert<Acc>(x(n, c, h, w));
          g.input(n, c, h, w) =
              convert<T>(convert<Acc>(grad_y(n, c, h, w)) * convert<Acc>(scale(n, c, 0, 0)));
        }
      grad_scale(n, c, 0, 0) = convert<T>(sum);
    }
  const Tensor<T> grad_z2 = activation_backward_reference(z2, grad_scale, scale_act);
  const Conv2dGradients<T> fc2 =
      conv2d_backward_reference(hidden, fc2_w, grad_z2, Conv2dAttrs{}, !fc2_b.empty());
  const Tensor<T> grad_z1 = activation_backward_reference(z1, fc2.input, act);
  const Conv2dGradients<T> fc1 =
      conv2d_backward_reference(squeezed, fc1_w, grad_z1, Conv2dAttrs{}, !fc1_b.empty());
  const Tensor<T> through_mean = adaptive_avg_pool2d_backward_reference(x.shape(), fc1.input);
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w)
          g.input(n, c, h, w) = convert<T>(convert<Acc>(g.input(n, c, h, w)) +
                                           convert<Acc>(through_mean(n, c, h, w)));
  g.fc1_weight = fc1.weight, g.fc1_bias = fc1.bias;
  g.fc2_weight = fc2.weight, g.fc2_bias = fc2.bias;
  return g;
}

}  // namespace fovea
