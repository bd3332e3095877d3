// The INT8 conv kernel table (STYLE.md pattern 1): each row is an algorithm for one ISA, with the
// ISA's availability part of supports(), so the table picks the best path this CPU has and
// set_int8_isa_limit can cap it. Names follow qconv2d_<in><weights>_<layout>_<algo>_<isa>.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fovea/cpu/int8_isa.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/cpu/qconv_depthwise_nhwc.hpp"
#include "fovea/cpu/qconv_gemm_nhwc.hpp"
#include "fovea/quant/qconv_layer.hpp"

namespace fovea::cpu::int8 {

struct QConvProblem {
  Conv2dParams params;
  bool depthwise = false;
};

struct QConvCall {
  const uint8_t* x;
  const Conv2dParams& params;
  int32_t x_zero_point;
  const void* prepared;
  QGemmOutput out;  // its per-channel arrays are filled from the prepared requantization
};

struct QConvRun {
  std::shared_ptr<const void> (*prepare)(const quant::QConvLayer&);
  void (*run)(QConvCall&);
};

using QConvKernel = KernelEntry<QConvProblem, QConvRun>;

namespace detail {

inline void fill_requant(QGemmOutput& out, const quant::QConvRequant& r) {
  out.bias = r.bias.data();
  out.multiplier = r.multiplier.data();
  out.zero_point = r.zero_point;
  out.t_lo = r.t_lo;
  out.t_hi = r.t_hi;
  out.clamp_by_saturation = r.clamp_by_saturation;
  out.residual_zero_point = r.residual_zero_point;
  out.residual_multiplier = r.residual_multiplier;
}

template <Int8Isa kIsa>
QConvKernel qconv_gemm_row(int priority) {
  QConvKernel row;
  row.name = std::string("qconv2d_u8s8_nhwc_gemm_") + int8_isa_name(kIsa);
  row.priority = priority;
  row.supports = [](const QConvProblem& p) {
    return int8_isa_usable(kIsa) && p.params.groups() == 1 &&
           p.params.c * p.params.r * p.params.s <= quant::kMaxReduction;
  };
  row.run.prepare = [](const quant::QConvLayer& layer) -> std::shared_ptr<const void> {
    return pack_qgemm(layer, kIsa);
  };
  row.run.run = [](QConvCall& call) {
    const auto& packed = *static_cast<const QGemmPacked*>(call.prepared);
    fill_requant(call.out, packed.requant);
    qconv_gemm_nhwc_run(call.x, call.params, packed, call.x_zero_point, call.out);
  };
  return row;
}

template <Int8Isa kIsa>
QConvKernel qconv_depthwise_row(int priority) {
  QConvKernel row;
  row.name = std::string("qconv2d_u8s8_nhwc_depthwise_") + int8_isa_name(kIsa);
  row.priority = priority;
  row.supports = [](const QConvProblem& p) { return int8_isa_usable(kIsa) && p.depthwise; };
  row.run.prepare = [](const quant::QConvLayer& layer) -> std::shared_ptr<const void> {
    return pack_qdepthwise(layer, kIsa);
  };
  row.run.run = [](QConvCall& call) {
    const auto& packed = *static_cast<const QDepthwisePacked*>(call.prepared);
    fill_requant(call.out, packed.requant);
    qconv_depthwise_nhwc_run(call.x, call.params, packed, call.x_zero_point, call.out);
  };
  return row;
}

}  // namespace detail

inline const std::vector<QConvKernel>& qconv2d_kernels() {
  static const std::vector<QConvKernel> table = {
      detail::qconv_gemm_row<Int8Isa::avx512vnni>(30),
      detail::qconv_gemm_row<Int8Isa::avx2>(20),
      detail::qconv_gemm_row<Int8Isa::neon_dotprod>(30),
      detail::qconv_gemm_row<Int8Isa::neon>(20),
      detail::qconv_gemm_row<Int8Isa::generic>(10),
      detail::qconv_depthwise_row<Int8Isa::avx512vnni>(35),
      detail::qconv_depthwise_row<Int8Isa::avx2>(25),
      detail::qconv_depthwise_row<Int8Isa::neon_dotprod>(35),
      detail::qconv_depthwise_row<Int8Isa::neon>(25),
      detail::qconv_depthwise_row<Int8Isa::generic>(15),
  };
  return table;
}

}  // namespace fovea::cpu::int8
