// The CUDA runtime layer: device discovery, buffers and copies, and the checked-call errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cuda_test_util.hpp"
#include "fovea/cuda/device_tensor.hpp"
#include "fovea/cuda/runtime.hpp"

using namespace fovea;

TEST_SUITE("cuda") {
  TEST_CASE("cuda runtime: a failed CUDA call names the call and its source line") {
    // 2^60 bytes fails on every machine: out of memory with a device, no device without one.
    // Either way the error must carry the call, file:line and the runtime's explanation.
    try {
      cuda::DeviceBuffer buffer(size_t{1} << 60);
      FAIL("allocating 2^60 bytes succeeded");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK(what.find("cudaMalloc(&data_, bytes) failed at ") != std::string::npos);
      CHECK(what.find("device_buffer.cpp:") != std::string::npos);
      CHECK(what.find("cudaError") != std::string::npos);
    }
  }

  TEST_CASE("cuda runtime: device_count answers without throwing") {
    int count = -1;
    CHECK_NOTHROW(count = cuda::device_count());
    CHECK(count >= 0);
    std::string reason;
    CHECK_NOTHROW(reason = cuda::device_unavailable_reason());
    // A reason exactly when there is no device, and it names the call that said so.
    CHECK(reason.empty() == (count > 0));
    if (count == 0) {
      CHECK(reason.find("cudaGetDeviceCount") != std::string::npos);
      MESSAGE("no CUDA device on this machine: " << reason);
    }
  }

  // The first case bench/gpu/first_contact.sh runs: under FOVEA_REQUIRE_GPU it fails with the
  // runtime's reason when no device is usable, and otherwise names the device.
  TEST_CASE("cuda runtime: a device is usable") {
    if (test::skip_without_cuda_device()) return;
    MESSAGE("device 0: " << cuda::device_description(0));
    cuda::DeviceBuffer probe(256);
    probe.fill_zero({});
    cuda::synchronize({});
  }

  TEST_CASE("cuda runtime: host to device to host round trip keeps every byte") {
    if (test::skip_without_cuda_device()) return;
    MESSAGE("device 0: " << cuda::device_description(0));
    Tensor<half> x(Shape{2, 3, 5, 7}, Layout::nhwc);
    for (int64_t i = 0; i < x.numel(); ++i)
      x[i] = half::from_bits(static_cast<uint16_t>(i * 977));
    cuda::ScopedStream stream;
    const auto dx = cuda::DeviceTensor<half>::from_host(x, stream);
    CHECK(dx.shape() == x.shape());
    CHECK(dx.layout() == Layout::nhwc);
    const Tensor<half> back = dx.to_host(stream);
    CHECK(back.layout() == Layout::nhwc);
    for (int64_t i = 0; i < x.numel(); ++i)
      REQUIRE(back[i].bits == x[i].bits);
  }

  TEST_CASE("cuda runtime: device copies and zero fill") {
    if (test::skip_without_cuda_device()) return;
    std::vector<int32_t> host(1000);
    for (size_t i = 0; i < host.size(); ++i)
      host[i] = static_cast<int32_t>(i) * 3 - 7;
    const size_t bytes = host.size() * sizeof(int32_t);
    cuda::DeviceBuffer a(bytes), b(bytes);
    a.copy_from_host(host.data(), bytes, {});
    b.copy_from_device(a, bytes, {});
    std::vector<int32_t> back(host.size(), 0);
    b.copy_to_host(back.data(), bytes, {});
    CHECK(back == host);
    b.fill_zero({});
    b.copy_to_host(back.data(), bytes, {});
    CHECK(back == std::vector<int32_t>(host.size(), 0));
    CHECK_THROWS_WITH_AS(a.copy_to_host(back.data(), bytes + 4, {}),
                         doctest::Contains("does not fit a device buffer of 4000 bytes"), Error);
  }

  TEST_CASE("cuda runtime: moving a buffer transfers ownership") {
    if (test::skip_without_cuda_device()) return;
    cuda::DeviceBuffer a(64);
    const void* p = a.data();
    cuda::DeviceBuffer b(std::move(a));
    CHECK(b.data() == p);
    CHECK(b.bytes() == 64);
    CHECK(a.data() == nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    CHECK(a.bytes() == 0);
  }
}
