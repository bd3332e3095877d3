// 2:4 sparse GEMM on the sparse tensor cores (include/fovea/cuda/sparse_gemm.hpp):
//   Y [P, K] = act(X [P, C] · Wᵀ + bias)
// computed as D = A · B with A = W (16 × 32 per mma, 2:4 along C, so 16 × 16 stored plus
// metadata), B = Xᵀ (X's rows are B's columns: the ".col" layout) and D = Yᵀ.
//
// Levels (STYLE.md pattern 5): the launcher (sparse_gemm_2_4_into) checks shapes and picks the
// grid; the entry kernel maps a block to a 32-channel × 64-pixel tile of Y and each of its four
// warps to 16 channels × 32 pixels (four m16n8k32 n-tiles); the warp tile walks C in steps of
// 32, one A fragment, one metadata word and four B fragments per step, straight from global
// memory (L1/L2 cached), each lane holding the PTX ISA's fragment elements:
//   lane = 4q + t;  A: rows q and q + 8, compressed columns 2t, 2t + 1 and 2t + 8, 2t + 9;
//   B: column (pixel) q, rows (channels) 2t, 2t + 1 (+ 8, 16, 24);  D: rows q and q + 8,
//   columns (pixels) 2t, 2t + 1.
// No shared-memory staging or cp.async pipeline yet: this is the correctness baseline for the
// format; the dense implicit-GEMM kernel's tiling is the model for the fast version.
#include <cuda_fp16.h>

#include <cstdint>

#include "common/activation.cuh"
#include "common/check.hpp"
#include "fovea/cuda/sparse_gemm.hpp"

namespace fovea::cuda {
namespace {

constexpr int kWarpsM = 2, kWarpsN = 2;
constexpr int kBlockM = 16 * kWarpsM;  // output channels per block
constexpr int kWarpPixels = 32;        // four n-tiles of 8
constexpr int kBlockN = kWarpPixels * kWarpsN;
constexpr int kThreads = 32 * kWarpsM * kWarpsN;

// D += A · B on the sparse tensor cores, metadata `e` from lanes 4q and 4q + 1 (selector 0).
// ::ordered_metadata (PTX ISA 8.5) asks that each group's two positions be increasing, which
// the packing guarantees; ptxas advises it over plain .sp, whose metadata handling may be slower
// on later architectures.
__device__ __forceinline__ void mma_sp_m16n8k32(float (&d)[4], const uint32_t (&a)[4],
                                                const uint32_t (&b)[4], uint32_t e) {
  asm volatile(
      "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, %12, 0x0;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]),
        "r"(e));
}

// Two consecutive halves of row `p` from column `col` as one register (the first in the low
// half); zero past the rows or columns.
__device__ __forceinline__ uint32_t load_pair(const __half* x, int p, int pixels, int c, int col,
                                              bool aligned_pairs) {
  if (p >= pixels) return 0u;
  const __half* row = x + static_cast<size_t>(p) * c;
  if (aligned_pairs && col + 1 < c) return *reinterpret_cast<const uint32_t*>(row + col);
  const uint16_t lo = col < c ? __half_as_ushort(row[col]) : uint16_t{0};
  const uint16_t hi = col + 1 < c ? __half_as_ushort(row[col + 1]) : uint16_t{0};
  return uint32_t(lo) | (uint32_t(hi) << 16);
}

__global__ static void __launch_bounds__(kThreads)
    sparse_gemm_2_4_f16_f32acc_kernel(const __half* __restrict__ x, int pixels, int c,
                                      const __half* __restrict__ values,
                                      const uint32_t* __restrict__ meta, int k, int k_padded,
                                      int c_padded, const float* __restrict__ bias,
                                      ActivationKind act, __half* __restrict__ y) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int q = lane / 4, t = lane % 4;
  const int tile = blockIdx.y * kWarpsM + warp % kWarpsM;  // 16-row tile of W
  const int k0 = tile * 16;
  const int p0 = blockIdx.x * kBlockN + (warp / kWarpsM) * kWarpPixels;
  if (k0 >= k_padded) return;  // no block-wide synchronization below
  const int steps = c_padded / 32, half_cols = c_padded / 2;
  const bool aligned_pairs = c % 2 == 0;
  const __half* a0 = values + static_cast<size_t>(k0 + q) * half_cols + 2 * t;
  const __half* a8 = a0 + static_cast<size_t>(8) * half_cols;
  const uint32_t* e_ptr = meta + static_cast<size_t>(tile) * steps * 16 + q * 2 + (t & 1);
  float acc[4][4] = {};
  for (int s = 0; s < steps; ++s) {
    uint32_t a[4];
    a[0] = *reinterpret_cast<const uint32_t*>(a0 + 16 * s);
    a[1] = *reinterpret_cast<const uint32_t*>(a8 + 16 * s);
    a[2] = *reinterpret_cast<const uint32_t*>(a0 + 16 * s + 8);
    a[3] = *reinterpret_cast<const uint32_t*>(a8 + 16 * s + 8);
    const uint32_t e = e_ptr[static_cast<size_t>(s) * 16];
    const int col = 32 * s + 2 * t;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int p = p0 + 8 * j + q;
      uint32_t b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        b[i] = load_pair(x, p, pixels, c, col + 8 * i, aligned_pairs);
      mma_sp_m16n8k32(acc[j], a, b, e);
    }
  }
#pragma unroll
  for (int j = 0; j < 4; ++j) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int channel = k0 + q + 8 * (i / 2);
      const int p = p0 + 8 * j + 2 * t + (i % 2);
      if (channel >= k || p >= pixels) continue;
      float v = acc[j][i] + (bias != nullptr ? bias[channel] : 0.0f);
      v = detail::activate(act, v);
      y[static_cast<size_t>(p) * k + channel] = __float2half_rn(v);
    }
  }
}

}  // namespace

