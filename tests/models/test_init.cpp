#include <doctest/doctest.h>

#include <cmath>

#include "fovea/models/init.hpp"
#include "fovea/models/resnet.hpp"

using namespace fovea;

namespace {

Tensor<float>& tensor(nn::Module& net, const std::string& name) {
  for (const nn::NamedTensor& t : net.named_tensors()) {
    if (t.name == name) return *t.tensor;
  }
  fail("no tensor ", name);
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("init_weights is deterministic per seed") {
    auto a = models::resnet(18);
    auto b = models::resnet(18);
    auto c = models::resnet(18);
    init_weights(*a, 1);
    init_weights(*b, 1);
    init_weights(*c, 2);
    const Tensor<float>& wa = tensor(*a, "layer3.1.conv2.weight");
    const Tensor<float>& wb = tensor(*b, "layer3.1.conv2.weight");
    const Tensor<float>& wc = tensor(*c, "layer3.1.conv2.weight");
    int64_t same_ab = 0, same_ac = 0;
    for (int64_t i = 0; i < wa.numel(); ++i) {
      same_ab += wa[i] == wb[i];
      same_ac += wa[i] == wc[i];
    }
    CHECK(same_ab == wa.numel());
    CHECK(same_ac < wa.numel() / 100);
  }

  TEST_CASE("init_weights follows torch's rules per layer type") {
    auto net = models::resnet(50, models::ResNetOptions::keras_v1(10));
    // Start from values the init must overwrite.
    for (const nn::NamedTensor& t : net->named_tensors())
      t.tensor->fill(9.0f);
    init_weights(*net, 5);

    // Kaiming normal, fan_out: layer4's 3x3 conv has 512·9 = 4608 outputs per input, so the
    // standard deviation is sqrt(2 / 4608) = 0.02083; 2.4M samples pin it within 0.5%.
    const Tensor<float>& w = tensor(*net, "layer4.0.conv2.weight");
    double sum = 0, sum_sq = 0;
    for (float v : w)
      sum += v, sum_sq += double(v) * v;
    const double n = static_cast<double>(w.numel());
    CHECK(std::abs(sum / n) < 1e-3);
    CHECK(std::sqrt(sum_sq / n) == doctest::Approx(std::sqrt(2.0 / 4608)).epsilon(0.005));
    for (float v : tensor(*net, "layer4.0.conv2.bias"))
      CHECK(v == 0.0f);

    // Linear: uniform in ±1/sqrt(2048) = ±0.0221, weight and bias alike.
    const double bound = 1.0 / std::sqrt(2048.0);
    double max_abs = 0;
    for (float v : tensor(*net, "fc.weight"))
      max_abs = std::max(max_abs, double(std::abs(v)));
    CHECK(max_abs <= bound);
    CHECK(max_abs > 0.99 * bound);
    for (float v : tensor(*net, "fc.bias"))
      CHECK(std::abs(v) <= bound);

    // Batch norm: the identity.
    for (float v : tensor(*net, "layer2.3.bn3.weight"))
      CHECK(v == 1.0f);
    for (float v : tensor(*net, "layer2.3.bn3.bias"))
      CHECK(v == 0.0f);
    for (float v : tensor(*net, "layer2.3.bn3.running_mean"))
      CHECK(v == 0.0f);
    for (float v : tensor(*net, "layer2.3.bn3.running_var"))
      CHECK(v == 1.0f);
  }
}
