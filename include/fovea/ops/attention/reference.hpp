// Reference attention blocks built from the other reference ops, so each step reads like the
// paper: squeeze-and-excitation (Hu et al. 2018, torchvision.ops.SqueezeExcitation) and CBAM
// (Woo et al. 2018). Inputs are (N, C, H, W) in either layout; outputs take the input's layout.
#pragma once

#include <algorithm>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/ops/conv2d/reference.hpp"
#include "fovea/ops/elementwise/reference.hpp"
#include "fovea/ops/pool2d/reference.hpp"

namespace fovea {

namespace detail {

// Checks that `w` is a 1x1 convolution weight [out, in, 1, 1]; `what` names it in the error.
inline void check_pointwise_weight(const Shape& w, int64_t out, int64_t in, const char* what) {
  FOVEA_CHECK(w == Shape({out, in, 1, 1}), what, " must be [", out, ", ", in, ", 1, 1], got ", w);
}

inline void check_image_input(const Shape& x, const char* op) {
  FOVEA_CHECK(x.rank() == 4, op, " input must be (N, C, H, W), got ", x);
}

// The shapes squeeze_excitation needs: x (N, C, H, W), fc1_w [S, C, 1, 1], fc1_b [S],
// fc2_w [C, S, 1, 1], fc2_b [C].
inline void check_squeeze_excitation_shapes(const Shape& x, const Shape& fc1_w, const Shape& fc1_b,
                                            const Shape& fc2_w, const Shape& fc2_b) {
  check_image_input(x, "squeeze_excitation");
  const int64_t c = x[1];
  FOVEA_CHECK(fc1_w.rank() == 4, "squeeze_excitation fc1 weight must be [S, ", c, ", 1, 1], got ",
              fc1_w);
  const int64_t s = fc1_w[0];
  check_pointwise_weight(fc1_w, s, c, "squeeze_excitation fc1 weight");
  check_pointwise_weight(fc2_w, c, s, "squeeze_excitation fc2 weight");
  FOVEA_CHECK(fc1_b == Shape{s}, "squeeze_excitation fc1 bias must be [", s, "], got ", fc1_b);
  FOVEA_CHECK(fc2_b == Shape{c}, "squeeze_excitation fc2 bias must be [", c, "], got ", fc2_b);
}

}  // namespace detail

// x * scale_act(fc2(act(fc1(mean of x over H, W)))), fc1 and fc2 being 1x1 convolutions with
// bias: fc1_w [S, C, 1, 1], fc1_b [S], fc2_w [C, S, 1, 1], fc2_b [C].
template <class T>
Tensor<T> squeeze_excitation_reference(const Tensor<T>& x, const Tensor<T>& fc1_w,
                                       const Tensor<T>& fc1_b, const Tensor<T>& fc2_w,
                                       const Tensor<T>& fc2_b, ActivationKind act,
                                       ActivationKind scale_act) {
  detail::check_squeeze_excitation_shapes(x.shape(), fc1_w.shape(), fc1_b.shape(), fc2_w.shape(),
                                          fc2_b.shape());
  const Tensor<T> squeezed = global_avg_pool2d_reference(x);
  const Tensor<T> hidden =
      activation_reference(conv2d_reference(squeezed, fc1_w, fc1_b, Conv2dAttrs{}), act);
  const Tensor<T> scale =
      activation_reference(conv2d_reference(hidden, fc2_w, fc2_b, Conv2dAttrs{}), scale_act);
  return mul_reference(x, scale);
}

// CBAM's channel attention: x * sigmoid(mlp(avgpool(x)) + mlp(maxpool(x))), where the shared
// mlp is 1x1 conv w1 [C/r, C, 1, 1], ReLU, 1x1 conv w2 [C, C/r, 1, 1], without biases.
template <class T>
Tensor<T> channel_attention_reference(const Tensor<T>& x, const Tensor<T>& w1,
                                      const Tensor<T>& w2) {
  detail::check_image_input(x.shape(), "channel_attention");
  const int64_t c = x.dim(1);
  FOVEA_CHECK(w1.rank() == 4, "channel_attention fc1 weight must be [C/r, ", c, ", 1, 1], got ",
              w1.shape());
  const int64_t hidden = w1.dim(0);
  detail::check_pointwise_weight(w1.shape(), hidden, c, "channel_attention fc1 weight");
  detail::check_pointwise_weight(w2.shape(), c, hidden, "channel_attention fc2 weight");
  const auto mlp = [&](const Tensor<T>& v) {
    const Tensor<T> h = activation_reference(conv2d_reference(v, w1, Tensor<T>(), Conv2dAttrs{}),
                                             ActivationKind::relu);
    return conv2d_reference(h, w2, Tensor<T>(), Conv2dAttrs{});
  };
  const Tensor<T> logits =
      add_reference(mlp(global_avg_pool2d_reference(x)), mlp(global_max_pool2d_reference(x)));
  return mul_reference(x, activation_reference(logits, ActivationKind::sigmoid));
}

// (N, C, H, W) -> (N, 2, H, W): channel 0 is the mean over C, channel 1 the maximum (the order
// of the CBAM paper; the authors' code stacks max first).
template <class T>
Tensor<T> channel_mean_max_reference(const Tensor<T>& x) {
  using Acc = typename AccumulatorOf<T>::type;
  detail::check_image_input(x.shape(), "channel_mean_max");
  FOVEA_CHECK(x.dim(1) > 0, "channel_mean_max needs at least one channel, got ", x.shape());
  Tensor<T> y(Shape{x.dim(0), 2, x.dim(2), x.dim(3)}, x.layout());
  for (int64_t n = 0; n < x.dim(0); ++n) {
    for (int64_t h = 0; h < x.dim(2); ++h) {
      for (int64_t w = 0; w < x.dim(3); ++w) {
        Acc sum(0), max = convert<Acc>(x(n, 0, h, w));
        for (int64_t c = 0; c < x.dim(1); ++c) {
          const Acc v = convert<Acc>(x(n, c, h, w));
          sum += v;
          max = std::max(max, v);
        }
        y(n, 0, h, w) = convert<T>(sum / Acc(x.dim(1)));
        y(n, 1, h, w) = convert<T>(max);
      }
    }
  }
  return y;
}

// CBAM's spatial attention: x * sigmoid(conv(channel_mean_max(x))), the conv being weight
// [1, 2, k, k] with odd k, stride 1, padding k/2 so the map keeps x's size. `bias` may be empty
// (CBAM has none).
template <class T>
Tensor<T> spatial_attention_reference(const Tensor<T>& x, const Tensor<T>& weight,
                                      const Tensor<T>& bias = Tensor<T>()) {
  detail::check_image_input(x.shape(), "spatial_attention");
  const Shape& w = weight.shape();
  FOVEA_CHECK(w.rank() == 4 && w[0] == 1 && w[1] == 2 && w[2] == w[3] && w[2] % 2 == 1,
              "spatial_attention weight must be [1, 2, k, k] with k odd, got ", w);
  const Tensor<T> logits =
      conv2d_reference(channel_mean_max_reference(x), weight, bias, Conv2dAttrs::make(1, w[2] / 2));
  return mul_reference(x, activation_reference(logits, ActivationKind::sigmoid));
}

// CBAM: channel attention, then spatial attention on its result.
template <class T>
Tensor<T> cbam_reference(const Tensor<T>& x, const Tensor<T>& mlp_w1, const Tensor<T>& mlp_w2,
                         const Tensor<T>& spatial_w, const Tensor<T>& spatial_b = Tensor<T>()) {
  return spatial_attention_reference(channel_attention_reference(x, mlp_w1, mlp_w2), spatial_w,
                                     spatial_b);
}

}  // namespace fovea
