// 2:4 sparse GEMM on the sparse tensor cores (mma.sp, sm_80 and later; built for sm_90): the
// pointwise (1×1 conv, NHWC rows) or linear layer
//
//   Y [P, K] = act(X [P, C] · Wᵀ + bias),   X, Y half; W half, 2:4 along C; f32 accumulation
//
// with W pruned 2:4 (prune/sparse/mask.hpp, mask_2_4). An explicit API beside the dense
// kernels, never chosen by them: the caller packs the weights once (pack_sparse_gemm_2_4, on
// the host, no device needed) and uploads them.
//
// Packed form, per 16-row tile of W and 32-column step of C (the shape of one
// mma.sp.m16n8k32 A operand):
//   values  [K16, C32 / 2] half: row k's kept values in column order, two per group of four
//           (the smaller position first); a group with fewer than two nonzeros keeps a zero.
//   meta    [K16 / 16, C32 / 32, 8, 2] uint32 (stored as int32): word (tile, step, q, h) holds
//           the 16-bit metadata of row q (low half) and row q + 8 (high half) for columns
//           [32·step + 16·h, +16): four groups, 4 bits each (lowest group in the lowest bits),
//           each the two kept positions (0–3) of its group, first in the low 2 bits. Lanes 4q
//           and 4q + 1 of a warp pass words h = 0 and 1 with sparsity selector 0, which is the
//           PTX ISA's layout for m16n8k32 .f16 metadata.
// K16 and C32 are K and C rounded up to 16 and 32 (padding rows and columns hold zeros), so C
// need not be a multiple of 4: the last group is padded with zero columns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/half.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/cuda/device_tensor.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea::cuda {

// The packed weights on the host (pack_sparse_gemm_2_4).
struct SparseGemm24Packed {
  int64_t k = 0, c = 0;                // W [K, C]
  int64_t k_padded = 0, c_padded = 0;  // to 16 and 32
  std::vector<half> values;            // [k_padded, c_padded / 2]
  std::vector<uint32_t> meta;          // [k_padded / 16, c_padded / 32, 8, 2]
};

// W [K, C] (a linear weight, or a 1×1 conv weight [K, C, 1, 1]) packed for the sparse tensor
// cores. Throws naming the output channel and columns when a group of 4 holds more than 2
// nonzeros.
inline SparseGemm24Packed pack_sparse_gemm_2_4(const Tensor<float>& weight) {
  FOVEA_CHECK(
      (weight.rank() == 2) || (weight.rank() == 4 && weight.dim(2) == 1 && weight.dim(3) == 1),
      "2:4 sparse GEMM weights must be [K, C] or [K, C, 1, 1], got ", weight.shape());
  SparseGemm24Packed p;
  p.k = weight.dim(0), p.c = weight.dim(1);
  p.k_padded = (p.k + 15) / 16 * 16, p.c_padded = (p.c + 31) / 32 * 32;
  const int64_t half_cols = p.c_padded / 2, steps = p.c_padded / 32;
  p.values.assign(static_cast<size_t>(p.k_padded * half_cols), half(0.0f));
  p.meta.assign(static_cast<size_t>(p.k_padded / 16 * steps * 16), 0u);
  const float* w = weight.data();
  for (int64_t row = 0; row < p.k_padded; ++row) {
    for (int64_t g = 0; g < p.c_padded / 4; ++g) {
      int kept[2] = {0, 1}, count = 0;
      for (int j = 0; j < 4; ++j) {
        const int64_t col = 4 * g + j;
        if (row >= p.k || col >= p.c || w[row * p.c + col] == 0.0f) continue;
        FOVEA_CHECK(count < 2, "2:4 sparse GEMM weights: output channel ", row, ", input channels ",
                    4 * g, "..", std::min(4 * g + 3, p.c - 1),
                    " hold more than 2 nonzeros (apply a 2:4 mask first)");
        kept[count++] = j;
      }
      // One nonzero: pair it with a free position, keeping the two in increasing order.
      if (count == 1) {
        if (kept[0] == 3) {
          kept[0] = 2, kept[1] = 3;
        } else {
          kept[1] = kept[0] + 1;
        }
      }
      for (int s = 0; s < 2; ++s) {
        const int64_t col = 4 * g + kept[s];
        const float v = row < p.k && col < p.c ? w[row * p.c + col] : 0.0f;
        p.values[static_cast<size_t>(row * half_cols + 2 * g + s)] = half(v);
      }
      // Group g: step g / 8, half (g % 8) / 4, position (g % 4) in the 16-bit word.
      const int64_t tile = row / 16, r = row % 16, step = g / 8, h = (g % 8) / 4;
      const uint32_t bits = uint32_t(kept[0] | (kept[1] << 2)) << (4 * (g % 4));
      uint32_t& word = p.meta[static_cast<size_t>(((tile * steps + step) * 8 + r % 8) * 2 + h)];
      word |= r < 8 ? bits : bits << 16;
    }
  }
  return p;
}

// The packed weights on the device.
struct SparseGemm24Weights {
  int64_t k = 0, c = 0, k_padded = 0, c_padded = 0;
  DeviceTensor<half> values;
  DeviceTensor<int32_t> meta;
};

SparseGemm24Weights upload_sparse_gemm_2_4(const SparseGemm24Packed& packed, Stream stream = {});

// y [P, K] = act(x [P, C] · Wᵀ + bias); bias [K] (float) or null. x is [P, C], or an NHWC
// [N, C, H, W] tensor read as N·H·W rows (then y must be NHWC [N, K, H, W]).
void sparse_gemm_2_4_into(const DeviceTensor<half>& x, const SparseGemm24Weights& w,
                          const DeviceTensor<float>* bias, ActivationKind activation,
                          DeviceTensor<half>& y, Stream stream = {});

}  // namespace fovea::cuda
