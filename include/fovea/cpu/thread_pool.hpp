// ThreadPool: a fixed set of worker threads that run parallel_for loops, and the process-wide
// pool the CPU kernels share (set_num_threads, num_threads).
//
// Kernels split their work into independent output tiles and call parallel_for over tile
// indices; no reduction is ever split across threads, so results are bit-identical whatever the
// thread count. A parallel_for issued from inside a worker runs serially on that worker.
//
// Built with FOVEA_SINGLE_THREAD defined to 1 (the CMake option of that name), for single-core
// targets: every pool has one thread, the caller, so no thread is ever started and every loop
// runs inline; asking for more threads is an error.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/function_ref.hpp"

namespace fovea {

class ThreadPool {
 public:
  // A pool that runs loops on `threads` threads in all: the caller plus threads - 1 workers.
  // More than kMaxThreads, or more than the system lets the process start, is a fovea::Error.
  explicit ThreadPool(int threads) : threads_(std::max(threads, 1)) {
    FOVEA_CHECK(threads_ <= kMaxThreads, "a thread pool of ", threads_,
                " threads is over the limit of ", kMaxThreads);
    FOVEA_CHECK(!kSingleThreaded || threads_ == 1, "a thread pool of ", threads_,
                " threads in a build for one thread (FOVEA_SINGLE_THREAD)");
    try {
      for (int i = 1; i < threads_; ++i)
        workers_.emplace_back([this, i] { work(i); });
    } catch (const std::system_error& e) {
      stop_workers();  // the ones that started; a joinable thread left behind would terminate
      fail("cannot start ", threads_, " threads: ", e.what());
    }
  }
  static constexpr int kMaxThreads = 1024;
#if defined(FOVEA_SINGLE_THREAD) && FOVEA_SINGLE_THREAD
  static constexpr bool kSingleThreaded = true;
#else
  static constexpr bool kSingleThreaded = false;
#endif
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    stop_workers();
  }

  int size() const {
    return threads_;
  }

  // Whether this thread is running a parallel_for's body, where a nested loop runs serially.
  static bool inside_loop() {
    return inside_worker();
  }
  // Inside a loop's body: which of the pool's threads runs it, in [0, size()); the caller is 0.
  // Bodies index per-thread scratch space with it.
  static int thread_index() {
    return worker_index();
  }

