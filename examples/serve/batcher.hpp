// Dynamic batching for one model: requests wait in a bounded queue, and one worker thread runs
// them together, up to max_batch images, waiting at most max_delay for more after the first
// arrives. Under load the worker finds the queue already full when a batch ends, so batches
// grow with the load and the delay is paid only when traffic is light.
//
// A request reserves its place in the queue before it is decoded or parsed; a full queue
// refuses at once (the server answers 503), so overload costs a rejected request instead of
// unbounded memory and latency, and the refusal costs no decoding.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fovea/plan/batch_runner.hpp"
#include "servable.hpp"
#include "thread_priority.hpp"

namespace fovea::serve {

using examples::load_servable;
using examples::Servable;

using Clock = std::chrono::steady_clock;

struct BatchOptions {
  int64_t max_batch = 8;        // images per forward
  int64_t max_delay_us = 2000;  // how long the first request of a batch waits for company
  int64_t max_queue = 64;       // requests waiting; one more is refused
  int nice = 5;                 // added to the worker thread's nice value (thread_priority.hpp)
};

// What a request gets back: its rows of the batch's logits, or why it failed.
struct InferenceResult {
  std::shared_ptr<const Servable> servable;
  Tensor<float> logits;  // (images of this request, classes)
  double queue_seconds = 0, compute_seconds = 0;
  int64_t batch_images = 0;
  std::string error;  // non-empty: the model refused the input (a fovea::Error's message)
};

class Batcher {
 public:
  // Called on the worker thread after each successful batch, for metrics and drift.
  using BatchObserver =
      std::function<void(const Servable&, const Tensor<float>& logits, double compute_seconds)>;

  Batcher(BatchOptions options, BatchObserver observer)
      : options_(options), observer_(std::move(observer)), worker_([this] { run(); }) {}

  ~Batcher() { stop(); }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // A place in the queue, taken before a request is decoded or parsed, so that a full queue is
  // refused before any work is done for it. Given back when dropped unused.
  class Place {
   public:
    Place(Place&& other) noexcept : batcher_(std::exchange(other.batcher_, nullptr)) {}
    Place& operator=(Place&&) = delete;
    ~Place() {
      if (batcher_ != nullptr) batcher_->give_back();
    }

   private:
    friend class Batcher;
    explicit Place(Batcher* batcher) : batcher_(batcher) {}
    Batcher* batcher_;
  };

