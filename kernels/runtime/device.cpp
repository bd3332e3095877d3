// Device discovery, streams and synchronization (runtime.hpp).
#include <string>

#include "common/check.hpp"

namespace fovea::cuda {

namespace {

struct DeviceQuery {
  int count = 0;
  cudaError_t status = cudaSuccess;
};

// No driver or no device is an answer here, not an error: the status is kept for
// device_unavailable_reason() and cleared from the runtime's last-error slot. The runtime caches
// its initialization failure, so asking again costs little and gives the same answer.
DeviceQuery query_devices() {
  DeviceQuery q;
  q.status = cudaGetDeviceCount(&q.count);
  if (q.status != cudaSuccess) {
    (void)cudaGetLastError();
    q.count = 0;
  }
  return q;
}

}  // namespace

int device_count() {
  return query_devices().count;
}

std::string device_unavailable_reason() {
  const DeviceQuery q = query_devices();
  if (q.status != cudaSuccess) {
    return fovea::detail::concat("cudaGetDeviceCount failed: ", cudaGetErrorName(q.status), " (",
                                 cudaGetErrorString(q.status), ")");
  }
  if (q.count == 0) return "cudaGetDeviceCount found 0 devices";
  return "";
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
