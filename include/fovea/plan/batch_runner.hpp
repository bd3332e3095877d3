// BatchRunner: runs a prepared model's inference forwards on batches: the early steps one image
// at a time, with the images spread over the threads, and the late steps on each thread's share
// of the batch at once; each pass in a planned activation arena.
//
// Why one image at a time: a batch's activations on the large early planes (tens of MB at
// batch 8) leave the cache between one layer and the next, and the memory-bound layers there
// ran at half speed; one image's stay in L2 and L3 from the layer that writes them to the one
// that reads them. MobileNetV2 took 9.2 ms per image at batch 8 and 7.6 ms alone. Single images
// also take the layout prepare_for_inference chose for them (NHWC, under its automatic
// choice, for every model).
//
// Why the late steps on many images: once the planes are small (kBatchedPlanePixels), a step's
// weights outweigh one image's activations, and image after image read them from memory again:
// MobileNetV2's blocks on 14×14 and 7×7 planes hold 2.1 M weights (8.5 MB) against 0.6 MB of
// one image's activations, and its classifier 1.3 M. On a batch each weight is read once for
// all its images. Only models that say what their steps are (nn::StepwiseForward: the
// ImageClassifier zoo) are split; others run whole, image by image.
//
// Why images side by side: with T threads, an image per thread needs no synchronisation
// between layers, where splitting each layer over the threads waits at the end of every one of
// a forward's 24–86 short loops. Images left over when the batch does not divide by T run one
// after the other with every thread on each, and their late steps as one batch.
//
// Each thread's passes have arenas of their own; the output is the images' outputs stacked in
// order, the same numbers a forward of each image alone gives.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "fovea/core/arena.hpp"
#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/stepwise_forward.hpp"

namespace fovea {

class BatchRunner {
 public:
  // `model` must be in inference mode (prepare_for_inference sets it) and outlive the runner.
  explicit BatchRunner(nn::Module& model) : model_(model) {}

  // The model's output for `batch` (N images, N >= 1), image i in row i.
  Tensor<float> forward(const Tensor<float>& batch) {
    FOVEA_CHECK(!model_.training(),
                "BatchRunner runs inference forwards: put the model in inference mode first "
                "(prepare_for_inference does)");
    FOVEA_CHECK(batch.rank() >= 1 && batch.dim(0) >= 1,
                "BatchRunner needs a batch of at least one image, got shape ", batch.shape());
    const int64_t images = batch.dim(0);
    const int threads = threads_available();
    // Slot t serves thread t's single-threaded passes, the last one the passes that use every
    // thread, whose allocations differ; each slot has an arena for the early steps and one for
    // the late.
    early_arenas_.resize(static_cast<size_t>(threads) + 1);
    late_arenas_.resize(static_cast<size_t>(threads) + 1);
    const int64_t side_by_side = threads > 1 ? images / threads * threads : 0;

    // Each image's early steps: the first, then those whose input planes are larger than
    // kBatchedPlanePixels. A model without steps is one step, run image by image; so is every
    // model when no thread would have two images to run its late steps on.
    auto* stepwise = dynamic_cast<nn::StepwiseForward*>(&model_);
    const int64_t steps = stepwise != nullptr ? stepwise->step_count() : 1;
    const bool late_batches = (side_by_side > 0 ? side_by_side / threads : images) > 1;
    const auto forward_steps = [&](const Tensor<float>& x, int64_t begin, int64_t end) {
      return stepwise != nullptr ? stepwise->forward_steps(x, begin, end) : model_.forward(x);
    };
    // The per-image lists are members, so that a repeated forward reuses their memory; they
    // are emptied on the way out, since a tensor kept past the pass would spoil its arena's plan.
    const Parts parts(*this, images, threads);
    std::vector<Tensor<float>>& early = early_;
    std::vector<int64_t>& early_steps = early_steps_;
    const auto run_early = [&](int64_t i, ActivationArena& arena) {
      ArenaScope scope(arena);
      Tensor<float> y = batch.batch_slice(i, 1);
      int64_t step = 0;
      for (; step < steps && (step == 0 || !late_batches || plane_pixels(y) > kBatchedPlanePixels);
           ++step)
        y = forward_steps(y, step, step + 1);
      early[static_cast<size_t>(i)] = std::move(y);
      early_steps[static_cast<size_t>(i)] = step;
    };
    parallel_for(0, side_by_side, [&](int64_t i) {
      run_early(i, early_arenas_[static_cast<size_t>(ThreadPool::thread_index())]);
    });
    for (int64_t i = side_by_side; i < images; ++i)
      run_early(i, early_arenas_.back());
    const int64_t split = early_steps.front();
    for (const int64_t s : early_steps)
      FOVEA_CHECK(s == split, "BatchRunner: the images of one batch reached small planes after ",
                  split, " and ", s, " steps");
    if (split == steps) return stack(early, 0, images);

    // The late steps: each thread's share of the side-by-side images as one batch, then the
    // images left over as one batch with every thread.
    const auto run_late = [&](int64_t begin, int64_t end, ActivationArena& arena) {
      ArenaScope scope(arena);
      return forward_steps(stack(early, begin, end), split, steps);
    };
    std::vector<Tensor<float>>& late = late_;
    if (side_by_side > 0) {
      const int64_t share = side_by_side / threads;
      parallel_for(0, threads, [&](int64_t t) {
        late[static_cast<size_t>(t)] =
            run_late(t * share, (t + 1) * share,
                     late_arenas_[static_cast<size_t>(ThreadPool::thread_index())]);
      });
    }
    if (side_by_side < images) late.push_back(run_late(side_by_side, images, late_arenas_.back()));
    return stack(late, 0, static_cast<int64_t>(late.size()));
  }

