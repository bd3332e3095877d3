// Device discovery, streams and synchronization (runtime.hpp).
#include <string>

#include "common/check.hpp"

namespace fovea::cuda {

int device_count() {
  int count = 0;
  // No driver or no device is an answer here, not an error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

std::string device_description(int index) {
  cudaDeviceProp prop{};
  FOVEA_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return fovea::detail::concat(prop.name, " (sm_", prop.major, prop.minor, ", ",
                               prop.multiProcessorCount, " SMs)");
}

ScopedStream::ScopedStream() {
  cudaStream_t s = nullptr;
  FOVEA_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_.handle = s;
}

// A destructor must not throw; a failure here would be a corrupted context that the next checked
// call reports anyway.
ScopedStream::~ScopedStream() {
  (void)cudaStreamDestroy(detail::native(stream_));
}

void synchronize(Stream stream) {
  FOVEA_CUDA_CHECK(cudaStreamSynchronize(detail::native(stream)));
}

}  // namespace fovea::cuda
