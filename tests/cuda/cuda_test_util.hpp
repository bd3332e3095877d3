// Shared by the CUDA tests: the device check that turns a test into a skip, host/device round
// trips, and the error bound every kernel result is held to.
//
// The bound. Each output is a sum of L products (plus bias and residual). With `want` computed
// in double from the same (already rounded) inputs and `magnitude` the same sum over absolute
// values, a kernel's result may differ from `want` by at most
//   growth * (u_out + u_product + L * u_accumulate) * magnitude + floor
// where u_out is the unit roundoff of the stored type (the one final rounding), u_product the
// error of rounding operands before multiplying (TF32: each operand to a 10-bit mantissa;
// FP16/BF16 products are exact in FP32), u_accumulate that of each FP32 addition (2^-23, a
// little looser than IEEE's 2^-24 because tensor cores do not promise round-to-nearest), and
// growth 2 covers activations (slopes up to 1.5) with room to spare. This is the XNNPACK-style
// bound growing with the reduction length, but per element.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fovea/core/tensor.hpp"
#include "fovea/cuda/device_tensor.hpp"
#include "fovea/cuda/runtime.hpp"

namespace fovea::test {

// FOVEA_REQUIRE_GPU=1 (set by bench/gpu/first_contact.sh on a lent GPU machine) turns "no usable
// device" from a skip into a failure, so a run that was meant to exercise the GPU cannot pass
// without having touched it.
inline bool gpu_required() {
  const char* v = std::getenv("FOVEA_REQUIRE_GPU");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// True (after saying so) when there is no device: the caller returns and CTest reports the case
// as skipped (tests/cuda/CMakeLists.txt sets the matching SKIP_REGULAR_EXPRESSION). Under
// FOVEA_REQUIRE_GPU the case fails instead, with the runtime's reason.
inline bool skip_without_cuda_device() {
  if (cuda::device_available()) return false;
  if (gpu_required()) {
    FAIL("FOVEA_REQUIRE_GPU is set but no CUDA device is usable: "
         << cuda::device_unavailable_reason());
  }
  MESSAGE("no CUDA device: skipped (" << cuda::device_unavailable_reason() << ")");
  return true;
}

template <class T>
inline constexpr double kUnitRoundoff = 0;
template <>
inline constexpr double kUnitRoundoff<float> = 0x1.0p-24;
template <>
inline constexpr double kUnitRoundoff<half> = 0x1.0p-11;
template <>
inline constexpr double kUnitRoundoff<bfloat16> = 0x1.0p-8;

// Error of the product of two stored operands as the tensor cores form it.
template <class T>
inline constexpr double kTensorCoreProductError = 0;
template <>
inline constexpr double kTensorCoreProductError<float> = 2 * 0x1.0p-10;  // TF32

inline constexpr double kAccumulateUnit = 0x1.0p-23;
inline constexpr double kEpilogueGrowth = 2.0;
// Absolute slack for results in FP16's subnormal range.
inline constexpr double kAbsoluteFloor = 0x1.0p-24;

// Relative bound factor for a reduction of `length` terms computed on tensor cores.
template <class T>
double tensor_core_bound(int64_t length) {
  return kEpilogueGrowth * (kUnitRoundoff<T> + kTensorCoreProductError<T> +
                            static_cast<double>(length) * kAccumulateUnit);
}

// Relative bound factor for a reduction of `length` terms with exact products (CUDA cores, FP32
// arithmetic on values read from T).
template <class T>
double float_sum_bound(int64_t length) {
  return kEpilogueGrowth * (kUnitRoundoff<T> + static_cast<double>(length) * kAccumulateUnit);
}

// Checks |got - want| <= relative * magnitude + kAbsoluteFloor element by element (all three in
// the same shape and layout), and reports the worst element with `context` on failure.
template <class T>
void check_within_bound(const Tensor<T>& got, const Tensor<double>& want,
                        const Tensor<double>& magnitude, double relative,
                        const std::string& context) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), context, ": shape ", got.shape(), " vs ",
                  want.shape());
  REQUIRE(got.layout() == want.layout());
  REQUIRE(magnitude.shape() == want.shape());
  int64_t violations = 0, worst = -1;
  double worst_ratio = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = convert<double>(got[i]);
    const double bound = relative * magnitude[i] + kAbsoluteFloor;
    const double err = std::abs(g - want[i]);
    const double ratio = std::isnan(err) ? INFINITY : err / bound;
    if (ratio > 1) ++violations;
    if (ratio > worst_ratio || worst < 0) worst_ratio = ratio, worst = i;
  }
  std::ostringstream detail;
  if (worst >= 0) {
    detail << context << ": " << violations << " of " << want.numel()
           << " elements out of bound; worst at memory offset " << worst << ": got "
           << convert<double>(got[worst]) << ", want " << want[worst] << ", bound "
           << relative * magnitude[worst] + kAbsoluteFloor << " (error/bound " << worst_ratio
           << ")";
  }
  CHECK_MESSAGE(violations == 0, detail.str());
}

// Elementwise |x|, as double.
template <class T>
Tensor<double> abs_double(const Tensor<T>& x) {
  Tensor<double> y = x.template cast<double>();
  for (double& v : y)
    v = std::abs(v);
  return y;
}

template <class T>
cuda::DeviceTensor<T> upload(const Tensor<T>& host) {
  return cuda::DeviceTensor<T>::from_host(host);
}

// A tensor of `shape` and `layout` with values uniform in [lo, hi), rounded to T.
template <class T>
Tensor<T> random_tensor(const Shape& shape, Layout layout, Rng& rng, double lo = -1,
                        double hi = 1) {
  Tensor<T> t(shape, layout);
  t.fill_uniform(rng, lo, hi);
  return t;
}

}  // namespace fovea::test
