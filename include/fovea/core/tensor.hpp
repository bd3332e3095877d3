// Tensor<T>: a shape, a memory layout and a handle on 64-byte aligned storage.
//
// Copies share storage (like cv::Mat, ncnn::Mat and torch.Tensor); clone() makes a deep copy.
// A tensor either owns its storage (reference counted) or is a view of memory someone else owns
// (Tensor::wrap). Rank-4 tensors are indexed (n, c, h, w) in either layout; the layout only
// changes the strides.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "fovea/config.hpp"
#include "fovea/core/allocation_tracker.hpp"
#include "fovea/core/arena.hpp"
#include "fovea/core/control_block_pool.hpp"
#include "fovea/core/dtype.hpp"
#include "fovea/core/error.hpp"
#include "fovea/core/limits.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/core/shape.hpp"

namespace fovea {

enum class Layout : uint8_t {
  nchw,  // row-major; the only layout for ranks other than 4
  nhwc,  // channels last, rank 4 only
};

inline const char* layout_name(Layout l) {
  return l == Layout::nchw ? "NCHW" : "NHWC";
}

// Where a tensor's memory lives. Only host memory exists in the core; the CUDA backend adds
// device storage behind the same handle, so code that checks device() today keeps working.
enum class Device : uint8_t { cpu };

inline constexpr size_t kTensorAlignment = 64;

namespace detail {

// Storage from this thread's activation arena when an ArenaScope is open (core/arena.hpp),
// else from the heap.
inline std::shared_ptr<void> allocate_aligned(size_t bytes) {
  const size_t rounded =
      (std::max<size_t>(bytes, 1) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  ArenaBlock block = acquire_block(rounded);
  void* p = block.data;
  const uint64_t window = note_allocation(rounded);
  return std::shared_ptr<void>(
      p,
      [block = std::move(block), rounded, window](void*) {
        note_free(rounded, window);
        release_block(block);
      },
      ControlBlockAllocator<char>());
}

}  // namespace detail

using Strides = std::array<int64_t, kMaxRank>;

template <class T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;

  // An owning, zero-filled tensor.
  explicit Tensor(const Shape& shape, Layout layout = Layout::nchw)
      : shape_(shape), layout_(layout) {
    init_strides();
    const size_t bytes = checked_bytes(shape_);
    storage_ = detail::allocate_aligned(bytes);
    data_ = static_cast<T*>(storage_.get());
    std::memset(static_cast<void*>(data_), 0, bytes);
  }

  // An owning tensor whose contents are unspecified, for kernels that write every element
  // (zero-filling a conv's output first was about 5% of a MobileNetV2 forward).
  static Tensor uninitialized(const Shape& shape, Layout layout = Layout::nchw) {
    Tensor t;
    t.shape_ = shape;
    t.layout_ = layout;
    t.init_strides();
    t.storage_ = detail::allocate_aligned(checked_bytes(t.shape_));
    t.data_ = static_cast<T*>(t.storage_.get());
    return t;
  }

  // A non-owning view of contiguous memory that the caller keeps alive.
  static Tensor wrap(T* data, const Shape& shape, Layout layout = Layout::nchw) {
    Tensor t;
    t.shape_ = shape;
    t.layout_ = layout;
    t.init_strides();
    t.data_ = data;
    return t;
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t size_bytes() const { return static_cast<size_t>(numel()) * sizeof(T); }
  bool empty() const { return data_ == nullptr; }
  Layout layout() const { return layout_; }
  const Strides& strides() const { return strides_; }
  Device device() const { return Device::cpu; }
  DType dtype() const { return dtype_of<T>; }
  bool owns_memory() const { return storage_ != nullptr; }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + numel(); }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + numel(); }

  // Element in memory order.
  T& operator[](int64_t i) { return data_[check_flat(i)]; }
  const T& operator[](int64_t i) const { return data_[check_flat(i)]; }

  // Element by logical index, e.g. t(n, c, h, w). Bounds are checked when FOVEA_CHECK_BOUNDS.
  template <class... Idx>
  T& operator()(Idx... idx) {
    return data_[offset<FOVEA_CHECK_BOUNDS>(idx...)];
  }
  template <class... Idx>
  const T& operator()(Idx... idx) const {
    return data_[offset<FOVEA_CHECK_BOUNDS>(idx...)];
  }

  // Element by logical index, always bounds checked.
  template <class... Idx>
  T& at(Idx... idx) {
    return data_[offset<true>(idx...)];
  }
  template <class... Idx>
  const T& at(Idx... idx) const {
    return data_[offset<true>(idx...)];
  }

  // A tensor over the same memory with another shape of equal size, read in memory order.
  Tensor reshape(const Shape& shape) const {
    FOVEA_CHECK(shape.numel() == numel(), "cannot reshape ", shape_, " (", numel(),
                " elements) to ", shape, " (", shape.numel(), " elements)");
    Tensor t = *this;
    t.shape_ = shape;
    t.layout_ = Layout::nchw;
    if (layout_ == Layout::nhwc && shape.rank() == 4) t.layout_ = Layout::nhwc;
    t.init_strides();
    return t;
  }

  // The same memory seen in the other layout, for rank-4 shapes where both layouts order it the
  // same: a 1×1 image, or a single channel.
  Tensor with_layout(Layout target) const {
    if (target == layout_) return *this;
    FOVEA_CHECK(rank() == 4 && (dim(2) * dim(3) == 1 || dim(1) == 1), "a ", shape_,
                " tensor is stored differently in NCHW and NHWC, so it has no view in the other");
    Tensor t = *this;
    t.layout_ = target;
    t.init_strides();
    return t;
  }

