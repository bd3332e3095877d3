// Helpers for the INT8 tests: random quantized layers and activations, exact comparison, and a
// loop over every INT8 ISA this CPU has.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/cpu/int8_isa.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/quant/qconv_layer.hpp"

namespace fovea::test {

// Runs fn once per INT8 ISA the CPU has, the limit set to it; restores the limit.
template <class Fn>
void for_each_int8_isa(const Fn& fn) {
  const cpu::Int8Isa saved = cpu::int8_isa_limit();
  for (cpu::Int8Isa isa : cpu::kInt8Isas) {
    if (cpu::int8_isa_rank(isa) > cpu::int8_isa_rank(cpu::int8_isa_supported())) continue;
    cpu::set_int8_isa_limit(isa);
    fn(isa);
  }
  cpu::set_int8_isa_limit(saved);
}

namespace detail {

inline void collect_batchnorms(nn::Module& m, std::vector<nn::BatchNorm2d*>& out) {
  if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) out.push_back(bn);
  for (const auto& child : m.children())
    collect_batchnorms(*child.second, out);
}

}  // namespace detail

// Gives every batch norm random affine terms and the running statistics of `batch`, as
// weights_tools' randomize_batchnorm does: with init_weights' identity batch norms the signal
// of a random MobileNet fades to 1e-8 by the head, and its logits are the classifier's bias.
inline void measure_batchnorms(nn::Module& model, const Tensor<float>& batch, uint64_t seed) {
  std::vector<nn::BatchNorm2d*> norms;
  detail::collect_batchnorms(model, norms);
  Rng rng(seed);
  for (nn::BatchNorm2d* bn : norms) {
    bn->weight().fill_uniform(rng, 0.5, 1.5);
    bn->bias().fill_normal(rng, 0.0, 0.1);
    bn->set_momentum(1.0);  // the running statistics become this batch's
  }
  model.set_training(true);
  model.forward(batch);
  model.set_training(false);
  for (nn::BatchNorm2d* bn : norms)
    bn->set_momentum(0.1);
}

inline quant::QuantParams random_params(Rng& rng) {
  quant::QuantParams p;
  p.scale = static_cast<float>(rng.uniform(0.002, 0.2));
  p.zero_point = static_cast<int32_t>(rng.below(256));
  return p;
}

// A u8 NHWC activation of `shape` (N, C, H, W), uniform over all 256 levels.
inline quant::QTensor random_qtensor(const Shape& shape, Rng& rng, quant::QuantParams params) {
  quant::QTensor t = quant::make_qtensor(shape, params);
  t.q.fill_uniform(rng, 0, 255);
  return t;
}

// Weights uniform in [−127, 127] (extremes included), random scales and biases.
inline quant::QConvWeights random_qweights(const Shape& weight_shape, Rng& rng) {
  quant::QConvWeights w;
  w.weight = Tensor<int8_t>(weight_shape);
  w.weight.fill_uniform(rng, -127, 127);
  const int64_t k = weight_shape[0];
  for (int64_t i = 0; i < k; ++i)
    w.scales.push_back(static_cast<float>(rng.uniform(0.001, 0.05)));
  w.bias = Tensor<int32_t>(Shape{k});
  w.bias.fill_uniform(rng, -20000, 20000);
  return w;
}

// Whether two u8 tensors hold the same bytes in the same logical places; reports the first
// difference.
inline bool same_bytes(const Tensor<uint8_t>& got, const Tensor<uint8_t>& want,
                       const std::string& what) {
  if (got.shape() != want.shape()) {
    MESSAGE(what, ": shape ", got.shape(), " vs ", want.shape());
    return false;
  }
  const Tensor<uint8_t> g = got.layout() == want.layout() ? got : got.to_layout(want.layout());
  for (int64_t i = 0; i < g.numel(); ++i) {
    if (g[i] != want[i]) {
      MESSAGE(what, ": element ", i, " is ", int(g[i]), ", the reference says ", int(want[i]));
      return false;
    }
  }
  return true;
}

inline bool same_floats(const Tensor<float>& got, const Tensor<float>& want,
                        const std::string& what) {
  if (got.shape() != want.shape()) {
    MESSAGE(what, ": shape ", got.shape(), " vs ", want.shape());
    return false;
  }
  const Tensor<float> g = got.layout() == want.layout() ? got : got.to_layout(want.layout());
  for (int64_t i = 0; i < g.numel(); ++i) {
    if (g[i] != want[i]) {
      MESSAGE(what, ": element ", i, " is ", g[i], ", the reference says ", want[i]);
      return false;
    }
  }
  return true;
}

}  // namespace fovea::test
