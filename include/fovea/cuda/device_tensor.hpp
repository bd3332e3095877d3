// DeviceTensor<T>: a shape, a layout and device memory, the device twin of Tensor<T>.
//
// Memory order follows the layout exactly as on the host (NHWC rank-4 tensors are channels
// last), so a copy either way is one memcpy. Kernels take device tensors; conv weights are kept
// as (K, C/groups, R, S) tensors in NHWC layout, which is KRSC memory order.
#pragma once

#include <utility>

#include "fovea/core/tensor.hpp"
#include "fovea/cuda/runtime.hpp"

namespace fovea::cuda {

template <class T>
class DeviceTensor {
 public:
  DeviceTensor() = default;

  // Uninitialized device memory for `shape` in `layout`.
  explicit DeviceTensor(const Shape& shape, Layout layout = Layout::nchw)
      : shape_(shape), layout_(layout), buffer_(bytes_for(shape)) {
    FOVEA_CHECK(layout == Layout::nchw || shape.rank() == 4,
                "device tensor layout NHWC needs rank 4, got ", shape);
  }

  // An empty host tensor (no storage, like an absent bias) gives an empty device tensor.
  static DeviceTensor from_host(const Tensor<T>& host, Stream stream = {}) {
    if (host.empty()) return DeviceTensor();
    DeviceTensor t(host.shape(), host.layout());
    if (host.numel() > 0) t.buffer_.copy_from_host(host.data(), host.size_bytes(), stream);
    return t;
  }

  // A host copy; waits for `stream`.
  Tensor<T> to_host(Stream stream = {}) const {
    Tensor<T> host(shape_, layout_);
    if (numel() > 0) buffer_.copy_to_host(host.data(), host.size_bytes(), stream);
    return host;
  }

  // The same memory under another shape of equal size, read in memory order (as
  // Tensor::reshape); the tensor it is called on is consumed, since device memory has one owner.
  DeviceTensor reshape(const Shape& shape) && {
    FOVEA_CHECK(shape.numel() == numel(), "cannot reshape device tensor ", shape_, " (", numel(),
                " elements) to ", shape, " (", shape.numel(), " elements)");
    DeviceTensor t = std::move(*this);
    t.layout_ = layout_ == Layout::nhwc && shape.rank() == 4 ? Layout::nhwc : Layout::nchw;
    t.shape_ = shape;
    return t;
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t size_bytes() const { return static_cast<size_t>(numel()) * sizeof(T); }
  Layout layout() const { return layout_; }
  DType dtype() const { return dtype_of<T>; }
  bool empty() const { return buffer_.data() == nullptr; }

  T* data() { return static_cast<T*>(buffer_.data()); }
  const T* data() const { return static_cast<const T*>(buffer_.data()); }

 private:
  static size_t bytes_for(const Shape& shape) {
    const int64_t n = shape.numel();
    FOVEA_CHECK(static_cast<uint64_t>(n) <= SIZE_MAX / sizeof(T), "device tensor of shape ", shape,
                " is too large to allocate");
    return static_cast<size_t>(n) * sizeof(T);
  }

  Shape shape_;
  Layout layout_ = Layout::nchw;
  DeviceBuffer buffer_;
};

// Keeps a parameter out of template argument deduction, so an optional tensor can be passed as
// nullptr: linear(x, w, nullptr) deduces T from x and w alone.
template <class T>
struct NonDeduced {
  using type = T;
};
template <class T>
using NonDeducedT = typename NonDeduced<T>::type;

// A conv weight (K, C/groups, R, S) as stored on the host (NCHW order) rearranged to KRSC
// memory order, the order every device conv kernel reads.
template <class T>
Tensor<T> weight_to_krsc(const Tensor<T>& weight) {
  FOVEA_CHECK(weight.rank() == 4, "conv weight must be (K, C/groups, R, S), got ", weight.shape());
  return weight.to_layout(Layout::nhwc);
}

}  // namespace fovea::cuda
