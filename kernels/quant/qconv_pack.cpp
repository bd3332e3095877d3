// Host side of the CUDA INT8 conv (include/fovea/cuda/qconv2d.hpp): which path takes a layer,
// packing its weights in that path's layout, and the upload. Plain C++: the packing needs no
// device, so tests check it everywhere.
#include <algorithm>
#include <string>

#include "fovea/cuda/qconv2d.hpp"
#include "quant/qconv_launch.hpp"

namespace fovea::cuda {

namespace {

int64_t round_up(int64_t v, int64_t multiple) {
  return (v + multiple - 1) / multiple * multiple;
}

// Per-channel arrays cover the IMMA row padding, so every path may index them by any channel
// a block touches.
constexpr int64_t kChannelPadding = detail::kImmaRowPadding;

QConvPath resolve_path(const Shape& weight_shape, int64_t groups, QConvPath path) {
  if (path != QConvPath::automatic) return path;
  if (weight_shape[1] == 1) return QConvPath::depthwise;
  if (qconv_path_unsupported_reason(weight_shape, groups, QConvPath::imma).empty())
    return QConvPath::imma;
  return QConvPath::dp4a;
}

}  // namespace

const char* qconv_path_name(QConvPath path) {
  switch (path) {
    case QConvPath::automatic:
      return "automatic";
    case QConvPath::imma:
      return "imma";
    case QConvPath::dp4a:
      return "dp4a";
    case QConvPath::depthwise:
      return "depthwise";
  }
  return "?";
}

std::string qconv_path_unsupported_reason(const Shape& weight_shape, int64_t groups,
                                          QConvPath path) {
  FOVEA_CHECK(weight_shape.rank() == 4, "INT8 conv weight must be (K, C/groups, R, S), got ",
              weight_shape);
  const int64_t c_per_group = weight_shape[1];
  switch (path) {
    case QConvPath::automatic:
    case QConvPath::dp4a:
      return {};
    case QConvPath::imma:
      if (groups != 1) {
        return fovea::detail::concat("the IMMA path runs groups == 1 only, got groups ", groups,
                                     " (the dp4a path runs grouped convs)");
      }
      if (c_per_group % 16 != 0) {
        return fovea::detail::concat(
            "the IMMA path needs C % 16 == 0 (whole 16-byte chunks of a pixel), got C = ",
            c_per_group, " (the dp4a path runs any C)");
      }
      return {};
    case QConvPath::depthwise:
      if (c_per_group != 1) {
        return fovea::detail::concat(
            "the depthwise path needs one input channel per group (C/groups == 1), got weight ",
            weight_shape, " with groups ", groups);
      }
      return {};
  }
  return "unknown INT8 conv path";
}

QConvPacked pack_qconv(const quant::QConvLayer& layer, const quant::QConvRequant& requant,
                       QConvPath path) {
  const quant::QConvWeights& w = layer.weights;
  FOVEA_CHECK(w.weight.rank() == 4, "INT8 conv weight must be (K, C/groups, R, S), got ",
              w.weight.shape());
  const Shape shape = w.weight.shape();
  const int64_t k = shape[0], c_per_group = shape[1], r = shape[2], s = shape[3];
  const int64_t groups = layer.attrs.groups;
  FOVEA_CHECK(groups > 0 && k % groups == 0, "INT8 conv: ", k, " output channels for ", groups,
              " groups");
  FOVEA_CHECK(w.reduction() <= quant::kMaxReduction, "INT8 conv: a reduction of ", w.reduction(),
              " terms could overflow int32 (at most ", quant::kMaxReduction, ")");
  FOVEA_CHECK(static_cast<int64_t>(requant.bias.size()) >= k &&
                  static_cast<int64_t>(requant.multiplier.size()) >= k,
              "INT8 conv: requantization values for ", requant.bias.size(),
              " channels, the layer has ", k);
  FOVEA_CHECK(!(layer.dequantize && layer.residual),
              "INT8 conv: a dequantizing layer (float "
              "output) cannot add a residual");
  const std::string reason = qconv_path_unsupported_reason(shape, groups, path);
  FOVEA_CHECK(reason.empty(), "CUDA INT8 conv with weight ", shape, ": ", reason);

  QConvPacked packed;
  QConvSpec& spec = packed.spec;
  spec.path = resolve_path(shape, groups, path);
  spec.weight_shape = shape;
  spec.attrs = layer.attrs;
  switch (spec.path) {
    case QConvPath::imma:
      // Whole 64-byte slices per row (the tile's kK) and whole 128-channel tiles of rows.
      spec.c_packed = c_per_group;
      spec.taps_length = r * s * spec.c_packed;
      spec.row_length = round_up(spec.taps_length, 64);
      spec.rows = round_up(k, detail::kImmaRowPadding);
      break;
    case QConvPath::dp4a:
      // Whole 4-byte words per tap and whole 32-byte slices per row.
      spec.c_packed = round_up(c_per_group, 4);
      spec.taps_length = r * s * spec.c_packed;
      spec.row_length = round_up(spec.taps_length, detail::kDp4aSliceBytes);
      spec.rows = k;
      break;
    case QConvPath::depthwise:
      // Tap-major, channels padded to a word for the 4-channel loads.
      spec.c_packed = 1;
      spec.taps_length = r * s;
      spec.row_length = round_up(k, 4);
      spec.rows = r * s;
      break;
    case QConvPath::automatic:
      fail("INT8 conv: unresolved path");
  }
  packed.weight.assign(static_cast<size_t>(spec.rows * spec.row_length), 0);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t c = 0; c < c_per_group; ++c)
      for (int64_t rr = 0; rr < r; ++rr)
        for (int64_t ss = 0; ss < s; ++ss) {
          const int64_t tap = rr * s + ss;
          const int64_t at = spec.path == QConvPath::depthwise
                                 ? tap * spec.row_length + kk
                                 : kk * spec.row_length + tap * spec.c_packed + c;
          packed.weight[static_cast<size_t>(at)] = w.weight(kk, c, rr, ss);
        }

