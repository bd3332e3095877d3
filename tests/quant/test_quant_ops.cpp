// The INT8 scheme and reference ops on hand-checked numbers, the ops around the convs (add,
// pools, tables, channel scale, quantize) against the reference bit for bit, and the
// calibration observers on distributions whose answer is known.
#include <doctest/doctest.h>

#include <cmath>

#include "fovea/quant/lookup_table.hpp"
#include "fovea/quant/observer.hpp"
#include "fovea/quant/ops.hpp"
#include "qtest_util.hpp"

namespace {

using fovea::Rng;
using fovea::Shape;
using fovea::Tensor;
namespace quant = fovea::quant;

quant::QTensor qtensor_of(const Shape& shape, std::initializer_list<int> values,
                          quant::QuantParams params) {
  quant::QTensor t = quant::make_qtensor(shape, params);
  int64_t i = 0;
  for (int v : values)
    t.q[i++] = static_cast<uint8_t>(v);
  return t;
}

// Add, pools, tables, channel scale and quantize against their references on random shapes.
void check_ops_around_convs() {
  Rng rng(21);
  for (int round = 0; round < 12; ++round) {
    const int64_t n = 1 + static_cast<int64_t>(rng.below(3)),
                  c = 1 + static_cast<int64_t>(rng.below(70));
    const int64_t h = 1 + static_cast<int64_t>(rng.below(15)),
                  w = 1 + static_cast<int64_t>(rng.below(15));
    const Shape shape{n, c, h, w};
    const quant::QTensor a =
        fovea::test::random_qtensor(shape, rng, fovea::test::random_params(rng));
    const quant::QTensor b =
        fovea::test::random_qtensor(shape, rng, fovea::test::random_params(rng));
    const quant::QuantParams out = fovea::test::random_params(rng);
    const std::string what = shape.str();
    CHECK(fovea::test::same_bytes(quant::qadd(a, b, fovea::ActivationKind::relu6, out).q,
                                  quant::qadd_reference(a, b, fovea::ActivationKind::relu6, out).q,
                                  "add " + what));
    fovea::Pool2dAttrs pool = fovea::Pool2dAttrs::make(3, 2, 1);
    if (h >= 2 && w >= 2)
      CHECK(fovea::test::same_bytes(quant::qmax_pool2d(a, pool).q,
                                    quant::qmax_pool2d_reference(a, pool).q, "max pool " + what));
    const int64_t oh = 1 + static_cast<int64_t>(rng.below(3)),
                  ow = 1 + static_cast<int64_t>(rng.below(3));
    CHECK(fovea::test::same_bytes(quant::qadaptive_avg_pool2d(a, oh, ow, out).q,
                                  quant::qadaptive_avg_pool2d_reference(a, oh, ow, out).q,
                                  "adaptive pool " + what));
    const quant::LookupTable table =
        quant::make_lookup_table(fovea::ActivationKind::hardswish, a.params, out);
    CHECK(fovea::test::same_bytes(quant::qlookup(a, table, out).q,
                                  quant::qlookup_reference(a, table, out).q, "lookup " + what));
    Tensor<float> gates(Shape{n, c});
    gates.fill_uniform(rng, 0, 1);
    CHECK(fovea::test::same_bytes(quant::qchannel_scale(a, gates, out).q,
                                  quant::qchannel_scale_reference(a, gates, out).q,
                                  "channel scale " + what));
    Tensor<float> x(shape);
    x.fill_uniform(rng, -3, 3);
    CHECK(fovea::test::same_bytes(quant::quantize(x, out).q, quant::quantize_reference(x, out).q,
                                  "quantize " + what));
  }
  // An image's 3 channels take their own interleaving loop.
  Tensor<float> image(Shape{2, 3, 5, 37});
  image.fill_uniform(rng, -3, 3);
  const quant::QuantParams params = fovea::test::random_params(rng);
  CHECK(fovea::test::same_bytes(quant::quantize(image, params).q,
                                quant::quantize_reference(image, params).q, "quantize an image"));
}

}  // namespace

