#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "fovea/models/init.hpp"
#include "fovea/models/lenet.hpp"
#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/flatten.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/train/fit.hpp"
#include "fovea/train/freeze.hpp"

using namespace fovea;

namespace {

// 96 random 1×8×8 images; the label is which third of the image is brightest, so it is
// learnable.
data::ImageSet synthetic_set() {
  data::ImageSet set;
  set.channels = 1, set.height = 8, set.width = 8, set.num_classes = 3;
  Rng rng(5);
  for (int i = 0; i < 96; ++i) {
    const int64_t label = int64_t(rng.below(3));
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x)
        set.pixels.push_back(uint8_t(rng.below(100) + (x * 3 / 8 == label ? 120 : 0)));
    set.labels.push_back(label);
  }
  return set;
}

std::unique_ptr<nn::Sequential> small_net() {
  auto net = std::make_unique<nn::Sequential>();
  net->add(std::make_unique<nn::Conv2d>(1, 4, 3, Conv2dAttrs::make(1, 1), false));
  net->add(std::make_unique<nn::BatchNorm2d>(4));
  net->add(std::make_unique<nn::Activation>(ActivationKind::relu));
  net->add(std::make_unique<nn::MaxPool2d>(Pool2dAttrs::make(2, 2)));
  net->add(std::make_unique<nn::Flatten>(1));
  net->add(std::make_unique<nn::Linear>(64, 3));
  init_weights(*net, 3);
  return net;
}

train::FitOptions options(const std::string& checkpoint) {
  train::FitOptions o;
  o.epochs = 4, o.batch_size = 16, o.seed = 9;
  o.augmentation.pad = 1, o.augmentation.random_crop = true, o.augmentation.horizontal_flip = true;
  o.checkpoint_path = checkpoint;
  o.progress = nullptr;
  return o;
}

std::unique_ptr<train::AdamW> adamw(nn::Module& net) {
  return std::make_unique<train::AdamW>(train::trainable_parameters(net, {}),
                                        train::AdamWOptions{});
}

