// INT8 implicit-GEMM convolution on integer tensor cores: mma.sync m16n8k32 with u8 activations
// (row-major A) and s8 weights (column-major B, i.e. weight rows), int32 accumulators.
//
// The GEMM (groups == 1, so one per conv):  Y[m, k] = Σ_kk A[m, kk] · B[kk, k]  with
//   m  = (n·P + p)·Q + q                              an output pixel (a row of the NHWC output)
//   kk = (r·S + s)·C + c                              the reduction, channels innermost
//   A[m, kk] = x[n, p·stride_h − pad_top + r·dil_h, q·stride_w − pad_left + s·dil_w, c], and the
//              input zero point where the tap falls in the padding
//   B[kk, k] = packed_weight[k·row_length + kk]       zeros past R·S·C and past K
// Padding reads as zp_x because the host folded −zp_x·Σw into the bias: Σ x·w over every tap,
// padded ones included, plus that bias is exactly bias_q + Σ (x − zp_x)·w. Only u8 × s8 products
// and int32 sums are formed, so the sum is exact whatever the order.
//
// Block: Tile::kM pixels x Tile::kN channels (128x128 with 8 warps of 64x32, or 64x64 with 4
// warps of 32x32), the reduction in 64-byte slices. Each 16-byte chunk of a slice lies inside
// one (r, s) tap because C % 16 == 0 (the launcher's condition for this path), so one cp.async
// moves it, and a chunk in the padding is a plain 16-byte store of zp_x. A kStages-deep
// cp.async pipeline keeps kStages − 1 slices in flight while the tensor cores work. Shared rows
// are 64 + 16 bytes: 16-byte aligned for cp.async and ldmatrix, and the 8 rows one ldmatrix
// phase reads fall in 8 different 16-byte bank groups (80·i mod 128 covers them all), so the
// fragment loads are conflict-free without a swizzle.
//
// Levels: launch_qconv2d_imma (host) -> qconv2d_imma_kernel (static __global__ entry) ->
// ImmaConvBlock (tile functions). Instantiated only in instances/qconv2d_imma_u8s8.cu.
#pragma once

#include <cstdint>

#include "common/check.hpp"
#include "quant/qconv_epilogue.cuh"
#include "quant/qconv_launch.hpp"
#include "quant/qconv_problem.hpp"

namespace fovea::cuda::detail {

// --- PTX wrappers (sm_80+) ---

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, bypassing L1 (.cg): each input chunk is used by one block once.
__device__ __forceinline__ void cp_async_16(void* shared, const void* global) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(shared)),
               "l"(global)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
// Waits until at most `Pending` of this thread's committed groups are still in flight.
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

// Four 8x8 b16 matrices (each 8 rows of 16 bytes; lanes 8i..8i+7 give matrix i's row addresses).
// Lane l receives the 4 bytes at row l/4, bytes 4·(l%4).. of each matrix: for 8-bit data that is
// exactly the m16n8k32 fragment layout of A (row-major) and B (column-major).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&d)[4], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
               : "r"(shared_address(row_address)));
}

