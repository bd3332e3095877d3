// INT8 implicit-GEMM convolution on CUDA cores with the four-way byte dot product (dp4a), for
// every shape the tensor-core path does not take: channel counts that are not a multiple of 16
// (a network's first conv, C = 3), grouped convs, misaligned tensors.
//
// Per group g the GEMM is  Y[m, j] = Σ_kk A[m, kk] · B[kk, j]  as in qconv2d_imma.cuh, with the
// reduction in 4-byte words: kk = (r·S + s)·c_packed + c, c_packed = C/groups rounded up to 4,
// and B the packed weight rows (zeros past C/groups and past R·S·c_packed). A padded tap reads as
// the input zero point, whose product the host's bias correction (−zp_x·Σw) cancels exactly.
//
// u8 x s8: CUDA's __dp4a has only the both-signed and both-unsigned overloads, but the PTX
// instruction it compiles to also takes mixed operands (dp4a.u32.s32: a as four u8, b as four
// s8, a signed int32 sum), so activations go in as they are: no shift to s8 and no 128·Σw
// correction. Every product and sum is an integer, so the result is exact in any order.
//
// Block: 64 pixels x 64 channels of one group, 256 threads each owning 4 pixels x 4 channels
// (16 accumulators), the reduction in 32-byte slices (8 words). Each thread fetches 2 words of A
// and 2 of B per slice into registers while the current slice is multiplied, then stores them to
// shared memory word-major ([word][pixel], rows of 68 words so the stores are conflict-free).
//
// Levels: launch_qconv2d_dp4a (host) -> qconv2d_dp4a_kernel (static __global__ entry) ->
// Dp4aConvBlock (tile functions). Instantiated only in qconv2d_int8.cu.
#pragma once

#include <cstdint>

#include "common/check.hpp"
#include "quant/qconv_epilogue.cuh"
#include "quant/qconv_launch.hpp"
#include "quant/qconv_problem.hpp"

