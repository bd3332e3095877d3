// Checking CUDA runtime calls: every call's status goes through FOVEA_CUDA_CHECK, and a failure
// becomes a fovea::Error naming the call, where it was made and the runtime's explanation.
// Host code only (compiled by nvcc or by the host compiler with the CUDA include path).
#pragma once

#include <cuda_runtime_api.h>

#include "fovea/core/error.hpp"
#include "fovea/cuda/runtime.hpp"

namespace fovea::cuda::detail {

inline void check_status(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  fail(call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status), " (",
       cudaGetErrorString(status), ")");
}

inline cudaStream_t native(Stream stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

}  // namespace fovea::cuda::detail

#define FOVEA_CUDA_CHECK(call) \
  ::fovea::cuda::detail::check_status((call), #call, __FILE__, __LINE__)

// After a kernel launch: reports a bad launch configuration (the kernel's own faults surface at
// the next synchronizing call, which is checked too).
#define FOVEA_CUDA_CHECK_LAUNCH(kernel_name)                                                  \
  ::fovea::cuda::detail::check_status(cudaGetLastError(), "launch of " kernel_name, __FILE__, \
                                      __LINE__)
