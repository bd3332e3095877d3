// Structured pruning (fovea/prune/): channel groups of every zoo family, the physical shrink
// checked against the unpruned model with the same channels zeroed, importance criteria, width
// rounding, MAC counts, and the save → load round trip through the file's metadata.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/io/state_dict.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/nn/flatten.hpp"
#include "fovea/plan/inference.hpp"
#include "fovea/prune/group_tensors.hpp"
#include "fovea/prune/prune.hpp"
#include "fovea/prune/reestimate.hpp"
#include "fovea/prune/target.hpp"
#include "fovea/prune/widths.hpp"
#include "fovea/train/loss.hpp"
#include "harness/compare.hpp"

using namespace fovea;
using prune::ChannelGroup;
using prune::MemberRole;

namespace {

// A zoo model at a size that keeps the suite fast: few classes, small images.
struct ZooCase {
  std::string architecture;
  int64_t image_size;
  int64_t in_channels = 3;
};

const std::vector<ZooCase>& zoo_cases() {
  static const std::vector<ZooCase> cases = {
      {"lenet5", 32, 1},      {"alexnet", 64},      {"vgg11_bn", 32},
      {"resnet18", 64},       {"resnet18_v1", 64},  {"resnet50", 64},
      {"resnet20_cifar", 32}, {"mobilenet_v2", 32}, {"efficientnet_b0", 32},
  };
  return cases;
}

std::unique_ptr<nn::Module> build(const std::string& architecture) {
  ModelOptions options;
  options.num_classes = 10;
  return build_model(architecture, options);
}

// Random weights, and batch-norm statistics and biases away from their identity values, so a
// batch norm or bias shrunk with the wrong channels changes the logits.
void randomize(nn::Module& model, uint64_t seed) {
  init_weights(model, seed);
  Rng rng(seed + 1);
  std::function<void(nn::Module&)> visit = [&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
      bn->weight().fill_uniform(rng, 0.5, 1.5);
      bn->bias().fill_uniform(rng, -0.3, 0.3);
      bn->running_mean().fill_uniform(rng, -0.2, 0.2);
      bn->running_var().fill_uniform(rng, 0.5, 1.5);
    } else if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      if (conv->has_bias()) conv->bias().fill_uniform(rng, -0.1, 0.1);
    } else if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
      if (linear->has_bias()) linear->bias().fill_uniform(rng, -0.1, 0.1);
    }
    for (const auto& child : m.children())
      visit(*child.second);
  };
  visit(model);
  model.parameters_changed();
}

// A second model of the same architecture holding the same values (cheaper than drawing them).
std::unique_ptr<nn::Module> copy_of(nn::Module& model, const std::string& architecture) {
  std::unique_ptr<nn::Module> copy = build(architecture);
  const std::vector<nn::NamedTensor> from = model.named_tensors();
  const std::vector<nn::NamedTensor> to = copy->named_tensors();
  REQUIRE(from.size() == to.size());
  for (size_t i = 0; i < from.size(); ++i) {
    REQUIRE(from[i].tensor->shape() == to[i].tensor->shape());
    std::copy(from[i].tensor->begin(), from[i].tensor->end(), to[i].tensor->data());
  }
  copy->parameters_changed();
  return copy;
}

Tensor<float> random_input(const ZooCase& c, uint64_t seed) {
  Tensor<float> x(Shape{2, c.in_channels, c.image_size, c.image_size});
  x.fill_uniform(seed, -1.0, 1.0);
  return x;
}

