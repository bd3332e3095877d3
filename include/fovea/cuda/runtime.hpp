// Host-side handles on the CUDA runtime: device discovery, streams and raw device memory.
//
// This header is plain C++17 (no CUDA header reaches it), so g++-built code can hold device
// memory and pass streams around. The definitions live in kernels/runtime/ and are compiled into
// the fovea_cuda library; every CUDA call there is checked and a failure throws fovea::Error
// naming the call, its file:line and cudaGetErrorString.
#pragma once

#include <cstddef>
#include <string>

namespace fovea::cuda {

// Number of usable CUDA devices; 0 when there is no device or no driver. Never throws, so tests
// can ask it before touching anything else.
int device_count();
inline bool device_available() {
  return device_count() > 0;
}

// Why no device is usable, for tests and benches to print: cudaGetDeviceCount's error name and
// explanation (e.g. "cudaGetDeviceCount failed: cudaErrorNoDevice (no CUDA-capable device is
// detected)"), or that it found none; "" when a device is usable. Never throws.
std::string device_unavailable_reason();

// "NVIDIA H200 (sm_90, 132 SMs)" for device `index`.
std::string device_description(int index = 0);

// An opaque, non-owning stream handle (a cudaStream_t underneath). The default value is the
// legacy default stream.
struct Stream {
  void* handle = nullptr;
};

// Owns a non-blocking stream for its lifetime.
class ScopedStream {
 public:
  ScopedStream();
  ~ScopedStream();
  ScopedStream(const ScopedStream&) = delete;
  ScopedStream& operator=(const ScopedStream&) = delete;
  Stream get() const { return stream_; }
  operator Stream() const { return stream_; }

 private:
  Stream stream_;
};

// Waits for all work queued on `stream`, and reports any asynchronous kernel failure.
void synchronize(Stream stream);

// Device memory of a fixed size, freed when the buffer dies. Move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

  // Copies `bytes` bytes between host memory and the start of the buffer, queued on `stream`.
  // Host memory is pageable: the call returns once `host` may be reused (host to device) or
  // holds the data (device to host, which waits for the stream).
  void copy_from_host(const void* host, size_t bytes, Stream stream);
  void copy_to_host(void* host, size_t bytes, Stream stream) const;
  void copy_from_device(const DeviceBuffer& source, size_t bytes, Stream stream);
  void fill_zero(Stream stream);

 private:
  void check_size(size_t bytes, const char* what) const;
  void release() noexcept;

  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace fovea::cuda
