// AlignedBuffer: uninitialized, 64-byte aligned float storage for packed panels and scratch
// space, which Tensor (zero-filled, reference counted) would make needlessly expensive. Like
// tensors, it comes from the thread's activation arena when one is open (core/arena.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "fovea/core/allocation_tracker.hpp"
#include "fovea/core/arena.hpp"

namespace fovea::cpu {

// Gives a buffer back and takes it off the allocation count (core/allocation_tracker.hpp).
struct AlignedBufferFree {
  size_t bytes = 0;
  uint64_t window = 0;
  fovea::detail::ArenaBlock block;
  void operator()(float*) const {
    fovea::detail::note_free(bytes, window);
    fovea::detail::release_block(block);
  }
};

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t count) { resize(count); }

  // Grows to hold at least `count` floats; the contents are not kept.
  void resize(int64_t count) {
    if (count <= capacity_) return;
    allocate(count);
  }

  // resize() for a buffer kept from pass to pass (thread_local scratch): always from the heap,
  // never from an activation arena, whose plan covers one pass's buffers.
  void resize_kept(int64_t count) {
    if (count <= capacity_) return;
    const fovea::detail::ArenaPause outside_arena;
    allocate(count);
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  int64_t capacity() const { return capacity_; }

 private:
  void allocate(int64_t count) {
    const size_t bytes = (static_cast<size_t>(count) * sizeof(float) + 63) / 64 * 64;
    fovea::detail::ArenaBlock block = fovea::detail::acquire_block(bytes);
    auto* p = static_cast<float*>(block.data);
    data_ = std::unique_ptr<float[], AlignedBufferFree>(
        p, AlignedBufferFree{bytes, fovea::detail::note_allocation(bytes), std::move(block)});
    capacity_ = count;
  }

  std::unique_ptr<float[], AlignedBufferFree> data_;
  int64_t capacity_ = 0;
};

}  // namespace fovea::cpu
