// The conv2d launcher (include/fovea/cuda/conv2d.hpp): validates the tensors, builds the
// ConvProblem on the host, checks the kernels can run it, and picks one.
#include <cstdint>
#include <string>

#include "common/check.hpp"
#include "common/element.cuh"
#include "common/limits.hpp"
#include "conv2d/launch.hpp"
#include "fovea/cuda/conv2d.hpp"

namespace fovea::cuda {

namespace detail {
namespace {

// Below this many large-tile blocks a GPU the size of an H100/H200 (132 SMs) would sit mostly
// idle, so the small tile is used instead.
constexpr int64_t kLargeTileMinBlocks = 132;

enum class ConvKernel { depthwise, implicit_gemm_128x128x32, implicit_gemm_64x64x32 };

ConvKernel choose_kernel(int64_t gemm_m, int64_t c_per_group, int64_t k_per_group, int64_t groups) {
  if (c_per_group == 1) return ConvKernel::depthwise;
  const int64_t blocks =
      ceil_div(gemm_m, Tile128x128x32::kM) * ceil_div(k_per_group, Tile128x128x32::kN) * groups;
  return blocks >= kLargeTileMinBlocks ? ConvKernel::implicit_gemm_128x128x32
                                       : ConvKernel::implicit_gemm_64x64x32;
}

ConvKernel choose_kernel(const Conv2dParams& cp) {
  return choose_kernel(cp.n * cp.p * cp.q, cp.c_per_group(), cp.k_per_group(), cp.groups());
}

const char* compute_type_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "tf32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
    default:
      return "?";
  }
}

std::string unsupported_reason(const Conv2dParams& cp, DType dtype) {
  if (dtype != DType::f32 && dtype != DType::f16 && dtype != DType::bf16) {
    return fovea::detail::concat("no CUDA conv2d kernel for element type ", dtype_name(dtype),
                                 " (f32, f16 and bf16 exist)");
  }
  const Shape shapes[] = {cp.input_shape(), cp.weight_shape(), cp.output_shape()};
  const char* names[] = {"input", "weight", "output"};
  for (int i = 0; i < 3; ++i) {
    if (shapes[i].numel() > kMaxElements) {
      return fovea::detail::concat("conv2d ", names[i], " ", shapes[i], " has more than ",
                                   kMaxElements, " elements, the CUDA kernels' 32-bit index limit");
    }
  }
  const Conv2dAttrs& a = cp.attrs;
  const int64_t attrs[] = {a.stride_h,   a.stride_w,  a.pad_top,    a.pad_left,
                           a.pad_bottom, a.pad_right, a.dilation_h, a.dilation_w};
  for (int64_t v : attrs) {
    if (v > kMaxElements)
      return fovea::detail::concat("conv2d stride, padding or dilation ", v, " is too large");
  }
  if (choose_kernel(cp) != ConvKernel::depthwise &&
      (cp.groups() > 65535 || ceil_div(cp.k_per_group(), Tile64x64x32::kN) > 65535)) {
    return fovea::detail::concat(
        "conv2d with ", cp.groups(), " groups of ", cp.k_per_group(),
        " output channels exceeds the CUDA grid's y/z limit of 65535 blocks");
  }
  return {};
}

ConvProblem make_problem(const Conv2dParams& cp) {
  ConvProblem pr;
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
  pr.gemm_k = static_cast<int>(cp.r * cp.s * cp.c_per_group());
  return pr;
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

template <class T>
void require_nhwc(const DeviceTensor<T>& t, const Shape& want, const char* what) {
  FOVEA_CHECK(t.shape() == want && t.layout() == Layout::nhwc, "CUDA conv2d ", what, " must be ",
              want, " in NHWC layout, got ", t.shape(), " in ", layout_name(t.layout()));
}

}  // namespace

template <class T>
void run_conv_problem(const ConvProblem& problem, cudaStream_t stream) {
  if (problem.gemm_m == 0 || problem.k == 0) return;
  switch (choose_kernel(problem.gemm_m, problem.c_per_group, problem.k_per_group, problem.groups)) {
    case ConvKernel::depthwise:
      launch_depthwise<T>(problem, stream);
      return;
    case ConvKernel::implicit_gemm_128x128x32:
      launch_implicit_gemm<T, Tile128x128x32>(problem, stream);
      return;
    case ConvKernel::implicit_gemm_64x64x32:
      launch_implicit_gemm<T, Tile64x64x32>(problem, stream);
      return;
  }
}

template void run_conv_problem<float>(const ConvProblem&, cudaStream_t);
template void run_conv_problem<__half>(const ConvProblem&, cudaStream_t);
template void run_conv_problem<__nv_bfloat16>(const ConvProblem&, cudaStream_t);

}  // namespace detail

