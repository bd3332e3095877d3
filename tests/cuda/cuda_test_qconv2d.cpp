// CUDA INT8 conv (IMMA tensor cores, dp4a, depthwise) against quant::qconv2d_reference, BIT FOR
// BIT: the scheme (fovea/quant/scheme.hpp) makes every backend's result the same bytes, so any
// difference at all is a bug. Randomized shapes (odd sizes, batch > 1, non-square images and
// kernels, stride, asymmetric padding, dilation, groups, depthwise with multipliers), residuals,
// every clamp, the float output, ties, and the extreme sums; each problem runs on every path
// that can take it. The packing and the kernel choice are host logic and run without a device.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"
#include "fovea/cuda/qconv2d.hpp"
#include "fovea/quant/reference.hpp"

using namespace fovea;
using cuda::QConvPath;

namespace {

struct QCase {
  quant::QConvLayer layer;
  quant::QTensor x, residual;
};

std::string describe(const QCase& c) {
  const Conv2dAttrs& a = c.layer.attrs;
  std::string text = "x " + c.x.shape().str() + " w " + c.layer.weights.weight.shape().str() +
                     " stride " + std::to_string(a.stride_h) + "x" + std::to_string(a.stride_w) +
                     " pad (t" + std::to_string(a.pad_top) + " l" + std::to_string(a.pad_left) +
                     " b" + std::to_string(a.pad_bottom) + " r" + std::to_string(a.pad_right) +
                     ") dilation " + std::to_string(a.dilation_h) + "x" +
                     std::to_string(a.dilation_w) + " groups " + std::to_string(a.groups) +
                     " zp_x " + std::to_string(c.layer.input.zero_point);
  if (c.layer.dequantize) return text + " float output";
  return text + (c.layer.residual ? " +residual " : " ") + activation_name(c.layer.act);
}

quant::QuantParams params(float scale, int32_t zero_point) {
  quant::QuantParams p;
  p.scale = scale;
  p.zero_point = zero_point;
  return p;
}

quant::QuantParams random_params(Rng& rng) {
  return params(static_cast<float>(rng.uniform(0.002, 0.2)), static_cast<int32_t>(rng.below(256)));
}

quant::QTensor random_qtensor(const Shape& shape, Rng& rng, const quant::QuantParams& p) {
  quant::QTensor t = quant::make_qtensor(shape, p);
  t.q.fill_uniform(rng, 0, 255);
  return t;
}

// Weights over all of [−127, 127], per-channel scales within a factor of 4, biases of the size
// of a typical sum.
quant::QConvWeights random_qweights(const Shape& shape, Rng& rng) {
  quant::QConvWeights w;
  w.weight = Tensor<int8_t>(shape);
  w.weight.fill_uniform(rng, -127, 127);
  for (int64_t k = 0; k < shape[0]; ++k)
    w.scales.push_back(static_cast<float>(0.01 * std::exp2(rng.uniform(-1, 1))));
  w.bias = Tensor<int32_t>(Shape{shape[0]});
  w.bias.fill_uniform(rng, -20000, 20000);
  return w;
}

// The output params that put a typical sum (≈ √L · 74 · 73 in accumulator units) about 60
// levels from the zero point: most outputs land inside [0, 255], with some on each clamp.
quant::QuantParams output_params_for(const quant::QConvLayer& layer, Rng& rng) {
  const double typical = std::sqrt(static_cast<double>(layer.weights.reduction())) * 74 * 73 *
                         layer.input.scale * 0.01;
  return params(static_cast<float>(typical / 60 * rng.uniform(0.7, 1.4)),
                static_cast<int32_t>(rng.below(256)));
}

struct Geometry {
  int64_t n, c, k, r, s, groups;
};

// A random conv on `g`'s channels: stride, asymmetric padding, dilation, image size; then
// random params, activation, residual (half the time) or float output (`dequantize_one_in`).
QCase random_case(Rng& rng, const Geometry& g, int dequantize_one_in = 6) {
  QCase c;
  Conv2dAttrs& a = c.layer.attrs;
  a.groups = g.groups;
  a.stride_h = 1 + static_cast<int64_t>(rng.below(3));
  a.stride_w = 1 + static_cast<int64_t>(rng.below(2));
  a.dilation_h = 1 + static_cast<int64_t>(rng.below(2));
  a.dilation_w = 1 + static_cast<int64_t>(rng.below(2));
  a.pad_top = static_cast<int64_t>(rng.below(3));
  a.pad_left = static_cast<int64_t>(rng.below(3));
  a.pad_bottom = static_cast<int64_t>(rng.below(3));
  a.pad_right = static_cast<int64_t>(rng.below(3));
  const int64_t min_h =
      std::max<int64_t>(1, a.dilation_h * (g.r - 1) + 1 - a.pad_top - a.pad_bottom);
  const int64_t min_w =
      std::max<int64_t>(1, a.dilation_w * (g.s - 1) + 1 - a.pad_left - a.pad_right);
  const int64_t h = min_h + static_cast<int64_t>(rng.below(14));
  const int64_t w = min_w + static_cast<int64_t>(rng.below(14));
  c.layer.weights = random_qweights(Shape{g.k, g.c / g.groups, g.r, g.s}, rng);
  c.layer.input = random_params(rng);
  c.x = random_qtensor(Shape{g.n, g.c, h, w}, rng, c.layer.input);
  c.layer.output = output_params_for(c.layer, rng);
  const ActivationKind acts[] = {ActivationKind::identity, ActivationKind::relu,
                                 ActivationKind::relu6};
  c.layer.act = acts[rng.below(3)];
  if (rng.below(static_cast<uint64_t>(dequantize_one_in)) == 0) {
    c.layer.dequantize = true;
  } else if (rng.below(2) == 0) {
    const Conv2dParams cp = Conv2dParams::make(c.x.shape(), c.layer.weights.weight.shape(), a);
    c.layer.residual = random_params(rng);
    c.residual = random_qtensor(cp.output_shape(), rng, *c.layer.residual);
  }
  return c;
}

template <class V>
V pick(Rng& rng, std::initializer_list<V> values) {
  return values.begin()[rng.below(values.size())];
}

template <class T>
bool same_values(const Tensor<T>& got, const Tensor<T>& want, const std::string& what) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", got.shape(), " vs ", want.shape());
  const Tensor<T> g = got.layout() == want.layout() ? got : got.to_layout(want.layout());
  int64_t wrong = 0, first = -1;
  for (int64_t i = 0; i < g.numel(); ++i) {
    if (g[i] != want[i] && wrong++ == 0) first = i;
  }
  if (wrong > 0) {
    MESSAGE(what, ": ", wrong, " of ", g.numel(), " elements differ; first at memory offset ",
            first, ": got ", +g[first], ", the reference says ", +want[first]);
  }
  return wrong == 0;
}