namespace fovea::cuda::detail {

// c + Σ_i a.u8[i] · b.s8[i] (sm_61+).
__device__ __forceinline__ int32_t dp4a_u8s8(uint32_t a, uint32_t b, int32_t c) {
  int32_t d;
  asm("dp4a.u32.s32 %0, %1, %2, %3;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}

template <class Out>
struct Dp4aConvBlock {
  static constexpr int kM = kDp4aTileM, kN = kDp4aTileN;
  static constexpr int kWords = kDp4aSliceBytes / 4;
  static constexpr int kThreads = 256;
  static constexpr int kRowsPerPass = kThreads / kWords;  // 32
  static constexpr int kAWords = kM / kRowsPerPass;       // words of A per thread per slice
  static constexpr int kBWords = kN / kRowsPerPass;
  static constexpr int kLd = kM + 4;  // 68 words: 16-byte aligned rows, (4·word + row) % 32 banks
  static constexpr int kThreadsN = kN / 4;  // 16 threads across the channels

  static_assert(kM == kN, "one shared row stride serves A and B");
  static_assert(kThreads == (kM / 4) * (kN / 4), "each thread owns 4 x 4 outputs");

  struct SharedStorage {
    alignas(16) uint32_t a[kWords][kLd];  // [word][pixel]
    alignas(16) uint32_t b[kWords][kLd];  // [word][channel]
  };

  struct PixelSource {
    int64_t base = 0;  // offset of image n plus the group's first channel
    int ih0 = 0, iw0 = 0;
    bool valid = false;
  };

  const QConvProblem& pr;
  SharedStorage& smem;
  const int block_m, block_n, group;
  const int word, load_row;    // the word and first row this thread fetches
  const int pixel0, channel0;  // the 4 pixels and 4 channels this thread computes
  PixelSource pixels[kAWords];
  int64_t weight_rows[kBWords];  // offset of each fetched B row; -1 past k_per_group
  uint32_t a_regs[kAWords], b_regs[kBWords];
  int32_t acc[4][4];

  __device__ Dp4aConvBlock(const QConvProblem& problem, SharedStorage& shared)
      : pr(problem),
        smem(shared),
        block_m(static_cast<int>(blockIdx.x) * kM),
        block_n(static_cast<int>(blockIdx.y) * kN),
        group(static_cast<int>(blockIdx.z)),
        word(static_cast<int>(threadIdx.x) % kWords),
        load_row(static_cast<int>(threadIdx.x) / kWords),
        pixel0(static_cast<int>(threadIdx.x) / kThreadsN * 4),
        channel0(static_cast<int>(threadIdx.x) % kThreadsN * 4) {}

  __device__ void run() {
    locate_rows();
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
        acc[i][j] = 0;
    const int k_tiles = pr.row_length / kDp4aSliceBytes;
    load_slice(0);
    store_slice();
    __syncthreads();
    for (int kt = 0; kt < k_tiles; ++kt) {
      const bool more = kt + 1 < k_tiles;
      if (more) load_slice(kt + 1);  // in flight while this slice is multiplied
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
#pragma unroll
    for (int i = 0; i < kAWords; ++i) {
      const int m = block_m + load_row + i * kRowsPerPass;
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
    for (int i = 0; i < kBWords; ++i) {
      const int j = block_n + load_row + i * kRowsPerPass;
      weight_rows[i] = j < pr.k_per_group
                           ? (static_cast<int64_t>(group) * pr.k_per_group + j) * pr.row_length
                           : -1;
    }
  }

  // Global memory -> registers for reduction slice kt. Words past the taps, rows past gemm_m and
  // channels past k_per_group are zero (their products are either zero or never stored).
  __device__ void load_slice(int kt) {
    const int kk = kt * kDp4aSliceBytes + word * 4;
#pragma unroll
    for (int i = 0; i < kAWords; ++i)
      a_regs[i] = 0;
    if (kk < pr.taps_length) {
      // One (r, s, c) decode serves all of this thread's A words: they share the column.
      const int rs = kk / pr.c_packed;
      const int c = kk - rs * pr.c_packed;
      const int r = rs / pr.s;
      const int dh = r * pr.dilation_h, dw = (rs - r * pr.s) * pr.dilation_w;
#pragma unroll
      for (int i = 0; i < kAWords; ++i) {
        const PixelSource& src = pixels[i];
        if (!src.valid) continue;
        const int ih = src.ih0 + dh, iw = src.iw0 + dw;
        const bool inside = ih >= 0 && ih < pr.h && iw >= 0 && iw < pr.w;
        const int64_t offset = src.base + (static_cast<int64_t>(ih) * pr.w + iw) * pr.c + c;
        if (pr.word_loads) {
          // C/groups % 4 == 0 and C % 4 == 0: the word is 4 channels of one pixel, aligned.
          a_regs[i] = inside ? __ldg(reinterpret_cast<const uint32_t*>(pr.x + offset))
                             : zero_point_word(pr.input_zero_point);
        } else {
          uint32_t v = 0;
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            // Channels past C/groups have zero weights; reading them could leave the tensor.
            if (c + e >= pr.c_per_group) break;
            const uint32_t byte =
                inside ? pr.x[offset + e] : static_cast<uint32_t>(pr.input_zero_point);
            v |= byte << (8 * e);
          }
          a_regs[i] = v;
        }
      }
    }
#pragma unroll
    for (int i = 0; i < kBWords; ++i) {
      // Rows are 4-byte aligned (row_length % 32 == 0) and kk < row_length.
      b_regs[i] = weight_rows[i] < 0
                      ? 0u
                      : __ldg(reinterpret_cast<const uint32_t*>(pr.weight + weight_rows[i] + kk));
    }
  }

  __device__ void store_slice() {
#pragma unroll
    for (int i = 0; i < kAWords; ++i)
      smem.a[word][load_row + i * kRowsPerPass] = a_regs[i];
#pragma unroll
    for (int i = 0; i < kBWords; ++i)
      smem.b[word][load_row + i * kRowsPerPass] = b_regs[i];
  }

  __device__ void multiply_slice() {
#pragma unroll
    for (int w = 0; w < kWords; ++w) {
      const uint4 a = *reinterpret_cast<const uint4*>(&smem.a[w][pixel0]);
      const uint4 b = *reinterpret_cast<const uint4*>(&smem.b[w][channel0]);
      const uint32_t av[4] = {a.x, a.y, a.z, a.w};
      const uint32_t bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
          acc[i][j] = dp4a_u8s8(av[i], bv[j], acc[i][j]);
    }
  }

  __device__ void store_outputs() {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int m = block_m + pixel0 + i;
      if (m >= pr.gemm_m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int jj = block_n + channel0 + j;
        if (jj >= pr.k_per_group) continue;
        const int k = group * pr.k_per_group + jj;
        store_qconv_output<Out>(pr, acc[i][j], k, static_cast<int64_t>(m) * pr.k + k);
      }
    }
  }
};

template <class Out>
static __global__ void __launch_bounds__(Dp4aConvBlock<Out>::kThreads)
    qconv2d_dp4a_kernel(const QConvProblem problem) {
  using Block = Dp4aConvBlock<Out>;
  __shared__ typename Block::SharedStorage smem;
  Block block(problem, smem);
  block.run();
}

template <class Out>
void launch_qconv2d_dp4a(const QConvProblem& problem, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((problem.gemm_m + kDp4aTileM - 1) / kDp4aTileM),
                  static_cast<unsigned>((problem.k_per_group + kDp4aTileN - 1) / kDp4aTileN),
                  static_cast<unsigned>(problem.groups));
  qconv2d_dp4a_kernel<Out><<<grid, Dp4aConvBlock<Out>::kThreads, 0, stream>>>(problem);
  FOVEA_CUDA_CHECK_LAUNCH("qconv2d_dp4a_kernel");
}

}  // namespace fovea::cuda::detail
