// ActivationArena: one buffer that a repeated pass (an inference forward at fixed shapes) takes
// all its tensors and kernel scratch from, at offsets planned from a recorded pass.
//
// The first pass under an ArenaScope records every allocation made on the scope's thread (its
// size, when it was made, when it was freed) and runs on the heap. At the end of it the arena
// plans: each allocation freed within the pass gets an offset, larger ones placed first, at the
// lowest address no allocation with an overlapping lifetime uses (TFLite's greedy-by-size
// planner). Those still alive when the scope closes (the pass's output) get two slots of their
// own past the rest, used in turn, so that a loop's `y = forward(x)`, which holds the last
// output while it makes the next, allocates nothing; with both slots still held, an output goes
// to the heap. Later passes hand out the planned blocks in allocation order.
//
// A pass that differs from the recorded one is caught, never trusted: a block is only handed
// out if its size matches the plan and every earlier block planned over its bytes has been
// freed. From the first difference on, the pass goes to the heap, and the next pass records
// afresh; so does the pass after one whose arena block outlived its scope. Blocks keep the
// buffer they came from alive, so replanning never pulls memory from under a live tensor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "fovea/core/error.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fovea {

namespace detail {

class ArenaState;

// Storage handed to a tensor or scratch buffer; give it back with release_block. It keeps the
// arena's state (and, when the bytes are the arena's, its buffer) alive, so tensors may outlive
// the ActivationArena they came from.
struct ArenaBlock {
  void* data = nullptr;
  std::shared_ptr<ArenaState> arena;  // the arena that recorded or served it, if any
  int64_t pass = 0, index = -1;       // the pass it was made in and its place in that pass
  int output_slot = -1;               // for a pass's output served from the arena: 0 or 1
  std::shared_ptr<void> buffer;       // set when the bytes are the arena's
};

inline std::shared_ptr<ArenaState>*& active_arena() {
  thread_local std::shared_ptr<ArenaState>* arena = nullptr;
  return arena;
}

// Buffers of 1 MiB and more are aligned to 2 MiB and marked for transparent huge pages (where
// the system gives them only on request, as Debian's default "madvise" does). A batch's
// activations are tens of MB, and ResNet-50's packed weights 100 MB, read once per pass: with
// 4 KiB pages every layer walked more pages than the TLB holds, and the page walks (costly in a
// virtual machine) did not overlap the reads. Huge pages made the 7×7 layers' convs 5-10 %
// faster inside the model. Smaller buffers are left alone: a huge page would mostly be waste.
inline void* heap_allocate(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr size_t kHugePage = size_t{2} << 20;
  if (bytes >= kHugePage / 2) {
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) fail("out of memory: cannot allocate ", rounded, " bytes");
    madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without huge pages it still works
    return p;
  }
#endif
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) fail("out of memory: cannot allocate ", bytes, " bytes");
  return p;
}

