#include <doctest/doctest.h>

#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/fovea.hpp"
#include "fovea/plan/activation_memory.hpp"
#include "fovea/plan/inference.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("allocation window counts live tensor bytes rounded to 64") {
    AllocationWindow window;
    {
      Tensor<float> a(Shape{100});   // 400 bytes -> 448
      Tensor<float> b(Shape{1000});  // 4000 bytes -> 4032; live 4480
      a = Tensor<float>();           // live 4032
      Tensor<float> c(Shape{10});    // 40 bytes -> 64; live 4096
      Tensor<float> shared = b;      // a handle, not an allocation
    }
    const AllocationStats stats = window.stats();
    CHECK(stats.peak_bytes == 4480);
    CHECK(stats.allocated_bytes == 448 + 4032 + 64);
    CHECK(stats.allocations == 3);
    CHECK(stats.largest_bytes == 4032);
  }

  TEST_CASE("allocation window ignores frees of memory allocated before it") {
    Tensor<float> before(Shape{1000});
    AllocationWindow window;
    Tensor<float> first(Shape{100});   // live 448
    before = Tensor<float>();          // not counted in this window: live stays 448
    Tensor<float> second(Shape{100});  // live 896
    CHECK(window.stats().peak_bytes == 896);
  }

  TEST_CASE("allocation window counts kernel scratch buffers") {
    AllocationWindow window;
    {
      cpu::AlignedBuffer scratch(16);  // 64 bytes
      scratch.resize(32);              // new 128 bytes before the old 64 go: live 192
    }
    CHECK(window.stats().peak_bytes == 192);
    CHECK(window.stats().allocations == 2);
  }

  TEST_CASE("measure_activation_peak of a linear layer covers input and output") {
    nn::Linear linear(256, 64);
    linear.set_training(false);
    // Input 8x256 floats = 8192 bytes, output 8x64 floats = 2048 bytes, both alive at the end.
    const AllocationStats stats = measure_activation_peak(linear, Shape{8, 256});
    CHECK(stats.peak_bytes >= 8192 + 2048);
    CHECK(stats.peak_bytes <= 4 * (8192 + 2048));
    CHECK(stats.largest_bytes == 8192);
  }

  TEST_CASE("measure_activation_peak refuses a training-mode model") {
    nn::Linear linear(4, 2);
    linear.set_training(true);
    CHECK_THROWS_AS(measure_activation_peak(linear, Shape{1, 4}), Error);
  }
}