  const size_t channels = static_cast<size_t>(round_up(k, kChannelPadding));
  packed.bias.assign(channels, 0);
  packed.multiplier.assign(channels, 0.0f);
  std::copy_n(requant.bias.begin(), k, packed.bias.begin());
  std::copy_n(requant.multiplier.begin(), k, packed.multiplier.begin());

  spec.input_zero_point = layer.input.zero_point;
  spec.dequantize = layer.dequantize;
  spec.residual = layer.residual.has_value();
  spec.zero_point = requant.zero_point;
  spec.t_lo = requant.t_lo;
  spec.t_hi = requant.t_hi;
  spec.residual_multiplier = requant.residual_multiplier;
  spec.residual_zero_point = requant.residual_zero_point;
  return packed;
}

QConvDeviceLayer upload_qconv(const QConvPacked& packed, Stream stream) {
  QConvDeviceLayer layer;
  layer.spec = packed.spec;
  const auto upload = [stream](DeviceBuffer& buffer, const void* host, size_t bytes) {
    buffer = DeviceBuffer(bytes);
    buffer.copy_from_host(host, bytes, stream);
  };
  upload(layer.weight, packed.weight.data(), packed.weight.size());
  upload(layer.bias, packed.bias.data(), packed.bias.size() * sizeof(int32_t));
  upload(layer.multiplier, packed.multiplier.data(), packed.multiplier.size() * sizeof(float));
  return layer;
}

QConvDeviceLayer upload_qconv(const quant::QConvLayer& layer, QConvPath path, Stream stream) {
  return upload_qconv(pack_qconv(layer, quant::derive_requant(layer), path), stream);
}

}  // namespace fovea::cuda