// Runs the case on `path` and compares with the integer reference, byte for byte (u8) or bit for
// bit (float output). `kernel_part` must appear in the name of the kernel that ran.
void check_on_path(const QCase& c, QConvPath path, const std::string& kernel_part) {
  const cuda::QConvDeviceLayer layer = cuda::upload_qconv(c.layer, path);
  const std::string kernel = cuda::qconv2d_kernel_name(layer.spec, c.x.shape());
  const std::string what = kernel + " " + describe(c);
  CHECK_MESSAGE(kernel.find(kernel_part) != std::string::npos, what);
  const auto x = cuda::DeviceTensor<uint8_t>::from_host(c.x.q);
  if (c.layer.dequantize) {
    const Tensor<float> got = cuda::qconv2d_dequantized(x, layer).to_host();
    const Tensor<float> want =
        quant::qconv2d_dequantized_reference(c.x, c.layer.weights, c.layer.attrs);
    CHECK_MESSAGE(same_values(got, want, what), what);
    return;
  }
  const quant::QTensor* residual = c.layer.residual ? &c.residual : nullptr;
  const auto r = residual != nullptr ? cuda::DeviceTensor<uint8_t>::from_host(c.residual.q)
                                     : cuda::DeviceTensor<uint8_t>();
  const Tensor<uint8_t> got = cuda::qconv2d(x, layer, residual != nullptr ? &r : nullptr).to_host();
  const quant::QTensor want = quant::qconv2d_reference(
      c.x, c.layer.weights, c.layer.attrs, quant::QEpilogue{c.layer.act, residual, c.layer.output});
  CHECK_MESSAGE(same_values(got, want.q, what), what);
}

