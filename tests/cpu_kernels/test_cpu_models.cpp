// Whole models on the CPU kernels against the reference path, batch-norm folding and the
// packed-weight cache.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/plan/inference.hpp"
#include "harness/compare.hpp"

using fovea::Shape;
using fovea::Tensor;

namespace {

// Batch-norm statistics away from the identity, so folding has something to fold.
int randomize_batchnorms(fovea::nn::Module& m, fovea::Rng& rng) {
  int count = 0;
  if (auto* bn = dynamic_cast<fovea::nn::BatchNorm2d*>(&m)) {
    bn->weight().fill_uniform(rng, 0.5, 1.5);
    bn->bias().fill_uniform(rng, -0.2, 0.2);
    bn->running_mean().fill_uniform(rng, -0.2, 0.2);
    bn->running_var().fill_uniform(rng, 0.5, 2.0);
    ++count;
  }
  for (const auto& child : m.children())
    count += randomize_batchnorms(*child.second, rng);
  return count;
}

Tensor<float> forward_with(fovea::nn::Module& model, const Tensor<float>& x,
                           fovea::KernelPolicy policy) {
  fovea::set_kernel_policy(policy);
  Tensor<float> y = model.forward(x);
  fovea::set_kernel_policy(fovea::KernelPolicy::best);
  return y;
}

// The layers' own forward of a prepared model, on the whole batch: inside an arena scope,
// forward() bypasses the model's plan (which runs a batch's early steps image by image).
Tensor<float> layers_forward(fovea::nn::Module& model, const Tensor<float>& x) {
  fovea::ActivationArena arena;
  fovea::ArenaScope scope(arena);
  return model.forward(x);
}

// The model on the fast kernels, before and after prepare_for_inference(layout), against the
// reference path; `expect` is the layout the prepared convs must compute this batch in.
void check_model(const std::string& name, fovea::InferenceLayout layout, int64_t batch,
                 fovea::Layout expect) {
  INFO("model ", name, " batch ", batch, " expected layout ", fovea::layout_name(expect));
  std::unique_ptr<fovea::nn::Module> model = fovea::build_model(name);
  fovea::init_weights(*model, 7);
  fovea::Rng rng(11);
  const int batchnorms = randomize_batchnorms(*model, rng);
  Tensor<float> x(Shape{batch, 3, 64, 48});
  x.fill_uniform(3, -1, 1);

  const Tensor<float> want = forward_with(*model, x, fovea::KernelPolicy::reference_only);
  const Tensor<float> fast = model->forward(x);
  CHECK(fovea::last_kernel("conv2d") != "conv2d_reference");
  CHECK(fovea::test::max_relative_error(fast, want) <= 1e-4);

  const fovea::InferencePlanReport report = fovea::prepare_for_inference(*model, layout);
  CHECK(report.folded_batchnorms == batchnorms);
  CHECK(report.cached_convs > 0);
  CHECK(report.layout_for_batch(batch) == expect);
  const Tensor<float> planned = model->forward(x);  // the plan: images side by side
  fovea::set_num_threads(1);
  fovea::reset_kernel_log();
  const Tensor<float> folded = layers_forward(*model, x);
  // Every conv ran a fast kernel in the expected layout.
  const std::string layout_tag = expect == fovea::Layout::nhwc ? "_nhwc_" : "_nchw_";
  for (const auto& [kernel, runs] : fovea::kernel_counts()) {
    INFO("kernel ", kernel, " ran ", runs, " times");
    if (kernel.rfind("conv2d", 0) == 0) CHECK(kernel.find(layout_tag) != std::string::npos);
  }
  const Tensor<float> cached = layers_forward(*model, x);  // packed weights reused
  fovea::set_num_threads(2);
  const Tensor<float> two_threads = layers_forward(*model, x);
  CHECK(fovea::test::max_relative_error(folded, want) <= 1e-4);
  CHECK(fovea::test::max_relative_error(planned, want) <= 1e-4);
  CHECK(fovea::test::max_abs_error(cached, folded) == 0);
  CHECK(fovea::test::max_abs_error(two_threads, folded) == 0);
}

}  // namespace

