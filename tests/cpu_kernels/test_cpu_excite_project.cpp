// Squeeze-and-excitation folded into the next 1×1 conv's weights (nn/excite_project.hpp,
// cpu::conv2d_nhwc_pointwise_gated_run) against the two layers run one after the other, and
// against the reference, over batches, odd sizes, residuals and thread counts; and the choice
// between the two.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "fovea/core/rng.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/nn/excite_project.hpp"
#include "harness/compare.hpp"
#include "harness/random_tensor.hpp"

using fovea::ActivationKind;
using fovea::Conv2dAttrs;
using fovea::Layout;
using fovea::Shape;
using fovea::Tensor;
using fovea::test::random_tensor;

namespace {

struct Case {
  int64_t n, c, h, w, squeeze, out;
  bool residual;
  int threads;

  std::string str() const {
    std::ostringstream text;
    text << "N=" << n << " C=" << c << " H=" << h << " W=" << w << " squeeze=" << squeeze
         << " out=" << out << " residual=" << residual << " threads=" << threads;
    return text.str();
  }
};

// excite_project on an NHWC y against se → projection, the kernel it chose, and the reference.
void check_case(const Case& t, uint64_t seed) {
  INFO(t.str());
  fovea::set_num_threads(t.threads);
  fovea::nn::SqueezeExcitation se(t.c, t.squeeze, ActivationKind::silu, ActivationKind::sigmoid);
  se.fc1().weight().fill_uniform(seed + 1, -1, 1);
  se.fc1().bias().fill_uniform(seed + 2, -1, 1);
  se.fc2().weight().fill_uniform(seed + 3, -1, 1);
  se.fc2().bias().fill_uniform(seed + 4, -1, 1);
  fovea::nn::Conv2d projection(t.c, t.out, 1, Conv2dAttrs::make(1, 0), true);
  projection.weight().fill_uniform(seed + 5, -1, 1);
  projection.bias().fill_uniform(seed + 6, -1, 1);
  se.set_training(false);
  projection.set_training(false);
  projection.set_weight_caching(true);
  const Tensor<float> y =
      random_tensor(Shape{t.n, t.c, t.h, t.w}, seed + 7).to_layout(Layout::nhwc);
  const Tensor<float> residual =
      random_tensor(Shape{t.n, t.out, t.h, t.w}, seed + 8).to_layout(Layout::nhwc);
  const Tensor<float>* res = t.residual ? &residual : nullptr;

  const Tensor<float> folded = fovea::nn::excite_project(y, se, projection, res);
  const bool gated = t.h * t.w >= t.out;
  CHECK(fovea::last_kernel("conv2d") == (gated ? std::string("conv2d_f32_nhwc_pointwise_gated_")
                                               : std::string("conv2d_f32_nhwc_pointwise_gemm_")) +
                                            fovea::cpu::kIsaName);
  CHECK(folded.layout() == Layout::nhwc);
  CHECK(folded.shape() == Shape{t.n, t.out, t.h, t.w});
  const Tensor<float> in_turn =
      projection.forward_fused(se.forward(y), fovea::Conv2dEpilogue{ActivationKind::identity, res});
  CHECK(fovea::test::max_relative_error(folded, in_turn) <= 1e-5);

  fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
  const Tensor<float> reference = fovea::nn::excite_project(y, se, projection, res);
  CHECK(fovea::last_kernel("conv2d") == "conv2d_reference");
  fovea::set_kernel_policy(fovea::KernelPolicy::best);
  CHECK(fovea::test::max_relative_error(folded, reference) <= 1e-4);
}

}  // namespace

TEST_SUITE("cpu kernels") {
  TEST_CASE("excite_project folds the gates into the projection where that pays") {
    // Batches of one to three (each image its own gates and residual), odd sizes, K past a
    // GEMM panel and not a multiple of one, C over a K block of the packed weights.
    const int64_t panel = fovea::cpu::kGemmNr;
    const Case cases[] = {{1, 32, 11, 9, 8, 16, false, 1},
                          {2, 40, 7, 13, 10, panel + 3, true, 2},
                          {3, 24, 5, 6, 6, 24, true, 1},
                          {2, 300, 9, 10, 12, 2 * panel + 1, true, 2},
                          {1, 96, 1, 1, 4, 1, false, 2},
                          {2, 48, 4, 4, 12, 40, true, 1},
                          {1, 72, 3, 5, 18, 3 * panel - 1, false, 2}};
    uint64_t seed = 100;
    for (const Case& t : cases) {
      check_case(t, seed);
      seed += 10;
    }
  }

  TEST_CASE("excite_project runs the layers in turn for NCHW input") {
    fovea::nn::SqueezeExcitation se(16, 4, ActivationKind::silu, ActivationKind::sigmoid);
    fovea::nn::Conv2d projection(16, 8, 1, Conv2dAttrs::make(1, 0), true);
    se.set_training(false);
    projection.set_training(false);
    const Tensor<float> y = random_tensor(Shape{2, 16, 6, 5}, 3);
    const Tensor<float> out = fovea::nn::excite_project(y, se, projection);
    CHECK(fovea::last_kernel("conv2d").find("_nchw_") != std::string::npos);
    CHECK(out.layout() == Layout::nchw);
    const Tensor<float> in_turn = projection.forward(se.forward(y));
    CHECK(fovea::test::max_abs_error(out, in_turn) == 0);
  }

  TEST_CASE("SqueezeExcitation::gates_nhwc names a wrong input") {
    fovea::nn::SqueezeExcitation se(16, 4);
    CHECK_THROWS_WITH_AS(se.gates_nhwc(random_tensor(Shape{1, 16, 4, 4}, 1)),
                         doctest::Contains("NHWC"), fovea::Error);
    CHECK_THROWS_WITH_AS(
        se.gates_nhwc(random_tensor(Shape{1, 12, 4, 4}, 1).to_layout(Layout::nhwc)),
        doctest::Contains("12"), fovea::Error);
  }
}