// The extreme sums: x = 255 everywhere with zp_x = 0, weights ±127 in runs of both signs, a
// reduction of C·R·S = 512·3·3 = 4608 (|Σ| up to 255·127·4608 ≈ 1.5e8, past float's 2^24, so the
// int → float conversion rounds), padding so the border outputs sum fewer taps.
QCase extreme_case(bool dequantize) {
  QCase c;
  c.layer.attrs = Conv2dAttrs::make(1, 1);
  quant::QConvWeights& w = c.layer.weights;
  const int64_t k = 40;
  w.weight = Tensor<int8_t>(Shape{k, 512, 3, 3});
  for (int64_t i = 0; i < w.weight.numel(); ++i) {
    const int64_t channel = i / (512 * 9);
    // Channel 0 all +127, channel 1 all −127, the rest runs of one sign of varying length.
    const bool positive = channel == 0 || (channel != 1 && (i / (channel + 1)) % 3 != 0);
    w.weight[i] = positive ? 127 : -127;
  }
  for (int64_t i = 0; i < k; ++i)
    w.scales.push_back(static_cast<float>(1e-3 * (1 + i % 7)));
  w.bias = Tensor<int32_t>(Shape{k});
  for (int64_t i = 0; i < k; ++i)
    w.bias[i] = static_cast<int32_t>((i % 5 - 2) * 1000003);
  c.layer.input = params(0.01f, 0);
  c.x = quant::make_qtensor(Shape{2, 512, 5, 7}, c.layer.input);
  c.x.q.fill(255);
  c.layer.dequantize = dequantize;
  // m = 0.01 · (1 … 7)e-3 / 20: the full sums of channels 0 and 1 (±1.5e8) reach t ≈ ±75 … 525,
  // so the largest saturate and the mixed-sign channels and the borders land inside [0, 255].
  c.layer.output = params(20.0f, 128);
  c.layer.act = ActivationKind::identity;
  return c;
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda qconv2d: random IMMA-shaped problems on the IMMA and dp4a paths") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(4101);
    for (int i = 0; i < 30; ++i) {
      const Geometry g{
          1 + static_cast<int64_t>(rng.below(3)),   pick<int64_t>(rng, {16, 32, 48, 64, 96, 128}),
          1 + static_cast<int64_t>(rng.below(150)), 1 + static_cast<int64_t>(rng.below(4)),
          1 + static_cast<int64_t>(rng.below(4)),   1};
      const QCase c = random_case(rng, g);
      check_on_path(c, QConvPath::imma, "_imma_");
      check_on_path(c, QConvPath::dp4a, "_dp4a_");
    }
  }

  TEST_CASE("cuda qconv2d: random odd channel counts and groups on the dp4a path") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(4202);
    for (int i = 0; i < 30; ++i) {
      const int64_t groups = pick<int64_t>(rng, {1, 1, 2, 3});
      const int64_t c_per_group = pick<int64_t>(rng, {1, 2, 3, 5, 7, 8, 13, 20, 37});
      const Geometry g{1 + static_cast<int64_t>(rng.below(3)),
                       c_per_group * groups,
                       groups * (1 + static_cast<int64_t>(rng.below(70))),
                       1 + static_cast<int64_t>(rng.below(5)),
                       1 + static_cast<int64_t>(rng.below(5)),
                       groups};
      const QCase c = random_case(rng, g);
      check_on_path(c, QConvPath::dp4a, "_dp4a_");
      check_on_path(c, QConvPath::automatic, "qconv2d_u8s8");
    }
  }

  TEST_CASE("cuda qconv2d: random depthwise problems on the depthwise and dp4a paths") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(4303);
    for (int i = 0; i < 30; ++i) {
      // Channel counts on and off the 4-channel vector; multiplier 2 takes the 1-channel kernel.
      const int64_t channels = pick<int64_t>(rng, {1, 3, 4, 8, 17, 32, 60, 96});
      const int64_t multiplier = pick<int64_t>(rng, {1, 1, 1, 2});
      const Geometry g{1 + static_cast<int64_t>(rng.below(3)),
                       channels,
                       channels * multiplier,
                       pick<int64_t>(rng, {1, 3, 3, 5}),
                       pick<int64_t>(rng, {1, 3, 3, 5}),
                       channels};
      const QCase c = random_case(rng, g);
      const bool vector = multiplier == 1 && channels % 4 == 0;
      check_on_path(c, QConvPath::depthwise, vector ? "_depthwise_direct_x4" : "_direct_x1");
      check_on_path(c, QConvPath::dp4a, "_dp4a_");
    }
  }

  TEST_CASE("cuda qconv2d: the large IMMA tile on a ResNet-like 1x1 conv with residual") {
    if (test::skip_without_cuda_device()) return;
    // 2 images of 36x36 = 2592 pixels = 21 row tiles, times 8 column tiles for K = 1000 (not a
    // multiple of the tile): 168 blocks, enough for the large tile.
    Rng rng(4404);
    QCase c = random_case(rng, Geometry{2, 64, 1000, 1, 1, 1}, /*dequantize_one_in=*/1000000);
    c.layer.attrs = Conv2dAttrs{};
    c.x = random_qtensor(Shape{2, 64, 36, 36}, rng, c.layer.input);
    c.layer.act = ActivationKind::relu;
    c.layer.residual = random_params(rng);
    c.residual = random_qtensor(Shape{2, 1000, 36, 36}, rng, *c.layer.residual);
    check_on_path(c, QConvPath::imma, "_imma_sm80_128x128x64");
    check_on_path(c, QConvPath::dp4a, "_dp4a_");
    c.layer.dequantize = true;
    c.layer.residual.reset();
    check_on_path(c, QConvPath::imma, "_imma_sm80_128x128x64_f32out");
  }

  TEST_CASE("cuda qconv2d: extreme sums with x = 255 and weights of plus or minus 127") {
    if (test::skip_without_cuda_device()) return;
    for (bool dequantize : {false, true}) {
      const QCase c = extreme_case(dequantize);
      check_on_path(c, QConvPath::imma, "_imma_");
      check_on_path(c, QConvPath::dp4a, "_dp4a_");
    }
  }

  TEST_CASE("cuda qconv2d: ties round half to even") {
    if (test::skip_without_cuda_device()) return;
    // m = s_x · s_w / s_y = 1 · 0.5 / 1 = 0.5 exactly, so every odd sum is a tie; sums run over
    // −64 … 64 around the zero point 128.
    Rng rng(4505);
    for (int64_t channels : {16, 5}) {
      QCase c;
      c.layer.attrs = Conv2dAttrs::make(1, 1);
      c.layer.weights.weight = Tensor<int8_t>(Shape{8, channels, 3, 3});
      c.layer.weights.weight.fill_uniform(rng, -1, 1);
      c.layer.weights.scales.assign(8, 0.5f);
      c.layer.weights.bias = Tensor<int32_t>(Shape{8});
      c.layer.weights.bias.fill_uniform(rng, -3, 3);
      c.layer.input = params(1.0f, 3);
      c.x = random_qtensor(Shape{1, channels, 6, 5}, rng, c.layer.input);
      c.x.q.fill_uniform(rng, 0, 6);
      c.layer.output = params(1.0f, 128);
      if (channels % 16 == 0) check_on_path(c, QConvPath::imma, "_imma_");
      check_on_path(c, QConvPath::dp4a, "_dp4a_");
    }
  }
}

