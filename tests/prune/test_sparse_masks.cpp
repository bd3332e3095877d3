// Unstructured and 2:4 sparsity (fovea/prune/sparse/): magnitude and 2:4 masks, global ranking,
// Zhu & Gupta's schedule, MaskedOptimizer keeping pruned weights at zero through training, a
// checkpoint resume that continues bit for bit, and the save → load round trip of a model file.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/io/state_dict.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"
#include "fovea/prune/sparse/mask.hpp"
#include "fovea/prune/sparse/masked_optimizer.hpp"
#include "fovea/prune/sparse/sparse_io.hpp"
#include "fovea/train/checkpoint.hpp"
#include "fovea/train/optimizer.hpp"

using namespace fovea;
using namespace fovea::prune::sparse;

namespace {

std::unique_ptr<nn::Module> lenet(uint64_t seed) {
  ModelOptions options;
  options.num_classes = 10;
  auto model = build_model("lenet5", options);
  init_weights(*model, seed);
  return model;
}

// Random gradients for every parameter, drawn from `rng` (the same draws for two runs).
void random_grads(nn::Module& model, Rng& rng) {
  for (nn::NamedTensor& p : model.named_parameters_with_grads())
    for (int64_t i = 0; i < p.grad->numel(); ++i)
      p.grad->data()[i] = float(rng.uniform(-1, 1));
}

bool zero_where_masked(const SparsityMasks& masks) {
  for (const MaskedWeight& m : masks.entries())
    for (int64_t i = 0; i < m.mask.numel(); ++i)
      if (m.mask.data()[i] == 0.0f && m.weight->data()[i] != 0.0f) return false;
  return true;
}

std::string temp_path(const char* name) {
  return std::string(FOVEA_BINARY_DIR) + "/" + name;
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("magnitude mask keeps the largest |w| to the exact count, ties by position") {
    Tensor<float> w(Shape{2, 5});
    const float values[] = {0.5f, -3, 1, -1, 2, 0.1f, 4, -0.5f, 1, -2};
    std::copy(values, values + 10, w.data());
    const Tensor<float> mask = magnitude_mask(w, 0.4);    // prunes 4
    const float want[] = {0, 1, 1, 1, 1, 0, 1, 0, 0, 1};  // |1| ties: the earlier two stay
    CHECK(std::equal(mask.begin(), mask.end(), want));
    CHECK(magnitude_mask(w, 0).numel() == 10);
    CHECK(sparsity_of(magnitude_mask(w, 1.0)) == 1.0);
    CHECK_THROWS_AS(magnitude_mask(w, 1.5), Error);
  }

  TEST_CASE("2:4 mask: two largest of every 4 input channels per output channel and tap") {
    Rng rng(3);
    for (int64_t c : {4, 6, 8, 13}) {
      Tensor<float> w(Shape{3, c, 3, 3});
      w.fill_uniform(rng, -1, 1);
      const Tensor<float> mask = mask_2_4(w);
      Tensor<float> pruned = w.clone();
      for (int64_t i = 0; i < w.numel(); ++i)
        pruned.data()[i] *= mask.data()[i];
      CHECK(is_2_4(pruned));
      CHECK_FALSE(is_2_4(w));
      for (int64_t k = 0; k < 3; ++k)
        for (int64_t r = 0; r < 3; ++r)
          for (int64_t s = 0; s < 3; ++s)
            for (int64_t c0 = 0; c0 < c; c0 += 4) {
              const int64_t size = std::min<int64_t>(4, c - c0);
              int kept = 0;
              float smallest_kept = INFINITY, largest_dropped = 0;
              for (int64_t j = c0; j < c0 + size; ++j) {
                const float a = std::abs(w(k, j, r, s));
                if (mask(k, j, r, s) != 0) {
                  ++kept;
                  smallest_kept = std::min(smallest_kept, a);
                } else {
                  largest_dropped = std::max(largest_dropped, a);
                }
              }
              CHECK(kept == std::min<int64_t>(2, size));
              CHECK(smallest_kept >= largest_dropped);
            }
    }
    CHECK_THROWS_AS(mask_2_4(Tensor<float>(Shape{8})), Error);
  }

  TEST_CASE("global ranking prunes more where the weights are small") {
    auto model = lenet(1);
    SparsityMasks masks = SparsityMasks::for_model(*model, Pattern::unstructured);
    REQUIRE(masks.entries().size() == 5);  // 2 convs, 3 linears
    // Scale one layer's weights down: a global threshold takes it first.
    Tensor<float>& small = *masks.entries()[0].weight;
    for (float& v : small)
      v *= 1e-3f;
    masks.prune_to(0.5, /*global=*/true);
    CHECK(std::abs(masks.sparsity() - 0.5) < 1e-3);
    CHECK(sparsity_of(masks.entries()[0].mask) == 1.0);
    masks.prune_to(0.5, /*global=*/false);
    for (const MaskedWeight& m : masks.entries())
      CHECK(std::abs(sparsity_of(m.mask) - 0.5) < 0.5 / double(m.mask.numel()) + 1e-12);
    SelectOptions options;
    options.exclude = {"conv1"};
    options.linears = false;
    const auto selected = select_weights(*model, options);
    REQUIRE(selected.size() == 1);
    CHECK(selected[0].first == "conv2.weight");
  }

  TEST_CASE("Zhu & Gupta schedule") {
    const GradualSchedule g{0.1, 0.9, 100, 10, 8};  // s_i, s_f, t0, Δt, n
    CHECK(g.sparsity_at(50) == 0);
    CHECK(g.sparsity_at(100) == doctest::Approx(0.1));
    CHECK(g.sparsity_at(180) == doctest::Approx(0.9));
    CHECK(g.sparsity_at(1000) == doctest::Approx(0.9));
    // Halfway: s_f + (s_i − s_f) / 8.
    CHECK(g.sparsity_at(140) == doctest::Approx(0.9 - 0.8 / 8));
    for (int64_t t = 100; t < 180; ++t)
      CHECK(g.sparsity_at(t + 1) >= g.sparsity_at(t));
    CHECK(g.is_update_step(100));
    CHECK(g.is_update_step(130));
    CHECK(g.is_update_step(180));
    CHECK_FALSE(g.is_update_step(131));
    CHECK_FALSE(g.is_update_step(190));
    CHECK_FALSE(g.is_update_step(90));
  }

  TEST_CASE("MaskedOptimizer keeps pruned weights at zero and follows the schedule") {
    auto model = lenet(2);
    train::Sgd sgd(model->named_parameters_with_grads(), {0.05, 0.9, 0, 1e-4, false});
    const GradualSchedule schedule{0.0, 0.8, 2, 3, 4};  // updates after steps 2, 5, 8, 11, 14
    MaskedOptimizer opt(sgd, SparsityMasks::for_model(*model, Pattern::unstructured), schedule);
    Rng rng(5);
    for (int64_t step = 1; step <= 20; ++step) {
      random_grads(*model, rng);
      opt.step();
      CHECK(opt.steps() == step);
      CHECK(zero_where_masked(opt.masks()));
      const double want = step < 2 ? 0.0 : schedule.sparsity_at(step - (step - 2) % 3);
      CHECK_MESSAGE(std::abs(opt.masks().sparsity() - std::min(want, 0.8)) < 1e-3, "step ", step);
    }
    for (const MaskedWeight& m : opt.masks().entries())
      CHECK(std::abs(sparsity_of(*m.weight) - 0.8) < 1e-3);
    // The masks are in the optimizer state, so checkpoints carry them.
    CHECK(opt.state().count("conv1.weight.sparsity_mask") == 1);
    CHECK(opt.state().count("conv1.weight.momentum_buffer") == 1);
  }

  TEST_CASE("2:4 one-shot then fine-tune with fixed masks (ASP)") {
    auto model = lenet(3);
    train::AdamW adam(model->named_parameters_with_grads(), {});
    MaskedOptimizer opt(adam, SparsityMasks::for_model(*model, Pattern::two_four));
    opt.prune_now();
    Rng rng(8);
    for (int step = 0; step < 5; ++step) {
      random_grads(*model, rng);
      opt.step();
    }
    for (const MaskedWeight& m : opt.masks().entries()) {
      CHECK(is_2_4(*m.weight));
      // conv1 (C = 1) and conv2 (C = 6) end in short groups, which keep up to 2.
      if (m.weight->dim(1) % 4 == 0) CHECK(sparsity_of(m.mask) == 0.5);
    }
  }

  TEST_CASE("a resumed checkpoint continues the run bit for bit, masks included") {
    const GradualSchedule schedule{0.0, 0.9, 0, 2, 5};
    const auto make_run = [&](nn::Module& model) {
      auto sgd = std::make_unique<train::Sgd>(model.named_parameters_with_grads(),
                                              train::SgdOptions{0.05, 0.9, 0, 0, false});
      auto opt = std::make_unique<MaskedOptimizer>(
          *sgd, SparsityMasks::for_model(model, Pattern::unstructured), schedule);
      return std::make_pair(std::move(sgd), std::move(opt));
    };
    // Uninterrupted: 12 steps.
    auto full = lenet(4);
    auto [full_sgd, full_opt] = make_run(*full);
    Rng rng_full(9);
    for (int step = 0; step < 12; ++step) {
      random_grads(*full, rng_full);
      full_opt->step();
    }
    // Interrupted after 5 steps (mid-schedule), resumed in a fresh model and optimizer.
    const std::string path = temp_path("test_sparse_masks_resume.safetensors");
    Rng rng(9);
    {
      auto first = lenet(4);
      auto [sgd, opt] = make_run(*first);
      for (int step = 0; step < 5; ++step) {
        random_grads(*first, rng);
        opt->step();
      }
      train::save_checkpoint(path, *first, *opt, {1, 0});
    }
    auto second = lenet(99);  // different initial weights: the checkpoint must overwrite them
    auto [sgd, opt] = make_run(*second);
    train::load_checkpoint(path, *second, *opt);
    CHECK(opt->steps() == 5);
    CHECK(opt->masks().sparsity() > 0.5);
    for (int step = 5; step < 12; ++step) {
      random_grads(*second, rng);
      opt->step();
    }
    const auto a = full->named_tensors(), b = second->named_tensors();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i)
      CHECK_MESSAGE(std::equal(a[i].tensor->begin(), a[i].tensor->end(), b[i].tensor->begin()),
                    a[i].name);
    for (size_t i = 0; i < full_opt->masks().entries().size(); ++i) {
      const Tensor<float>& m1 = full_opt->masks().entries()[i].mask;
      const Tensor<float>& m2 = opt->masks().entries()[i].mask;
      CHECK(std::equal(m1.begin(), m1.end(), m2.begin()));
    }
    std::remove(path.c_str());
  }

