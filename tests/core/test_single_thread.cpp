// The single-core build (CMake option FOVEA_SINGLE_THREAD): no thread is started, every loop
// runs on the caller, a model still gives the multi-threaded build's bits, and asking for
// threads is an error that says why. This program is that build: the macro is set before any
// fovea header.
#define FOVEA_SINGLE_THREAD 1

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "fovea/cpu/thread_pool.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"

TEST_SUITE("core") {
  TEST_CASE("a single-thread build runs every loop on the calling thread") {
    CHECK(fovea::num_threads() == 1);
    const std::thread::id caller = std::this_thread::get_id();
    int off_thread = 0;
    fovea::parallel_for(0, 64,
                        [&](int64_t) { off_thread += std::this_thread::get_id() != caller; });
    CHECK(off_thread == 0);
    CHECK_THROWS_WITH_AS(fovea::set_num_threads(2),
                         doctest::Contains("build for one thread (FOVEA_SINGLE_THREAD)"),
                         fovea::Error);
    fovea::set_num_threads(1);
    CHECK(fovea::num_threads() == 1);
  }

  TEST_CASE("a prepared model runs in a single-thread build") {
    auto model = fovea::build_model("mobilenet_v2");
    fovea::init_weights(*model, 3);
    fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
    fovea::Tensor<float> x(fovea::Shape{2, 3, 64, 64});
    x.fill_uniform(4, -1, 1);
    const fovea::Tensor<float> reference = model->forward(x);
    fovea::set_kernel_policy(fovea::KernelPolicy::best);
    fovea::prepare_for_inference(*model);
    const fovea::Tensor<float> fast = model->forward(x);
    REQUIRE(fast.shape() == reference.shape());
    float worst = 0;
    for (int64_t i = 0; i < fast.numel(); ++i)
      worst = std::max(worst, std::abs(fast.data()[i] - reference.data()[i]));
    CHECK(worst < 1e-3f);
  }
}