  // A place in the queue; nothing when max_queue requests hold one or the batcher is stopping.
  std::optional<Place> reserve() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || places_taken_ >= options_.max_queue) return {};
    ++places_taken_;
    return Place(this);
  }

  // Queues `input` (N, C, H, W) for `servable` in the place reserved for it.
  std::future<InferenceResult> submit(Place place, std::shared_ptr<const Servable> servable,
                                      Tensor<float> input) {
    FOVEA_CHECK(place.batcher_ == this, "Batcher::submit: the place belongs to another batcher");
    place.batcher_ = nullptr;  // the job holds the place until its batch is taken
    std::lock_guard<std::mutex> lock(mutex_);
    Job job{std::move(servable), std::move(input), Clock::now(), {}};
    std::future<InferenceResult> result = job.done.get_future();
    queue_.push_back(std::move(job));
    wake_.notify_one();
    return result;
  }

  // Requests holding a place: waiting in the queue, or being decoded to join it.
  int64_t depth() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return places_taken_;
  }

  // Runs what is queued, then ends the worker. Later reservations are refused; requests that
  // hold a place must be submitted before the batcher is destroyed.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      wake_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

 private:
  void give_back() {
    std::lock_guard<std::mutex> lock(mutex_);
    --places_taken_;
    wake_.notify_all();
  }

  struct Job {
    std::shared_ptr<const Servable> servable;
    Tensor<float> input;
    Clock::time_point enqueued;
    std::promise<InferenceResult> done;
  };

  // Jobs batch together when they are for the same loaded version and their images have the
  // same size.
  static bool same_batch(const Job& a, const Job& b) {
    return a.servable == b.servable && a.input.dim(1) == b.input.dim(1) &&
           a.input.dim(2) == b.input.dim(2) && a.input.dim(3) == b.input.dim(3);
  }

  void run() {
    examples::lower_this_thread_priority(options_.nice);
    for (;;) {
      std::vector<Job> batch = next_batch();
      if (batch.empty()) return;
      execute(batch);
    }
  }

  // Waits for a first job, then until max_batch images or max_delay after it arrived; takes
  // the jobs that batch with the first, in order. Empty when stopping with nothing left.
  std::vector<Job> next_batch() {
    std::unique_lock<std::mutex> lock(mutex_);
    // When stopping, the worker ends once nothing is queued and no request holds a place.
    wake_.wait(lock, [&] { return !queue_.empty() || (stopping_ && places_taken_ == 0); });
    if (queue_.empty()) return {};
    const Clock::time_point deadline =
        queue_.front().enqueued + std::chrono::microseconds(options_.max_delay_us);
    const auto images_ready = [&] {
      int64_t images = 0;
      for (const Job& job : queue_)
        if (same_batch(job, queue_.front())) images += job.input.dim(0);
      return images >= options_.max_batch;
    };
    while (!stopping_ && !images_ready() && Clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
    }
    std::vector<Job> batch;
    int64_t images = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      const int64_t n = it->input.dim(0);
      const bool fits =
          batch.empty() || (same_batch(*it, batch.front()) && images + n <= options_.max_batch);
      if (fits) {
        images += n;
        batch.push_back(std::move(*it));
        it = queue_.erase(it);
        --places_taken_;
      } else {
        ++it;
      }
      if (images >= options_.max_batch) break;
    }
    return batch;
  }

  void execute(std::vector<Job>& batch) {
    const Clock::time_point start = Clock::now();
    const std::shared_ptr<const Servable> servable = batch.front().servable;
    try {
      const Tensor<float> logits = forward(servable, stack(batch));
      const double compute = seconds(Clock::now() - start);
      observer_(*servable, logits, compute);
      int64_t row = 0;
      for (Job& job : batch) {
        const int64_t n = job.input.dim(0);
        InferenceResult result{servable,
                               logits.batch_slice(row, n).clone(),
                               seconds(start - job.enqueued),
                               compute,
                               logits.dim(0),
                               ""};
        row += n;
        job.done.set_value(std::move(result));
      }
    } catch (const std::exception& e) {
      // One request's tensor can fail the model (a size it cannot take): rerun the jobs one by
      // one, so the others still get their answers.
      if (batch.size() > 1) {
        for (Job& job : batch) {
          std::vector<Job> alone;
          alone.push_back(std::move(job));
          execute(alone);
        }
        return;
      }
      InferenceResult result;
      result.servable = servable;
      result.error = e.what();
      batch.front().done.set_value(std::move(result));
    }
  }

  static Tensor<float> stack(const std::vector<Job>& batch) {
    if (batch.size() == 1) return batch.front().input;
    const Tensor<float>& first = batch.front().input;
    int64_t images = 0;
    for (const Job& job : batch)
      images += job.input.dim(0);
    Tensor<float> stacked(Shape{images, first.dim(1), first.dim(2), first.dim(3)});
    float* out = stacked.data();
    for (const Job& job : batch) {
      std::memcpy(out, job.input.data(), static_cast<size_t>(job.input.numel()) * sizeof(float));
      out += job.input.numel();
    }
    return stacked;
  }

  // One BatchRunner (its arenas) per loaded version: a reload gets a fresh one. The runner's
  // version is kept alive with it.
  Tensor<float> forward(const std::shared_ptr<const Servable>& servable,
                        const Tensor<float>& input) {
    if (runner_servable_ != servable) {
      runner_.reset();
      runner_servable_ = servable;
      runner_ = std::make_unique<BatchRunner>(*servable->model);
    }
    return runner_->forward(input);
  }

  static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

  BatchOptions options_;
  BatchObserver observer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  int64_t places_taken_ = 0;  // by queued jobs and by requests being prepared
  bool stopping_ = false;
  std::unique_ptr<BatchRunner> runner_;
  std::shared_ptr<const Servable> runner_servable_;
  std::thread worker_;  // last: starts once the members above exist
};

}  // namespace fovea::serve