class ArenaState : public std::enable_shared_from_this<ArenaState> {
 public:
  int64_t planned_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return planned_ ? buffer_bytes_ : 0;
  }
  int64_t served() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return served_;
  }
  int64_t from_heap() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return from_heap_;
  }

  void begin_pass() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++pass_;
    served_ = from_heap_ = 0;
    clock_ = 0;
    diverged_ = false;
    next_ = 0;
    // A served block still alive from the last pass escaped it: that plan is not safe to reuse.
    if (planned_ && std::find(live_.begin(), live_.end(), char(1)) != live_.end()) planned_ = false;
    recording_ = !planned_;
    if (recording_) recorded_.clear();
    std::fill(live_.begin(), live_.end(), char(0));
  }

  void end_pass() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (recording_) {
      plan();
    } else if (diverged_) {
      planned_ = false;  // record the next pass
    }
  }

  ArenaBlock take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    ArenaBlock block;
    block.arena = shared_from_this();
    block.pass = pass_;
    if (recording_) {
      block.index = static_cast<int64_t>(recorded_.size());
      recorded_.push_back({static_cast<int64_t>(bytes), clock_++, -1});
    } else if (!diverged_) {
      block.index = next_++;
      if (can_serve(block.index, bytes)) {
        const size_t i = static_cast<size_t>(block.index);
        const Planned& p = plan_[i];
        int64_t offset = p.offset;
        if (p.output) {
          block.output_slot = output_live_[0][i] == 0 ? 0 : 1;
          output_live_[static_cast<size_t>(block.output_slot)][i] = 1;
          offset += block.output_slot * output_bytes_;
        } else {
          live_[i] = 1;
        }
        block.data = static_cast<char*>(buffer_.get()) + offset;
        block.buffer = buffer_;
        ++served_;
        return block;
      }
    }
    ++from_heap_;
    block.data = heap_allocate(bytes);
    return block;
  }

  // Blocks of earlier passes only matter to the plan they were served from, or to the pass
  // still being recorded.
  void give_back(const ArenaBlock& block) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (block.buffer) {
      if (block.buffer == buffer_ && !recording_) {
        const size_t i = static_cast<size_t>(block.index);
        (block.output_slot < 0 ? live_ : output_live_[static_cast<size_t>(block.output_slot)])[i] =
            0;
      }
      return;
    }
    std::free(block.data);
    if (recording_ && block.pass == pass_)
      recorded_[static_cast<size_t>(block.index)].freed = clock_++;
  }

 private:
  struct Recorded {
    int64_t bytes, made, freed;  // freed = -1: still alive when the pass ended
  };
  struct Planned {
    int64_t bytes = 0, offset = -1;     // offset -1: always from the heap
    bool output = false;                // alive at the end of the pass: in the output slots
    std::vector<int64_t> must_be_free;  // earlier blocks planned over some of the same bytes
  };

  bool can_serve(int64_t index, size_t bytes) {
    if (index >= static_cast<int64_t>(plan_.size()) ||
        plan_[static_cast<size_t>(index)].bytes != static_cast<int64_t>(bytes)) {
      diverged_ = true;
      return false;
    }
    const Planned& p = plan_[static_cast<size_t>(index)];
    if (p.offset < 0) return false;
    // An output whose two slots are both still held goes to the heap; the plan stays good.
    if (p.output)
      return output_live_[0][static_cast<size_t>(index)] == 0 ||
             output_live_[1][static_cast<size_t>(index)] == 0;
    for (const int64_t earlier : p.must_be_free) {
      if (live_[static_cast<size_t>(earlier)] != 0) {
        diverged_ = true;
        return false;
      }
    }
    return true;
  }

  void plan() {
    const size_t n = recorded_.size();
    plan_.assign(n, Planned{});
    std::vector<size_t> order;
    for (size_t i = 0; i < n; ++i) {
      plan_[i].bytes = recorded_[i].bytes;
      if (recorded_[i].freed >= 0) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return recorded_[a].bytes > recorded_[b].bytes; });
    const auto lifetimes_overlap = [&](size_t a, size_t b) {
      return recorded_[a].made < recorded_[b].freed && recorded_[b].made < recorded_[a].freed;
    };
    std::vector<size_t> placed;
    int64_t total = 0;
    for (const size_t i : order) {
      // Lowest offset that clears every placed block alive at the same time.
      std::vector<std::pair<int64_t, int64_t>> taken;  // [begin, end) of those blocks
      for (const size_t j : placed)
        if (lifetimes_overlap(i, j))
          taken.emplace_back(plan_[j].offset, plan_[j].offset + plan_[j].bytes);
      std::sort(taken.begin(), taken.end());
      int64_t offset = 0;
      for (const auto& [begin, end] : taken) {
        if (offset + plan_[i].bytes <= begin) break;
        offset = std::max(offset, end);
      }
      plan_[i].offset = offset;
      total = std::max(total, offset + plan_[i].bytes);
      placed.push_back(i);
    }
    for (const size_t i : placed) {
      for (const size_t j : placed) {
        const bool share_bytes = plan_[j].offset < plan_[i].offset + plan_[i].bytes &&
                                 plan_[i].offset < plan_[j].offset + plan_[j].bytes;
        if (j != i && share_bytes && recorded_[j].made < recorded_[i].made)
          plan_[i].must_be_free.push_back(static_cast<int64_t>(j));
      }
    }
    // The outputs, side by side past everything else, twice.
    output_bytes_ = 0;
    for (size_t i = 0; i < n; ++i) {
      if (recorded_[i].freed >= 0) continue;
      plan_[i].output = true;
      plan_[i].offset = total + output_bytes_;
      output_bytes_ += plan_[i].bytes;
    }
    total += 2 * output_bytes_;
    buffer_bytes_ = total;
    buffer_ = std::shared_ptr<void>(
        heap_allocate(static_cast<size_t>(std::max<int64_t>((total + 63) / 64 * 64, 64))),
        [](void* p) { std::free(p); });
    live_.assign(n, 0);
    for (std::vector<char>& slot : output_live_)
      slot.assign(n, 0);
    planned_ = true;
  }

  mutable std::mutex mutex_;
  bool planned_ = false, recording_ = false, diverged_ = false;
  std::vector<Recorded> recorded_;
  std::vector<Planned> plan_;
  std::vector<char> live_;            // per planned block: handed out in this pass and not yet back
  std::vector<char> output_live_[2];  // per output block and slot: handed out and not yet back
  int64_t output_bytes_ = 0;          // of one slot's outputs
  std::shared_ptr<void> buffer_;
  int64_t pass_ = 0, buffer_bytes_ = 0, clock_ = 0, next_ = 0, served_ = 0, from_heap_ = 0;
};

