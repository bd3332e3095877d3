// AlignedBuffer: uninitialized, 64-byte aligned float storage for packed panels and scratch
// space, which Tensor (zero-filled, reference counted) would make needlessly expensive.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "fovea/core/allocation_tracker.hpp"

namespace fovea::cpu {

// Frees a buffer and takes it off the allocation count (core/allocation_tracker.hpp).
struct AlignedBufferFree {
  size_t bytes = 0;
  uint64_t window = 0;
  void operator()(float* p) const {
    fovea::detail::note_free(bytes, window);
    std::free(p);
  }
};

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t count) { resize(count); }

  // Grows to hold at least `count` floats; the contents are not kept.
  void resize(int64_t count) {
    if (count <= capacity_) return;
    const size_t bytes = (static_cast<size_t>(count) * sizeof(float) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    data_ = std::unique_ptr<float[], AlignedBufferFree>(
        static_cast<float*>(p), AlignedBufferFree{bytes, fovea::detail::note_allocation(bytes)});
    capacity_ = count;
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  int64_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<float[], AlignedBufferFree> data_;
  int64_t capacity_ = 0;
};

}  // namespace fovea::cpu
