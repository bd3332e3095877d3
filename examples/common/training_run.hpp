// What the training examples share: the options every one of them takes, the line that
// describes the data split, and the closing report with its `test_accuracy=` line.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/data/image_set.hpp"
#include "fovea/train/fit.hpp"

namespace fovea::examples {

struct TrainingRunOptions {
  std::string data_dir, log_csv, metrics_json, checkpoint;
  int64_t epochs = 1, batch = 1, threads = 0;  // threads 0: fovea's default
  uint64_t seed = 0;
  double lr = 0.1;
  bool resume = false;

  // --data --epochs --seed --threads --batch --lr --log --metrics --checkpoint --resume.
  void declare(CommandLine& options) {
    options.text("--data", data_dir);
    options.whole("--epochs", epochs, 1);
    options.whole("--seed", seed);
    options.threads("--threads", threads);
    options.whole("--batch", batch, 1);
    options.real("--lr", lr, 0);
    options.text("--log", log_csv);
    options.text("--metrics", metrics_json);
    options.text("--checkpoint", checkpoint);
    options.toggle("--resume", resume);
  }

  // The parts of fit()'s options that come from the command line.
  void apply(train::FitOptions& o) const {
    o.epochs = epochs, o.batch_size = batch, o.seed = seed;
    o.log_csv = log_csv, o.checkpoint_path = checkpoint, o.resume = resume;
  }
};

// One line with the split sizes and how many identical images two splits share (it should be 0).
inline void print_split_summary(const data::ImageSet& train, const data::Split& split,
                                const data::ImageSet& test) {
  const std::vector<int64_t> test_ids = data::all_indices(test.size());
  std::cout << "train " << split.train.size() << ", val " << split.val.size() << ", test "
            << test.size() << " images; identical images shared: train/val "
            << data::count_shared_images(train, split.train, train, split.val) << ", train/test "
            << data::count_shared_images(train, split.train, test, test_ids) << "\n";
}

// Writes the test metrics as JSON when asked, then prints the loss, top-5, wall time since
// `start` and, last, the line `test_accuracy=<x>` that scripts read.
inline void report_test(const train::Evaluation& result, const TrainingRunOptions& run,
                        std::chrono::steady_clock::time_point start) {
  if (!run.metrics_json.empty()) std::ofstream(run.metrics_json) << result.metrics.json();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("test_loss=%.4f top5=%.4f wall_seconds=%.0f\n", result.loss, result.metrics.top5(),
              seconds);
  std::printf("test_accuracy=%.4f\n", result.metrics.top1());
}

}  // namespace fovea::examples