// Emulates pruning without changing shapes: every tensor entry of the dropped channels, in
// every member of the group, becomes 0. The producers then output exactly 0 for them (0 filters,
// 0 bias, batch norm 0·x + 0), every activation on the way keeps 0 (ReLU, ReLU6, SiLU), and the
// readers' zero input weights ignore whatever reaches them anyway (a sigmoid gate's 0.5 times
// 0, a residual sum), so the network computes what the pruned one does.
void zero_channels(nn::Module& model, const ChannelGroup& group, const std::vector<int64_t>& kept) {
  std::vector<bool> keep(static_cast<size_t>(group.channels), false);
  for (int64_t c : kept)
    keep[static_cast<size_t>(c)] = true;
  for (const prune::GroupMember& member : group.members)
    for (const prune::ChannelSlice& slice : prune::member_slices(model, member)) {
      float* data = slice.tensor->data();
      for (int64_t c = 0; c < group.channels; ++c)
        if (!keep[static_cast<size_t>(c)])
          prune::for_each_channel_entry(slice, c, [&](int64_t i) { data[i] = 0.0f; });
    }
}

// A random subset of each prunable group: between 1 and all but one of its channels.
prune::KeptChannels random_subsets(const std::vector<ChannelGroup>& groups, uint64_t seed) {
  Rng rng(seed);
  prune::KeptChannels kept(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<int64_t> all(static_cast<size_t>(groups[g].channels));
    std::iota(all.begin(), all.end(), 0);
    const int64_t least = groups[g].min_channels();
    if (!groups[g].prunable() || groups[g].channels <= least) {
      kept[g] = all;
      continue;
    }
    for (size_t i = all.size() - 1; i > 0; --i)  // Fisher–Yates
      std::swap(all[i], all[rng.below(i + 1)]);
    const int64_t width =
        least + static_cast<int64_t>(rng.below(static_cast<uint64_t>(groups[g].channels - least)));
    kept[g].assign(all.begin(), all.begin() + width);
    std::sort(kept[g].begin(), kept[g].end());
  }
  return kept;
}

const ChannelGroup& group_named(const std::vector<ChannelGroup>& groups, const std::string& name) {
  for (const ChannelGroup& g : groups)
    if (g.name == name) return g;
  FAIL("no channel group named " << name);
  return groups.front();
}

bool has_member(const ChannelGroup& group, const std::string& module, MemberRole role) {
  for (const prune::GroupMember& m : group.members)
    if (m.module == module && m.role == role) return true;
  return false;
}

