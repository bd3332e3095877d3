// prune's use of CIFAR-10: the test accuracy before and after, the gradients that Taylor
// scores need, and fine-tuning with the training examples' loop and recipe (train/fit.hpp,
// examples/common/cifar10.hpp), on all training images or a subset, with early stopping.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "cifar10.hpp"
#include "fovea/data/image_folder.hpp"
#include "fovea/train/accumulate.hpp"
#include "fovea/train/fit.hpp"
#include "fovea/train/freeze.hpp"

namespace fovea::examples {

struct Cifar10 {
  data::ImageSet train, test;
  train::FitOptions recipe;  // augmentation and normalization
};

inline Cifar10 load_cifar10(const std::string& dir, const std::string& cache) {
  const std::string root = cifar10_root(dir, cache);
  Cifar10 d{data::read_image_folder(root + "/train"), data::read_image_folder(root + "/test"), {}};
  set_cifar10_recipe(d.recipe);
  std::cout << "CIFAR-10: " << d.train.size() << " training and " << d.test.size()
            << " test images\n";
  return d;
}

// Top-1 on the test images, in [0, 1].
inline double test_top1(nn::Module& model, const Cifar10& d) {
  return train::evaluate(model, d.test, data::all_indices(d.test.size()), 250,
                         d.recipe.normalization, 0)
      .metrics.top1();
}

// Gradients for Taylor scores from `batches` batches of training images (nothing else moves).
inline void taylor_gradients(nn::Module& model, const Cifar10& d, int64_t batches, int64_t batch,
                             uint64_t seed) {
  model.zero_grad();
  const int64_t images =
      train::accumulate_gradients(model, d.train, batches, batch, d.recipe.normalization, seed);
  std::cout << "taylor: gradients from " << images << " training images\n";
}

// How prune fine-tunes: SGD (momentum 0.9, weight decay 5e-4), the learning rate decaying from
// `lr` along a cosine, the CIFAR-10 augmentation; with a teacher (usually the dense model), the
// loss is knowledge distillation from its logits.
struct FineTune {
  int64_t epochs = 0, batch = 128;
  double lr = 0.01;
  int64_t train_images = 0;  // 0: all 50 000; else the same seeded subset in every epoch
  int64_t patience = 0;      // > 0: hold out 10 % of them and stop when their loss has not improved
                             // for this many epochs
  uint64_t seed = 1;
  nn::Module* teacher = nullptr;  // set: distil from its logits (train/loss.hpp)
  train::DistillationOptions distillation;
};

// The optimizer fit steps, built around the SGD optimizer: a MaskedOptimizer keeps pruned
// weights at zero. `steps` is the run's number of optimizer steps (for schedules).
using WrapOptimizer =
    std::function<std::unique_ptr<train::Optimizer>(train::Optimizer& sgd, int64_t steps)>;

inline void fine_tune(nn::Module& model, const Cifar10& d, const FineTune& f,
                      const WrapOptimizer& wrap = {}) {
  data::Split split{data::all_indices(d.train.size()), {}};
  if (f.patience > 0) split = data::stratified_split(d.train.labels, 0.1, f.seed);
  if (f.train_images > 0 && f.train_images < int64_t(split.train.size())) {
    Rng rng(f.seed);
    data::shuffle(split.train, rng);
    split.train.resize(size_t(f.train_images));
  }
  std::cout << "fine-tuning on " << split.train.size() << " training images"
            << (split.val.empty() ? std::string()
                                  : ", " + std::to_string(split.val.size()) + " held out")
            << ", " << f.epochs << " epochs\n";
  train::SgdOptions sgd;
  sgd.lr = f.lr, sgd.momentum = 0.9, sgd.weight_decay = 5e-4;
  // After pruning: the optimizer must see the narrowed tensors, not the ones they replaced.
  train::Sgd optimizer(train::trainable_parameters(model, {}), sgd);
  train::FitOptions o = d.recipe;
  o.epochs = f.epochs, o.batch_size = f.batch, o.seed = f.seed, o.patience = f.patience;
  o.progress_lines = 10;
  o.teacher = f.teacher, o.distillation = f.distillation;
  const int64_t steps =
      std::max<int64_t>(1, f.epochs * ((int64_t(split.train.size()) + f.batch - 1) / f.batch));
  o.schedule = train::cosine_annealing_lr(f.lr, steps);
  const std::unique_ptr<train::Optimizer> wrapped = wrap ? wrap(optimizer, steps) : nullptr;
  train::fit(model, wrapped ? *wrapped : optimizer, d.train, split.train, split.val, o);
}

}  // namespace fovea::examples
