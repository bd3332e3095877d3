// Device element types and the conversions kernels use: fovea's 16-bit storage structs map to
// CUDA's __half and __nv_bfloat16 (same size, same bits), and all arithmetic happens in float.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "fovea/core/half.hpp"

namespace fovea::cuda::detail {

template <class T>
struct DeviceElement {
  using type = T;
};
template <>
struct DeviceElement<fovea::half> {
  using type = __half;
};
template <>
struct DeviceElement<fovea::bfloat16> {
  using type = __nv_bfloat16;
};
template <class T>
using DeviceElementOf = typename DeviceElement<T>::type;

static_assert(sizeof(__half) == sizeof(fovea::half) && alignof(__half) == alignof(fovea::half),
              "fovea::half and __half must share their representation");
static_assert(sizeof(__nv_bfloat16) == sizeof(fovea::bfloat16) &&
                  alignof(__nv_bfloat16) == alignof(fovea::bfloat16),
              "fovea::bfloat16 and __nv_bfloat16 must share their representation");

// The device pointer behind a host-typed one (the device types share the bit layout).
template <class T>
DeviceElementOf<T>* device_ptr(T* p) {
  return reinterpret_cast<DeviceElementOf<T>*>(p);
}
template <class T>
const DeviceElementOf<T>* device_ptr(const T* p) {
  return reinterpret_cast<const DeviceElementOf<T>*>(p);
}

__device__ __forceinline__ float to_float(float v) {
  return v;
}
__device__ __forceinline__ float to_float(__half v) {
  return __half2float(v);
}
__device__ __forceinline__ float to_float(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
__device__ __forceinline__ double to_double(float v) {
  return v;
}
__device__ __forceinline__ double to_double(__half v) {
  return __half2float(v);
}
__device__ __forceinline__ double to_double(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

// Round-to-nearest-even, as fovea::half and fovea::bfloat16 do on the host.
template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// From double, through float, exactly as the host's convert<T>(double) rounds: the device
// reference and conv2d_reference then agree bit for bit when their sums agree.
template <class T>
__device__ __forceinline__ T from_double(double v) {
  return from_float<T>(static_cast<float>(v));
}

}  // namespace fovea::cuda::detail