SparseGemm24Weights upload_sparse_gemm_2_4(const SparseGemm24Packed& packed, Stream stream) {
  SparseGemm24Weights w;
  w.k = packed.k, w.c = packed.c, w.k_padded = packed.k_padded, w.c_padded = packed.c_padded;
  Tensor<half> values(Shape{packed.k_padded, packed.c_padded / 2});
  std::copy(packed.values.begin(), packed.values.end(), values.data());
  Tensor<int32_t> meta(Shape{static_cast<int64_t>(packed.meta.size())});
  for (size_t i = 0; i < packed.meta.size(); ++i)
    meta.data()[i] = static_cast<int32_t>(packed.meta[i]);
  w.values = DeviceTensor<half>::from_host(values, stream);
  w.meta = DeviceTensor<int32_t>::from_host(meta, stream);
  return w;
}

void sparse_gemm_2_4_into(const DeviceTensor<half>& x, const SparseGemm24Weights& w,
                          const DeviceTensor<float>* bias, ActivationKind activation,
                          DeviceTensor<half>& y, Stream stream) {
  int64_t pixels = 0;
  if (x.rank() == 2) {
    FOVEA_CHECK(x.dim(1) == w.c, "2:4 sparse GEMM input must be [P, ", w.c, "], got ", x.shape());
    FOVEA_CHECK((y.shape() == Shape{x.dim(0), w.k}), "2:4 sparse GEMM output must be [", x.dim(0),
                ", ", w.k, "], got ", y.shape());
    pixels = x.dim(0);
  } else {
    FOVEA_CHECK(x.rank() == 4 && x.layout() == Layout::nhwc && x.dim(1) == w.c,
                "2:4 sparse GEMM input must be [P, C] or NHWC [N, ", w.c, ", H, W], got ",
                x.shape());
    FOVEA_CHECK(
        (y.layout() == Layout::nhwc && y.shape() == Shape{x.dim(0), w.k, x.dim(2), x.dim(3)}),
        "2:4 sparse GEMM output must be NHWC [", x.dim(0), ", ", w.k, ", ", x.dim(2), ", ",
        x.dim(3), "], got ", y.shape());
    pixels = x.dim(0) * x.dim(2) * x.dim(3);
  }
  FOVEA_CHECK(bias == nullptr || bias->shape() == Shape{w.k}, "2:4 sparse GEMM bias must be [", w.k,
              "], got ", bias->shape());
  FOVEA_CHECK(pixels * w.c < (int64_t{1} << 31) && pixels * w.k < (int64_t{1} << 31) &&
                  w.k_padded * w.c_padded < (int64_t{1} << 31),
              "2:4 sparse GEMM: sizes past 32-bit indexing");
  if (pixels == 0 || w.k == 0) return;
  const dim3 grid(static_cast<unsigned>((pixels + kBlockN - 1) / kBlockN),
                  static_cast<unsigned>((w.k_padded + kBlockM - 1) / kBlockM));
  sparse_gemm_2_4_f16_f32acc_kernel<<<grid, kThreads, 0, detail::native(stream)>>>(
      reinterpret_cast<const __half*>(x.data()), static_cast<int>(pixels), static_cast<int>(w.c),
      reinterpret_cast<const __half*>(w.values.data()),
      reinterpret_cast<const uint32_t*>(w.meta.data()), static_cast<int>(w.k),
      static_cast<int>(w.k_padded), static_cast<int>(w.c_padded),
      bias != nullptr ? bias->data() : nullptr, activation, reinterpret_cast<__half*>(y.data()));
  FOVEA_CUDA_CHECK_LAUNCH("sparse_gemm_2_4_f16_f32acc_kernel");
}

}  // namespace fovea::cuda
