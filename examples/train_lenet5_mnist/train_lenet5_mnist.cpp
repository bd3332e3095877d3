// Trains LeNet-5 on MNIST from the IDX files (gzipped or not) and reports the test accuracy:
//   train_lenet5_mnist --data DIR --epochs N --seed S [--threads N] [--batch B] [--lr LR]
//                      [--limit N] [--log CSV] [--metrics JSON] [--checkpoint PATH [--resume]]
// SGD with Nesterov momentum and weight decay, one-cycle learning rate, ±2 pixel shifts and
// ±10° rotations; 5000 training images (stratified) are held out for validation.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "fovea/cpu/thread_pool.hpp"
#include "fovea/data/mnist.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/lenet.hpp"
#include "fovea/train/fit.hpp"
#include "fovea/train/freeze.hpp"

using namespace fovea;

int main(int argc, char** argv) {
  std::string data_dir = "../shared/data/mnist", log_csv, metrics_json, checkpoint;
  int64_t epochs = 12, batch = 64, limit = 0;
  uint64_t seed = 0;
  double lr = 0.05;
  bool resume = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    // A malformed value (a missing one, or "--epochs ten") is a usage error, not a crash.
    try {
      const auto value = [&]() -> std::string {
        FOVEA_CHECK(i + 1 < argc, arg, " needs a value");
        return argv[++i];
      };
      if (arg == "--data")
        data_dir = value();
      else if (arg == "--epochs")
        epochs = std::stoll(value());
      else if (arg == "--seed")
        seed = std::stoull(value());
      else if (arg == "--threads")
        set_num_threads(std::stoi(value()));
      else if (arg == "--batch")
        batch = std::stoll(value());
      else if (arg == "--lr")
        lr = std::stod(value());
      else if (arg == "--limit")
        limit = std::stoll(value());
      else if (arg == "--log")
        log_csv = value();
      else if (arg == "--metrics")
        metrics_json = value();
      else if (arg == "--checkpoint")
        checkpoint = value();
      else if (arg == "--resume")
        resume = true;
      else {
        std::cerr << "unknown argument " << arg << "\n";
        return 2;
      }
    } catch (const Error& e) {
      std::cerr << "train_lenet5_mnist: " << e.what() << "\n";
      return 2;
    } catch (const std::exception&) {
      std::cerr << "train_lenet5_mnist: " << arg << " wants a number, got '" << argv[i] << "'\n";
      return 2;
    }
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const data::ImageSet train = data::read_mnist_split(data_dir, "train");
    const data::ImageSet test = data::read_mnist_split(data_dir, "t10k");
    data::Split split = data::stratified_split(train.labels, 5000.0 / 60000.0, seed);
    if (limit > 0 && limit < int64_t(split.train.size())) split.train.resize(size_t(limit));
    const std::vector<int64_t> test_ids = data::all_indices(test.size());
    std::cout << "train " << split.train.size() << ", val " << split.val.size() << ", test "
              << test.size() << " images; identical images shared: train/val "
              << data::count_shared_images(train, split.train, train, split.val) << ", train/test "
              << data::count_shared_images(train, split.train, test, test_ids) << "\n";

    auto model = models::lenet5(10);
    init_weights(*model, seed);
    train::SgdOptions sgd;
    sgd.lr = lr, sgd.momentum = 0.9, sgd.nesterov = true, sgd.weight_decay = 5e-4;
    train::Sgd optimizer(train::trainable_parameters(*model, {}), sgd);

    train::FitOptions o;
    o.epochs = epochs, o.batch_size = batch, o.seed = seed;
    o.augmentation.pad = 2, o.augmentation.random_crop = true;
    o.augmentation.max_rotation_degrees = 10;
    o.normalization.mean = {0.1307f}, o.normalization.std = {0.3081f};
    o.out_pad = 2;
    const int64_t steps_per_epoch = (int64_t(split.train.size()) + batch - 1) / batch;
    o.schedule = train::one_cycle_lr(lr, std::max<int64_t>(2, epochs * steps_per_epoch), 0.2);
    o.patience = 4;
    o.log_csv = log_csv, o.checkpoint_path = checkpoint, o.resume = resume;
    train::fit(*model, optimizer, train, split.train, split.val, o);

    const train::Evaluation result =
        train::evaluate(*model, test, test_ids, 500, o.normalization, o.out_pad);
    if (!metrics_json.empty()) std::ofstream(metrics_json) << result.metrics.json();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("test_loss=%.4f top5=%.4f wall_seconds=%.0f\n", result.loss, result.metrics.top5(),
                seconds);
    std::printf("test_accuracy=%.4f\n", result.metrics.top1());
  } catch (const std::exception& e) {
    std::cerr << "train_lenet5_mnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
