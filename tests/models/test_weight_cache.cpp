#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "fovea/io/state_dict.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

TEST_SUITE("model") {
  // LeNet-5 has no batch norm, so preparing it only turns on weight caching and its state_dict
  // keeps its names.
  TEST_CASE("loading weights into a prepared model drops its packed conv weights") {
    ModelOptions options;
    options.num_classes = 10;
    auto prepared = build_model("lenet5", options);
    init_weights(*prepared, 1);
    prepare_for_inference(*prepared);
    Tensor<float> x(Shape{2, 1, 32, 32});
    x.fill_uniform(5, -1, 1);
    const Tensor<float> before = prepared->forward(x);  // packs and caches the weights

    auto other = build_model("lenet5", options);
    init_weights(*other, 2);
    const std::string path = std::string(FOVEA_BINARY_DIR) + "/test_weight_cache.safetensors";
    save_state_dict(*other, path);
    load_state_dict(*prepared, SafeTensorsFile::open(path));
    std::remove(path.c_str());

    const Tensor<float> after = prepared->forward(x);
    const Tensor<float> want = other->forward(x);
    CHECK(test::max_relative_error(before, want) > 1e-2);  // the two networks do differ
    CHECK(test::max_relative_error(after, want) < 1e-4);
  }
}
