// BatchRunner: batches run their early steps one image at a time, side by side on the threads,
// and their late steps on each thread's share of the images, against the reference path and
// against each image's own forward.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fovea/models/image_classifier.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/batch_runner.hpp"
#include "fovea/plan/inference.hpp"
#include "harness/compare.hpp"

using fovea::Shape;
using fovea::Tensor;

namespace {

std::unique_ptr<fovea::nn::Module> built(const std::string& name) {
  std::unique_ptr<fovea::nn::Module> model = fovea::build_model(name);
  fovea::init_weights(*model, 5);
  model->set_training(false);
  return model;
}

Tensor<float> reference_forward(fovea::nn::Module& model, const Tensor<float>& x) {
  fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
  Tensor<float> y = model.forward(x);
  fovea::set_kernel_policy(fovea::KernelPolicy::best);
  return y;
}

// Each image's output from the runner is that image's forward alone, to the bit.
void check_matches_single_images(fovea::nn::Module& model, const Tensor<float>& x,
                                 const Tensor<float>& y) {
  REQUIRE(y.dim(0) == x.dim(0));
  for (int64_t i = 0; i < x.dim(0); ++i) {
    INFO("image ", i);
    const Tensor<float> alone = model.forward(x.batch_slice(i, 1));
    CHECK(fovea::test::max_abs_error(y.batch_slice(i, 1), alone) == 0);
  }
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("BatchRunner matches the reference and single images, whatever the thread count") {
    // MobileNetV2 and EfficientNet-B0 have steps: on 48 × 40 images their planes reach 12 × 10
    // after three, and the rest run on two images per thread (two threads) or all five (one).
    // ResNet-18 has none and runs whole, image by image.
    for (const std::string name : {"mobilenet_v2", "efficientnet_b0", "resnet18"}) {
      INFO("model ", name);
      std::unique_ptr<fovea::nn::Module> model = built(name);
      // Five images: with two threads, four run side by side and one with both threads.
      Tensor<float> x(Shape{5, 3, 48, 40});
      x.fill_uniform(9, -1, 1);
      const Tensor<float> want = reference_forward(*model, x);
      fovea::prepare_for_inference(*model);
      fovea::BatchRunner runner(*model);
      for (const int threads : {2, 1, 2}) {  // the first pass packs the weights on two threads
        INFO("threads ", threads);
        fovea::set_num_threads(threads);
        const Tensor<float> y = runner.forward(x);
        CHECK(y.shape() == want.shape());
        CHECK(fovea::test::max_relative_error(y, want) <= 1e-4);
        check_matches_single_images(*model, x, y);
      }
      CHECK(runner.arena_bytes() > 0);
      CHECK(runner.arena_served() > 0);
    }
  }

  TEST_CASE("An ImageClassifier's steps in parts are its forward") {
    std::unique_ptr<fovea::nn::Module> model = built("mobilenet_v2");
    auto& stepwise = dynamic_cast<fovea::models::ImageClassifier&>(*model);
    REQUIRE(stepwise.step_count() == 20);  // features.0 … features.18, then pool and classifier
    Tensor<float> x(Shape{2, 3, 40, 48});
    x.fill_uniform(2, -1, 1);
    const Tensor<float> whole = model->forward(x);
    for (const int64_t split : {0, 1, 7, 19, 20}) {
      INFO("split ", split);
      const Tensor<float> early = stepwise.forward_steps(x, 0, split);
      CHECK(fovea::test::max_abs_error(stepwise.forward_steps(early, split, 20), whole) == 0);
    }
    CHECK_THROWS_WITH_AS(stepwise.forward_steps(x, 3, 21), doctest::Contains("steps [3, 21)"),
                         fovea::Error);
    CHECK_THROWS_WITH_AS(stepwise.forward_steps(x, 2, 1), doctest::Contains("of its 20 steps"),
                         fovea::Error);
  }

  TEST_CASE("BatchRunner sees new weights") {
    std::unique_ptr<fovea::nn::Module> model = built("resnet18");
    fovea::prepare_for_inference(*model);
    fovea::BatchRunner runner(*model);
    Tensor<float> x(Shape{2, 3, 32, 32});
    x.fill_uniform(4, -1, 1);
    fovea::set_num_threads(2);
    const Tensor<float> before = runner.forward(x);
    // Writing through weight() drops the conv's packed copy; the runner's next pass repacks.
    Tensor<float>& w = dynamic_cast<fovea::nn::Conv2d&>(*model->children().front().second).weight();
    for (float& v : w)
      v = -v;
    const Tensor<float> after = runner.forward(x);
    CHECK(fovea::test::max_abs_error(after, before) > 0);
    CHECK(fovea::test::max_relative_error(after, reference_forward(*model, x)) <= 1e-4);
  }

  TEST_CASE("BatchRunner rejects an empty batch and a model in training mode") {
    std::unique_ptr<fovea::nn::Module> model = built("lenet5");
    fovea::BatchRunner runner(*model);
    CHECK_THROWS_WITH_AS(runner.forward(Tensor<float>(Shape{0, 1, 32, 32})),
                         doctest::Contains("at least one image"), fovea::Error);
    model->set_training(true);
    CHECK_THROWS_WITH_AS(runner.forward(Tensor<float>(Shape{1, 1, 32, 32})),
                         doctest::Contains("inference mode"), fovea::Error);
  }
}