TEST_SUITE("quant") {
  TEST_CASE("requantize rounds half to even and clamps to the activation's bounds") {
    const quant::ClampBounds all;
    CHECK(quant::requantize(100, 0.5f, 0.0f, 10, all) == 60);
    CHECK(quant::requantize(3, 0.5f, 0.0f, 0, all) == 2);   // 1.5 → 2
    CHECK(quant::requantize(5, 0.5f, 0.0f, 0, all) == 2);   // 2.5 → 2
    CHECK(quant::requantize(-3, 0.5f, 0.0f, 5, all) == 3);  // −1.5 → −2
    CHECK(quant::requantize(1000000, 1.0f, 0.0f, 0, all) == 255);
    CHECK(quant::requantize(-1000000, 1.0f, 0.0f, 7, all) == 0);
    // ReLU starts at the zero point; ReLU6 ends at zp + round(6 / scale).
    const quant::QuantParams out{0.05f, 20};
    const quant::ClampBounds relu6 = quant::clamp_bounds(fovea::ActivationKind::relu6, out);
    CHECK(relu6.lo == 20);
    CHECK(relu6.hi == 140);
    CHECK(quant::requantize(-50, 1.0f, 0.0f, 20, relu6) == 20);
    CHECK(quant::requantize(500, 1.0f, 0.0f, 20, relu6) == 140);
    // A residual adds (r − zp_r) · m_r before the rounding: 10·0.5 + (7 − 3)·0.25 = 6.
    CHECK(quant::requantize(10, 0.5f, quant::residual_addend(7, 3, 0.25f), 0, all) == 6);
  }

  TEST_CASE("activation params cover the range and hold zero exactly") {
    const quant::QuantParams p = quant::activation_params(-1.0, 3.0);
    CHECK(p.scale == doctest::Approx(4.0 / 255));
    CHECK(p.zero_point == 64);  // round(1 / (4/255)) = round(63.75)
    CHECK(quant::dequantize_value(p.zero_point, p) == 0.0f);
    const quant::QuantParams positive = quant::activation_params(0.5, 2.0);  // widened to [0, 2]
    CHECK(positive.zero_point == 0);
    CHECK(quant::quantize_value(2.0f, positive) == 255);
    CHECK(quant::quantize_value(-5.0f, positive) == 0);
    CHECK(quant::quantize_value(std::nanf(""), positive) == 0);
    CHECK(quant::quantize_weight(0.5f, 0.5f / 127) == 127);
    CHECK(quant::quantize_weight(-1.0f, 0.5f / 127) == -127);  // clipped, never −128
  }

  TEST_CASE("the reference conv sums (x - zp) * w with padding reading the zero point") {
    // x: one 2×2 channel with zp 10 (real 0 = 10); w: one 3×3 kernel of ones except the centre
    // 2; padding 1, so the output's top-left sees x00·2 + x01 + x10 + x11 and five pads.
    const quant::QTensor x = qtensor_of(Shape{1, 1, 2, 2}, {11, 12, 13, 14}, {1.0f, 10});
    quant::QConvWeights w;
    w.weight = Tensor<int8_t>(Shape{1, 1, 3, 3});
    w.weight.fill(1);
    w.weight(0, 0, 1, 1) = 2;
    w.scales = {1.0f};
    w.bias = Tensor<int32_t>(Shape{1});
    w.bias[0] = 5;
    const quant::QTensor y = quant::qconv2d_reference(
        x, w, fovea::Conv2dAttrs::make(1, 1),
        quant::QEpilogue{fovea::ActivationKind::identity, nullptr, {1.0f, 0}});
    // (1·2 + 2 + 3 + 4) + 5 = 16; bottom-right: 4·2 + 1 + 2 + 3 + 5 = 19.
    CHECK(int(y.q(0, 0, 0, 0)) == 16);
    CHECK(int(y.q(0, 0, 1, 1)) == 19);
    const Tensor<float> logits =
        quant::qconv2d_dequantized_reference(x, w, fovea::Conv2dAttrs::make(1, 1));
    CHECK(logits(0, 0, 0, 0) == 16.0f);
  }

  TEST_CASE("the reference add, pools and concat on hand-checked numbers") {
    const quant::QuantParams pa{0.5f, 10}, pb{0.25f, 0}, out{1.0f, 5};
    const quant::QTensor a = qtensor_of(Shape{1, 2, 1, 1}, {14, 6}, pa);  // reals 2, −2
    const quant::QTensor b = qtensor_of(Shape{1, 2, 1, 1}, {12, 4}, pb);  // reals 3, 1
    const quant::QTensor sum = quant::qadd_reference(a, b, fovea::ActivationKind::relu, out);
    CHECK(int(sum.q[0]) == 10);  // 5 + 5
    CHECK(int(sum.q[1]) == 5);   // −1 clamps at ReLU's zero point
    // Max pool 2×2 keeps the params; the average of (11, 12, 13, 14) − 10 is 2.5 → 2 (half even).
    const quant::QTensor x = qtensor_of(Shape{1, 1, 2, 2}, {11, 12, 13, 14}, {1.0f, 10});
    const quant::QTensor mx = quant::qmax_pool2d_reference(x, fovea::Pool2dAttrs::make(2, 2));
    CHECK(int(mx.q[0]) == 14);
    CHECK(mx.params == x.params);
    const quant::QTensor avg = quant::qglobal_avg_pool2d_reference(x, {1.0f, 0});
    CHECK(int(avg.q[0]) == 2);
    const quant::QTensor cat = quant::qconcat_channels_reference({a, b}, {0.5f, 10});
    CHECK(cat.dim(1) == 4);
    CHECK(int(cat.q(0, 2, 0, 0)) == 16);  // real 3 at scale 0.5 and zp 10
  }

  TEST_CASE("a lookup table is the activation on each of the 256 inputs") {
    const quant::QuantParams in{0.05f, 128}, out{0.02f, 20};
    const quant::LookupTable t = quant::make_lookup_table(fovea::ActivationKind::silu, in, out);
    for (int q : {0, 100, 128, 200, 255}) {
      const double x = 0.05 * (q - 128);
      const double want = std::nearbyint(x / (1 + std::exp(-x)) / 0.02) + 20;
      CHECK(int(t[static_cast<size_t>(q)]) == std::clamp(static_cast<int>(want), 0, 255));
    }
  }

  TEST_CASE("the INT8 ops around the convs equal the reference bit for bit") {
    fovea::test::for_each_int8_isa([](fovea::cpu::Int8Isa) { check_ops_around_convs(); });
  }

  TEST_CASE("observers: min-max sees everything, percentile and entropy clip a rare outlier") {
    Tensor<float> x(Shape{100000});
    Rng rng(4);
    for (float& v : x)
      v = static_cast<float>(rng.normal());
    x[0] = 60.0f;  // one outlier far in the tail
    quant::Observer o;
    o.observe_range(x);
    o.observe_histogram(x);
    CHECK(o.range(quant::CalibrationMethod::minmax).hi == doctest::Approx(60.0));
    for (quant::CalibrationMethod m :
         {quant::CalibrationMethod::percentile, quant::CalibrationMethod::entropy}) {
      const quant::ValueRange r = o.range(m);
      INFO(std::string(quant::calibration_method_name(m)), " chose [", r.lo, ", ", r.hi, "]");
      CHECK(r.hi < 20.0);  // the outlier is clipped
      CHECK(r.hi > 3.0);   // but the bulk of the normal distribution is kept
    }
  }

  // Half of a ReLU's outputs are exactly 0; counted like the other values, their spike made the
  // divergence prefer ranges with one bin per level, which clipped at 1.7 standard deviations.
  TEST_CASE("observers: entropy keeps the tail of a ReLU output") {
    Tensor<float> x(Shape{1000000});
    Rng rng(1);
    for (float& v : x)
      v = std::max(0.0f, static_cast<float>(rng.normal()));
    quant::Observer o;
    o.observe_range(x);
    o.observe_histogram(x);
    CHECK(o.range(quant::CalibrationMethod::entropy).hi > 3.5);
  }

  TEST_CASE("observers: MSE trades clipping for resolution and keeps a uniform range") {
    // Laplace(1): a tail of many moderate values, whose rounding error outweighs clipping.
    Tensor<float> x(Shape{200000});
    Rng rng(5);
    for (float& v : x) {
      const double u = rng.uniform() - 0.5;
      v = static_cast<float>(-(u < 0 ? -1 : 1) * std::log(1 - 2 * std::abs(u)));
    }
    quant::Observer o;
    o.observe_range(x);
    o.observe_histogram(x);
    const quant::ValueRange all = o.range(quant::CalibrationMethod::minmax);
    const quant::ValueRange mse = o.range(quant::CalibrationMethod::mse);
    const auto squared_error = [&](const quant::ValueRange& r) {
      const quant::QuantParams p = quant::activation_params(r.lo, r.hi);
      double total = 0;
      for (const float v : x) {
        const double e = quant::dequantize_value(quant::quantize_value(v, p), p) - v;
        total += e * e;
      }
      return total;
    };
    INFO("min-max [", all.lo, ", ", all.hi, "], mse [", mse.lo, ", ", mse.hi, "]");
    CHECK(mse.hi - mse.lo < all.hi - all.lo);
    CHECK(squared_error(mse) < squared_error(all));
    Tensor<float> u(Shape{100000});
    u.fill_uniform(rng, 0, 1);
    quant::Observer ou;
    ou.observe_range(u);
    ou.observe_histogram(u);
    CHECK(ou.range(quant::CalibrationMethod::mse).hi > 0.95);
    CHECK(ou.range(quant::CalibrationMethod::entropy).hi > 0.9);
  }
}