  TEST_CASE("sparse model file: zeros + metadata survive save and load") {
    auto model = lenet(6);
    SparsityMasks masks = SparsityMasks::for_model(*model, Pattern::unstructured);
    masks.prune_to(0.75);
    // One layer 2:4 instead.
    masks.entries()[1].pattern = Pattern::two_four;
    masks.entries()[1].mask = mask_2_4(*masks.entries()[1].weight);
    const std::string path = temp_path("test_sparse_masks_model.safetensors");
    save_sparse_model(*model, path, masks, {{"architecture", "lenet5"}});
    auto loaded = lenet(7);
    const SafeTensorsFile file = SafeTensorsFile::open(path);
    load_state_dict(*loaded, file);
    SparsityMasks back = masks_from_metadata(file.metadata(), *loaded);
    REQUIRE(back.entries().size() == masks.entries().size());
    for (size_t i = 0; i < back.entries().size(); ++i) {
      const MaskedWeight& m = masks.entries()[i];
      const MaskedWeight& n = back.entries()[i];
      CHECK(m.name == n.name);
      CHECK(m.pattern == n.pattern);
      CHECK(std::equal(m.mask.begin(), m.mask.end(), n.mask.begin()));
    }
    // A metadata entry that does not match the weights is an error naming the weight.
    std::map<std::string, std::string> bad = file.metadata();
    bad[kSparseMasksKey] = R"({"fc1.weight":{"pattern":"2:4","sparsity":0.5}})";
    CHECK_THROWS_WITH_AS(masks_from_metadata(bad, *loaded), doctest::Contains("'fc1.weight'"),
                         Error);
    bad[kSparseMasksKey] = R"({"fc9.weight":{"pattern":"unstructured","sparsity":0.5}})";
    CHECK_THROWS_WITH_AS(masks_from_metadata(bad, *loaded), doctest::Contains("'fc9.weight'"),
                         Error);
    bad[kSparseMasksKey] = R"({"fc1.weight":{"pattern":"unstructured","sparsity":0.99}})";
    CHECK_THROWS_WITH_AS(masks_from_metadata(bad, *loaded), doctest::Contains("only"), Error);
    std::remove(path.c_str());
  }

