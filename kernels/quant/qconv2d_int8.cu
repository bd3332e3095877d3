// The CUDA INT8 conv launcher (include/fovea/cuda/qconv2d.hpp): checks the tensors against the
// packed layer, builds the QConvProblem on the host, picks a kernel instance of the layer's path
// and launches it. The dp4a and depthwise instances live here; the IMMA ones in
// instances/qconv2d_imma_u8s8.cu.
#include <cstdint>
#include <string>

#include "common/check.hpp"
#include "common/limits.hpp"
#include "fovea/cuda/qconv2d.hpp"
#include "quant/qconv2d_depthwise.cuh"
#include "quant/qconv2d_dp4a.cuh"
#include "quant/qconv_launch.hpp"

namespace fovea::cuda {

namespace detail {

template void launch_qconv2d_dp4a<uint8_t>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_dp4a<float>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_depthwise<uint8_t, 4>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_depthwise<uint8_t, 1>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_depthwise<float, 4>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_depthwise<float, 1>(const QConvProblem&, cudaStream_t);

namespace {

// Below this many large-tile blocks an H100/H200 (132 SMs) would sit mostly idle, so the IMMA
// path takes the small tile instead (as the floating-point conv does).
constexpr int64_t kLargeTileMinBlocks = 132;

enum class QConvKernel { imma_128x128x64, imma_64x64x64, dp4a, depthwise_x4, depthwise_x1 };

QConvKernel choose_kernel(const QConvSpec& spec, const Conv2dParams& cp) {
  switch (spec.path) {
    case QConvPath::imma: {
      const int64_t blocks = ceil_div(cp.n * cp.p * cp.q, ImmaTile128x128x64::kM) *
                             ceil_div(cp.k, ImmaTile128x128x64::kN);
      return blocks >= kLargeTileMinBlocks ? QConvKernel::imma_128x128x64
                                           : QConvKernel::imma_64x64x64;
    }
    case QConvPath::dp4a:
      return QConvKernel::dp4a;
    case QConvPath::depthwise:
      return cp.k_per_group() == 1 && cp.c % 4 == 0 ? QConvKernel::depthwise_x4
                                                    : QConvKernel::depthwise_x1;
    case QConvPath::automatic:
      break;
  }
  fail("CUDA INT8 conv: the layer was packed without a resolved path");
}

const char* kernel_base_name(QConvKernel kernel) {
  switch (kernel) {
    case QConvKernel::imma_128x128x64:
      return "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_imma_sm80_128x128x64";
    case QConvKernel::imma_64x64x64:
      return "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_imma_sm80_64x64x64";
    case QConvKernel::dp4a:
      return "qconv2d_u8s8_s32acc_nhwc_implicit_gemm_dp4a_sm61_64x64x32";
    case QConvKernel::depthwise_x4:
      return "qconv2d_u8s8_s32acc_nhwc_depthwise_direct_x4";
    case QConvKernel::depthwise_x1:
      return "qconv2d_u8s8_s32acc_nhwc_depthwise_direct_x1";
  }
  return "?";
}

std::string unsupported_reason(const QConvSpec& spec, const Conv2dParams& cp) {
  const Shape shapes[] = {cp.input_shape(), cp.output_shape()};
  const char* names[] = {"input", "output"};
  for (int i = 0; i < 2; ++i) {
    if (shapes[i].numel() > kMaxElements) {
      return fovea::detail::concat("INT8 conv2d ", names[i], " ", shapes[i], " has more than ",
                                   kMaxElements, " elements, the CUDA kernels' 32-bit index limit");
    }
  }
  if (spec.rows * spec.row_length > kMaxElements)
    return fovea::detail::concat("INT8 conv2d packed weight of ", spec.rows, " x ", spec.row_length,
                                 " bytes is past the 32-bit index limit");
  const Conv2dAttrs& a = cp.attrs;
  const int64_t attrs[] = {a.stride_h,   a.stride_w,  a.pad_top,    a.pad_left,
                           a.pad_bottom, a.pad_right, a.dilation_h, a.dilation_w};
  for (int64_t v : attrs) {
    if (v > kMaxElements)
      return fovea::detail::concat("INT8 conv2d stride, padding or dilation ", v, " is too large");
  }
  if (spec.path == QConvPath::imma && ceil_div(cp.k, ImmaTile64x64x64::kN) > 65535)
    return fovea::detail::concat("INT8 conv2d with ", cp.k,
                                 " output channels exceeds the CUDA grid's y limit");
  if (spec.path == QConvPath::dp4a &&
      (cp.groups() > 65535 || ceil_div(cp.k_per_group(), kDp4aTileN) > 65535)) {
    return fovea::detail::concat("INT8 conv2d with ", cp.groups(), " groups of ", cp.k_per_group(),
                                 " output channels exceeds the CUDA grid's y/z limit of 65535");
  }
  return {};
}

QConvProblem make_problem(const QConvSpec& spec, const Conv2dParams& cp) {
  QConvProblem pr;
  pr.n = static_cast<int>(cp.n), pr.h = static_cast<int>(cp.h), pr.w = static_cast<int>(cp.w);
  pr.c = static_cast<int>(cp.c);
  pr.k = static_cast<int>(cp.k), pr.r = static_cast<int>(cp.r), pr.s = static_cast<int>(cp.s);
  pr.p = static_cast<int>(cp.p), pr.q = static_cast<int>(cp.q);
  const Conv2dAttrs& a = cp.attrs;
  pr.stride_h = static_cast<int>(a.stride_h), pr.stride_w = static_cast<int>(a.stride_w);
  pr.pad_top = static_cast<int>(a.pad_top), pr.pad_left = static_cast<int>(a.pad_left);
  pr.dilation_h = static_cast<int>(a.dilation_h), pr.dilation_w = static_cast<int>(a.dilation_w);
  pr.groups = static_cast<int>(cp.groups());
  pr.c_per_group = static_cast<int>(cp.c_per_group());
  pr.k_per_group = static_cast<int>(cp.k_per_group());
  pr.gemm_m = static_cast<int>(cp.n * cp.p * cp.q);
  pr.c_packed = static_cast<int>(spec.c_packed);
  pr.taps_length = static_cast<int>(spec.taps_length);
  pr.row_length = static_cast<int>(spec.row_length);
  pr.input_zero_point = spec.input_zero_point;
  pr.zero_point = spec.zero_point;
  pr.t_lo = spec.t_lo;
  pr.t_hi = spec.t_hi;
  pr.residual_multiplier = spec.residual_multiplier;
  pr.residual_zero_point = spec.residual_zero_point;
  return pr;
}

bool aligned(const void* p, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

template <class T>
void require_nhwc(const DeviceTensor<T>& t, const Shape& want, const char* what) {
  FOVEA_CHECK(t.shape() == want && t.layout() == Layout::nhwc, "CUDA INT8 conv2d ", what,
              " must be ", want, " in NHWC layout, got ", t.shape(), " in ",
              layout_name(t.layout()));
}

// Checks x against the layer and returns the problem with the layer's arrays in it.
QConvProblem prepare(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                     const Shape& output_shape, const char* output_kind) {
  const QConvSpec& spec = layer.spec;
  FOVEA_CHECK(x.rank() == 4 && x.layout() == Layout::nhwc,
              "CUDA INT8 conv2d input must be (N, C, H, W) in NHWC layout, got ", x.shape(), " in ",
              layout_name(x.layout()));
  const Conv2dParams cp = Conv2dParams::make(x.shape(), spec.weight_shape, spec.attrs);
  FOVEA_CHECK(cp.output_shape() == output_shape, "CUDA INT8 conv2d ", output_kind, " must be ",
              cp.output_shape(), ", got ", output_shape);
  const std::string reason = unsupported_reason(spec, cp);
  FOVEA_CHECK(reason.empty(), reason);
  QConvProblem pr = make_problem(spec, cp);
  pr.x = x.data();
  pr.weight = static_cast<const int8_t*>(layer.weight.data());
  pr.bias = static_cast<const int32_t*>(layer.bias.data());
  pr.multiplier = static_cast<const float*>(layer.multiplier.data());
  FOVEA_CHECK(cp.k == 0 || (pr.weight != nullptr && pr.bias != nullptr && pr.multiplier != nullptr),
              "CUDA INT8 conv2d: the layer has not been uploaded");
  // cudaMalloc'd tensors are always aligned; a misaligned one would fault the vector loads.
  if (spec.path == QConvPath::imma) {
    FOVEA_CHECK(aligned(pr.x, 16), "CUDA INT8 conv2d: the IMMA path needs a 16-byte aligned input");
  }
  pr.word_loads = cp.c % 4 == 0 && cp.c_per_group() % 4 == 0 && aligned(pr.x, 4);
  return pr;
}

template <class Out>
void launch(const QConvProblem& pr, QConvKernel kernel, cudaStream_t stream) {
  if (pr.gemm_m == 0 || pr.k == 0) return;
  switch (kernel) {
    case QConvKernel::imma_128x128x64:
      launch_qconv2d_imma<Out, ImmaTile128x128x64>(pr, stream);
      return;
    case QConvKernel::imma_64x64x64:
      launch_qconv2d_imma<Out, ImmaTile64x64x64>(pr, stream);
      return;
    case QConvKernel::dp4a:
      launch_qconv2d_dp4a<Out>(pr, stream);
      return;
    case QConvKernel::depthwise_x4:
      launch_qconv2d_depthwise<Out, 4>(pr, stream);
      return;
    case QConvKernel::depthwise_x1:
      launch_qconv2d_depthwise<Out, 1>(pr, stream);
      return;
  }
}

}  // namespace

}  // namespace detail

std::string qconv2d_kernel_name(const QConvSpec& spec, const Shape& input_shape) {
  const Conv2dParams cp = Conv2dParams::make(input_shape, spec.weight_shape, spec.attrs);
  std::string name = detail::kernel_base_name(detail::choose_kernel(spec, cp));
  if (spec.dequantize) name += "_f32out";
  return name;
}

std::string qconv2d_unsupported_reason(const QConvSpec& spec, const Shape& input_shape) {
  const Conv2dParams cp = Conv2dParams::make(input_shape, spec.weight_shape, spec.attrs);
  return detail::unsupported_reason(spec, cp);
}

void qconv2d_into(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                  const DeviceTensor<uint8_t>* residual, DeviceTensor<uint8_t>& y, Stream stream) {
  const QConvSpec& spec = layer.spec;
  FOVEA_CHECK(!spec.dequantize,
              "CUDA INT8 conv2d: the layer dequantizes (float output); call qconv2d_dequantized");
  FOVEA_CHECK((residual != nullptr) == spec.residual, "CUDA INT8 conv2d: the layer ",
              spec.residual ? "adds a residual but none was given"
                            : "has no residual params but a residual was given");
  FOVEA_CHECK(y.layout() == Layout::nhwc, "CUDA INT8 conv2d output must be in NHWC layout");
  detail::QConvProblem pr = detail::prepare(x, layer, y.shape(), "output");
  if (residual != nullptr) {
    detail::require_nhwc(*residual, y.shape(), "residual");
    pr.residual = residual->data();
  }
  pr.y = y.data();
  const Conv2dParams cp = Conv2dParams::make(x.shape(), spec.weight_shape, spec.attrs);
  detail::launch<uint8_t>(pr, detail::choose_kernel(spec, cp), detail::native(stream));
}

DeviceTensor<uint8_t> qconv2d(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                              const DeviceTensor<uint8_t>* residual, Stream stream) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), layer.spec.weight_shape, layer.spec.attrs);
  DeviceTensor<uint8_t> y(cp.output_shape(), Layout::nhwc);
  qconv2d_into(x, layer, residual, y, stream);
  return y;
}

void qconv2d_dequantized_into(const DeviceTensor<uint8_t>& x, const QConvDeviceLayer& layer,
                              DeviceTensor<float>& y, Stream stream) {
  const QConvSpec& spec = layer.spec;
  FOVEA_CHECK(spec.dequantize, "CUDA INT8 conv2d: the layer requantizes to u8; call qconv2d");
  FOVEA_CHECK(y.layout() == Layout::nhwc, "CUDA INT8 conv2d output must be in NHWC layout");
  detail::QConvProblem pr = detail::prepare(x, layer, y.shape(), "float output");
  pr.y = y.data();
  const Conv2dParams cp = Conv2dParams::make(x.shape(), spec.weight_shape, spec.attrs);
  detail::launch<float>(pr, detail::choose_kernel(spec, cp), detail::native(stream));
}

DeviceTensor<float> qconv2d_dequantized(const DeviceTensor<uint8_t>& x,
                                        const QConvDeviceLayer& layer, Stream stream) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), layer.spec.weight_shape, layer.spec.attrs);
  DeviceTensor<float> y(cp.output_shape(), Layout::nhwc);
  qconv2d_dequantized_into(x, layer, y, stream);
  return y;
}

}  // namespace fovea::cuda