// acc += A (16x32 u8, row-major) · B (32x8 s8, column-major). No .satfinite: int32 wraps, and
// the final sum fits (fovea/quant/scheme.hpp, kMaxReduction).
__device__ __forceinline__ void mma_u8s8_m16n8k32(int32_t (&acc)[4], const uint32_t (&a)[4],
                                                  uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+r"(acc[0]), "+r"(acc[1]), "+r"(acc[2]), "+r"(acc[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// --- the block ---

template <class Out, class Tile>
struct ImmaConvBlock {
  static constexpr int kChunk = 16;  // bytes per cp.async
  static constexpr int kLd = Tile::kK + kChunk;
  static constexpr int kChunksPerRow = Tile::kK / kChunk;
  static constexpr int kRowsPerPass = Tile::kThreads / kChunksPerRow;
  static constexpr int kAChunks = Tile::kM / kRowsPerPass;  // chunks of A per thread per slice
  static constexpr int kBChunks = Tile::kN / kRowsPerPass;
  static constexpr int kTilesM = Tile::kWarpM / 16;  // m16 tiles per warp
  static constexpr int kTilesN = Tile::kWarpN / 8;   // n8 tiles per warp
  static constexpr int kABytes = Tile::kM * kLd;
  static constexpr int kStageBytes = (Tile::kM + Tile::kN) * kLd;
  static constexpr int kSharedBytes = Tile::kStages * kStageBytes;

  static_assert(Tile::kThreads % kChunksPerRow == 0, "threads must cover whole rows");
  static_assert(Tile::kM % kRowsPerPass == 0 && Tile::kN % kRowsPerPass == 0,
                "tile rows must split evenly over the threads");
  static_assert(kLd % 16 == 0 && kStageBytes % 128 == 0, "rows and stages stay 16-byte aligned");
  static_assert(Tile::kStages >= 2, "the pipeline needs a slice in flight");

  // Where one A row (an output pixel) reads the input from; fixed for the whole reduction.
  struct PixelSource {
    int64_t base = 0;  // offset of image n
    int ih0 = 0, iw0 = 0;
    bool valid = false;  // m < gemm_m
  };

  const QConvProblem& pr;
  uint8_t* const smem;
  const int block_m, block_n;
  const int chunk_row, chunk_col;  // this thread's first row in a slice and its byte column
  const int warp, lane;
  PixelSource pixels[kAChunks];
  int32_t acc[kTilesM][kTilesN][4];

  __device__ ImmaConvBlock(const QConvProblem& problem, uint8_t* shared)
      : pr(problem),
        smem(shared),
        block_m(static_cast<int>(blockIdx.x) * Tile::kM),
        block_n(static_cast<int>(blockIdx.y) * Tile::kN),
        chunk_row(static_cast<int>(threadIdx.x) / kChunksPerRow),
        chunk_col(static_cast<int>(threadIdx.x) % kChunksPerRow * kChunk),
        warp(static_cast<int>(threadIdx.x) / 32),
        lane(static_cast<int>(threadIdx.x) % 32) {}

  __device__ void run() {
    locate_rows();
#pragma unroll
    for (int i = 0; i < kTilesM; ++i)
#pragma unroll
      for (int j = 0; j < kTilesN; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          acc[i][j][e] = 0;

    const int k_tiles = pr.row_length / Tile::kK;
    // Prologue: slices 0 .. kStages−2 in flight. Every iteration commits one group (empty past
    // the end), so "slice kt has landed" is always "at most kStages−2 groups pending".
#pragma unroll
    for (int s = 0; s < Tile::kStages - 1; ++s) {
      if (s < k_tiles) load_slice(s, s);
      cp_async_commit();
    }
    for (int kt = 0; kt < k_tiles; ++kt) {
      cp_async_wait<Tile::kStages - 2>();
      // Slice kt is visible to all, and every warp is done with slice kt − 1, whose stage the
      // load below overwrites.
      __syncthreads();
      const int next = kt + Tile::kStages - 1;
      if (next < k_tiles) load_slice(next % Tile::kStages, next);
      cp_async_commit();
      multiply_slice(kt % Tile::kStages);
    }
    store_outputs();
  }

  __device__ void locate_rows() {
#pragma unroll
    for (int i = 0; i < kAChunks; ++i) {
      const int m = block_m + chunk_row + i * kRowsPerPass;
      PixelSource& src = pixels[i];
      src.valid = m < pr.gemm_m;
      if (!src.valid) continue;
      const int oq = m % pr.q;
      const int t = m / pr.q;
      const int op = t % pr.p;
      const int n = t / pr.p;
      src.base = static_cast<int64_t>(n) * pr.h * pr.w * pr.c;
      src.ih0 = op * pr.stride_h - pr.pad_top;
      src.iw0 = oq * pr.stride_w - pr.pad_left;
    }
  }

  // Queues slice kt's A and B chunks into `stage`.
  __device__ void load_slice(int stage, int kt) {
    uint8_t* a = smem + stage * kStageBytes;
    uint8_t* b = a + kABytes;
    // This thread's chunks all share one reduction column, so one (r, s, c) decode serves them.
    const int kk = kt * Tile::kK + chunk_col;
    if (kk < pr.taps_length) {
      const int rs = kk / pr.c_packed;
      const int c = kk - rs * pr.c_packed;
      const int r = rs / pr.s;
      const int dh = r * pr.dilation_h, dw = (rs - r * pr.s) * pr.dilation_w;
      const uint32_t zp = zero_point_word(pr.input_zero_point);
#pragma unroll
      for (int i = 0; i < kAChunks; ++i) {
        // Rows past gemm_m are left as they are: integer garbage in accumulators that are
        // never stored is harmless.
        if (!pixels[i].valid) continue;
        uint8_t* dst = a + (chunk_row + i * kRowsPerPass) * kLd + chunk_col;
        const int ih = pixels[i].ih0 + dh, iw = pixels[i].iw0 + dw;
        if (ih >= 0 && ih < pr.h && iw >= 0 && iw < pr.w) {
          cp_async_16(dst,
                      pr.x + pixels[i].base + (static_cast<int64_t>(ih) * pr.w + iw) * pr.c + c);
        } else {
          *reinterpret_cast<uint4*>(dst) = make_uint4(zp, zp, zp, zp);
        }
      }
    }
    // Past taps_length the weights are zero, so whatever A holds there adds nothing; B is
    // always in bounds (rows padded to kImmaRowPadding, row_length to kK).
#pragma unroll
    for (int i = 0; i < kBChunks; ++i) {
      const int row = chunk_row + i * kRowsPerPass;
      cp_async_16(b + row * kLd + chunk_col,
                  pr.weight + static_cast<int64_t>(block_n + row) * pr.row_length + kk);
    }
  }

  __device__ int warp_row() const {
    return warp / Tile::kWarpsN * Tile::kWarpM;
  }
  __device__ int warp_col() const {
    return warp % Tile::kWarpsN * Tile::kWarpN;
  }

  // acc += this warp's piece of the A slice x B slice, two k32 steps.
  __device__ void multiply_slice(int stage) {
    const uint8_t* a = smem + stage * kStageBytes;
    const uint8_t* b = a + kABytes;
    const int row0 = warp_row(), col0 = warp_col();
    // ldmatrix.x4 row addresses. A tile i: matrices (rows 0-7 | 8-15) x (bytes 0-15 | 16-31) in
    // the order a0 a1 a2 a3. B tiles j, j+1: (tile j | j+1) x (bytes 0-15 | 16-31) in the order
    // b[j][0] b[j][1] b[j+1][0] b[j+1][1].
    const int a_row = lane % 8 + (lane / 8) % 2 * 8, a_col = lane / 16 * 16;
    const int b_row = lane % 8 + lane / 16 * 8, b_col = (lane / 8) % 2 * 16;
#pragma unroll
    for (int ks = 0; ks < Tile::kK; ks += 32) {
      uint32_t af[kTilesM][4];
      uint32_t bf[kTilesN][2];
#pragma unroll
      for (int i = 0; i < kTilesM; ++i)
        ldmatrix_x4(af[i], a + (row0 + i * 16 + a_row) * kLd + ks + a_col);
#pragma unroll
      for (int j = 0; j < kTilesN; j += 2) {
        uint32_t d[4];
        ldmatrix_x4(d, b + (col0 + j * 8 + b_row) * kLd + ks + b_col);
        bf[j][0] = d[0], bf[j][1] = d[1], bf[j + 1][0] = d[2], bf[j + 1][1] = d[3];
      }
#pragma unroll
      for (int i = 0; i < kTilesM; ++i)
#pragma unroll
        for (int j = 0; j < kTilesN; ++j)
          mma_u8s8_m16n8k32(acc[i][j], af[i], bf[j][0], bf[j][1]);
    }
  }

  // Accumulator e of tile (i, j) is pixel row0 + 16i + lane/4 (+ 8 for e >= 2) and channel
  // col0 + 8j + 2·(lane%4) + e%2. Each goes through the shared epilogue straight to global
  // memory; the bytes a warp writes per tile are 16 rows x 8 channels.
  __device__ void store_outputs() {
    const int row0 = block_m + warp_row() + lane / 4;
    const int col0 = block_n + warp_col() + lane % 4 * 2;
#pragma unroll
    for (int i = 0; i < kTilesM; ++i) {
#pragma unroll
      for (int j = 0; j < kTilesN; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int m = row0 + i * 16 + e / 2 * 8;
          const int k = col0 + j * 8 + e % 2;
          if (m < pr.gemm_m && k < pr.k)
            store_qconv_output<Out>(pr, acc[i][j][e], k, static_cast<int64_t>(m) * pr.k + k);
        }
      }
    }
  }
};

template <class Out, class Tile>
static __global__ void __launch_bounds__(Tile::kThreads)
    qconv2d_imma_kernel(const QConvProblem problem) {
  extern __shared__ __align__(128) uint8_t qconv_imma_smem[];
  ImmaConvBlock<Out, Tile> block(problem, qconv_imma_smem);
  block.run();
}

template <class Out, class Tile>
void launch_qconv2d_imma(const QConvProblem& problem, cudaStream_t stream) {
  using Block = ImmaConvBlock<Out, Tile>;
  // The large tile's pipeline needs more than the 48 KB a block gets without asking. The
  // attribute is per device and cheap to set, so it is set on every launch.
  FOVEA_CUDA_CHECK(cudaFuncSetAttribute(qconv2d_imma_kernel<Out, Tile>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        Block::kSharedBytes));
  const dim3 grid(static_cast<unsigned>((problem.gemm_m + Tile::kM - 1) / Tile::kM),
                  static_cast<unsigned>((problem.k + Tile::kN - 1) / Tile::kN));
  qconv2d_imma_kernel<Out, Tile><<<grid, Tile::kThreads, Block::kSharedBytes, stream>>>(problem);
  FOVEA_CUDA_CHECK_LAUNCH("qconv2d_imma_kernel");
}

}  // namespace fovea::cuda::detail
