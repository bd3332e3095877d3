// INT8 convolution on the device: u8 NHWC activations, s8 per-output-channel weights, int32
// sums and the one requantization of fovea/quant/scheme.hpp. Every path computes the same int32
// sum and applies the same IEEE single-precision steps (each one correctly rounded), with the
// per-channel values derived on the host by quant::derive_requant, so the results are the bits
// quant::qconv2d_reference gives, not merely close to them.
//
// Three kernel paths (QConvPath):
//   - imma: implicit GEMM on integer tensor cores (mma.sync m16n8k32 u8·s8 → s32, sm_80+);
//     groups == 1 and C % 16 == 0.
//   - dp4a: implicit GEMM on CUDA cores (the dp4a four-way dot product); any groups, any C.
//   - depthwise: one input channel per group (C/groups == 1, any channel multiplier).
// Any stride, asymmetric padding and dilation. Weights are packed once on the host
// (pack_qconv) in the layout of the path, then uploaded (upload_qconv). The definitions live in
// kernels/quant/; this header is plain C++17.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fovea/cuda/device_tensor.hpp"
#include "fovea/cuda/runtime.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/quant/qconv_layer.hpp"

namespace fovea::cuda {

enum class QConvPath {
  automatic,  // depthwise where C/groups == 1, else imma where it applies, else dp4a
  imma,
  dp4a,
  depthwise,
};

const char* qconv_path_name(QConvPath path);

// Why `path` cannot run a conv with weight (K, C/groups, R, S) and `groups` (empty when it can).
// `automatic` always can.
std::string qconv_path_unsupported_reason(const Shape& weight_shape, int64_t groups,
                                          QConvPath path);

// Everything about a packed layer except its arrays: the conv, the path its packing is for,
// the packed geometry and the requantization's scalars.
struct QConvSpec {
  QConvPath path = QConvPath::dp4a;  // never automatic once packed
  Shape weight_shape;                // (K, C/groups, R, S)
  Conv2dAttrs attrs;
  // Packed weights: `rows` rows of `row_length` bytes. imma and dp4a: row k is output channel
  // k's (r, s, c) taps, channels innermost, c_packed channels per tap (zeros past C/groups),
  // zero-padded to row_length. depthwise: row (r·S + s) holds that tap of every channel.
  int64_t c_packed = 0;
  int64_t taps_length = 0;  // R·S·c_packed: the bytes of a row that hold taps
  int64_t row_length = 0;
  int64_t rows = 0;
  int32_t input_zero_point = 0;  // padding reads as this
  bool dequantize = false;       // float output float(acc)·m[k] instead of u8
  bool residual = false;         // the layer adds a u8 residual in its requantization
  int32_t zero_point = 0;        // the requantization's scalars, from QConvRequant
  float t_lo = 0, t_hi = 255;
  float residual_multiplier = 0;
  int32_t residual_zero_point = 0;

  int64_t out_channels() const { return weight_shape[0]; }
};

// A layer packed on the host: per-channel arrays have `bias_length` ≥ K entries (zeros past K).
struct QConvPacked {
  QConvSpec spec;
  std::vector<int8_t> weight;
  std::vector<int32_t> bias;  // bias_q − zp_x·Σw, from QConvRequant
  std::vector<float> multiplier;
};

// Packs `layer` for `path` (automatic: the fastest path that applies), taking the per-channel
// values from `requant` (quant::derive_requant(layer)) unchanged. Throws when the path cannot
// run the layer, naming why. Plain host code: needs no device.
QConvPacked pack_qconv(const quant::QConvLayer& layer, const quant::QConvRequant& requant,
                       QConvPath path = QConvPath::automatic);

// A packed layer in device memory, ready for qconv2d.
struct QConvDeviceLayer {
  QConvSpec spec;
  DeviceBuffer weight, bias, multiplier;
};

QConvDeviceLayer upload_qconv(const QConvPacked& packed, Stream stream = {});
// pack_qconv(layer, quant::derive_requant(layer), path), uploaded.
QConvDeviceLayer upload_qconv(const quant::QConvLayer& layer, QConvPath path = QConvPath::automatic,
                              Stream stream = {});

// y = requantize(conv(x)) in u8. x: (N, C, H, W) u8 in NHWC; residual: null, or the output's
// shape in NHWC (required exactly when the layer has residual params); y: (N, K, P, Q) in NHWC.
void qconv2d_into(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                  const DeviceTensor<uint8_t>* residual, DeviceTensor<uint8_t>& y,
                  Stream stream = {});
DeviceTensor<uint8_t> qconv2d(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                              const DeviceTensor<uint8_t>* residual = nullptr, Stream stream = {});

// The float output of a dequantizing layer (the logits): y = float(acc)·m[k], (N, K, P, Q) NHWC.
void qconv2d_dequantized_into(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                              DeviceTensor<float>& y, Stream stream = {});
DeviceTensor<float> qconv2d_dequantized(const DeviceTensor<uint8_t>& x,
                                        const QConvDeviceLayer& layer, Stream stream = {});

// The kernel qconv2d runs for this layer on an input of `input_shape`, e.g.
// "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_imma_sm80_128x128x64" (with "_f32out" when the layer
// dequantizes). Host logic only.
std::string qconv2d_kernel_name(const QConvSpec& spec, const Shape& input_shape);

// Why the kernels cannot run this layer on `input_shape` (sizes past the 32-bit index range or
// the grid's limits); empty when they can.
std::string qconv2d_unsupported_reason(const QConvSpec& spec, const Shape& input_shape);

}  // namespace fovea::cuda
