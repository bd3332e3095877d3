// fit: the epoch loop for image classifiers. Each epoch shuffles the training indices and draws
// augmentations from a generator seeded with (seed, epoch), trains on mini-batches (forward,
// loss — cross-entropy, or distillation from a teacher model —, backward, optional clipping,
// optimizer step at the schedule's learning rate), evaluates on the validation indices, prints
// one progress line, appends a CSV row, checks early stopping and writes a checkpoint. A run
// resumed from a checkpoint continues exactly where the interrupted one stopped.
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "fovea/data/augment.hpp"
#include "fovea/data/image_set.hpp"
#include "fovea/io/file.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/train/checkpoint.hpp"
#include "fovea/train/clip.hpp"
#include "fovea/train/early_stopping.hpp"
#include "fovea/train/loss.hpp"
#include "fovea/train/lr_schedule.hpp"
#include "fovea/train/metrics.hpp"
#include "fovea/train/optimizer.hpp"

namespace fovea::train {

struct FitOptions {
  int64_t epochs = 1;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  data::Augmentation augmentation;
  data::Normalization normalization;
  int64_t out_pad = 0;  // zero border added to every image (LeNet: 2)
  LrSchedule schedule;  // learning rate by optimizer step; empty keeps it
  CrossEntropyOptions loss;
  // Set: the loss is distillation_loss from this model's logits on the same augmented batch (in
  // inference mode; a model prepared for inference runs its fast path). `loss` shapes its
  // hard term.
  nn::Module* teacher = nullptr;
  DistillationOptions distillation;
  double clip_norm = 0;                 // 0: no clipping
  int64_t patience = 0;                 // early stopping on validation loss; 0: off
  std::string checkpoint_path;          // written after every epoch when set
  bool resume = false;                  // continue from checkpoint_path if it exists
  std::string log_csv;                  // one row per epoch when set
  int64_t stop_after_epochs = -1;       // end the process's part of the run early (tests)
  std::ostream* progress = &std::cout;  // null: quiet
  int64_t progress_lines = 0;  // lines within each epoch, evenly spaced (0: the epoch's only)
};

struct Evaluation {
  double loss = 0;
  ClassificationMetrics metrics;
};

inline Evaluation evaluate(nn::Module& model, const data::ImageSet& set,
                           const std::vector<int64_t>& indices, int64_t batch_size,
                           const data::Normalization& norm, int64_t out_pad) {
  model.set_training(false);
  Evaluation e{0, ClassificationMetrics(set.num_classes)};
  for (size_t start = 0; start < indices.size(); start += size_t(batch_size)) {
    const std::vector<int64_t> ids(
        indices.begin() + long(start),
        indices.begin() + long(std::min(indices.size(), start + size_t(batch_size))));
    const data::Batch batch = data::make_batch(set, ids, {}, nullptr, norm, out_pad);
    const Tensor<float> logits = model.forward(batch.images);
    e.loss += cross_entropy(logits, batch.labels).loss * double(ids.size());
    e.metrics.add(logits, batch.labels);
  }
  if (!indices.empty()) e.loss /= double(indices.size());
  return e;
}

// The generator for epoch `epoch` of a run seeded with `seed`.
inline Rng epoch_rng(uint64_t seed, int64_t epoch) {
  return Rng(seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) + 1);
}

