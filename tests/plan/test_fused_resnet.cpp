// ResNet blocks run conv + ReLU (+ residual add) as one conv2d_fused once their batch norms are
// folded: same logits as the unfused reference path, and no separate activation or add runs.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"
#include "harness/compare.hpp"

using fovea::Shape;
using fovea::Tensor;

namespace {

// Batch norms away from the identity, so a wrongly skipped one changes the logits.
void randomize_batchnorms(fovea::nn::Module& m, fovea::Rng& rng) {
  if (auto* bn = dynamic_cast<fovea::nn::BatchNorm2d*>(&m)) {
    bn->weight().fill_uniform(rng, 0.5, 1.5);
    bn->bias().fill_uniform(rng, -0.2, 0.2);
    bn->running_mean().fill_uniform(rng, -0.2, 0.2);
    bn->running_var().fill_uniform(rng, 0.5, 2.0);
  }
  for (const auto& child : m.children())
    randomize_batchnorms(*child.second, rng);
}

int64_t runs_of(const std::string& prefix) {
  int64_t runs = 0;
  for (const auto& [kernel, count] : fovea::kernel_counts())
    if (kernel.compare(0, prefix.size(), prefix) == 0) runs += count;
  return runs;
}

void check_fused(const std::string& name) {
  INFO("model ", name);
  std::unique_ptr<fovea::nn::Module> model = fovea::build_model(name);
  fovea::init_weights(*model, 5);
  fovea::Rng rng(9);
  randomize_batchnorms(*model, rng);
  model->set_training(false);
  Tensor<float> x(Shape{2, 3, 64, 64});
  x.fill_uniform(4, -1, 1);

  fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
  const Tensor<float> want = model->forward(x);
  fovea::set_kernel_policy(fovea::KernelPolicy::best);

  fovea::reset_kernel_log();
  model->forward(x);
  CHECK(runs_of("activation_") > 0);  // unfolded: ReLU runs on its own
  CHECK(runs_of("add_") > 0);

  fovea::prepare_for_inference(*model);
  fovea::reset_kernel_log();
  const Tensor<float> fused = model->forward(x);
  CHECK(runs_of("activation_") == 0);
  CHECK(runs_of("add_") == 0);
  CHECK(fovea::test::max_relative_error(fused, want) <= 1e-4);
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("resnet18 runs fused conv epilogues after batch-norm folding") {
    check_fused("resnet18");
  }
  TEST_CASE("resnet50 runs fused conv epilogues after batch-norm folding") {
    check_fused("resnet50");
  }
}
