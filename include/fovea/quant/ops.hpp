// The INT8 ops' entry points, which compiled models call: each runs the fast CPU path, or the
// integer reference when the kernel policy says reference_only (FOVEA_KERNELS=reference), so
// one switch puts a whole INT8 model on the oracle. The two give the same bits.
// last_kernel("qconv2d") names the conv kernel that ran.
#pragma once

#include <array>
#include <string>

#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/cpu/qconv_kernels.hpp"
#include "fovea/cpu/qelementwise_nhwc.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"
#include "fovea/quant/qconv_layer.hpp"
#include "fovea/quant/reference.hpp"

namespace fovea::quant {

namespace detail {

inline bool use_reference() {
  return kernel_policy() == KernelPolicy::reference_only;
}

inline void check_conv_call(const QTensor& x, const QConvLayer& layer, const QTensor* residual,
                            const Conv2dParams& cp) {
  FOVEA_CHECK(x.params == layer.input, "INT8 conv: input params (", x.params.scale, ", ",
              x.params.zero_point, ") differ from the layer's (", layer.input.scale, ", ",
              layer.input.zero_point, ")");
  FOVEA_CHECK(x.q.layout() == Layout::nhwc, "INT8 conv: input must be NHWC");
  FOVEA_CHECK((residual != nullptr) == layer.residual.has_value(), "INT8 conv: the layer ",
              layer.residual ? "adds" : "has no", " residual, and one was ",
              residual != nullptr ? "given" : "not given");
  if (residual != nullptr) {
    FOVEA_CHECK(residual->shape() == cp.output_shape() && residual->q.layout() == Layout::nhwc,
                "INT8 conv: residual must be NHWC ", cp.output_shape(), ", got ",
                residual->shape());
    FOVEA_CHECK(residual->params == *layer.residual,
                "INT8 conv: residual params differ from "
                "the layer's");
  }
}

// Runs the chosen kernel into out_u8 or out_float (NHWC rows of K channels).
inline void run_qconv_kernel(const cpu::int8::QConvKernel& kernel, const QTensor& x,
                             const QConvLayer& layer, const QTensor* residual,
                             const Conv2dParams& cp, Conv2dPrepared* prepared, uint8_t* out_u8,
                             float* out_float) {
  std::shared_ptr<const void> packed;
  const auto make = [&] { return kernel.run.prepare(layer); };
  packed = prepared != nullptr ? prepared->get_or_make(kernel.name, make) : make();
  cpu::int8::QConvCall call{x.q.data(), cp, x.params.zero_point, packed.get(), {}};
  call.out.out = out_u8;
  call.out.out_float = out_float;
  call.out.row_stride = cp.k;
  call.out.residual = residual != nullptr ? residual->q.data() : nullptr;
  kernel.run.run(call);
}

inline const cpu::int8::QConvKernel* choose_qconv_kernel(const Conv2dParams& cp,
                                                         const QConvLayer& layer) {
  const cpu::int8::QConvProblem problem{cp, layer.depthwise()};
  return choose_kernel(cpu::int8::qconv2d_kernels(), problem);
}

}  // namespace detail

// A conv layer on x (NHWC u8 with the layer's input params): u8 output with the layer's
// output params. `residual` must be given exactly when the layer adds one. `prepared` keeps
// the kernel's packed weights between calls (may be null).
inline QTensor qconv2d(const QTensor& x, const QConvLayer& layer, const QTensor* residual,
                       Conv2dPrepared* prepared) {
  FOVEA_CHECK(!layer.dequantize, "INT8 conv: this layer outputs float; call qconv2d_to_float");
  const Conv2dParams cp = Conv2dParams::make(x.shape(), layer.weights.weight.shape(), layer.attrs);
  detail::check_conv_call(x, layer, residual, cp);
  const cpu::int8::QConvKernel* kernel =
      detail::use_reference() ? nullptr : detail::choose_qconv_kernel(cp, layer);
  if (kernel == nullptr) {
    record_kernel("qconv2d", "qconv2d_reference");
    return qconv2d_reference(x, layer.weights, layer.attrs,
                             QEpilogue{layer.act, residual, layer.output});
  }
  record_kernel("qconv2d", kernel->name);
  QTensor y = make_qtensor(cp.output_shape(), layer.output);
  detail::run_qconv_kernel(*kernel, x, layer, residual, cp, prepared, y.q.data(), nullptr);
  return y;
}

// A layer that leaves INT8 (the logits): float(sum) · s_x · s_w[k], (N, K, P, Q) NHWC.
inline Tensor<float> qconv2d_to_float(const QTensor& x, const QConvLayer& layer,
                                      Conv2dPrepared* prepared) {
  FOVEA_CHECK(layer.dequantize, "INT8 conv: this layer outputs u8; call qconv2d");
  const Conv2dParams cp = Conv2dParams::make(x.shape(), layer.weights.weight.shape(), layer.attrs);
  detail::check_conv_call(x, layer, nullptr, cp);
  const cpu::int8::QConvKernel* kernel =
      detail::use_reference() ? nullptr : detail::choose_qconv_kernel(cp, layer);
  if (kernel == nullptr) {
    record_kernel("qconv2d", "qconv2d_reference");
    return qconv2d_dequantized_reference(x, layer.weights, layer.attrs).to_layout(Layout::nhwc);
  }
  record_kernel("qconv2d", kernel->name);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  detail::run_qconv_kernel(*kernel, x, layer, nullptr, cp, prepared, nullptr, y.data());
  return y;
}

inline QTensor qadd(const QTensor& a, const QTensor& b, ActivationKind act,
                    const QuantParams& out) {
  FOVEA_CHECK(a.shape() == b.shape() && a.q.layout() == b.q.layout(),
              "INT8 add: shapes or layouts differ, ", a.shape(), " and ", b.shape());
  if (detail::use_reference()) return qadd_reference(a, b, act, out);
  QTensor y{Tensor<uint8_t>::uninitialized(a.shape(), a.q.layout()), out};
  cpu::int8::qadd_run(a, b, y, clamp_bounds(act, out));
  return y;
}

inline QTensor qmax_pool2d(const QTensor& x, const Pool2dAttrs& attrs) {
  if (detail::use_reference() || x.q.layout() != Layout::nhwc)
    return qmax_pool2d_reference(x, attrs);
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "INT8 max_pool2d");
  QTensor y = make_qtensor(pp.output_shape(), x.params);
  cpu::int8::qmax_pool_nhwc_run(x, pp, y);
  return y;
}

