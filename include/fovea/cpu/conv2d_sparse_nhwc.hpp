// Sparse channels-last 1×1 convolutions: the pointwise conv of conv2d_nhwc.hpp (one GEMM with
// the pixels as rows) on sparse_gemm.hpp's kernels, for weights pruned by fovea/prune/sparse/.
//
// The prepare/run pairs have Conv2dKernelRun's signatures, so each can be a row of the conv2d
// kernel table. A row's supports() sees only the problem, not the weights, so the choice by
// measured sparsity is made here, by conv2d_nhwc_pointwise_sparse(): it measures the weights
// once (kept in the Conv2dPrepared slot with the packed form) and runs
//   unstructured      when they are at least kSpmmCrossoverSparsity sparse
//   2:4 kernel        when every group of 4 input channels holds at most 2 nonzeros, and the
//                     2:4 kernel was measured faster than dense (kSpmm24BeatsDense)
//   dense conv2d      otherwise (conv2d_fused, the existing table).
// SparseKernelChoice forces one of them.
#pragma once

#include <memory>
#include <string>

#include "fovea/cpu/conv2d_nhwc.hpp"
#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/cpu/sparse_gemm.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// The problems the sparse kernels take: those of the dense NHWC pointwise kernel.
inline bool conv2d_nhwc_pointwise_sparse_supports(const Conv2dProblem& problem) {
  return conv2d_nhwc_pointwise_supports(problem);
}

// Whether w [K, C] (row stride ldw) has at most 2 nonzeros in every group of 4 input channels.
inline bool is_2_4_sparse(int64_t k, int64_t c, const float* w, int64_t ldw) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t g = 0; g < c; g += 4) {
      int count = 0;
      for (int64_t j = g; j < std::min(g + 4, c); ++j)
        count += w[i * ldw + j] != 0.0f ? 1 : 0;
      if (count > 2) return false;
    }
  return true;
}

inline std::shared_ptr<const void> conv2d_nhwc_pointwise_csr_prepare(const Tensor<float>& weight,
                                                                     const Conv2dParams& cp) {
  return std::make_shared<SpmmWeightsCsr>(cp.k, cp.c, weight.data(), cp.c);
}
inline std::shared_ptr<const void> conv2d_nhwc_pointwise_2_4_prepare(const Tensor<float>& weight,
                                                                     const Conv2dParams& cp) {
  return std::make_shared<SpmmWeights24>(cp.k, cp.c, weight.data(), cp.c);
}

namespace detail {
template <class Weights>
Tensor<float> conv2d_nhwc_pointwise_sparse_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  spmm_nhwc(cp.n * cp.h * cp.w, call.x.data(), cp.c, *static_cast<const Weights*>(call.prepared),
            y.data(), cp.k, nhwc_epilogue(call));
  return y;
}
}  // namespace detail

inline Tensor<float> conv2d_nhwc_pointwise_csr_run(const Conv2dCall& call) {
  return detail::conv2d_nhwc_pointwise_sparse_run<SpmmWeightsCsr>(call);
}
inline Tensor<float> conv2d_nhwc_pointwise_2_4_run(const Conv2dCall& call) {
  return detail::conv2d_nhwc_pointwise_sparse_run<SpmmWeights24>(call);
}