// `bytes` (a multiple of 64) of 64-byte aligned storage: from this thread's arena if one is
// active, else from the heap.
inline ArenaBlock acquire_block(size_t bytes) {
  if (std::shared_ptr<ArenaState>* arena = active_arena()) return (*arena)->take(bytes);
  ArenaBlock block;
  block.data = heap_allocate(bytes);
  return block;
}

// Frees may come after the scope closed (a pass's output); the block knows its arena.
inline void release_block(const ArenaBlock& block) {
  if (block.arena) {
    block.arena->give_back(block);
  } else {
    std::free(block.data);
  }
}

}  // namespace detail

class ActivationArena {
 public:
  // Bytes of the planned buffer (0 before a pass has been recorded and planned).
  int64_t planned_bytes() const { return state_->planned_bytes(); }
  // Of the last pass: allocations served from the buffer, and those that went to the heap.
  int64_t served() const { return state_->served(); }
  int64_t from_heap() const { return state_->from_heap(); }

 private:
  friend class ArenaScope;
  std::shared_ptr<detail::ArenaState> state_ = std::make_shared<detail::ArenaState>();
};

namespace detail {

// Sends this thread's allocations to the heap while it lives, inside an ArenaScope too.
class ArenaPause {
 public:
  ArenaPause() : outer_(active_arena()) { active_arena() = nullptr; }
  ~ArenaPause() { active_arena() = outer_; }
  ArenaPause(const ArenaPause&) = delete;
  ArenaPause& operator=(const ArenaPause&) = delete;

 private:
  std::shared_ptr<ArenaState>* outer_;
};

}  // namespace detail

// Makes `arena` serve the allocations this thread makes until the scope closes: one pass.
class ArenaScope {
 public:
  explicit ArenaScope(ActivationArena& arena)
      : state_(arena.state_), outer_(detail::active_arena()) {
    state_->begin_pass();
    detail::active_arena() = &state_;
  }
  ~ArenaScope() {
    detail::active_arena() = outer_;
    state_->end_pass();
  }
  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;

 private:
  std::shared_ptr<detail::ArenaState> state_;
  std::shared_ptr<detail::ArenaState>* outer_;
};

}  // namespace fovea