  // Calls fn(i) once for every i in [begin, end), spread over the pool; returns when all are
  // done. The first exception thrown by fn is rethrown here. A loop of exactly one index per
  // thread runs index begin + t on thread t (the caller is thread 0): loops that split an
  // image's rows the same way, layer after layer, then find their rows in their own core's
  // cache. Claimed one by one, either thread could take either half, and the next layer read
  // half its input from the other core: MobileNetV2's 14×14 depthwise convs ran twice as long
  // at two threads.
  void parallel_for(int64_t begin, int64_t end, FunctionRef<void(int64_t)> fn) {
    if (end <= begin) return;
    if (threads_ == 1 || end - begin == 1 || inside_worker()) {
      for (int64_t i = begin; i < end; ++i)
        fn(i);
      return;
    }
    std::unique_lock<std::mutex> run_lock(run_mutex_);  // one loop at a time per pool
    // Every worker has finished the previous loop, so nothing reads these while they change.
    job_ = &fn;
    begin_ = begin;
    one_per_thread_ = end - begin == threads_;
    next_.store(begin, std::memory_order_relaxed);
    end_ = end;
    error_ = nullptr;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    bool someone_sleeps;
    {
      // Under the mutex, so a worker on its way to sleep either sees the new generation or is
      // counted in sleepers_ and gets the notification.
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
      someone_sleeps = sleepers_ > 0;
    }
    if (someone_sleeps) wake_.notify_all();
    inside_worker() = true;
    drain();
    inside_worker() = false;
    const auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(all_done)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, all_done);
    }
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // How long an idle thread polls before it sleeps on a condition variable. Inference issues
  // one short loop per layer, often under 50 us of work; a sleeping worker takes about as long
  // to wake, which had made two threads slower than one on small models. Bounded, so an idle
  // pool costs no CPU.
  static constexpr std::chrono::microseconds spin_time{200};

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
      t.join();
  }

  static bool& inside_worker() {
    thread_local bool inside = false;
    return inside;
  }
  static int& worker_index() {
    thread_local int index = 0;
    return index;
  }

  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  // Polls ready() for up to spin_time; returns its last answer. Every few microseconds it
  // yields, so that when there are more runnable threads than cores (two pools, or a pool
  // next to another busy process) the thread it waits for gets the core instead of this one
  // spinning through its time slice.
  template <class Ready>
  static bool spin_until(const Ready& ready) {
    const auto deadline = std::chrono::steady_clock::now() + spin_time;
    for (uint32_t i = 1;; ++i) {
      if (ready()) return true;
      cpu_relax();
      if (i % 64 == 0) {
        if (std::chrono::steady_clock::now() > deadline) return ready();
        std::this_thread::yield();
      }
    }
  }

  // Takes indices until none are left; indices are claimed one by one, so uneven tiles balance.
  // With one index per thread, runs this thread's own.
  void drain() {
    if (one_per_thread_) {
      run(begin_ + worker_index());
      return;
    }
    for (int64_t i = next_.fetch_add(1); i < end_; i = next_.fetch_add(1))
      run(i);
  }

  void run(int64_t i) {
    try {
      (*job_)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(end_);
    }
  }

  void work(int index) {
    inside_worker() = true;
    worker_index() = index;
    uint64_t seen = 0;
    const auto has_news = [&] {
      return stopping_.load(std::memory_order_acquire) ||
             generation_.load(std::memory_order_acquire) != seen;
    };
    for (;;) {
      if (!spin_until(has_news)) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++sleepers_;
        wake_.wait(lock, has_news);
        --sleepers_;
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      // The caller waits for this worker before it starts another loop, so exactly one new
      // generation has begun.
      seen = generation_.load(std::memory_order_acquire);
      drain();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const FunctionRef<void(int64_t)>* job_ = nullptr;
  std::atomic<int64_t> next_{0};
  int64_t begin_ = 0, end_ = 0;
  bool one_per_thread_ = false;
  std::atomic<int> pending_{0};  // workers still draining the current loop
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  int sleepers_ = 0;  // workers waiting on wake_; guarded by mutex_
  std::exception_ptr error_;
};

namespace detail {

inline int default_thread_count() {
  if (ThreadPool::kSingleThreaded) return 1;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

inline std::unique_ptr<ThreadPool>& global_pool_slot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}

inline std::mutex& global_pool_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace detail

// Sets how many threads the CPU kernels use from now on (n >= 1). Not to be called while a
// kernel is running on another thread.
inline void set_num_threads(int n) {
  FOVEA_CHECK(n >= 1, "set_num_threads wants at least 1 thread, got ", n);
  std::lock_guard<std::mutex> lock(detail::global_pool_mutex());
  auto& slot = detail::global_pool_slot();
  if (!slot || slot->size() != n) {
    slot.reset();
    slot = std::make_unique<ThreadPool>(n);
  }
}

// The pool the kernels run on; created on first use with one thread per hardware thread.
inline ThreadPool& global_thread_pool() {
  std::lock_guard<std::mutex> lock(detail::global_pool_mutex());
  auto& slot = detail::global_pool_slot();
  if (!slot) slot = std::make_unique<ThreadPool>(detail::default_thread_count());
  return *slot;
}

inline int num_threads() {
  return global_thread_pool().size();
}

inline void parallel_for(int64_t begin, int64_t end, FunctionRef<void(int64_t)> fn) {
  global_thread_pool().parallel_for(begin, end, fn);
}

// The threads a loop started here would run on: 1 inside another loop's body.
inline int threads_available() {
  return ThreadPool::inside_loop() ? 1 : num_threads();
}

// Calls fn(lo, hi) on contiguous parts of [begin, end), one per thread available (fewer when
// there are fewer indices), for loops whose neighbouring indices write neighbouring memory: one
// thread then owns each stretch, where parallel_for's one-index tasks would alternate threads
// along it.
inline void parallel_for_parts(int64_t begin, int64_t end, FunctionRef<void(int64_t, int64_t)> fn) {
  const int64_t count = end - begin;
  const int64_t parts = std::min<int64_t>(threads_available(), count);
  parallel_for(0, parts, [&](int64_t part) {
    fn(begin + count * part / parts, begin + count * (part + 1) / parts);
  });
}

}  // namespace fovea