inline std::string conv2d_nhwc_pointwise_csr_name() {
  return std::string("conv2d_f32_nhwc_pointwise_spmm_csr_") + kIsaName;
}
inline std::string conv2d_nhwc_pointwise_2_4_name() {
  return std::string("conv2d_f32_nhwc_pointwise_spmm_2_4_") + kIsaName;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu

namespace fovea {

enum class SparseKernelChoice {
  automatic,     // by measured sparsity, as described at the top of this file
  dense,         // always conv2d_fused
  unstructured,  // always the CSR kernel (any weights)
  two_four,      // always the 2:4 kernel (throws if the weights are not 2:4)
};

// What conv2d_nhwc_pointwise_sparse() keeps in a Conv2dPrepared slot: the kernel it chose and
// its packed weights.
struct SparsePointwisePrepared {
  std::string kernel;     // "" for dense
  bool two_four = false;  // the 2:4 kernel, else CSR (when kernel is not "")
  double sparsity = 0;
  std::shared_ptr<const void> weights;
  // For dense: the dense kernel's own slot, so its packed weights are kept too.
  std::shared_ptr<Conv2dPrepared> dense = std::make_shared<Conv2dPrepared>();
};

// The sparse kernel `choice` leads to for these weights of a 1×1 NHWC conv [K, C, 1, 1]: its
// name and packed weights, or an empty kernel name for dense.
inline SparsePointwisePrepared choose_sparse_pointwise(const Tensor<float>& weight,
                                                       const Conv2dParams& cp,
                                                       SparseKernelChoice choice) {
  SparsePointwisePrepared out;
  out.sparsity = 1.0 - cpu::weight_density(weight.data(), weight.numel());
  bool two_four = choice == SparseKernelChoice::two_four;
  bool csr = choice == SparseKernelChoice::unstructured;
  if (choice == SparseKernelChoice::automatic) {
    csr = out.sparsity >= cpu::kSpmmCrossoverSparsity;
    two_four =
        !csr && cpu::kSpmm24BeatsDense && cpu::is_2_4_sparse(cp.k, cp.c, weight.data(), cp.c);
  }
  out.two_four = two_four;
  if (two_four) {
    out.kernel = cpu::conv2d_nhwc_pointwise_2_4_name();
    out.weights = cpu::conv2d_nhwc_pointwise_2_4_prepare(weight, cp);
  } else if (csr) {
    out.kernel = cpu::conv2d_nhwc_pointwise_csr_name();
    out.weights = cpu::conv2d_nhwc_pointwise_csr_prepare(weight, cp);
  }
  return out;
}

// conv2d_fused for a 1×1 stride-1 unpadded ungrouped conv on an NHWC input, on a sparse kernel
// when `choice` (and, for automatic, the measured sparsity) says so, else on conv2d_fused.
// `prepared`, when given, keeps the choice and the packed weights between calls (reset() it
// when the weights change, as nn::Conv2d does). last_kernel("conv2d") names what ran.
inline Tensor<float> conv2d_nhwc_pointwise_sparse(
    const Tensor<float>& x, const Tensor<float>& weight, const Tensor<float>& bias,
    const Conv2dAttrs& attrs, const Conv2dEpilogue& epilogue, Conv2dPrepared* prepared = nullptr,
    SparseKernelChoice choice = SparseKernelChoice::automatic) {
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  const Tensor<float>* residual = epilogue.residual;
  const Conv2dProblem problem{cp, x.layout(),
                              residual != nullptr ? residual->layout() : x.layout()};
  if (choice == SparseKernelChoice::dense || kernel_policy() == KernelPolicy::reference_only ||
      !cpu::conv2d_nhwc_pointwise_sparse_supports(problem))
    return conv2d_fused(x, weight, bias, attrs, epilogue, prepared);
  FOVEA_CHECK(bias.empty() || bias.shape() == Shape{cp.k}, "conv2d bias must be [", cp.k, "], got ",
              bias.shape());
  FOVEA_CHECK(residual == nullptr || residual->shape() == cp.output_shape(),
              "conv2d residual must have the output's shape ", cp.output_shape(), ", got ",
              residual->shape());
  const auto make = [&] {
    return std::static_pointer_cast<const void>(
        std::make_shared<SparsePointwisePrepared>(choose_sparse_pointwise(weight, cp, choice)));
  };
  // The slot is keyed by the choice, so that switching choice re-measures.
  // (Static names: an inference forward allocates nothing.)
  static const std::string keys[] = {
      "conv2d_nhwc_pointwise_sparse/automatic", "conv2d_nhwc_pointwise_sparse/dense",
      "conv2d_nhwc_pointwise_sparse/unstructured", "conv2d_nhwc_pointwise_sparse/two_four"};
  const std::string& key = keys[static_cast<int>(choice)];
  const std::shared_ptr<const void> held =
      prepared != nullptr ? prepared->get_or_make(key, make) : make();
  const auto& sp = *static_cast<const SparsePointwisePrepared*>(held.get());
  if (sp.kernel.empty()) return conv2d_fused(x, weight, bias, attrs, epilogue, sp.dense.get());
  record_kernel("conv2d", sp.kernel);
  const Conv2dCall call{x, weight, bias, cp, epilogue, sp.weights.get()};
  return sp.two_four ? cpu::conv2d_nhwc_pointwise_2_4_run(call)
                     : cpu::conv2d_nhwc_pointwise_csr_run(call);
}

}  // namespace fovea
