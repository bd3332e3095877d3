// Implicit-GEMM convolution on tensor cores (nvcuda::wmma), NHWC activations, KRSC weights.
//
// Per group g, the conv is the GEMM  Y[m, j] = sum over kk of A[m, kk] * B[kk, j]  with
//   m  = (n * P + p) * Q + q                         an output pixel (row of the NHWC output)
//   j  = output channel within the group             (k = g * k_per_group + j)
//   kk = (r * S + s) * c_per_group + c               the reduction, channels innermost
//   A[m, kk] = x[n, p*stride_h - pad_top + r*dilation_h, q*stride_w - pad_left + s*dilation_w,
//                g * c_per_group + c]   (zero outside the image)
//   B[kk, j] = weight[k, r, s, c] = weight_flat[k * gemm_k + kk]
// A block computes a Tile::kM x Tile::kN piece of Y for one group (grid z), staging kK-wide
// slices of A (row-major) and B (column-major, i.e. weight rows) through shared memory. The
// next slice is fetched into registers while the tensor cores work on the current one.
//
// Levels: launch_implicit_gemm (host, below) -> conv2d_implicit_gemm_kernel (the __global__
// entry, static so each instance TU owns its copy) -> ImplicitGemmBlock (tile functions).
// Instantiated only from kernels/conv2d/instances/*.cu.
#pragma once

#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "common/check.hpp"
#include "common/element.cuh"
#include "conv2d/conv_problem.hpp"
#include "conv2d/epilogue.cuh"
#include "conv2d/tile_shapes.hpp"

namespace fovea::cuda::detail {

namespace wmma = nvcuda::wmma;

// The wmma operand type and reduction depth of one mma for each input type. FP32 tensors are
// multiplied as TF32 (10-bit mantissa) with FP32 accumulation.
template <class T>
struct MmaOperand;
template <>
struct MmaOperand<__half> {
  using Fragment = __half;
  static constexpr int kK = 16;
};
template <>
struct MmaOperand<__nv_bfloat16> {
  using Fragment = __nv_bfloat16;
  static constexpr int kK = 16;
};
template <>
struct MmaOperand<float> {
  using Fragment = wmma::precision::tf32;
  static constexpr int kK = 8;
};

template <class T, class Tile>
struct ImplicitGemmBlock {
  // Raw element bits: global loads move bits, never values, so padding zeros are exact.
  using Bits = std::conditional_t<sizeof(T) == 2, uint16_t, uint32_t>;
  static_assert(sizeof(T) == sizeof(Bits), "element types are 2 or 4 bytes");

  static constexpr int kVec = 16 / static_cast<int>(sizeof(T));  // elements per 16-byte load
  // Shared rows are padded by one vector: rows stay 16-byte aligned for the vector stores, every
  // 16-row fragment start stays 32-byte aligned for wmma, and rows shift across banks.
  static constexpr int kLd = Tile::kK + kVec;
  static constexpr int kChunksPerRow = Tile::kK / kVec;
  static constexpr int kRowsPerPass = Tile::kThreads / kChunksPerRow;
  static constexpr int kAChunks = Tile::kM / kRowsPerPass;  // 16-byte chunks of A per thread
  static constexpr int kBChunks = Tile::kN / kRowsPerPass;
  static constexpr int kMmaK = MmaOperand<T>::kK;
  static constexpr int kFragsM = Tile::kWarpM / 16, kFragsN = Tile::kWarpN / 16;

  static_assert(Tile::kK % kVec == 0 && Tile::kK % kMmaK == 0, "kK must hold whole vectors");
  static_assert(Tile::kThreads % kChunksPerRow == 0, "threads must cover whole rows");
  static_assert(Tile::kM % kRowsPerPass == 0 && Tile::kN % kRowsPerPass == 0,
                "tile rows must split evenly over the threads");
  static_assert((kLd * sizeof(T)) % 16 == 0 && (16 * kLd * sizeof(T)) % 32 == 0 &&
                    (kMmaK * sizeof(T)) % 32 == 0,
                "shared layout must keep vector stores and wmma loads aligned");

  struct alignas(16) Chunk {
    Bits v[kVec];
  };

  struct SharedStorage {
    alignas(128) T a[Tile::kM][kLd];  // A slice, row-major: [pixel][kk]
    alignas(128) T b[Tile::kN][kLd];  // B slice, column-major: [output channel][kk]
    alignas(128) float scratch[Tile::kWarps][16 * 16];  // one fragment per warp in the epilogue
  };

  // Where one A row (an output pixel) reads the input from; fixed for the whole reduction.
  struct PixelSource {
    int64_t base = 0;  // offset of image n, plus the group's first channel
    int ih0 = 0, iw0 = 0;
    bool valid = false;  // m < gemm_m
  };

