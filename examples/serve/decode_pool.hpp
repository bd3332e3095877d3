// DecodePool: decodes and preprocesses request images on a few threads of lower CPU priority.
//
// Why lower priority: inference runs on every core, and a batch waits for its slowest image.
// A decode that takes a core from an inference thread stalls the whole batch; at a nice value
// above the inference threads' (thread_priority.hpp), decoding runs in the gaps inference
// leaves (between batches, at the batch runner's joins) instead. Why few threads: each decode may
// hold a decoded image of up to --max-image-pixels, so their number bounds that memory.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "thread_priority.hpp"

namespace fovea::serve {

class DecodePool {
 public:
  // `nice` is added to the threads' nice value (0: the creating thread's priority).
  DecodePool(int threads, int nice) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this, nice] {
        examples::lower_this_thread_priority(nice);
        run();
      });
    }
  }

  ~DecodePool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
      t.join();
  }
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  // Runs `work` on a pool thread; the future is ready when it has run. `work` keeps its
  // errors to itself (an exception carried across threads in a future was reported as a race
  // by TSan, in libstdc++'s uninstrumented reference counting).
  std::future<void> submit(std::function<void()> work) {
    std::packaged_task<void()> task(std::move(work));
    std::future<void> result = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
    return result;
  }

 private:
  void run() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fovea::serve
