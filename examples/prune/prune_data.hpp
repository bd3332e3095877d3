// prune's use of CIFAR-10: the test accuracy before and after, the gradients that Taylor
// scores need, and fine-tuning with the training examples' loop and recipe (train/fit.hpp,
// examples/common/cifar10.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <iostream>
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

// Fine-tunes on all 50 000 training images: SGD (momentum 0.9, weight decay 5e-4), the
// learning rate decaying from `lr` along a cosine, the CIFAR-10 augmentation; one progress line
// per epoch.
inline void fine_tune(nn::Module& model, const Cifar10& d, int64_t epochs, int64_t batch, double lr,
                      uint64_t seed) {
  train::SgdOptions sgd;
  sgd.lr = lr, sgd.momentum = 0.9, sgd.weight_decay = 5e-4;
  // After pruning: the optimizer must see the narrowed tensors, not the ones they replaced.
  train::Sgd optimizer(train::trainable_parameters(model, {}), sgd);
  train::FitOptions o = d.recipe;
  o.epochs = epochs, o.batch_size = batch, o.seed = seed;
  const int64_t steps = (d.train.size() + batch - 1) / batch;
  o.schedule = train::cosine_annealing_lr(lr, std::max<int64_t>(1, epochs * steps));
  train::fit(model, optimizer, d.train, data::all_indices(d.train.size()), {}, o);
}

}  // namespace fovea::examples