TEST_SUITE("cuda") {
  // Pure host logic from here on: runs with or without a device.
  TEST_CASE("cuda qconv2d: automatic path choice and kernel names") {
    Rng rng(4606);
    quant::QConvLayer layer;
    layer.attrs = Conv2dAttrs::make(1, 1);
    layer.weights = random_qweights(Shape{64, 32, 3, 3}, rng);
    const quant::QConvRequant requant = quant::derive_requant(layer);
    const cuda::QConvPacked imma = cuda::pack_qconv(layer, requant);
    CHECK(imma.spec.path == QConvPath::imma);
    CHECK(cuda::qconv2d_kernel_name(imma.spec, Shape{1, 32, 8, 8}) ==
          "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_imma_sm80_64x64x64");
    // 2 · 112 · 112 / 128 = 196 blocks: the large tile.
    CHECK(cuda::qconv2d_kernel_name(imma.spec, Shape{2, 32, 112, 112}) ==
          "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_imma_sm80_128x128x64");

    layer.weights = random_qweights(Shape{64, 3, 7, 7}, rng);
    const cuda::QConvPacked first = cuda::pack_qconv(layer, quant::derive_requant(layer));
    CHECK(first.spec.path == QConvPath::dp4a);
    CHECK(cuda::qconv2d_kernel_name(first.spec, Shape{1, 3, 16, 16}) ==
          "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_dp4a_sm61_64x64x32");

    layer.attrs = Conv2dAttrs::make(1, 1, 1, 24);
    layer.weights = random_qweights(Shape{24, 1, 3, 3}, rng);
    layer.dequantize = true;
    const cuda::QConvPacked depthwise = cuda::pack_qconv(layer, quant::derive_requant(layer));
    CHECK(depthwise.spec.path == QConvPath::depthwise);
    CHECK(cuda::qconv2d_kernel_name(depthwise.spec, Shape{1, 24, 9, 9}) ==
          "qconv2d_u8s8_s32acc_nhwc_depthwise_direct_x4_f32out");
  }

  TEST_CASE("cuda qconv2d: packed layouts hold every weight where the kernels read it") {
    Rng rng(4707);
    quant::QConvLayer layer;
    layer.attrs = Conv2dAttrs::make(1, 1);
    layer.input = params(0.05f, 7);
    layer.weights = random_qweights(Shape{5, 16, 3, 2}, rng);
    const quant::QConvRequant requant = quant::derive_requant(layer);
    const Tensor<int8_t>& w = layer.weights.weight;

    const cuda::QConvPacked imma = cuda::pack_qconv(layer, requant, QConvPath::imma);
    CHECK(imma.spec.c_packed == 16);
    CHECK(imma.spec.taps_length == 96);
    CHECK(imma.spec.row_length == 128);  // whole 64-byte slices
    CHECK(imma.spec.rows == 128);        // whole 128-channel tiles
    CHECK(imma.weight.size() == 128u * 128u);
    const cuda::QConvPacked dp4a = cuda::pack_qconv(layer, requant, QConvPath::dp4a);
    CHECK(dp4a.spec.row_length == 96);
    int64_t mismatches = 0, nonzero_padding = 0;
    for (int64_t k = 0; k < 128; ++k)
      for (int64_t i = 0; i < 128; ++i) {
        const int8_t v = imma.weight[static_cast<size_t>(k * 128 + i)];
        if (k >= 5 || i >= 96) {
          nonzero_padding += v != 0;
          continue;
        }
        const int64_t c = i % 16, tap = i / 16;
        mismatches += v != w(k, c, tap / 2, tap % 2);
        mismatches += dp4a.weight[static_cast<size_t>(k * 96 + i)] != v;
      }
    CHECK(mismatches == 0);
    CHECK(nonzero_padding == 0);
    // The per-channel values are derive_requant's, unchanged, zero past K.
    for (int64_t k = 0; k < 128; ++k) {
      const size_t i = static_cast<size_t>(k);
      CHECK(imma.bias[i] == (k < 5 ? requant.bias[i] : 0));
      CHECK(imma.multiplier[i] == (k < 5 ? requant.multiplier[i] : 0.0f));
    }
    CHECK(imma.spec.input_zero_point == 7);

    // Odd channel counts: dp4a pads each tap to a whole word with zeros.
    layer.weights = random_qweights(Shape{3, 5, 1, 2}, rng);
    const cuda::QConvPacked odd =
        cuda::pack_qconv(layer, quant::derive_requant(layer), QConvPath::dp4a);
    CHECK(odd.spec.c_packed == 8);
    CHECK(odd.spec.taps_length == 16);
    CHECK(odd.spec.row_length == 32);
    CHECK(odd.weight[static_cast<size_t>(1 * 32 + 8 + 4)] == layer.weights.weight(1, 4, 0, 1));
    CHECK(odd.weight[static_cast<size_t>(1 * 32 + 8 + 5)] == 0);

    // Depthwise: tap-major rows, one byte per channel.
    layer.attrs = Conv2dAttrs::make(1, 1, 1, 6);
    layer.weights = random_qweights(Shape{6, 1, 3, 3}, rng);
    const cuda::QConvPacked dw =
        cuda::pack_qconv(layer, quant::derive_requant(layer), QConvPath::depthwise);
    CHECK(dw.spec.row_length == 8);
    CHECK(dw.spec.rows == 9);
    CHECK(dw.weight[static_cast<size_t>(5 * 8 + 4)] == layer.weights.weight(4, 0, 1, 2));
  }

  TEST_CASE("cuda qconv2d: paths that cannot take a layer say why") {
    Rng rng(4808);
    quant::QConvLayer layer;
    layer.weights = random_qweights(Shape{8, 3, 3, 3}, rng);
    const quant::QConvRequant requant = quant::derive_requant(layer);
    CHECK_THROWS_WITH_AS(cuda::pack_qconv(layer, requant, QConvPath::imma),
                         doctest::Contains("C % 16 == 0"), Error);
    CHECK_THROWS_WITH_AS(cuda::pack_qconv(layer, requant, QConvPath::depthwise),
                         doctest::Contains("one input channel per group"), Error);
    layer.attrs.groups = 2;
    layer.weights = random_qweights(Shape{8, 16, 1, 1}, rng);
    CHECK(cuda::qconv_path_unsupported_reason(Shape{8, 16, 1, 1}, 2, QConvPath::imma)
              .find("groups == 1") != std::string::npos);
    CHECK(cuda::pack_qconv(layer, quant::derive_requant(layer)).spec.path == QConvPath::dp4a);
  }
}