bool bit_identical(nn::Module& a, nn::Module& b) {
  const auto ta = a.named_tensors(), tb = b.named_tensors();
  REQUIRE(ta.size() == tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    if (std::memcmp(ta[i].tensor->data(), tb[i].tensor->data(), ta[i].tensor->size_bytes()) != 0)
      return false;
  }
  return true;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("a killed and resumed run ends bit-identical to an uninterrupted one") {
    const data::ImageSet set = synthetic_set();
    const data::Split split = data::stratified_split(set.labels, 0.25, 1);
    const std::string path_a = "test_resume_a.safetensors", path_b = "test_resume_b.safetensors";
    std::remove(path_a.c_str());
    std::remove(path_b.c_str());

    auto uninterrupted = small_net();
    auto opt_a = adamw(*uninterrupted);
    train::fit(*uninterrupted, *opt_a, set, split.train, split.val, options(path_a));

    auto first_half = small_net();
    auto opt_b = adamw(*first_half);
    train::FitOptions killed = options(path_b);
    killed.stop_after_epochs = 2;
    CHECK(train::fit(*first_half, *opt_b, set, split.train, split.val, killed) == 2);
    CHECK_FALSE(bit_identical(*uninterrupted, *first_half));

    // A fresh process: new model and optimizer, everything else from the checkpoint.
    auto resumed = small_net();
    auto opt_c = adamw(*resumed);
    train::FitOptions resume = options(path_b);
    resume.resume = true;
    CHECK(train::fit(*resumed, *opt_c, set, split.train, split.val, resume) == 4);
    CHECK(opt_c->steps() == opt_a->steps());
    CHECK(bit_identical(*uninterrupted, *resumed));
    std::remove(path_a.c_str());
    std::remove(path_b.c_str());
  }

  TEST_CASE("a warm restart takes an earlier run's weights and none of its optimizer state") {
    const data::ImageSet set = synthetic_set();
    const std::vector<int64_t> all = data::all_indices(set.size());
    const std::string checkpoint = "test_warm_restart.safetensors", csv = "test_warm_restart.csv";
    auto earlier = small_net();
    auto opt_a = adamw(*earlier);
    train::FitOptions o = options(checkpoint);
    o.epochs = 2, o.log_csv = csv;
    train::fit(*earlier, *opt_a, set, all, {}, o);

    // Without validation images the val columns are empty, not zeros.
    std::ifstream log(csv);
    std::string header, row;
    std::getline(log, header);
    std::getline(log, row);
    CHECK(header == "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,images_per_second");
    CHECK(row.find(",,,") != std::string::npos);

    auto restarted = small_net();
    CHECK_FALSE(bit_identical(*earlier, *restarted));
    train::load_checkpoint_weights(checkpoint, *restarted);
    CHECK(bit_identical(*earlier, *restarted));
    auto opt_b = adamw(*restarted);
    CHECK(opt_b->steps() == 0);
    CHECK(opt_b->state().empty());

    auto other = models::lenet5(3);
    CHECK_THROWS_WITH(train::load_checkpoint_weights(checkpoint, *other),
                      doctest::Contains(checkpoint.c_str()));
    std::remove(checkpoint.c_str());
    std::remove(csv.c_str());
  }

  TEST_CASE("training lowers the loss of the synthetic set") {
    const data::ImageSet set = synthetic_set();
    const std::vector<int64_t> all = data::all_indices(set.size());
    auto net = small_net();
    const double before = train::evaluate(*net, set, all, 32, {}, 0).loss;
    train::AdamWOptions fast;
    fast.lr = 0.02;
    train::AdamW opt(train::trainable_parameters(*net, {}), fast);
    train::FitOptions o = options("");
    o.epochs = 15;
    o.augmentation = {};  // a flip would swap the left and right thirds the labels are about
    train::fit(*net, opt, set, all, {}, o);
    const train::Evaluation after = train::evaluate(*net, set, all, 32, {}, 0);
    CHECK(after.loss < 0.5 * before);
    CHECK(after.metrics.top1() > 0.9);
  }

  TEST_CASE("distillation pulls the student's predictions to the teacher's, not the labels") {
    const data::ImageSet set = synthetic_set();
    const std::vector<int64_t> all = data::all_indices(set.size());
    auto teacher = small_net();  // untrained: its answers are not the labels
    auto student = small_net();
    init_weights(*student, 11);
    const data::Batch batch = data::make_batch(set, all, {}, nullptr, {}, 0);
    teacher->set_training(false);
    const Tensor<float> taught = teacher->forward(batch.images);
    train::DistillationOptions soft_only;
    soft_only.temperature = 1, soft_only.weight = 1;
    // The mean KL divergence of the student's softmax from the teacher's over the set.
    const auto divergence = [&] {
      student->set_training(false);
      return train::distillation_loss(student->forward(batch.images), taught, batch.labels,
                                      soft_only)
          .loss;
    };
    const double before = divergence();
    train::AdamWOptions fast;
    fast.lr = 0.02;
    train::AdamW opt(train::trainable_parameters(*student, {}), fast);
    train::FitOptions o = options("");
    o.epochs = 15;
    o.augmentation = {};
    o.teacher = teacher.get(), o.distillation = soft_only;
    train::fit(*student, opt, set, all, {}, o);
    CHECK(divergence() < 0.2 * before);
    CHECK(train::evaluate(*student, set, all, 32, {}, 0).metrics.top1() < 0.6);
    train::FitOptions self_taught = o;
    self_taught.teacher = student.get();
    CHECK_THROWS_WITH(train::fit(*student, opt, set, all, {}, self_taught),
                      doctest::Contains("cannot be its own teacher"));
  }

  TEST_CASE("frozen parameters stay bit-identical while a new head fine-tunes") {
    auto pretrained = models::lenet5(10);
    init_weights(*pretrained, 1);
    auto model = models::lenet5(3);  // new head: fc3 84 -> 3
    init_weights(*model, 2);
    CHECK(train::copy_tensors_except(*pretrained, *model, {"fc3."}) == 8);
    const std::vector<std::string> frozen = {"conv1.", "conv2.", "fc1."};
    std::vector<Tensor<float>> before;
    for (const nn::NamedTensor& t : model->named_tensors())
      before.push_back(t.tensor->clone());
    train::Sgd sgd(train::trainable_parameters(*model, frozen),
                   train::SgdOptions{0.1, 0.9, 0, 0.01, false});
    CHECK(sgd.params().size() == 4);  // fc2 and fc3, weight and bias
    Tensor<float> x = Tensor<float>(Shape{4, 1, 32, 32}).fill_uniform(3, 0, 1);
    for (int step = 0; step < 3; ++step) {
      model->set_training(true);
      sgd.zero_grad();
      const train::LossResult loss = train::cross_entropy(model->forward(x), {0, 1, 2, 1});
      model->backward(loss.grad);
      sgd.step();
    }
    const auto after = model->named_tensors();
    for (size_t i = 0; i < after.size(); ++i) {
      CAPTURE(after[i].name);
      const bool same =
          std::memcmp(after[i].tensor->data(), before[i].data(), before[i].size_bytes()) == 0;
      const bool is_frozen =
          after[i].name.rfind("fc2", 0) != 0 && after[i].name.rfind("fc3", 0) != 0;
      CHECK(same == is_frozen);
    }
  }
}
