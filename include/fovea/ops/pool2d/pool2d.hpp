// pool2d: the entry points layers call. Max pooling and global average pooling of rank-4
// tensors, NCHW or NHWC, take the CPU path (cpu/elementwise.hpp, bit-identical to the reference)
// unless the kernel policy is reference_only; last_kernel("pool2d") names the one that ran. Max
// pooling keeps the input's layout; global average pooling returns (N, C, 1, 1) NCHW.
#pragma once

#include <string>

#include "fovea/cpu/elementwise.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/ops/pool2d/reference.hpp"

namespace fovea {

namespace detail {

// The name recorded for a pool kernel: `<kernel>_<nchw|nhwc>_<isa>`, made once per kernel.
struct PoolKernelNames {
  explicit PoolKernelNames(const char* kernel)
      : nchw(std::string(kernel) + "_nchw_" + cpu::kIsaName),
        nhwc(std::string(kernel) + "_nhwc_" + cpu::kIsaName) {}
  std::string nchw, nhwc;
};

// Whether x takes the CPU path; records the kernel's name or the reference.
inline bool use_cpu_pool(const Tensor<float>& x, const PoolKernelNames& kernel) {
  if (kernel_policy() == KernelPolicy::best && x.rank() == 4) {
    record_kernel("pool2d", x.layout() == Layout::nhwc ? kernel.nhwc : kernel.nchw);
    return true;
  }
  static const std::string reference = "pool2d_reference";
  record_kernel("pool2d", reference);
  return false;
}

}  // namespace detail

inline Tensor<float> max_pool2d(const Tensor<float>& x, const Pool2dAttrs& attrs) {
  static const detail::PoolKernelNames names("max_pool2d_f32");
  if (detail::use_cpu_pool(x, names)) {
    const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "max_pool2d");
    return x.layout() == Layout::nhwc ? cpu::max_pool2d_nhwc(x, pp) : cpu::max_pool2d_nchw(x, pp);
  }
  return max_pool2d_reference(x, attrs);
}

inline Tensor<float> avg_pool2d(const Tensor<float>& x, const Pool2dAttrs& attrs) {
  return avg_pool2d_reference(x, attrs);
}

inline Tensor<float> adaptive_avg_pool2d(const Tensor<float>& x, int64_t out_h, int64_t out_w) {
  static const detail::PoolKernelNames names("global_avg_pool2d_f32");
  if (out_h == 1 && out_w == 1 && x.rank() == 4 && x.dim(2) > 0 && x.dim(3) > 0 &&
      detail::use_cpu_pool(x, names))
    return x.layout() == Layout::nhwc ? cpu::global_avg_pool2d_nhwc(x)
                                      : cpu::global_avg_pool2d_nchw(x);
  return adaptive_avg_pool2d_reference(x, out_h, out_w);
}

inline Tensor<float> global_avg_pool2d(const Tensor<float>& x) {
  return adaptive_avg_pool2d(x, 1, 1);
}

inline Tensor<float> global_max_pool2d(const Tensor<float>& x) {
  return global_max_pool2d_reference(x);
}

}  // namespace fovea
