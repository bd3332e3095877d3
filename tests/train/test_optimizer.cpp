#include <doctest/doctest.h>

#include <cmath>

#include "fovea/train/clip.hpp"
#include "fovea/train/early_stopping.hpp"
#include "fovea/train/lr_schedule.hpp"
#include "fovea/train/optimizer.hpp"

using namespace fovea;

namespace {

// One parameter p = (0.5, −1.25, 2.0) stepped with three fixed gradients; the expected values
// are torch 1.13's (float32) after the same three steps, printed with float.hex.
struct Fixture {
  Tensor<float> p{Shape{3}}, g{Shape{3}};
  std::vector<nn::NamedTensor> params() { return {{"p", &p, nn::TensorRole::parameter, &g}}; }
  Fixture() { p[0] = 0.5f, p[1] = -1.25f, p[2] = 2.0f; }
  void run(train::Optimizer& opt) {
    const float grads[3][3] = {{0.1f, -0.2f, 0.3f}, {0.05f, 0.4f, -0.6f}, {-0.3f, 0.1f, 0.2f}};
    for (const auto& step : grads) {
      std::copy(step, step + 3, g.begin());
      opt.step();
    }
  }
};

void check_bits(const Tensor<float>& p, const float (&expected)[3]) {
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    // Equal to the last bit, or one unit in the last place where our compiler contracts a
    // multiply-add that torch's kernel rounds twice.
    CHECK(std::abs(p[i] - expected[i]) <= std::abs(expected[i]) * 1.2e-7f);
  }
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("SGD with momentum and weight decay matches torch") {
    Fixture f;
    train::SgdOptions o;
    o.lr = 0.1, o.momentum = 0.9, o.weight_decay = 0.01;
    train::Sgd sgd(f.params(), o);
    f.run(sgd);
    check_bits(f.p, {0x1.f66a7p-2f, -0x1.465b3ap+0f, 0x1.003296p+1f});
  }

  TEST_CASE("SGD with Nesterov momentum matches torch") {
    Fixture f;
    train::SgdOptions o;
    o.lr = 0.1, o.momentum = 0.9, o.weight_decay = 0.01, o.nesterov = true;
    train::Sgd sgd(f.params(), o);
    f.run(sgd);
    check_bits(f.p, {0x1.02a4c8p-1f, -0x1.4c7384p+0f, 0x1.00b2a6p+1f});
  }

  TEST_CASE("AdamW matches torch") {
    Fixture f;
    train::AdamWOptions o;
    o.lr = 0.01, o.weight_decay = 0.1;
    train::AdamW adamw(f.params(), o);
    f.run(adamw);
    check_bits(f.p, {0x1.ee44p-2f, -0x1.3e7c86p+0f, 0x1.fd12ep+0f});
    CHECK(adamw.state().count("p.exp_avg") == 1);
  }

  TEST_CASE("plain SGD is p minus lr times grad") {
    Fixture f;
    train::Sgd sgd(f.params(), train::SgdOptions{});
    f.g.fill(2.0f);
    sgd.step();
    CHECK(f.p[0] == doctest::Approx(0.5 - 0.02));
  }

  TEST_CASE("learning-rate schedules match torch") {
    // torch.optim.lr_scheduler values for steps 0, 1, 2, … with base lr 0.1.
    const double one_cycle[] = {0.0040000000000000036,
                                0.052000000000000005,
                                0.1,
                                0.09504846320134738,
                                0.0811745653949763,
                                0.06112620219362893,
                                0.03887419780637107,
                                0.0188258346050237,
                                0.004951936798652629,
                                4e-07};
    const train::LrSchedule oc = train::one_cycle_lr(0.1, 10);
    for (int t = 0; t < 10; ++t)
      CHECK(oc(t) == doctest::Approx(one_cycle[t]).epsilon(1e-9));
    const double cosine[] = {
        0.1,  0.0905463412215599, 0.06579634122155989, 0.035203658778440096, 0.010453658778440105,
        0.001};
    const train::LrSchedule cos = train::cosine_annealing_lr(0.1, 5, 0.001);
    for (int t = 0; t < 6; ++t)
      CHECK(cos(t) == doctest::Approx(cosine[t]).epsilon(1e-9));
    const double step[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
    for (int t = 0; t < 6; ++t)
      CHECK(train::step_lr(0.1, 2, 0.5)(t) == doctest::Approx(step[t]));
    const double linear[] = {0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1};
    const train::LrSchedule warm = train::linear_warmup(4, 0.25, [](int64_t) { return 0.1; });
    for (int t = 0; t < 6; ++t)
      CHECK(warm(t) == doctest::Approx(linear[t]));
  }

  TEST_CASE("gradient clipping scales to the global norm") {
    Fixture f;
    f.g[0] = 3, f.g[1] = 0, f.g[2] = 4;  // norm 5
    std::vector<nn::NamedTensor> ps = f.params();
    CHECK(train::clip_grad_norm(ps, 1.0) == doctest::Approx(5.0));
    CHECK(f.g[0] == doctest::Approx(0.6).epsilon(1e-6));
    CHECK(f.g[2] == doctest::Approx(0.8).epsilon(1e-6));
    CHECK(train::clip_grad_norm(ps, 10.0) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(f.g[2] == doctest::Approx(0.8).epsilon(1e-6));  // under the limit: unchanged
  }

  TEST_CASE("early stopping waits patience epochs without improvement") {
    train::EarlyStopping stop(2);
    CHECK_FALSE(stop.update(1.0));
    CHECK_FALSE(stop.update(0.8));
    CHECK_FALSE(stop.update(0.9));
    CHECK_FALSE(stop.update(0.7));  // improvement resets the count
    CHECK_FALSE(stop.update(0.75));
    CHECK(stop.update(0.71));
    CHECK(stop.best() == 0.7);
  }
}
