// What conv2d kernels see: the fused epilogue callers may ask for, the problem a kernel's
// supports() inspects, the arguments its run() gets, and the slot a layer keeps a kernel's
// prepared (packed) weights in between calls.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/activation/params.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea {

// Work done on the convolution's output before it is stored:
//   y = act(conv(x) + bias + residual)
// which is a ResNet block's tail (bias from a folded batch norm, then the identity, then ReLU)
// or MobileNet's conv-BN-ReLU6. `residual` may be null; it must have the output's shape.
struct Conv2dEpilogue {
  ActivationKind act = ActivationKind::identity;
  const Tensor<float>* residual = nullptr;
};

// Everything a kernel's supports() may look at.
struct Conv2dProblem {
  Conv2dParams params;
  Layout input_layout = Layout::nchw;
  Layout residual_layout = Layout::nchw;  // the input's when there is no residual
};

// A kernel's weights in the form it computes with (e.g. GEMM panels), made by its prepare()
// once and kept by the caller (nn::Conv2d) as long as the weights do not change. It remembers
// which kernel made them, so a different kernel never reads them. A layer may run on several
// threads at once (plan/batch_runner.hpp runs images side by side), so the slot is read and
// filled under a lock: the first caller packs, the others wait for its result.
class Conv2dPrepared {
 public:
  // The weights `kernel` prepared: those held, or make()'s result, kept for later calls.
  template <class Make>
  std::shared_ptr<const void> get_or_make(const std::string& kernel, const Make& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (kernel_ != kernel) {
      data_ = make();
      kernel_ = kernel;
    }
    return data_;
  }

  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    kernel_.clear();
    data_.reset();
  }

 private:
  std::mutex mutex_;
  std::string kernel_;
  std::shared_ptr<const void> data_;
};

struct Conv2dCall {
  const Tensor<float>& x;
  const Tensor<float>& weight;
  const Tensor<float>& bias;  // may be empty
  const Conv2dParams& params;
  const Conv2dEpilogue& epilogue;
  const void* prepared;  // the kernel's own prepare() result, or null if it has none
};

}  // namespace fovea