  // Bytes of all the arenas' planned buffers, and over each arena's last pass the allocations
  // it served and those that went to the heap (an arena the last forward did not use still
  // counts its own last pass).
  int64_t arena_bytes() const { return sum(&ActivationArena::planned_bytes); }
  int64_t arena_served() const { return sum(&ActivationArena::served); }
  int64_t arena_from_heap() const { return sum(&ActivationArena::from_heap); }

 private:
  // Sizes the per-image lists for a forward (their capacity stays for the next) and empties
  // them when it ends, however it ends.
  class Parts {
   public:
    Parts(BatchRunner& runner, int64_t images, int threads) : runner_(runner) {
      runner_.early_.resize(static_cast<size_t>(images));
      runner_.early_steps_.resize(static_cast<size_t>(images));
      runner_.late_.reserve(static_cast<size_t>(threads) + 1);
      runner_.late_.resize(static_cast<size_t>(images / threads > 0 && threads > 1 ? threads : 0));
    }
    ~Parts() {
      for (Tensor<float>& t : runner_.early_)
        t = Tensor<float>();
      runner_.late_.clear();
    }
    Parts(const Parts&) = delete;
    Parts& operator=(const Parts&) = delete;

   private:
    BatchRunner& runner_;
  };

  // Steps whose input planes hold at most this many pixels (14×14) run on a batch.
  static constexpr int64_t kBatchedPlanePixels = 196;

  static int64_t plane_pixels(const Tensor<float>& x) {
    return x.rank() == 4 ? x.dim(2) * x.dim(3) : 0;
  }

  // parts[begin, end) concatenated along the batch (N is outermost in every layout).
  static Tensor<float> stack(const std::vector<Tensor<float>>& parts, int64_t begin, int64_t end) {
    const Tensor<float>& first = parts[static_cast<size_t>(begin)];
    if (end - begin == 1) return first;
    Shape shape = first.shape();
    shape[0] = 0;
    for (int64_t i = begin; i < end; ++i) {
      const Tensor<float>& part = parts[static_cast<size_t>(i)];
      Shape part_shape = part.shape();
      part_shape[0] = first.dim(0);
      FOVEA_CHECK(part_shape == first.shape() && part.layout() == first.layout(),
                  "BatchRunner: the model gave images outputs of different shapes, ", first.shape(),
                  " and ", part.shape());
      shape[0] += part.dim(0);
    }
    Tensor<float> stacked = Tensor<float>::uninitialized(shape, first.layout());
    float* dst = stacked.data();
    for (int64_t i = begin; i < end; ++i) {
      const Tensor<float>& part = parts[static_cast<size_t>(i)];
      std::memcpy(dst, part.data(), part.size_bytes());
      dst += part.numel();
    }
    return stacked;
  }

  int64_t sum(int64_t (ActivationArena::*of)() const) const {
    int64_t total = 0;
    for (const auto* arenas : {&early_arenas_, &late_arenas_})
      for (const ActivationArena& arena : *arenas)
        total += (arena.*of)();
    return total;
  }

  nn::Module& model_;
  std::vector<ActivationArena> early_arenas_, late_arenas_;
  std::vector<Tensor<float>> early_, late_;
  std::vector<int64_t> early_steps_;
};

}  // namespace fovea
