// PlannedForward: the ForwardPlan prepare_for_inference gives a model, so that a plain
// model.forward(x) runs as BatchRunner runs it: in planned activation arenas (after the first
// call at a shape, a forward takes its tensors from them), with a batch's images side by side on
// the threads.
//
// A BatchRunner's arenas serve one pass at a time, so each thread that calls forward() gets a
// runner of its own; the map of them is the only shared state, locked only to find the caller's
// runner. A runner stays until the model is destroyed or prepared again.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "fovea/core/tensor.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/plan/batch_runner.hpp"

namespace fovea {

class PlannedForward : public nn::ForwardPlan {
 public:
  // `model` owns the plan, so it outlives it.
  explicit PlannedForward(nn::Module& model) : model_(model) {}

  Tensor<float> run(const Tensor<float>& x) override { return runner_for_this_thread().forward(x); }

 private:
  BatchRunner& runner_for_this_thread() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::unique_ptr<BatchRunner>& runner = runners_[std::this_thread::get_id()];
    if (runner == nullptr) runner = std::make_unique<BatchRunner>(model_);
    return *runner;
  }

  nn::Module& model_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<BatchRunner>> runners_;
};

}  // namespace fovea
