// BatchRunner: runs a prepared model's inference forwards on batches one image at a time, with
// the images spread over the threads, each pass in a planned activation arena.
//
// Why one image at a time: a batch's activations on the large early planes (tens of MB at
// batch 8) leave the cache between one layer and the next, and the memory-bound layers there
// ran at half speed; one image's stay in L2 and L3 from the layer that writes them to the one
// that reads them. MobileNetV2 took 9.2 ms per image at batch 8 and 7.6 ms alone. Single images
// also take the layout prepare_for_inference chose for them (NHWC, under its automatic
// choice, for every model).
//
// Why images side by side: with T threads, an image per thread needs no synchronisation
// between layers, where splitting each layer over the threads waits at the end of every one of
// a forward's 24–86 short loops. Images left over when the batch does not divide by T run one
// after the other with every thread on each.
//
// Each thread's passes have an arena of their own; the output is the images' outputs stacked in
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
    // Arena t serves thread t's single-threaded passes; the last one the passes that use every
    // thread, whose allocations differ.
    arenas_.resize(static_cast<size_t>(threads) + 1);
    std::vector<Tensor<float>> outputs(static_cast<size_t>(images));
    const auto run = [&](int64_t i, ActivationArena& arena) {
      ArenaScope scope(arena);
      outputs[static_cast<size_t>(i)] = model_.forward(batch.batch_slice(i, 1));
    };
    const int64_t side_by_side = threads > 1 ? images / threads * threads : 0;
    parallel_for(0, side_by_side, [&](int64_t i) {
      run(i, arenas_[static_cast<size_t>(ThreadPool::thread_index())]);
    });
    for (int64_t i = side_by_side; i < images; ++i)
      run(i, arenas_.back());
    return stack(outputs);
  }

  // Bytes of all the arenas' planned buffers, and over each arena's last pass the allocations
  // it served and those that went to the heap (an arena the last forward did not use still
  // counts its own last pass).
  int64_t arena_bytes() const { return sum(&ActivationArena::planned_bytes); }
  int64_t arena_served() const { return sum(&ActivationArena::served); }
  int64_t arena_from_heap() const { return sum(&ActivationArena::from_heap); }

 private:
  // One tensor of N images from N one-image outputs (N is outermost in every layout).
  static Tensor<float> stack(const std::vector<Tensor<float>>& outputs) {
    const Tensor<float>& first = outputs.front();
    Shape shape = first.shape();
    shape[0] = static_cast<int64_t>(outputs.size());
    Tensor<float> stacked = Tensor<float>::uninitialized(shape, first.layout());
    float* dst = stacked.data();
    for (const Tensor<float>& out : outputs) {
      FOVEA_CHECK(out.shape() == first.shape() && out.layout() == first.layout(),
                  "BatchRunner: the model gave images outputs of different shapes, ", first.shape(),
                  " and ", out.shape());
      std::memcpy(dst, out.data(), out.size_bytes());
      dst += out.numel();
    }
    return stacked;
  }

  int64_t sum(int64_t (ActivationArena::*of)() const) const {
    int64_t total = 0;
    for (const ActivationArena& arena : arenas_)
      total += (arena.*of)();
    return total;
  }

  nn::Module& model_;
  std::vector<ActivationArena> arenas_;
};

}  // namespace fovea
