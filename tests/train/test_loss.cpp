#include <doctest/doctest.h>

#include <cmath>

#include "fovea/train/loss.hpp"

using namespace fovea;

namespace {

Tensor<float> fixed_logits() {
  Tensor<float> z(Shape{2, 3});
  const float v[] = {1.0f, -0.5f, 2.0f, 0.25f, 0.75f, -1.0f};
  std::copy(v, v + 6, z.begin());
  return z;
}

// Expected values: torch.nn.functional.cross_entropy on the same logits and labels (2, 0),
// float32, loss.backward() for the gradient (torch 1.13).
void check(const train::LossResult& r, double loss, const double (&grad)[6]) {
  CHECK(r.loss == doctest::Approx(loss).epsilon(1e-6));
  for (int i = 0; i < 6; ++i)
    CHECK(r.grad[i] == doctest::Approx(grad[i]).epsilon(1e-5));
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("cross-entropy matches torch") {
    const double grad[6] = {0.12685808539390564,  0.028305863961577415, -0.15516397356987,
                            -0.32965537905693054, 0.2808507978916168,   0.048804547637701035};
    check(train::cross_entropy(fixed_logits(), {2, 0}), 0.7241618037223816, grad);
  }

  TEST_CASE("cross-entropy with label smoothing matches torch") {
    train::CrossEntropyOptions o;
    o.label_smoothing = 0.1;
    const double grad[6] = {0.11019141972064972, 0.011639196425676346, -0.12183064222335815,
                            -0.2963220477104187, 0.2641841173171997,   0.032137878239154816};
    check(train::cross_entropy(fixed_logits(), {2, 0}, o), 0.794995129108429, grad);
  }

  TEST_CASE("cross-entropy with class weights and label smoothing matches torch") {
    train::CrossEntropyOptions o;
    o.label_smoothing = 0.2;
    o.class_weights = {0.5, 2.0, 1.5};
    const double grad[6] = {0.16939185559749603,  -0.02515140175819397, -0.14424051344394684,
                            -0.10310358554124832, 0.1205672025680542,   -0.01746363751590252};
    check(train::cross_entropy(fixed_logits(), {2, 0}, o), 0.8438901901245117, grad);
  }

  TEST_CASE("cross-entropy of equal logits is log C") {
    Tensor<float> z(Shape{1, 4});
    const train::LossResult r = train::cross_entropy(z, {1});
    CHECK(r.loss == doctest::Approx(std::log(4.0)));
    CHECK(r.grad[1] == doctest::Approx(0.25 - 1));
    CHECK(r.grad[0] == doctest::Approx(0.25));
  }

  TEST_CASE(
      "focal loss with gamma 0 is cross-entropy and its gradient matches finite differences") {
    const Tensor<float> z = fixed_logits();
    const train::LossResult ce = train::cross_entropy(z, {2, 0});
    const train::LossResult f0 = train::focal_loss(z, {2, 0}, 0.0);
    CHECK(f0.loss == doctest::Approx(ce.loss));
    const train::LossResult f = train::focal_loss(z, {2, 0}, 2.0, 0.25);
    // Hand check of sample 0: p_t = softmax(1, −0.5, 2)[2] = 0.6285, so
    // −0.25 · 0.3715² · log 0.6285 = 0.016016; sample 1 adds its own term.
    for (int i = 0; i < 6; ++i) {
      Tensor<float> up = z.clone(), down = z.clone();
      const float h = 1e-2f;
      up[i] += h, down[i] -= h;
      const double numeric = (train::focal_loss(up, {2, 0}, 2.0, 0.25).loss -
                              train::focal_loss(down, {2, 0}, 2.0, 0.25).loss) /
                             (2 * double(h));
      CHECK(f.grad[i] == doctest::Approx(numeric).epsilon(1e-3));
    }
  }

  TEST_CASE("distillation loss matches torch") {
    // (1 − α)·F.cross_entropy(z_s, y) + α·T²·F.kl_div(F.log_softmax(z_s / T),
    // F.softmax(z_t / T), reduction="batchmean") with T = 4, α = 0.9 (torch 1.13, float32).
    Tensor<float> teacher(Shape{2, 3});
    const float v[] = {0.5f, 1.5f, -0.25f, 2.0f, 0.0f, 0.5f};
    std::copy(v, v + 6, teacher.begin());
    const double grad[6] = {0.04026804119348526,  -0.3232513666152954, 0.2829834818840027,
                            -0.18935872614383698, 0.2641144096851349,  -0.07475561648607254};
    check(train::distillation_loss(fixed_logits(), teacher, {2, 0}), 1.0297271013259888, grad);
  }

  TEST_CASE("distillation with weight 0 is cross-entropy; a teacher that agrees adds nothing") {
    const Tensor<float> z = fixed_logits();
    const train::LossResult ce = train::cross_entropy(z, {2, 0});
    train::DistillationOptions hard_only;
    hard_only.weight = 0;
    const train::LossResult d0 = train::distillation_loss(z, fixed_logits(), {2, 0}, hard_only);
    CHECK(d0.loss == ce.loss);
    for (int i = 0; i < 6; ++i)
      CHECK(d0.grad[i] == ce.grad[i]);
    train::DistillationOptions soft_only;
    soft_only.weight = 1, soft_only.temperature = 2;
    const train::LossResult d1 = train::distillation_loss(z, z, {2, 0}, soft_only);
    CHECK(std::abs(d1.loss) < 1e-12);
    for (int i = 0; i < 6; ++i)
      CHECK(std::abs(d1.grad[i]) < 1e-9);
  }

  TEST_CASE("distillation rejects a teacher of another shape and bad options") {
    CHECK_THROWS_WITH(train::distillation_loss(fixed_logits(), Tensor<float>(Shape{2, 4}), {2, 0}),
                      doctest::Contains("the teacher's logits are [2, 4], the student's [2, 3]"));
    train::DistillationOptions o;
    o.temperature = 0;
    CHECK_THROWS_WITH(train::distillation_loss(fixed_logits(), fixed_logits(), {2, 0}, o),
                      doctest::Contains("temperature must be positive"));
  }

  TEST_CASE("losses reject labels outside the classes") {
    CHECK_THROWS_WITH(train::cross_entropy(fixed_logits(), {3, 0}),
                      doctest::Contains("label 3 is outside [0, 3)"));
  }
}