std::string conv2d_unsupported_reason(const Conv2dParams& params, DType dtype) {
  return detail::unsupported_reason(params, dtype);
}

std::string conv2d_kernel_name(const Conv2dParams& params, DType dtype) {
  const char* type = detail::compute_type_name(dtype);
  switch (detail::choose_kernel(params)) {
    case detail::ConvKernel::depthwise:
      return fovea::detail::concat("conv2d_", dtype_name(dtype), "_f32acc_nhwc_depthwise_direct");
    case detail::ConvKernel::implicit_gemm_128x128x32:
      return fovea::detail::concat("conv2d_", type, "_f32acc_nhwc_implicit_gemm_sm80_128x128x32");
    case detail::ConvKernel::implicit_gemm_64x64x32:
      return fovea::detail::concat("conv2d_", type, "_f32acc_nhwc_implicit_gemm_sm80_64x64x32");
  }
  return "?";
}

template <class T>
void conv2d_into(const DeviceTensor<T>& x, const DeviceTensor<T>& weight, const Conv2dAttrs& attrs,
                 const Conv2dEpilogue<T>& epilogue, DeviceTensor<T>& y, Stream stream) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  detail::require_nhwc(x, cp.input_shape(), "input");
  detail::require_nhwc(weight, cp.weight_shape(), "weight (KRSC)");
  detail::require_nhwc(y, cp.output_shape(), "output");
  const std::string reason = detail::unsupported_reason(cp, dtype_of<T>);
  FOVEA_CHECK(reason.empty(), reason);
  detail::ConvProblem pr = detail::make_problem(cp);
  if (epilogue.bias != nullptr) {
    FOVEA_CHECK(epilogue.bias->shape() == Shape{cp.k}, "CUDA conv2d bias must be [", cp.k,
                "], got ", epilogue.bias->shape());
    pr.bias = epilogue.bias->data();
  }
  if (epilogue.residual != nullptr) {
    detail::require_nhwc(*epilogue.residual, cp.output_shape(), "residual");
    pr.residual = epilogue.residual->data();
  }
  pr.x = x.data();
  pr.weight = weight.data();
  pr.y = y.data();
  pr.activation = epilogue.activation;
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  pr.vector_loads =
      pr.c_per_group % kVec == 0 && detail::aligned16(pr.x) && detail::aligned16(pr.weight);
  detail::run_conv_problem<detail::DeviceElementOf<T>>(pr, detail::native(stream));
}

template <class T>
DeviceTensor<T> conv2d(const DeviceTensor<T>& x, const DeviceTensor<T>& weight,
                       const Conv2dAttrs& attrs, const Conv2dEpilogue<T>& epilogue, Stream stream) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  DeviceTensor<T> y(cp.output_shape(), Layout::nhwc);
  conv2d_into(x, weight, attrs, epilogue, y, stream);
  return y;
}

template DeviceTensor<float> conv2d(const DeviceTensor<float>&, const DeviceTensor<float>&,
                                    const Conv2dAttrs&, const Conv2dEpilogue<float>&, Stream);
template DeviceTensor<half> conv2d(const DeviceTensor<half>&, const DeviceTensor<half>&,
                                   const Conv2dAttrs&, const Conv2dEpilogue<half>&, Stream);
template DeviceTensor<bfloat16> conv2d(const DeviceTensor<bfloat16>&, const DeviceTensor<bfloat16>&,
                                       const Conv2dAttrs&, const Conv2dEpilogue<bfloat16>&, Stream);
template void conv2d_into(const DeviceTensor<float>&, const DeviceTensor<float>&,
                          const Conv2dAttrs&, const Conv2dEpilogue<float>&, DeviceTensor<float>&,
                          Stream);
template void conv2d_into(const DeviceTensor<half>&, const DeviceTensor<half>&, const Conv2dAttrs&,
                          const Conv2dEpilogue<half>&, DeviceTensor<half>&, Stream);
template void conv2d_into(const DeviceTensor<bfloat16>&, const DeviceTensor<bfloat16>&,
                          const Conv2dAttrs&, const Conv2dEpilogue<bfloat16>&,
                          DeviceTensor<bfloat16>&, Stream);

}  // namespace fovea::cuda
