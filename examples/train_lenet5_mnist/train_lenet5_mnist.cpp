// Trains LeNet-5 on MNIST from the IDX files (gzipped or not) and reports the test accuracy:
//   train_lenet5_mnist --data DIR --epochs N --seed S [--threads N] [--batch B] [--lr LR]
//                      [--limit N] [--log CSV] [--metrics JSON] [--checkpoint PATH [--resume]]
// SGD with Nesterov momentum and weight decay, one-cycle learning rate, ±2 pixel shifts and
// ±10° rotations; 5000 training images (stratified) are held out for validation.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "fovea/data/mnist.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/lenet.hpp"
#include "fovea/train/fit.hpp"
#include "fovea/train/freeze.hpp"
#include "training_run.hpp"

using namespace fovea;

int main(int argc, char** argv) {
  examples::TrainingRunOptions run;
  run.data_dir = "../shared/data/mnist", run.epochs = 12, run.batch = 64, run.lr = 0.05;
  int64_t limit = 0;
  examples::CommandLine options(
      "train_lenet5_mnist",
      "usage: train_lenet5_mnist --data DIR --epochs N --seed S [--threads N] [--batch B]\n"
      "                          [--lr LR] [--limit N] [--log CSV] [--metrics JSON]\n"
      "                          [--checkpoint PATH [--resume]]\n");
  run.declare(options);
  options.whole("--limit", limit);
  options.parse(argc, argv);
  if (run.threads > 0) set_num_threads(int(run.threads));
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const data::ImageSet train = data::read_mnist_split(run.data_dir, "train");
    const data::ImageSet test = data::read_mnist_split(run.data_dir, "t10k");
    data::Split split = data::stratified_split(train.labels, 5000.0 / 60000.0, run.seed);
    if (limit > 0 && limit < int64_t(split.train.size())) split.train.resize(size_t(limit));
    examples::print_split_summary(train, split, test);

    auto model = models::lenet5(10);
    init_weights(*model, run.seed);
    train::SgdOptions sgd;
    sgd.lr = run.lr, sgd.momentum = 0.9, sgd.nesterov = true, sgd.weight_decay = 5e-4;
    train::Sgd optimizer(train::trainable_parameters(*model, {}), sgd);

    train::FitOptions o;
    run.apply(o);
    o.augmentation.pad = 2, o.augmentation.random_crop = true;
    o.augmentation.max_rotation_degrees = 10;
    o.normalization.mean = {0.1307f}, o.normalization.std = {0.3081f};
    o.out_pad = 2;
    const int64_t steps_per_epoch = (int64_t(split.train.size()) + run.batch - 1) / run.batch;
    o.schedule =
        train::one_cycle_lr(run.lr, std::max<int64_t>(2, run.epochs * steps_per_epoch), 0.2);
    o.patience = 4;
    train::fit(*model, optimizer, train, split.train, split.val, o);

    examples::report_test(train::evaluate(*model, test, data::all_indices(test.size()), 500,
                                          o.normalization, o.out_pad),
                          run, t0);
  } catch (const std::exception& e) {
    std::cerr << "train_lenet5_mnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
