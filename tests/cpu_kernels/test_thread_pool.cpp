// The thread pool: every index runs exactly once whether the workers are spinning or asleep
// when a loop starts, exceptions reach the caller, nested loops run serially, and pools can be
// destroyed in any state.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace {

// Runs a loop over [0, n) that records each index's visits; returns how many were not visited
// exactly once.
int count_wrong_visits(fovea::ThreadPool& pool, int64_t n) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  pool.parallel_for(0, n, [&](int64_t i) { hits[static_cast<size_t>(i)]++; });
  int wrong = 0;
  for (auto& h : hits)
    wrong += h.load() != 1;
  return wrong;
}

}  // namespace

TEST_SUITE("threads") {
  TEST_CASE("parallel_for visits every index once and rethrows") {
    fovea::ThreadPool pool(3);
    CHECK(count_wrong_visits(pool, 1000) == 0);
    CHECK_THROWS_AS(pool.parallel_for(0, 10,
                                      [](int64_t i) {
                                        if (i == 7) fovea::fail("index ", i);
                                      }),
                    fovea::Error);
    // The pool still works after an exception.
    std::atomic<int64_t> sum{0};
    pool.parallel_for(0, 100, [&](int64_t i) { sum += i; });
    CHECK(sum.load() == 4950);
  }

  TEST_CASE("back-to-back loops, as inference issues them, each run completely") {
    // Workers are still spinning from the previous loop when the next one starts.
    fovea::ThreadPool pool(2);
    int64_t wrong_sums = 0;
    for (int loop = 0; loop < 20000; ++loop) {
      const int64_t n = 2 + loop % 7;
      std::atomic<int64_t> sum{0};
      pool.parallel_for(0, n, [&](int64_t i) { sum += i + loop; });
      wrong_sums += sum.load() != n * (n - 1) / 2 + n * loop;
    }
    CHECK(wrong_sums == 0);
  }

  TEST_CASE("loops started after the workers went to sleep still run on every thread") {
    fovea::ThreadPool pool(3);
    for (int round = 0; round < 5; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // well past the spin time
      std::vector<std::atomic<int>> by_thread(3);
      // Each index waits until all three threads have taken one, so the loop only finishes if
      // both sleeping workers woke up and joined it.
      std::atomic<int> arrived{0};
      pool.parallel_for(0, 3, [&](int64_t) {
        by_thread[static_cast<size_t>(fovea::ThreadPool::thread_index())]++;
        ++arrived;
        while (arrived.load() < 3)
          std::this_thread::yield();
      });
      CHECK(by_thread[0].load() == 1);
      CHECK(by_thread[1].load() == 1);
      CHECK(by_thread[2].load() == 1);
    }
  }

  TEST_CASE("a loop inside a loop body runs serially on that thread") {
    fovea::ThreadPool pool(2);
    std::atomic<int> wrong{0};
    pool.parallel_for(0, 8, [&](int64_t) {
      CHECK(fovea::ThreadPool::inside_loop());
      const int outer = fovea::ThreadPool::thread_index();
      pool.parallel_for(0, 4,
                        [&](int64_t) { wrong += fovea::ThreadPool::thread_index() != outer; });
    });
    CHECK(wrong.load() == 0);
    CHECK_FALSE(fovea::ThreadPool::inside_loop());
  }

  TEST_CASE("pools are destroyed cleanly whether unused, spinning or asleep") {
    { fovea::ThreadPool unused(4); }
    {
      fovea::ThreadPool spinning(4);
      CHECK(count_wrong_visits(spinning, 64) == 0);
    }
    {
      fovea::ThreadPool asleep(4);
      CHECK(count_wrong_visits(asleep, 64) == 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  TEST_CASE("the global pool follows set_num_threads") {
    for (int threads : {1, 3, 2}) {
      fovea::set_num_threads(threads);
      CHECK(fovea::num_threads() == threads);
      CHECK(count_wrong_visits(fovea::global_thread_pool(), 257) == 0);
    }
    CHECK_THROWS_AS(fovea::set_num_threads(0), fovea::Error);
  }

  TEST_CASE("a loop of one index per thread runs index t on thread t, every time") {
    // Consecutive layers that split an image's rows in parts rely on it: thread t gets the
    // same part each time, whichever thread is first to look for work.
    for (int threads : {2, 3}) {
      fovea::ThreadPool pool(threads);
      int64_t misplaced = 0, runs = 0;
      std::atomic<int64_t> sum{0};
      for (int loop = 0; loop < 2000; ++loop) {
        std::vector<int> ran_on(static_cast<size_t>(threads), -1);
        pool.parallel_for(5, 5 + threads, [&](int64_t i) {
          ran_on[static_cast<size_t>(i - 5)] = fovea::ThreadPool::thread_index();
          sum += i;
        });
        for (int t = 0; t < threads; ++t)
          misplaced += ran_on[static_cast<size_t>(t)] != t;
        ++runs;
      }
      CHECK(misplaced == 0);
      CHECK(sum.load() == runs * (threads * 5 + threads * (threads - 1) / 2));
      // An exception in one part is rethrown, and the pool goes on working.
      CHECK_THROWS_AS(pool.parallel_for(0, threads,
                                        [](int64_t i) {
                                          if (i == 1) fovea::fail("part ", i);
                                        }),
                      fovea::Error);
      CHECK(count_wrong_visits(pool, 100) == 0);
    }
  }

  TEST_CASE("parallel_for_parts covers the range in one contiguous part per thread") {
    for (int threads : {1, 2, 3}) {
      fovea::set_num_threads(threads);
      for (int64_t count : {0, 1, 2, 5, 64}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
        std::atomic<int> parts{0};
        fovea::parallel_for_parts(10, 10 + count, [&](int64_t lo, int64_t hi) {
          CHECK(lo < hi);
          ++parts;
          for (int64_t i = lo; i < hi; ++i)
            hits[static_cast<size_t>(i - 10)]++;
        });
        INFO("threads=", threads, " count=", count);
        CHECK(parts.load() == std::min<int64_t>(threads, count));
        for (const auto& h : hits)
          CHECK(h.load() == 1);
      }
    }
    fovea::set_num_threads(2);
  }
}