  using FragA = wmma::fragment<wmma::matrix_a, 16, 16, kMmaK, typename MmaOperand<T>::Fragment,
                               wmma::row_major>;
  using FragB = wmma::fragment<wmma::matrix_b, 16, 16, kMmaK, typename MmaOperand<T>::Fragment,
                               wmma::col_major>;
  using FragC = wmma::fragment<wmma::accumulator, 16, 16, kMmaK, float>;

  const ConvProblem& problem;
  SharedStorage& smem;
  const int block_m, block_n, group;
  const int chunk_row, chunk_col;  // this thread's first row and its column in a slice
  PixelSource pixels[kAChunks];
  int64_t weight_rows[kBChunks];  // offset of each B row's weight row; -1 past k_per_group
  Chunk a_regs[kAChunks], b_regs[kBChunks];
  FragC acc[kFragsM][kFragsN];

  __device__ ImplicitGemmBlock(const ConvProblem& pr, SharedStorage& sm)
      : problem(pr),
        smem(sm),
        block_m(static_cast<int>(blockIdx.x) * Tile::kM),
        block_n(static_cast<int>(blockIdx.y) * Tile::kN),
        group(static_cast<int>(blockIdx.z)),
        chunk_row(static_cast<int>(threadIdx.x) / kChunksPerRow),
        chunk_col(static_cast<int>(threadIdx.x) % kChunksPerRow * kVec) {}

  __device__ void run() {
    locate_rows();
#pragma unroll
    for (int i = 0; i < kFragsM; ++i) {
#pragma unroll
      for (int j = 0; j < kFragsN; ++j)
        wmma::fill_fragment(acc[i][j], 0.0f);
    }
    const int k_tiles = (problem.gemm_k + Tile::kK - 1) / Tile::kK;
    load_slice(0);
    store_slice();
    __syncthreads();
    for (int kt = 0; kt < k_tiles; ++kt) {
      const bool more = kt + 1 < k_tiles;
      if (more) load_slice(kt + 1);  // in flight while the tensor cores run
      multiply_slice();
      __syncthreads();
      if (more) {
        store_slice();
        __syncthreads();
      }
    }
    store_outputs();
  }

  __device__ void locate_rows() {
    const ConvProblem& pr = problem;
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
      src.base = static_cast<int64_t>(n) * pr.h * pr.w * pr.c +
                 static_cast<int64_t>(group) * pr.c_per_group;
      src.ih0 = op * pr.stride_h - pr.pad_top;
      src.iw0 = oq * pr.stride_w - pr.pad_left;
    }
#pragma unroll
    for (int i = 0; i < kBChunks; ++i) {
      const int j = block_n + chunk_row + i * kRowsPerPass;
      weight_rows[i] =
          j < pr.k_per_group ? (static_cast<int64_t>(group) * pr.k_per_group + j) * pr.gemm_k : -1;
    }
  }

  // The input offset of A[pixel, kk], or -1 where the tap falls in the padding.
  __device__ int64_t input_offset(const PixelSource& src, int kk) const {
    const ConvProblem& pr = problem;
    const int c = kk % pr.c_per_group;
    const int rs = kk / pr.c_per_group;
    const int s = rs % pr.s;
    const int r = rs / pr.s;
    const int ih = src.ih0 + r * pr.dilation_h;
    const int iw = src.iw0 + s * pr.dilation_w;
    if (ih < 0 || ih >= pr.h || iw < 0 || iw >= pr.w) return -1;
    return src.base + (static_cast<int64_t>(ih) * pr.w + iw) * pr.c + c;
  }

  // Global memory -> registers for reduction slice kt.
  __device__ void load_slice(int kt) {
    const ConvProblem& pr = problem;
    const Bits* x = static_cast<const Bits*>(pr.x);
    const Bits* weight = static_cast<const Bits*>(pr.weight);
    const int kk0 = kt * Tile::kK + chunk_col;
#pragma unroll
    for (int i = 0; i < kAChunks; ++i) {
      Chunk& chunk = a_regs[i];
      reinterpret_cast<uint4&>(chunk) = make_uint4(0, 0, 0, 0);
      if (!pixels[i].valid) continue;
      if (pr.vector_loads) {
        // c_per_group % kVec == 0, so the kVec elements share one (r, s) and are contiguous,
        // and gemm_k % kVec == 0, so the chunk is wholly inside or wholly past the reduction.
        if (kk0 >= pr.gemm_k) continue;
        const int64_t offset = input_offset(pixels[i], kk0);
        if (offset >= 0)
          reinterpret_cast<uint4&>(chunk) = *reinterpret_cast<const uint4*>(x + offset);
      } else {
#pragma unroll
        for (int e = 0; e < kVec; ++e) {
          if (kk0 + e >= pr.gemm_k) break;
          const int64_t offset = input_offset(pixels[i], kk0 + e);
          if (offset >= 0) chunk.v[e] = x[offset];
        }
      }
    }
#pragma unroll
    for (int i = 0; i < kBChunks; ++i) {
      Chunk& chunk = b_regs[i];
      reinterpret_cast<uint4&>(chunk) = make_uint4(0, 0, 0, 0);
      if (weight_rows[i] < 0) continue;
      const Bits* row = weight + weight_rows[i];
      if (pr.vector_loads) {
        if (kk0 < pr.gemm_k)
          reinterpret_cast<uint4&>(chunk) = *reinterpret_cast<const uint4*>(row + kk0);
      } else {
        for (int e = 0; e < kVec && kk0 + e < pr.gemm_k; ++e)
          chunk.v[e] = row[kk0 + e];
      }
    }
  }