size_t count_role(const ChannelGroup& group, MemberRole role) {
  return static_cast<size_t>(
      std::count_if(group.members.begin(), group.members.end(),
                    [&](const prune::GroupMember& m) { return m.role == role; }));
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("resnet groups tie every block of a stage and its downsample") {
    auto net = build("resnet18");
    const std::vector<ChannelGroup> groups = prune::find_channel_groups(*net);
    CHECK(group_named(groups, "input").fixed == "the network's input");
    CHECK(group_named(groups, "fc").fixed == "the network's output");

    // Stage 1: the stem, both blocks' last convs and their batch norms, read by the blocks'
    // first convs and by stage 2's first conv and downsample.
    const ChannelGroup& stage1 = group_named(groups, "conv1");
    CHECK(stage1.prunable());
    CHECK(stage1.channels == 64);
    for (const char* conv : {"conv1", "layer1.0.conv2", "layer1.1.conv2"})
      CHECK(has_member(stage1, conv, MemberRole::conv_out));
    for (const char* bn : {"bn1", "layer1.0.bn2", "layer1.1.bn2"})
      CHECK(has_member(stage1, bn, MemberRole::batchnorm));
    for (const char* conv :
         {"layer1.0.conv1", "layer1.1.conv1", "layer2.0.conv1", "layer2.0.downsample.0"})
      CHECK(has_member(stage1, conv, MemberRole::conv_in));
    CHECK(stage1.members.size() == 10);

    const ChannelGroup& stage2 = group_named(groups, "layer2.0.conv2");
    CHECK(has_member(stage2, "layer2.0.downsample.0", MemberRole::conv_out));
    CHECK(has_member(stage2, "layer2.0.downsample.1", MemberRole::batchnorm));
    CHECK(has_member(stage2, "layer2.1.conv2", MemberRole::conv_out));

    // Inside a block: one conv's output, its batch norm, the next conv's input.
    const ChannelGroup& inner = group_named(groups, "layer3.1.conv1");
    CHECK(inner.members.size() == 3);
    CHECK(has_member(inner, "layer3.1.bn1", MemberRole::batchnorm));
    CHECK(has_member(inner, "layer3.1.conv2", MemberRole::conv_in));

    // The last stage feeds the classifier through the pool, one feature per channel.
    const ChannelGroup& stage4 = group_named(groups, "layer4.0.conv2");
    REQUIRE(has_member(stage4, "fc", MemberRole::linear_in));
    // 1 input + 1 stem-and-stage-1 + 4 stages' worth + fc: 2 per block inside, 4 stages.
    CHECK(groups.size() == 1 + 4 + 8 + 1);

    auto bottleneck = build("resnet50");
    const std::vector<ChannelGroup> deep = prune::find_channel_groups(*bottleneck);
    const ChannelGroup& stage3 = group_named(deep, "layer3.0.conv3");
    CHECK(stage3.channels == 1024);
    CHECK(count_role(stage3, MemberRole::conv_out) == 7);  // six blocks and the downsample
    CHECK(count_role(stage3, MemberRole::batchnorm) == 7);
    CHECK(group_named(deep, "layer3.0.conv1").members.size() == 3);
  }

  TEST_CASE("depthwise convs and squeeze excitation join their expansion's group") {
    auto mobilenet = build("mobilenet_v2");
    const std::vector<ChannelGroup> m = prune::find_channel_groups(*mobilenet);
    const ChannelGroup& hidden = group_named(m, "features.2.conv.0.0");
    CHECK(hidden.channels == 96);
    CHECK(has_member(hidden, "features.2.conv.0.1", MemberRole::batchnorm));
    CHECK(has_member(hidden, "features.2.conv.1.0", MemberRole::depthwise));
    CHECK(has_member(hidden, "features.2.conv.1.1", MemberRole::batchnorm));
    CHECK(has_member(hidden, "features.2.conv.2", MemberRole::conv_in));
    CHECK(hidden.members.size() == 5);
    // The first block has no expansion: its depthwise conv works on the stem's channels.
    CHECK(has_member(group_named(m, "features.0.0"), "features.1.conv.0.0", MemberRole::depthwise));

    auto efficientnet = build("efficientnet_b0");
    const std::vector<ChannelGroup> e = prune::find_channel_groups(*efficientnet);
    const ChannelGroup& expanded = group_named(e, "features.2.0.block.0.0");
    CHECK(expanded.channels == 96);
    CHECK(has_member(expanded, "features.2.0.block.0.1", MemberRole::batchnorm));
    CHECK(has_member(expanded, "features.2.0.block.1.0", MemberRole::depthwise));
    CHECK(has_member(expanded, "features.2.0.block.1.1", MemberRole::batchnorm));
    CHECK(has_member(expanded, "features.2.0.block.2.fc1", MemberRole::conv_in));
    CHECK(has_member(expanded, "features.2.0.block.2.fc2", MemberRole::gate_out));
    CHECK(has_member(expanded, "features.2.0.block.3.0", MemberRole::conv_in));
    CHECK(expanded.members.size() == 7);
    // The squeeze width is a group of its own.
    const ChannelGroup& squeeze = group_named(e, "features.2.0.block.2.fc1");
    CHECK(squeeze.channels == 4);
    CHECK(has_member(squeeze, "features.2.0.block.2.fc2", MemberRole::conv_in));
    CHECK(squeeze.members.size() == 2);
    // A stage's blocks add their input back: every projection of stage 2 makes one group.
    const ChannelGroup& stage2 = group_named(e, "features.2.0.block.3.0");
    CHECK(has_member(stage2, "features.2.1.block.3.0", MemberRole::conv_out));
    CHECK(has_member(stage2, "features.2.1.block.0.0", MemberRole::conv_in));
  }

  TEST_CASE("classifier inputs after a flatten take a block of features per channel") {
    auto vgg = build("vgg11_bn");
    const std::vector<ChannelGroup> groups = prune::find_channel_groups(*vgg);
    const ChannelGroup& last = group_named(groups, "features.25");
    CHECK(last.channels == 512);
    REQUIRE(has_member(last, "classifier.0", MemberRole::linear_in));
    for (const prune::GroupMember& m : last.members)
      if (m.role == MemberRole::linear_in) CHECK(m.block == 49);  // the 7×7 pool
    const ChannelGroup& hidden = group_named(groups, "classifier.0");
    CHECK(hidden.channels == 4096);
    CHECK(has_member(hidden, "classifier.3", MemberRole::linear_in));
    CHECK(group_named(groups, "classifier.6").fixed == "the network's output");
  }

  TEST_CASE("cifar resnet stages behind option A shortcuts stay whole") {
    auto net = build("resnet20_cifar");
    const std::vector<ChannelGroup> groups = prune::find_channel_groups(*net);
    for (const char* stage : {"conv1", "layer2.0.conv2", "layer3.0.conv2"}) {
      INFO(stage);
      CHECK(group_named(groups, stage).fixed.find("option-A shortcut") == 0);
    }
    CHECK(group_named(groups, "layer2.0.conv1").prunable());
  }

  TEST_CASE("pruning nothing changes no logit in any zoo family") {
    for (const ZooCase& c : zoo_cases()) {
      INFO(c.architecture);
      auto model = build(c.architecture);
      randomize(*model, 7);
      const Tensor<float> x = random_input(c, 11);
      const Tensor<float> before = model->forward(x);
      prune::PruneOptions options;  // ratio 0
      const prune::PruneReport report =
          prune::prune_model(*model, options, Shape{1, c.in_channels, c.image_size, c.image_size});
      CHECK(report.after.parameters == report.before.parameters);
      CHECK(report.after.macs == report.before.macs);
      const Tensor<float> after = model->forward(x);
      CHECK(test::max_relative_error(after, before) == 0.0);
    }
  }

  TEST_CASE("batch-norm re-estimation averages the batches' statistics, as training mode would") {
    // The oracle: a copy run in training mode with momentum 1/k for the k-th batch, whose
    // running statistics are then the mean over the batches of each batch's statistics.
    const ZooCase c{"resnet20_cifar", 32};
    std::unique_ptr<nn::Module> model = build(c.architecture);
    randomize(*model, 21);
    std::unique_ptr<nn::Module> oracle = copy_of(*model, c.architecture);
    std::vector<Tensor<float>> batches;
    for (uint64_t b = 0; b < 3; ++b)
      batches.push_back(random_input(c, 30 + b));
    const std::vector<nn::BatchNorm2d*> oracle_norms = prune::batch_norms(*oracle);
    oracle->set_training(true);
    for (size_t b = 0; b < batches.size(); ++b) {
      for (nn::BatchNorm2d* bn : oracle_norms)
        bn->set_momentum(1.0 / double(b + 1));
      oracle->forward(batches[b]);
    }
    CHECK(prune::reestimate_batchnorm(*model, batches) == 19);
    const std::vector<nn::BatchNorm2d*> norms = prune::batch_norms(*model);
    REQUIRE(norms.size() == oracle_norms.size());
    double worst = 0;
    for (size_t i = 0; i < norms.size(); ++i)
      for (int64_t j = 0; j < norms[i]->channels(); ++j) {
        worst = std::max<double>(
            worst, std::abs(norms[i]->running_mean()(j) - oracle_norms[i]->running_mean()(j)));
        worst = std::max<double>(
            worst, std::abs(norms[i]->running_var()(j) - oracle_norms[i]->running_var()(j)));
      }
    CHECK(worst < 1e-5);
    // Inference afterwards uses the new running statistics again.
    model->set_training(false);
    oracle->set_training(false);
    CHECK(test::max_relative_error(model->forward(batches[0]), oracle->forward(batches[0])) < 1e-5);
    // A prepared model has no batch norms left to re-estimate: an error, not a silent no-op.
    prepare_for_inference(*model);
    CHECK_THROWS_WITH_AS(prune::reestimate_batchnorm(*model, batches), doctest::Contains("folded"),
                         Error);
  }

  TEST_CASE("pruned models compute what the unpruned ones do with those channels zeroed") {
    for (const ZooCase& c : zoo_cases()) {
      INFO(c.architecture);
      auto model = build(c.architecture);
      randomize(*model, 21);
      auto zeroed = copy_of(*model, c.architecture);
      const Shape input{1, c.in_channels, c.image_size, c.image_size};
      const prune::ModelCost before = prune::model_cost(*model, input);

      const Tensor<float> x = random_input(c, 13);
      const Tensor<float> unpruned = model->forward(x);

      const std::vector<ChannelGroup> groups = prune::find_channel_groups(*model);
      const prune::KeptChannels kept = random_subsets(groups, 5);
      int pruned_groups = 0;
      for (size_t g = 0; g < groups.size(); ++g) {
        if (static_cast<int64_t>(kept[g].size()) == groups[g].channels) continue;
        zero_channels(*zeroed, groups[g], kept[g]);
        ++pruned_groups;
      }
      zeroed->parameters_changed();
      CHECK(pruned_groups > 0);
      prune::shrink_to(*model, groups, kept);

      // Every group has the width it was given.
      const std::vector<ChannelGroup> after = prune::find_channel_groups(*model);
      REQUIRE(after.size() == groups.size());
      for (size_t g = 0; g < groups.size(); ++g) {
        CHECK(after[g].name == groups[g].name);
        CHECK(after[g].channels == static_cast<int64_t>(kept[g].size()));
      }
      const prune::ModelCost cost = prune::model_cost(*model, input);
      CHECK(cost.parameters < before.parameters);
      CHECK(cost.macs < before.macs);

      const Tensor<float> want = zeroed->forward(x);
      const Tensor<float> got = model->forward(x);
      REQUIRE(got.shape() == want.shape());
      const double error = test::max_relative_error(got, want);
      INFO("max |logit| ", test::max_abs(want), ", relative error ", error);
      CHECK(error < 1e-4);
      // The pruning mattered: the logits moved far more than the tolerance.
      CHECK(test::max_relative_error(got, unpruned) > 1e-2);
    }
  }

  TEST_CASE("a pruned model saved with its widths loads into a fresh build") {
    for (const char* architecture : {"resnet18", "efficientnet_b0"}) {
      INFO(architecture);
      const ZooCase c{architecture, 32};
      auto model = build(architecture);
      randomize(*model, 3);
      prune::PruneOptions options;
      options.ratio = 0.4;
      prune::prune_model(*model, options, Shape{1, 3, 32, 32});

      const std::string path =
          std::string(FOVEA_BINARY_DIR) + "/test_prune_" + architecture + ".safetensors";
      prune::save_pruned_model(*model, path,
                               {{"architecture", architecture}, {"num_classes", "10"}});
      const SafeTensorsFile file = SafeTensorsFile::open(path);
      // What load_model does once it applies the widths (see prune/widths.hpp).
      auto loaded = build(file.metadata().at("architecture"));
      prune::apply_pruned_widths(file.metadata(), *loaded);
      load_state_dict(*loaded, file);
      std::remove(path.c_str());

      CHECK(loaded->parameter_count() == model->parameter_count());
      const Tensor<float> x = random_input(c, 17);
      CHECK(test::max_relative_error(loaded->forward(x), model->forward(x)) == 0.0);
    }
  }

  TEST_CASE("models pruned to their narrowest keep their groups and reload") {
    // One channel per group, two where a depthwise conv is (one would make it a plain conv):
    // the groups, and so the stored widths, must not change.
    for (const char* architecture : {"mobilenet_v2", "efficientnet_b0"}) {
      INFO(architecture);
      auto model = build(architecture);
      randomize(*model, 6);
      const std::vector<ChannelGroup> groups = prune::find_channel_groups(*model);
      prune::KeptChannels kept(groups.size());
      for (size_t g = 0; g < groups.size(); ++g) {
        kept[g] =
            groups[g].min_channels() == 1 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 1};
        if (!groups[g].prunable()) {
          kept[g].resize(static_cast<size_t>(groups[g].channels));
          std::iota(kept[g].begin(), kept[g].end(), 0);
        }
      }
      prune::shrink_to(*model, groups, kept);
      const std::vector<ChannelGroup> after = prune::find_channel_groups(*model);
      REQUIRE(after.size() == groups.size());
      for (size_t g = 0; g < groups.size(); ++g) {
        CHECK(after[g].name == groups[g].name);
        CHECK(after[g].members.size() == groups[g].members.size());
        CHECK(after[g].channels == static_cast<int64_t>(kept[g].size()));
      }

      auto loaded = build(architecture);
      prune::apply_pruned_widths({{"pruned_widths", prune::pruned_widths_json(*model)}}, *loaded);
      std::vector<nn::NamedTensor> from = model->named_tensors();
      std::vector<nn::NamedTensor> to = loaded->named_tensors();
      REQUIRE(from.size() == to.size());
      for (size_t i = 0; i < from.size(); ++i) {
        INFO(from[i].name);
        CHECK(from[i].tensor->shape() == to[i].tensor->shape());
      }
    }
  }

  TEST_CASE("pruned widths that do not fit the model are refused") {
    auto model = build("resnet18");
    CHECK_THROWS_AS(prune::apply_pruned_widths({{"pruned_widths", "{\"nope\":8}"}}, *model), Error);
    CHECK_THROWS_AS(prune::apply_pruned_widths({{"pruned_widths", "{\"conv1\":65}"}}, *model),
                    Error);
    CHECK_THROWS_AS(prune::apply_pruned_widths({{"pruned_widths", "{\"conv1\":0}"}}, *model),
                    Error);
    CHECK_THROWS_AS(prune::apply_pruned_widths({{"pruned_widths", "[8]"}}, *model), Error);
    CHECK_THROWS_AS(prune::apply_pruned_widths({{"pruned_widths", "{\"fc\":5}"}}, *model), Error);
    auto mobilenet = build("mobilenet_v2");  // a depthwise group keeps two channels
    CHECK_THROWS_AS(
        prune::apply_pruned_widths({{"pruned_widths", "{\"features.2.conv.0.0\":1}"}}, *mobilenet),
        Error);
    prune::apply_pruned_widths({}, *model);  // an unpruned file: nothing to do
    CHECK(model->submodule("conv1").named_tensors()[0].tensor->dim(0) == 64);
  }

  TEST_CASE("widths round to the multiple and no group is emptied") {
    CHECK(prune::rounded_width(64, 32.0, 8) == 32);
    CHECK(prune::rounded_width(64, 35.9, 8) == 32);
    CHECK(prune::rounded_width(64, 36.0, 8) == 40);  // a tie keeps the wider
    CHECK(prune::rounded_width(64, 1.0, 8) == 8);
    CHECK(prune::rounded_width(64, 62.0, 8) == 64);
    CHECK(prune::rounded_width(20, 19.0, 8) == 20);  // the whole width is allowed too
    CHECK(prune::rounded_width(4, 1.0, 8) == 4);     // narrower than the multiple: kept whole
    CHECK(prune::rounded_width(10, 3.4, 1) == 3);
    CHECK(prune::rounded_width(10, 0.2, 1) == 1);

    for (prune::Scope scope : {prune::Scope::per_group, prune::Scope::global}) {
      auto model = build("resnet18");
      randomize(*model, 9);
      const std::vector<ChannelGroup> groups = prune::find_channel_groups(*model);
      prune::PruneOptions options;
      options.ratio = 0.9;
      options.scope = scope;
      const prune::KeptChannels kept = prune::choose_channels(*model, groups, options);
      int64_t before = 0, after = 0;
      for (size_t g = 0; g < groups.size(); ++g) {
        const int64_t width = static_cast<int64_t>(kept[g].size());
        CHECK(width >= std::min<int64_t>(8, groups[g].channels));
        CHECK((width % 8 == 0 || width == groups[g].channels));
        if (!groups[g].prunable()) CHECK(width == groups[g].channels);
        if (groups[g].prunable()) before += groups[g].channels, after += width;
      }
      // 90% of the prunable channels go, give or take the rounding and the guard.
      CHECK(static_cast<double>(after) < 0.2 * static_cast<double>(before));
    }
  }

  TEST_CASE("criteria keep the channels they rank highest") {
    // conv (4 filters) → batch norm → ReLU → pool → flatten → linear: one prunable group.
    nn::Sequential net;
    auto& conv = net.add(std::make_unique<nn::Conv2d>(2, 4, 1, Conv2dAttrs{}, false));
    auto& bn = net.add(std::make_unique<nn::BatchNorm2d>(4));
    net.add(std::make_unique<nn::Activation>(ActivationKind::relu));
    net.add(std::make_unique<nn::AdaptiveAvgPool2d>(1, 1));
    net.add(std::make_unique<nn::Flatten>(1));
    auto& fc = net.add(std::make_unique<nn::Linear>(4, 3));
    // Filters: channel 0 small, 1 large in L1 (many small values), 2 large in L2 (one big
    // value), 3 zero. γ ranks 3 highest, then 0.
    const float w[4][2] = {{0.1f, 0.1f}, {0.9f, 0.9f}, {1.5f, 0.0f}, {0.0f, 0.0f}};
    for (int k = 0; k < 4; ++k)
      for (int c = 0; c < 2; ++c)
        conv.weight()(k, c, 0, 0) = w[k][c];
    const float gamma[4] = {0.8f, 0.1f, 0.2f, -0.9f};
    for (int k = 0; k < 4; ++k)
      bn.weight()(k) = gamma[k];

    const std::vector<ChannelGroup> groups = prune::find_channel_groups(net);
    REQUIRE(groups.size() == 3);  // input, the conv's channels, the output
    const ChannelGroup& g = groups[1];
    CHECK(g.name == "0");
    CHECK(g.prunable());
    const auto top = [&](prune::Criterion criterion, int64_t width) {
      prune::PruneOptions options;
      options.criterion = criterion;
      options.multiple = 1;
      options.ratio = 1.0 - static_cast<double>(width) / 4.0;
      return prune::choose_channels(net, groups, options)[1];
    };
    CHECK(top(prune::Criterion::l1, 1) == std::vector<int64_t>{1});
    CHECK(top(prune::Criterion::l2, 1) == std::vector<int64_t>{2});
    CHECK(top(prune::Criterion::l1, 3) == std::vector<int64_t>{0, 1, 2});
    CHECK(top(prune::Criterion::bn_gamma, 2) == std::vector<int64_t>{0, 3});

    // Taylor: |Σ w·g| over every parameter of the channel, readers' weights included.
    CHECK_THROWS_AS(top(prune::Criterion::taylor, 2), Error);  // no gradient yet
    conv.grad_of(conv.weight())(2, 0, 0, 0) = 1.0f;            // 1.5 · 1
    bn.grad_of(bn.bias())(1) = 5.0f;                           // β = 0: no contribution
    bn.grad_of(bn.weight())(1) = -2.0f;                        // 0.1 · −2
    fc.weight()(0, 3) = 0.5f;
    fc.grad_of(fc.weight())(0, 3) = 1.0f;  // 0.5 · 1
    const std::vector<double> taylor = prune::channel_importance(net, g, prune::Criterion::taylor);
    CHECK(taylor[0] == 0.0);
    CHECK(taylor[1] == doctest::Approx(0.2));
    CHECK(taylor[2] == doctest::Approx(1.5));
    CHECK(taylor[3] == doctest::Approx(0.5));
    CHECK(top(prune::Criterion::taylor, 2) == std::vector<int64_t>{2, 3});
  }

  TEST_CASE("taylor scores come from a training step's gradients") {
    auto model = build("resnet20_cifar");
    randomize(*model, 4);
    model->set_training(true);
    Tensor<float> x(Shape{4, 3, 32, 32});
    x.fill_uniform(8, -1.0, 1.0);
    const train::LossResult loss = train::cross_entropy(model->forward(x), {0, 1, 2, 3});
    model->backward(loss.grad);
    model->set_training(false);
    prune::PruneOptions options;
    options.ratio = 0.5;
    options.criterion = prune::Criterion::taylor;
    const prune::PruneReport report = prune::prune_model(*model, options, Shape{1, 3, 32, 32});
    CHECK(report.after.macs < report.before.macs);
    for (const prune::GroupWidth& g : report.groups)
      CHECK((g.after == g.before / 2 || g.before <= 8));
  }

  TEST_CASE("macs count convs and linear layers as torchvision's tables do") {
    // ResNet-18 at 224×224: 1.814 GMACs, the figure published with torchvision's weights.
    auto net = build_model("resnet18");
    CHECK(prune::count_macs(*net, Shape{1, 3, 224, 224}) == 1814073344);
    CHECK(prune::count_macs(*net, Shape{2, 3, 224, 224}) == 2 * int64_t{1814073344});
    CHECK(prune::model_cost(*net, Shape{1, 3, 224, 224}).parameters == 11689512);

    auto model = build("efficientnet_b0");
    randomize(*model, 2);
    prune::PruneOptions options;
    options.ratio = 0.5;
    options.criterion = prune::Criterion::bn_gamma;
    options.scope = prune::Scope::global;
    const prune::PruneReport report = prune::prune_model(*model, options, Shape{1, 3, 64, 64});
    MESSAGE("efficientnet_b0 at 64x64, half its channels (global, |gamma|): ",
            report.before.parameters, " -> ", report.after.parameters, " parameters, ",
            report.before.macs, " -> ", report.after.macs, " MACs");
    CHECK(report.after.parameters < report.before.parameters);
    CHECK(report.after.macs < report.before.macs);
    CHECK(report.after.parameters == model->parameter_count());
  }

  TEST_CASE("a MAC target is met and the widths predict the pruned MACs exactly") {
    for (const ZooCase& c : zoo_cases()) {
      if (c.architecture == "alexnet" || c.architecture == "vgg11_bn") continue;  // slow, no news
      CAPTURE(c.architecture);
      auto model = build(c.architecture);
      randomize(*model, 5);
      const Shape input{1, c.in_channels, c.image_size, c.image_size};
      for (prune::Scope scope : {prune::Scope::per_group, prune::Scope::global}) {
        prune::PruneOptions options;
        options.multiple = 4;
        options.scope = scope;
        const std::vector<ChannelGroup> groups = prune::find_channel_groups(*model);
        options.ratio = 0.3;
        const prune::KeptChannels kept = prune::choose_channels(*model, groups, options);
        const int64_t predicted =
            prune::predicted_macs(prune::layer_macs(*model, input), groups, kept);
        auto copy = copy_of(*model, c.architecture);
        prune::shrink_to(*copy, groups, kept);
        CHECK(predicted == prune::count_macs(*copy, input));
      }
      // The CIFAR ResNet's stages stay whole, so it cannot lose 60 % of its MACs at multiples of 4.
      const double target = c.architecture == "resnet20_cifar" ? 0.7 : 0.6;
      prune::PruneOptions options;
      options.multiple = 4;
      const prune::PruneReport report = prune::prune_to_macs(*model, options, input, target);
      CHECK(report.after.macs <= target * static_cast<double>(report.before.macs));
      CHECK(report.ratio > 0);
      // One step less would have missed the target, so the cut is no deeper than it needs.
      if (report.ratio >= prune::kTargetRatioStep) {
        auto fresh = build(c.architecture);
        randomize(*fresh, 5);
        options.ratio = report.ratio - prune::kTargetRatioStep;
        CHECK(prune::prune_model(*fresh, options, input).after.macs >
              target * static_cast<double>(report.before.macs));
      }
    }
    auto lenet = build("lenet5");
    CHECK_THROWS_WITH_AS(prune::prune_to_macs(*lenet, {}, Shape{1, 1, 32, 32}, 0.01),
                         doctest::Contains("cannot bring the MACs down to 1 %"), Error);
  }
}
