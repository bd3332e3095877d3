// GraphValue: what flows along a graph edge. Activations and weights are float tensors; shape
// constants, axes and indices (int64 in ONNX) are held as int32 tensors.
#pragma once

#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "fovea/core/tensor.hpp"

namespace fovea::graph {

class GraphValue {
 public:
  GraphValue() = default;
  GraphValue(Tensor<float> t) : v_(std::move(t)) {}
  GraphValue(Tensor<int32_t> t) : v_(std::move(t)) {}

  bool empty() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_float() const { return std::holds_alternative<Tensor<float>>(v_); }
  bool is_int() const { return std::holds_alternative<Tensor<int32_t>>(v_); }
  const char* kind() const { return is_float() ? "float" : is_int() ? "int" : "empty"; }

  const Tensor<float>& as_float() const {
    FOVEA_CHECK(is_float(), "expected a float tensor, got ", describe());
    return std::get<Tensor<float>>(v_);
  }
  Tensor<float>& as_float() {
    FOVEA_CHECK(is_float(), "expected a float tensor, got ", describe());
    return std::get<Tensor<float>>(v_);
  }
  const Tensor<int32_t>& as_int() const {
    FOVEA_CHECK(is_int(), "expected an int tensor, got ", describe());
    return std::get<Tensor<int32_t>>(v_);
  }

  Shape shape() const {
    if (is_float()) return as_float().shape();
    if (is_int()) return as_int().shape();
    return Shape();
  }

  std::string describe() const {
    if (empty()) return "no value";
    return std::string(kind()) + " tensor " + shape().str();
  }

  // The elements of an int tensor (shapes, axes, indices) as int64.
  std::vector<int64_t> to_ints() const {
    const Tensor<int32_t>& t = as_int();
    return std::vector<int64_t>(t.begin(), t.end());
  }

 private:
  std::variant<std::monostate, Tensor<float>, Tensor<int32_t>> v_;
};

// Applies `f` to the tensor a value holds, whichever element type it is (for ops that only move
// elements: reshape, concat, transpose, gather).
template <class F>
GraphValue visit_tensor(const GraphValue& v, F f) {
  if (v.is_float()) return GraphValue(f(v.as_float()));
  return GraphValue(f(v.as_int()));
}

}  // namespace fovea::graph
