// DeviceBuffer (runtime.hpp): cudaMalloc'd memory and checked copies.
#include <utility>

#include "common/check.hpp"

namespace fovea::cuda {

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) FOVEA_CUDA_CHECK(cudaMalloc(&data_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  release();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  // cudaFree synchronizes the device; its status cannot be thrown from a destructor and a
  // failure means the context is already broken, which the next checked call reports.
  if (data_ != nullptr) (void)cudaFree(data_);
  data_ = nullptr;
  bytes_ = 0;
}

void DeviceBuffer::check_size(size_t bytes, const char* what) const {
  FOVEA_CHECK(bytes <= bytes_, what, " of ", bytes, " bytes does not fit a device buffer of ",
              bytes_, " bytes");
}

void DeviceBuffer::copy_from_host(const void* host, size_t bytes, Stream stream) {
  check_size(bytes, "copy from host");
  if (bytes == 0) return;
  FOVEA_CUDA_CHECK(
      cudaMemcpyAsync(data_, host, bytes, cudaMemcpyHostToDevice, detail::native(stream)));
}

void DeviceBuffer::copy_to_host(void* host, size_t bytes, Stream stream) const {
  check_size(bytes, "copy to host");
  if (bytes == 0) return;
  FOVEA_CUDA_CHECK(
      cudaMemcpyAsync(host, data_, bytes, cudaMemcpyDeviceToHost, detail::native(stream)));
  FOVEA_CUDA_CHECK(cudaStreamSynchronize(detail::native(stream)));
}

void DeviceBuffer::copy_from_device(const DeviceBuffer& source, size_t bytes, Stream stream) {
  check_size(bytes, "copy from device");
  source.check_size(bytes, "copy from device");
  if (bytes == 0) return;
  FOVEA_CUDA_CHECK(cudaMemcpyAsync(data_, source.data_, bytes, cudaMemcpyDeviceToDevice,
                                   detail::native(stream)));
}

void DeviceBuffer::fill_zero(Stream stream) {
  if (bytes_ == 0) return;
  FOVEA_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes_, detail::native(stream)));
}

}  // namespace fovea::cuda
