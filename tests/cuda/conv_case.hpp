// Conv problems for the CUDA conv tests: a description, a randomized generator covering odd
// sizes, batches, non-square images, asymmetric padding, stride, dilation, groups and depthwise,
// and the check of one problem against the double-precision host reference.
#pragma once

#include <sstream>
#include <string>

#include "cuda_test_util.hpp"
#include "fovea/cuda/conv2d.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/ops/conv2d/reference.hpp"
#include "fovea/ops/elementwise/reference.hpp"

namespace fovea::test {

struct ConvCase {
  Shape input;   // (N, C, H, W)
  Shape weight;  // (K, C / groups, R, S)
  Conv2dAttrs attrs;
  bool bias = false;
  bool residual = false;
  ActivationKind activation = ActivationKind::identity;
};

inline std::string describe(const ConvCase& cc, DType dtype, uint64_t seed) {
  const Conv2dAttrs& a = cc.attrs;
  const Conv2dParams cp = Conv2dParams::make(cc.input, cc.weight, a);
  std::ostringstream out;
  out << cuda::conv2d_kernel_name(cp, dtype) << " input " << cc.input << " weight " << cc.weight
      << " stride " << a.stride_h << "x" << a.stride_w << " pad (t" << a.pad_top << " l"
      << a.pad_left << " b" << a.pad_bottom << " r" << a.pad_right << ") dilation " << a.dilation_h
      << "x" << a.dilation_w << " groups " << a.groups << " bias " << cc.bias << " residual "
      << cc.residual << " activation " << activation_name(cc.activation) << " seed " << seed;
  return out.str();
}

template <class V>
V pick(Rng& rng, std::initializer_list<V> values) {
  return values.begin()[rng.below(values.size())];
}

// One random problem. A quarter are depthwise (one input channel per group, multiplier 1 or
// 2); the rest mix channel counts that are and are not multiples of 8 (the 16-byte load path).
inline ConvCase random_conv_case(Rng& rng) {
  ConvCase cc;
  Conv2dAttrs& a = cc.attrs;
  int64_t c_per_group, k_per_group;
  if (rng.below(4) == 0) {
    a.groups = 1 + static_cast<int64_t>(rng.below(40));
    c_per_group = 1;
    k_per_group = pick<int64_t>(rng, {1, 1, 2});
  } else {
    a.groups = pick<int64_t>(rng, {1, 1, 1, 2, 3});
    c_per_group = pick<int64_t>(rng, {2, 3, 5, 8, 13, 16, 24, 37, 64});
    k_per_group = 1 + static_cast<int64_t>(rng.below(70));
  }
  const int64_t r = pick<int64_t>(rng, {1, 2, 3, 5}), s = pick<int64_t>(rng, {1, 3, 4});
  a.stride_h = pick<int64_t>(rng, {1, 1, 2, 3});
  a.stride_w = pick<int64_t>(rng, {1, 2});
  a.dilation_h = pick<int64_t>(rng, {1, 1, 2});
  a.dilation_w = pick<int64_t>(rng, {1, 2});
  a.pad_top = static_cast<int64_t>(rng.below(3));
  a.pad_left = static_cast<int64_t>(rng.below(3));
  a.pad_bottom = static_cast<int64_t>(rng.below(3));
  a.pad_right = static_cast<int64_t>(rng.below(3));
  const int64_t n = 1 + static_cast<int64_t>(rng.below(3));
  // The image must hold the dilated kernel once padded.
  const int64_t min_h = std::max<int64_t>(1, a.dilation_h * (r - 1) + 1 - a.pad_top - a.pad_bottom);
  const int64_t min_w = std::max<int64_t>(1, a.dilation_w * (s - 1) + 1 - a.pad_left - a.pad_right);
  const int64_t h = min_h + static_cast<int64_t>(rng.below(18));
  const int64_t w = min_w + static_cast<int64_t>(rng.below(18));
  cc.input = Shape{n, c_per_group * a.groups, h, w};
  cc.weight = Shape{k_per_group * a.groups, c_per_group, r, s};
  cc.bias = rng.below(2) == 0;
  cc.residual = rng.below(3) == 0;
  cc.activation = pick(rng, {ActivationKind::identity, ActivationKind::relu, ActivationKind::relu6,
                             ActivationKind::silu});
  return cc;
}

// Runs cuda::conv2d on random data for `cc` and holds it to the error bound against the host
// reference computed in double from the same rounded inputs.
template <class T>
void check_conv_against_host(const ConvCase& cc, uint64_t seed) {
  Rng rng(seed);
  const Conv2dParams cp = Conv2dParams::make(cc.input, cc.weight, cc.attrs);
  const Tensor<T> x = random_tensor<T>(cc.input, Layout::nhwc, rng);
  const Tensor<T> w = random_tensor<T>(cc.weight, Layout::nchw, rng);
  const Tensor<T> b = cc.bias ? random_tensor<T>(Shape{cp.k}, Layout::nchw, rng) : Tensor<T>();
  const Tensor<T> res =
      cc.residual ? random_tensor<T>(cp.output_shape(), Layout::nhwc, rng) : Tensor<T>();

  Tensor<double> want =
      conv2d_reference(x.template cast<double>(), w.template cast<double>(),
                       b.empty() ? Tensor<double>() : b.template cast<double>(), cc.attrs);
  Tensor<double> magnitude = conv2d_reference(
      abs_double(x), abs_double(w), b.empty() ? Tensor<double>() : abs_double(b), cc.attrs);
  if (cc.residual) {
    want = add_reference(want, res.template cast<double>());
    magnitude = add_reference(magnitude, abs_double(res));
  }
  want = activation_reference(want, cc.activation);

  const cuda::DeviceTensor<T> dx = upload(x);
  const cuda::DeviceTensor<T> dw = upload(cuda::weight_to_krsc(w));
  const cuda::DeviceTensor<T> db = upload(b);
  const cuda::DeviceTensor<T> dres = upload(res);
  cuda::Conv2dEpilogue<T> epilogue;
  epilogue.bias = cc.bias ? &db : nullptr;
  epilogue.residual = cc.residual ? &dres : nullptr;
  epilogue.activation = cc.activation;
  const Tensor<T> got = cuda::conv2d(dx, dw, cc.attrs, epilogue).to_host();
  const int64_t length = cp.c_per_group() * cp.r * cp.s + 2;  // + bias + residual
  check_within_bound(got, want, magnitude, tensor_core_bound<T>(length),
                     describe(cc, dtype_of<T>, seed));
}

}  // namespace fovea::test
