// ControlBlockAllocator: where the reference counts of tensor storage live. A shared_ptr with a
// deleter allocates its control block on the heap; one per tensor made every layer of an
// inference forward allocate even when its bytes came from a planned arena. Control blocks
// instead come from a free list of fixed-size slots that grows, a chunk at a time, to the most
// ever alive at once and is then reused, so a repeated forward allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace fovea::detail {

class ControlBlockPool {
 public:
  static constexpr size_t kSlotBytes = 128;

  void* take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) grow();
    void* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void give(void* slot) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(slot);
  }

 private:
  // Slots come kChunk at a time, so that a pass holding a tensor or two more than any before
  // (the caller's last output, say) finds one free instead of allocating.
  static constexpr size_t kChunk = 256;

  void grow() {
    chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    free_.reserve(chunks_.size() * kChunk);  // so that give() never has to grow the list
    for (size_t i = 0; i < kChunk; ++i)
      free_.push_back(&chunks_.back()[i]);
  }

  struct alignas(alignof(std::max_align_t)) Slot {
    unsigned char bytes[kSlotBytes];
  };

  std::mutex mutex_;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<void*> free_;
};

// Never destroyed: tensors in static objects may be freed after every static destructor ran.
inline ControlBlockPool& control_block_pool() {
  static ControlBlockPool* pool = new ControlBlockPool;
  return *pool;
}

template <class T>
struct ControlBlockAllocator {
  using value_type = T;

  ControlBlockAllocator() = default;
  template <class U>
  ControlBlockAllocator(const ControlBlockAllocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    static_assert(sizeof(T) <= ControlBlockPool::kSlotBytes && alignof(T) <= alignof(max_align_t),
                  "a tensor's control block outgrew the pool's slots");
    if (n != 1) throw std::bad_alloc();
    return static_cast<T*>(control_block_pool().take());
  }
  void deallocate(T* p, size_t) noexcept { control_block_pool().give(p); }

  template <class U>
  bool operator==(const ControlBlockAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const ControlBlockAllocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace fovea::detail
