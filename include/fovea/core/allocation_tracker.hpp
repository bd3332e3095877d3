// Counts the bytes of tensor storage and kernel scratch (AlignedBuffer) that are alive, so the
// inference plan can report a forward pass's peak activation memory (plan/activation_memory.hpp).
//
// Off by default: an allocation then costs one relaxed atomic load more. While a tracking
// window is open, every allocation adds its bytes to `live` and raises `peak`; its free takes
// them off again only if it was counted in the same window, so memory that outlives a window
// (the weights, a returned output) never makes a later window's numbers wrong.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace fovea {

struct AllocationStats {
  int64_t peak_bytes = 0;       // most bytes alive at once, counted from the window's start
  int64_t allocated_bytes = 0;  // all bytes allocated in the window
  int64_t allocations = 0;
  int64_t largest_bytes = 0;  // the largest single allocation
  int64_t live_bytes = 0;     // counted in the window and still alive when the stats were taken
};

namespace detail {

struct AllocationCounters {
  std::atomic<bool> tracking{false};
  std::atomic<uint64_t> window{0};  // 0 means "not counted"; windows are numbered from 1
  std::atomic<int64_t> live{0}, peak{0}, allocated{0}, count{0}, largest{0};
};

inline AllocationCounters& allocation_counters() {
  static AllocationCounters counters;
  return counters;
}

inline void raise_to(std::atomic<int64_t>& value, int64_t candidate) {
  int64_t seen = value.load(std::memory_order_relaxed);
  while (candidate > seen && !value.compare_exchange_weak(seen, candidate)) {
  }
}

// Returns the window the allocation was counted in (0: none); pass it to note_free.
inline uint64_t note_allocation(size_t bytes) {
  AllocationCounters& c = allocation_counters();
  if (!c.tracking.load(std::memory_order_relaxed)) return 0;
  const auto b = static_cast<int64_t>(bytes);
  raise_to(c.peak, c.live.fetch_add(b) + b);
  raise_to(c.largest, b);
  c.allocated.fetch_add(b);
  c.count.fetch_add(1);
  return c.window.load();
}

inline void note_free(size_t bytes, uint64_t window) {
  if (window == 0) return;
  AllocationCounters& c = allocation_counters();
  if (c.window.load() == window) c.live.fetch_sub(static_cast<int64_t>(bytes));
}

}  // namespace detail

// Counts allocations from construction until stats() or destruction. One window at a time.
class AllocationWindow {
 public:
  AllocationWindow() {
    detail::AllocationCounters& c = detail::allocation_counters();
    c.live = 0;
    c.peak = 0;
    c.allocated = 0;
    c.count = 0;
    c.largest = 0;
    c.window.fetch_add(1);
    c.tracking = true;
  }
  ~AllocationWindow() { detail::allocation_counters().tracking = false; }
  AllocationWindow(const AllocationWindow&) = delete;
  AllocationWindow& operator=(const AllocationWindow&) = delete;

  AllocationStats stats() const {
    const detail::AllocationCounters& c = detail::allocation_counters();
    return {c.peak.load(), c.allocated.load(), c.count.load(), c.largest.load(), c.live.load()};
  }
};

}  // namespace fovea
