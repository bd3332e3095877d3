// Convolutions computed as GEMM, NCHW, one GEMM per image and group:
//   Y[k, p·q] = W[k, c·r·s] · X'[c·r·s, p·q]  (+ bias, residual, activation in the epilogue)
// The 1×1 stride-1 unpadded case needs no X': the image itself is X' (pointwise kernel). Every
// other case builds X' with im2col first. W is packed into GEMM panels by prepare(), which a
// layer runs once and caches.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// One packed GEMM A operand per group: rows k of the group, columns (c, r, s).
struct PackedConv2dWeights {
  std::vector<PackedMatrixA> groups;
};

inline std::shared_ptr<const void> pack_conv2d_weights(const Tensor<float>& weight,
                                                       const Conv2dParams& cp) {
  auto packed = std::make_shared<PackedConv2dWeights>();
  const int64_t kg = cp.k_per_group(), depth = cp.c_per_group() * cp.r * cp.s;
  for (int64_t g = 0; g < cp.groups(); ++g)
    packed->groups.emplace_back(kg, depth, weight.data() + g * kg * depth, depth, 1);
  return packed;
}

namespace detail {

// The GEMM epilogue of group g of image n; `y_offset` is where that block starts in y.
inline GemmEpilogue conv_gemm_epilogue(const Conv2dCall& call, int64_t g, int64_t y_offset) {
  GemmEpilogue e;
  const int64_t kg = call.params.k_per_group();
  if (!call.bias.empty()) e.row_bias = call.bias.data() + g * kg;
  if (call.epilogue.residual != nullptr) {
    e.residual = call.epilogue.residual->data() + y_offset;
    e.ld_residual = call.params.p * call.params.q;
  }
  e.act = call.epilogue.act;
  return e;
}

// How many threads take whole images of a conv: all of them when there are at least two
// images each (one loop per layer, and every GEMM runs unsplit on its thread), else 1, and each
// image's GEMM is split into tiles across the threads instead.
inline int threads_over_images(const Conv2dParams& cp) {
  const int threads = threads_available();
  return threads > 1 && cp.n >= 2 * int64_t(threads) ? threads : 1;
}

// The GEMM for each image and group, given where group g of image n reads its B operand.
template <class BOperand>
Tensor<float> conv_as_gemm(const Conv2dCall& call, BOperand b_operand) {
  const Conv2dParams& cp = call.params;
  const auto& packed = *static_cast<const PackedConv2dWeights*>(call.prepared);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape());
  const int64_t pq = cp.p * cp.q, kg = cp.k_per_group();
  const auto image = [&](int64_t n) {
    for (int64_t g = 0; g < cp.groups(); ++g) {
      const int64_t y_offset = (n * cp.k + g * kg) * pq;
      gemm_packed_a(packed.groups[static_cast<size_t>(g)], pq, b_operand(n, g), pq, 1,
                    y.data() + y_offset, pq, conv_gemm_epilogue(call, g, y_offset));
    }
  };
  if (threads_over_images(cp) > 1) {
    parallel_for(0, cp.n, image);
  } else {
    for (int64_t n = 0; n < cp.n; ++n)
      image(n);
  }
  return y;
}

// Row (c, r, s) of X' for one image: x[c, p*stride - pad + r*dil, q*stride - pad + s*dil] over
// all (p, q), zero outside the image.
inline void im2col_row(const float* plane, const Conv2dParams& cp, int64_t r, int64_t s,
                       float* dst) {
  const Conv2dAttrs& a = cp.attrs;
  // Output columns q whose input column lies inside the image: q in [q_lo, q_hi).
  const int64_t offset_w = s * a.dilation_w - a.pad_left;
  int64_t q_lo = offset_w >= 0 ? 0 : (-offset_w + a.stride_w - 1) / a.stride_w;
  int64_t q_hi = cp.w - offset_w <= 0 ? 0 : (cp.w - offset_w + a.stride_w - 1) / a.stride_w;
  q_lo = std::min(q_lo, cp.q);
  q_hi = std::clamp(q_hi, q_lo, cp.q);
  for (int64_t p = 0; p < cp.p; ++p, dst += cp.q) {
    const int64_t ih = p * a.stride_h - a.pad_top + r * a.dilation_h;
    if (ih < 0 || ih >= cp.h) {
      std::fill(dst, dst + cp.q, 0.0f);
      continue;
    }
    const float* src = plane + ih * cp.w + offset_w;
    std::fill(dst, dst + q_lo, 0.0f);
    if (a.stride_w == 1) {
      std::memcpy(dst + q_lo, src + q_lo, static_cast<size_t>(q_hi - q_lo) * sizeof(float));
    } else {
      for (int64_t q = q_lo; q < q_hi; ++q)
        dst[q] = src[q * a.stride_w];
    }
    std::fill(dst + q_hi, dst + cp.q, 0.0f);
  }
}

}  // namespace detail

// 1×1, stride 1, no padding: the image is already the B operand.
inline bool conv2d_pointwise_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  const Conv2dAttrs& a = cp.attrs;
  return problem.input_layout == Layout::nchw && problem.residual_layout == Layout::nchw &&
         cp.r == 1 && cp.s == 1 && a.stride_h == 1 && a.stride_w == 1 && a.pad_top == 0 &&
         a.pad_left == 0 && a.pad_bottom == 0 && a.pad_right == 0;
}

inline Tensor<float> conv2d_pointwise_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  const float* x = call.x.data();
  return detail::conv_as_gemm(call, [&](int64_t n, int64_t g) {
    return x + (n * cp.c + g * cp.c_per_group()) * cp.h * cp.w;
  });
}

// Any NCHW convolution: im2col into a scratch X', then GEMM.
inline bool conv2d_im2col_supports(const Conv2dProblem& problem) {
  return problem.input_layout == Layout::nchw && problem.residual_layout == Layout::nchw;
}

inline Tensor<float> conv2d_im2col_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  const int64_t cg = cp.c_per_group(), rs = cp.r * cp.s, pq = cp.p * cp.q;
  // One X' per thread that has an image of its own.
  const int64_t per_thread = cg * rs * pq;
  const bool by_image = detail::threads_over_images(cp) > 1;
  AlignedBuffer columns(per_thread * (by_image ? num_threads() : 1));
  const float* x = call.x.data();
  return detail::conv_as_gemm(call, [&](int64_t n, int64_t g) {
    const float* image = x + (n * cp.c + g * cg) * cp.h * cp.w;
    float* dst = columns.data() + (by_image ? ThreadPool::thread_index() : 0) * per_thread;
    parallel_for(0, cg * rs, [&](int64_t row) {
      const int64_t c = row / rs, r = (row % rs) / cp.s, s = row % cp.s;
      detail::im2col_row(image + c * cp.h * cp.w, cp, r, s, dst + row * pq);
    });
    return static_cast<const float*>(dst);
  });
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