inline QTensor qadaptive_avg_pool2d(const QTensor& x, int64_t out_h, int64_t out_w,
                                    const QuantParams& out) {
  if (detail::use_reference() || x.q.layout() != Layout::nhwc)
    return qadaptive_avg_pool2d_reference(x, out_h, out_w, out);
  FOVEA_CHECK(x.q.rank() == 4 && x.dim(2) > 0 && x.dim(3) > 0 && out_h > 0 && out_w > 0,
              "INT8 adaptive_avg_pool2d: bad input ", x.shape(), " or output ", out_h, "x", out_w);
  QTensor y = make_qtensor(Shape{x.dim(0), x.dim(1), out_h, out_w}, out);
  cpu::int8::qadaptive_avg_pool_nhwc_run(x, y);
  return y;
}

inline QTensor qlookup(const QTensor& x, const std::array<uint8_t, 256>& table,
                       const QuantParams& out) {
  if (detail::use_reference()) return qlookup_reference(x, table, out);
  QTensor y{Tensor<uint8_t>::uninitialized(x.shape(), x.q.layout()), out};
  cpu::int8::qlookup_run(x, table, y);
  return y;
}

inline QTensor qchannel_scale(const QTensor& x, const Tensor<float>& gates,
                              const QuantParams& out) {
  if (detail::use_reference() || x.q.layout() != Layout::nhwc)
    return qchannel_scale_reference(x, gates, out);
  FOVEA_CHECK(x.q.rank() == 4 && gates.numel() == x.dim(0) * x.dim(1),
              "INT8 channel scale: ", gates.shape(), " gates for input ", x.shape());
  QTensor y = make_qtensor(x.shape(), out);
  cpu::int8::qchannel_scale_nhwc_run(x, gates.data(), y);
  return y;
}

// Float → u8 with `params`; rank-4 inputs (either layout) give NHWC.
inline QTensor quantize(const Tensor<float>& x, const QuantParams& params) {
  if (detail::use_reference() || x.rank() != 4) return quantize_reference(x, params);
  QTensor y = make_qtensor(x.shape(), params);
  cpu::int8::quantize_nhwc_run(x, y);
  return y;
}

inline Tensor<float> dequantize(const QTensor& x) {
  return dequantize_reference(x);  // one multiply per element: the reference is the kernel
}

}  // namespace fovea::quant