  TEST_CASE("a prepared model runs its sparse 1x1 convs on the sparse kernels, as the reference") {
    // ResNet-50's bottlenecks: 1x1 convs at 90 % zeros take the CSR kernel by themselves; the
    // 3x3 convs (no sparse kernel) and the dense stem stay on the dense table.
    ModelOptions options;
    options.num_classes = 10;
    auto model = build_model("resnet50", options);
    init_weights(*model, 11);
    SelectOptions select;
    select.exclude = {"conv1", "fc"};
    SparsityMasks masks = SparsityMasks::for_model(*model, Pattern::unstructured, select);
    masks.prune_to(0.9);
    masks.apply();
    model->set_training(false);
    Tensor<float> x(Shape{2, 3, 40, 56});
    x.fill_uniform(5, -1.0, 1.0);
    set_kernel_policy(KernelPolicy::reference_only);
    const Tensor<float> expected = model->forward(x);
    set_kernel_policy(KernelPolicy::best);
    prepare_for_inference(*model);
    reset_kernel_log();
    const Tensor<float> got = model->forward(x);
    const std::map<std::string, int64_t> counts = kernel_counts();
    int64_t sparse_runs = 0;
    for (const auto& [kernel, n] : counts)
      if (kernel.find("spmm_csr") != std::string::npos) sparse_runs += n;
    CHECK(sparse_runs > 0);
    REQUIRE(got.shape() == expected.shape());
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      worst = std::max(worst, std::abs(double(got.data()[i]) - double(expected.data()[i])));
      scale = std::max(scale, std::abs(double(expected.data()[i])));
    }
    CHECK(worst <= 1e-4 * std::max(1.0, scale));
  }
}