inline std::string format_duration(double seconds) {
  const int64_t s = int64_t(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return text;
}

// Trains `model` (whose trainable parameters `optimizer` holds) and returns the epochs done.
inline int64_t fit(nn::Module& model, Optimizer& optimizer, const data::ImageSet& set,
                   const std::vector<int64_t>& train_indices,
                   const std::vector<int64_t>& val_indices, const FitOptions& o) {
  FOVEA_CHECK(o.teacher != &model, "fit: a model cannot be its own teacher");
  int64_t first_epoch = 0;
  if (o.resume && !o.checkpoint_path.empty() && std::ifstream(o.checkpoint_path).good()) {
    const CheckpointInfo info = load_checkpoint(o.checkpoint_path, model, optimizer);
    FOVEA_CHECK(info.seed == o.seed, o.checkpoint_path, " was written by a run with seed ",
                info.seed, ", this run has seed ", o.seed);
    first_epoch = info.epochs_done;
    if (o.progress)
      *o.progress << "resumed from " << o.checkpoint_path << " after epoch " << first_epoch << "\n";
  }
  if (!o.log_csv.empty() && first_epoch == 0) {
    std::ofstream(o.log_csv) << "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,"
                                "images_per_second\n";
  }
  if (o.teacher) o.teacher->set_training(false);
  EarlyStopping stopper(o.patience > 0 ? o.patience : INT64_MAX);
  const auto start_time = std::chrono::steady_clock::now();
  int64_t epoch = first_epoch;
  for (; epoch < o.epochs; ++epoch) {
    if (o.stop_after_epochs >= 0 && epoch >= o.stop_after_epochs) break;
    const auto epoch_start = std::chrono::steady_clock::now();
    Rng rng = epoch_rng(o.seed, epoch);
    std::vector<int64_t> order = train_indices;
    data::shuffle(order, rng);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (size_t start = 0; start < order.size(); start += size_t(o.batch_size)) {
      const std::vector<int64_t> ids(
          order.begin() + long(start),
          order.begin() + long(std::min(order.size(), start + size_t(o.batch_size))));
      if (ids.size() < 2) continue;  // batch norm needs two images; torch drop_last-style
      const data::Batch batch =
          data::make_batch(set, ids, o.augmentation, &rng, o.normalization, o.out_pad);
      if (o.schedule) optimizer.set_lr(o.schedule(optimizer.steps()));
      model.set_training(true);
      optimizer.zero_grad();
      const Tensor<float> logits = model.forward(batch.images);
      const LossResult loss = o.teacher
                                  ? distillation_loss(logits, o.teacher->forward(batch.images),
                                                      batch.labels, o.distillation, o.loss)
                                  : cross_entropy(logits, batch.labels, o.loss);
      model.backward(loss.grad);
      if (o.clip_norm > 0) clip_grad_norm(optimizer.params(), o.clip_norm);
      optimizer.step();
      model.parameters_changed();
      loss_sum += loss.loss * double(ids.size());
      seen += int64_t(ids.size());
      for (int64_t i = 0; i < logits.dim(0); ++i) {
        int64_t best = 0;
        for (int64_t j = 1; j < logits.dim(1); ++j)
          if (logits(i, j) > logits(i, best)) best = j;
        correct += best == batch.labels[size_t(i)] ? 1 : 0;
      }
      if (o.progress && o.progress_lines > 0) {
        const size_t done = start + ids.size(), step = order.size() / size_t(o.progress_lines);
        if (step > 0 && done < order.size() && done / step != start / step) {
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
          char line[160];
          std::snprintf(line, sizeof line,
                        "  epoch %lld/%lld  %3.0f%%  loss %.4f  acc %.2f%%  %.0f images/s\n",
                        static_cast<long long>(epoch + 1), static_cast<long long>(o.epochs),
                        100.0 * double(done) / double(order.size()), loss_sum / double(seen),
                        100.0 * double(correct) / double(seen), double(seen) / seconds);
          *o.progress << line << std::flush;
        }
      }
    }
    const double train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const Evaluation val = evaluate(model, set, val_indices, 256, o.normalization, o.out_pad);
    const double rate = double(seen) / train_seconds;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    const double eta = elapsed / double(epoch + 1 - first_epoch) * double(o.epochs - epoch - 1);
    const double train_loss = seen ? loss_sum / double(seen) : 0;
    const double train_acc = seen ? double(correct) / double(seen) : 0;
    // Without validation images the val columns stay empty rather than showing zeros.
    const bool validated = !val_indices.empty();
    if (o.progress) {
      char line[256], val_text[64] = "";
      if (validated)
        std::snprintf(val_text, sizeof val_text, "  val_loss %.4f  val_acc %.2f%%", val.loss,
                      100 * val.metrics.top1());
      std::snprintf(line, sizeof line,
                    "epoch %lld/%lld  lr %.5f  loss %.4f  acc %.2f%%%s  %.0f images/s  ETA %s\n",
                    static_cast<long long>(epoch + 1), static_cast<long long>(o.epochs),
                    optimizer.lr(), train_loss, 100 * train_acc, val_text, rate,
                    format_duration(eta).c_str());
      *o.progress << line << std::flush;
    }
    if (!o.log_csv.empty()) {
      std::ofstream csv(o.log_csv, std::ios::app);
      csv << epoch + 1 << "," << optimizer.lr() << "," << train_loss << "," << train_acc << ",";
      if (validated)
        csv << val.loss << "," << val.metrics.top1();
      else
        csv << ",";
      csv << "," << rate << "\n";
    }
    if (!o.checkpoint_path.empty())
      save_checkpoint(o.checkpoint_path, model, optimizer, {epoch + 1, o.seed});
    if (validated && stopper.update(val.loss)) {
      if (o.progress)
        *o.progress << "early stop: no val_loss improvement for " << o.patience << " epochs (best "
                    << stopper.best() << ")\n";
      ++epoch;
      break;
    }
  }
  model.set_training(false);
  return epoch;
}

}  // namespace fovea::train