TEST_SUITE("cpu") {
  using fovea::InferenceLayout;
  using fovea::Layout;

  TEST_CASE("resnet18 on the CPU kernels matches the reference path, in NHWC at any batch") {
    check_model("resnet18", InferenceLayout::automatic, 2, Layout::nhwc);
    CHECK(fovea::last_kernel("pool2d") ==
          std::string("global_avg_pool2d_f32_nhwc_") + fovea::cpu::kIsaName);
  }

  TEST_CASE("resnet18 forced to NCHW matches the reference path") {
    check_model("resnet18", InferenceLayout::nchw, 1, Layout::nchw);
  }

  TEST_CASE("mobilenet_v2 on the CPU kernels matches the reference path") {
    check_model("mobilenet_v2", InferenceLayout::automatic, 1, Layout::nhwc);
    check_model("mobilenet_v2", InferenceLayout::automatic, 2, Layout::nchw);
    check_model("mobilenet_v2", InferenceLayout::nchw, 1, Layout::nchw);
  }

  TEST_CASE("efficientnet_b0 on the CPU kernels matches the reference path") {
    check_model("efficientnet_b0", InferenceLayout::automatic, 1, Layout::nhwc);
    CHECK(fovea::last_kernel("squeeze_excitation") ==
          std::string("squeeze_excitation_f32_nhwc_") + fovea::cpu::kIsaName);
    check_model("efficientnet_b0", InferenceLayout::automatic, 3, Layout::nchw);
    CHECK(fovea::last_kernel("squeeze_excitation") ==
          std::string("squeeze_excitation_f32_nchw_") + fovea::cpu::kIsaName);
  }

  TEST_CASE("fold_batchnorm_in_place by hand") {
    // conv w = 2 (no bias), bn gamma 3, beta 1, mean 0.5, var 4, eps 0: scale 3 / 2 = 1.5, so
    // w' = 3 and b' = (0 - 0.5) * 1.5 + 1 = 0.25; x = 2 gives 6.25.
    fovea::nn::Sequential seq;
    auto& conv = seq.add(std::make_unique<fovea::nn::Conv2d>(1, 1, 1, fovea::Conv2dAttrs{}, false));
    auto& bn = seq.add(std::make_unique<fovea::nn::BatchNorm2d>(1, 0.0));
    conv.weight().fill(2);
    bn.weight().fill(3);
    bn.bias().fill(1);
    bn.running_mean().fill(0.5f);
    bn.running_var().fill(4);
    Tensor<float> x = Tensor<float>(Shape{1, 1, 1, 1}).fill(2);
    CHECK(seq.forward(x)[0] == 6.25f);
    CHECK(fovea::fold_batchnorm_in_place(seq) == 1);
    CHECK(bn.folded());
    CHECK(conv.weight()[0] == 3.0f);
    CHECK(conv.bias()[0] == 0.25f);
    CHECK(seq.forward(x)[0] == 6.25f);
    CHECK(fovea::fold_batchnorm_in_place(seq) == 0);  // nothing left to fold
    seq.set_training(true);
    CHECK_THROWS_AS(seq.forward(x), fovea::Error);
  }

  TEST_CASE("a conv with weight caching sees weight changes made through weight()") {
    fovea::nn::Conv2d conv(4, 3, 3, fovea::Conv2dAttrs::make(1, 1), true);
    conv.weight().fill_uniform(1, -1, 1);
    conv.set_weight_caching(true);
    Tensor<float> x(Shape{1, 4, 6, 6});
    x.fill_uniform(2, -1, 1);
    const Tensor<float> before = conv.forward(x);
    conv.weight().fill_uniform(3, -1, 1);
    const Tensor<float> after = conv.forward(x);
    const Tensor<float> want = fovea::conv2d_reference(x, conv.weight(), conv.bias(), conv.attrs());
    CHECK(fovea::test::max_relative_error(after, want) <= 1e-5);
    CHECK(fovea::test::max_abs_error(before, after) > 0.1);
  }
}