  // Registers -> shared memory.
  __device__ void store_slice() {
#pragma unroll
    for (int i = 0; i < kAChunks; ++i) {
      *reinterpret_cast<uint4*>(&smem.a[chunk_row + i * kRowsPerPass][chunk_col]) =
          reinterpret_cast<const uint4&>(a_regs[i]);
    }
#pragma unroll
    for (int i = 0; i < kBChunks; ++i) {
      *reinterpret_cast<uint4*>(&smem.b[chunk_row + i * kRowsPerPass][chunk_col]) =
          reinterpret_cast<const uint4&>(b_regs[i]);
    }
  }

  __device__ int warp_row() const {
    return static_cast<int>(threadIdx.x) / 32 / Tile::kWarpsN * Tile::kWarpM;
  }
  __device__ int warp_col() const {
    return static_cast<int>(threadIdx.x) / 32 % Tile::kWarpsN * Tile::kWarpN;
  }

  // acc += this warp's piece of A slice x B slice.
  __device__ void multiply_slice() {
    const int row0 = warp_row(), col0 = warp_col();
#pragma unroll
    for (int kk = 0; kk < Tile::kK; kk += kMmaK) {
      FragA a[kFragsM];
      FragB b[kFragsN];
#pragma unroll
      for (int i = 0; i < kFragsM; ++i) {
        wmma::load_matrix_sync(a[i], &smem.a[row0 + i * 16][kk], kLd);
        round_operand(a[i]);
      }
#pragma unroll
      for (int j = 0; j < kFragsN; ++j) {
        wmma::load_matrix_sync(b[j], &smem.b[col0 + j * 16][kk], kLd);
        round_operand(b[j]);
      }
#pragma unroll
      for (int i = 0; i < kFragsM; ++i) {
#pragma unroll
        for (int j = 0; j < kFragsN; ++j)
          wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
      }
    }
  }

  // TF32 operands are loaded as float and must be rounded to TF32 before the mma.
  template <class Frag>
  __device__ static void round_operand(Frag& frag) {
    if constexpr (std::is_same_v<T, float>) {
      for (int t = 0; t < frag.num_elements; ++t)
        frag.x[t] = wmma::__float_to_tf32(frag.x[t]);
    }
  }

  // Each warp writes its fragments one at a time through its scratch tile, where every lane can
  // see which (m, j) an accumulator belongs to, and applies the epilogue on the way out.
  __device__ void store_outputs() {
    const ConvProblem& pr = problem;
    const int lane = static_cast<int>(threadIdx.x) % 32;
    float* scratch = smem.scratch[threadIdx.x / 32];
    const int row0 = block_m + warp_row(), col0 = block_n + warp_col();
#pragma unroll
    for (int i = 0; i < kFragsM; ++i) {
#pragma unroll
      for (int j = 0; j < kFragsN; ++j) {
        wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 16 * 16; e += 32) {
          const int m = row0 + i * 16 + e / 16;
          const int jj = col0 + j * 16 + e % 16;
          if (m >= pr.gemm_m || jj >= pr.k_per_group) continue;
          const int k = group * pr.k_per_group + jj;
          store_conv_output<T>(pr, scratch[e], k, static_cast<int64_t>(m) * pr.k + k);
        }
        __syncwarp();
      }
    }
  }
};

template <class T, class Tile>
static __global__ void __launch_bounds__(Tile::kThreads)
    conv2d_implicit_gemm_kernel(const ConvProblem problem) {
  using Block = ImplicitGemmBlock<T, Tile>;
  __shared__ typename Block::SharedStorage smem;
  Block block(problem, smem);
  block.run();
}

template <class T, class Tile>
void launch_implicit_gemm(const ConvProblem& problem, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((problem.gemm_m + Tile::kM - 1) / Tile::kM),
                  static_cast<unsigned>((problem.k_per_group + Tile::kN - 1) / Tile::kN),
                  static_cast<unsigned>(problem.groups));
  conv2d_implicit_gemm_kernel<T, Tile><<<grid, Tile::kThreads, 0, stream>>>(problem);
  FOVEA_CUDA_CHECK_LAUNCH("conv2d_implicit_gemm_kernel");
}

}  // namespace fovea::cuda::detail