  // Images [start, start + count) of the batch, sharing memory (N is outermost in both layouts).
  Tensor batch_slice(int64_t start, int64_t count) const {
    FOVEA_CHECK(rank() >= 1 && start >= 0 && count >= 0 && start + count <= dim(0), "batch slice [",
                start, ", ", start + count, ") is outside a batch of shape ", shape_);
    Tensor t = *this;
    t.shape_[0] = count;
    t.data_ = data_ + start * strides_[0];
    return t;
  }

  Tensor clone() const {
    Tensor t(shape_, layout_);
    if (numel() > 0) std::memcpy(static_cast<void*>(t.data_), data_, size_bytes());
    return t;
  }

  // A copy in the other layout (rank 4 only); a plain clone if the layout already matches.
  Tensor to_layout(Layout target) const {
    if (target == layout_) return clone();
    FOVEA_CHECK(rank() == 4, "layout ", layout_name(target), " needs a rank-4 tensor, got ",
                shape_);
    Tensor t(shape_, target);
    for (int64_t n = 0; n < dim(0); ++n)
      for (int64_t c = 0; c < dim(1); ++c)
        for (int64_t h = 0; h < dim(2); ++h)
          for (int64_t w = 0; w < dim(3); ++w)
            t(n, c, h, w) = (*this)(n, c, h, w);
    return t;
  }

  template <class U>
  Tensor<U> cast() const {
    Tensor<U> t(shape_, layout_);
    for (int64_t i = 0; i < numel(); ++i)
      t[i] = convert<U>(data_[i]);
    return t;
  }

  Tensor& fill(T value) {
    std::fill(begin(), end(), value);
    return *this;
  }

  // Uniform in [lo, hi) from a seeded stream; integer types take whole numbers in [lo, hi].
  Tensor& fill_uniform(Rng& rng, double lo, double hi) {
    for (T& v : *this) {
      if constexpr (std::is_integral_v<T>) {
        v = static_cast<T>(static_cast<int64_t>(lo) +
                           static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1))));
      } else {
        v = convert<T>(rng.uniform(lo, hi));
      }
    }
    return *this;
  }
  Tensor& fill_uniform(uint64_t seed, double lo, double hi) {
    Rng rng(seed);
    return fill_uniform(rng, lo, hi);
  }

  Tensor& fill_normal(Rng& rng, double mean, double stddev) {
    static_assert(!std::is_integral_v<T>, "fill_normal needs a floating-point tensor");
    for (T& v : *this)
      v = convert<T>(rng.normal(mean, stddev));
    return *this;
  }

 private:
  static size_t checked_bytes(const Shape& shape) {
    const int64_t n = shape.numel();
    const int64_t limit = max_tensor_bytes();
    FOVEA_CHECK(n <= limit / static_cast<int64_t>(sizeof(T)), "tensor of shape ", shape, " needs ",
                n, " elements of ", sizeof(T), " bytes, over the limit of ", limit,
                " bytes (fovea::set_max_tensor_bytes)");
    return static_cast<size_t>(n) * sizeof(T);
  }

  void init_strides() {
    FOVEA_CHECK(layout_ == Layout::nchw || shape_.rank() == 4, "layout NHWC needs rank 4, got ",
                shape_);
    strides_.fill(0);
    if (layout_ == Layout::nhwc) {
      const int64_t c = shape_[1], h = shape_[2], w = shape_[3];
      strides_[0] = h * w * c;
      strides_[1] = 1;
      strides_[2] = w * c;
      strides_[3] = c;
      return;
    }
    int64_t stride = 1;
    for (int i = shape_.rank() - 1; i >= 0; --i) {
      strides_[static_cast<size_t>(i)] = stride;
      stride *= shape_[i];
    }
  }

  int64_t check_flat(int64_t i) const {
    if constexpr (FOVEA_CHECK_BOUNDS) {
      FOVEA_CHECK(i >= 0 && i < numel(), "flat index ", i, " is outside a tensor of ", numel(),
                  " elements");
    }
    return i;
  }

  template <bool kCheck, class... Idx>
  int64_t offset(Idx... idx) const {
    static_assert((std::is_integral_v<Idx> && ...), "tensor indices must be integers");
    constexpr int kRank = static_cast<int>(sizeof...(Idx));
    const std::array<int64_t, sizeof...(Idx)> index{static_cast<int64_t>(idx)...};
    if constexpr (kCheck) {
      FOVEA_CHECK(kRank == rank(), "indexing a rank-", rank(), " tensor with ", kRank, " indices");
      for (int i = 0; i < kRank; ++i) {
        FOVEA_CHECK(index[static_cast<size_t>(i)] >= 0 && index[static_cast<size_t>(i)] < shape_[i],
                    "index ", index[static_cast<size_t>(i)], " of dimension ", i,
                    " is outside a tensor of shape ", shape_);
      }
    }
    int64_t off = 0;
    for (int i = 0; i < kRank; ++i)
      off += index[static_cast<size_t>(i)] * strides_[static_cast<size_t>(i)];
    return off;
  }

  Shape shape_;
  Strides strides_{};
  Layout layout_ = Layout::nchw;
  std::shared_ptr<void> storage_;  // null for views of memory fovea does not own
  T* data_ = nullptr;
};

}  // namespace fovea
