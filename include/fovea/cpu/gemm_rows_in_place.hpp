// GEMM whose A rows are read in place, for channels-last (NHWC) convolutions:
//   C[M, N] = Σ_t A_t[M, K] · B_t[K, N], row i of A_t at a + offsets[t] + i * lda, B packed once.
//
// In NHWC a pixel's channels are contiguous, so a 1×1 convolution is one such GEMM with the
// pixels as rows (the whole batch is one matrix of N·H·W rows), the input channels as K and
// the output channels as columns; a k×k convolution sums one product per tap, A_t starting at
// the tap's offset in the (padded) image (conv2d_nhwc.hpp). Nothing is transposed or packed per
// call: the microkernel broadcasts A's values straight from the rows and loads B from panels
// packed at load time, in the order gemm_microkernel reads its B panels. The register tile and
// the epilogue (column bias, residual, activation) are gemm.hpp's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// B [K, N] in blocks of `depth` rows: for each block, for each kGemmNr-column panel, the
// block's rows of kGemmNr values (zero past N).
class PackedMatrixB {
 public:
  PackedMatrixB() = default;
  // Element (k, n) is read at b[k * row_stride + n * col_stride].
  PackedMatrixB(int64_t k, int64_t n, const float* b, int64_t row_stride, int64_t col_stride,
                int64_t depth)
      : k_(k),
        n_(n),
        depth_(depth),
        n_padded_((n + kGemmNr - 1) / kGemmNr * kGemmNr),
        data_(k * n_padded_) {
    float* dst = data_.data();
    for (int64_t pc = 0; pc < k_; pc += depth_) {
      const int64_t kc = std::min(depth_, k_ - pc);
      for (int64_t j0 = 0; j0 < n_; j0 += kGemmNr)
        for (int64_t kk = 0; kk < kc; ++kk)
          for (int64_t j = j0; j < j0 + kGemmNr; ++j)
            *dst++ = j < n_ ? b[(pc + kk) * row_stride + j * col_stride] : 0.0f;
    }
  }

  // This matrix with row k times scale[k]: a 1×1 conv's weights with each input channel scaled
  // (squeeze-and-excitation's gates, folded in). Its storage comes from the activation arena
  // when one is open.
  PackedMatrixB with_rows_scaled(const float* scale) const {
    PackedMatrixB scaled;
    scaled.k_ = k_, scaled.n_ = n_, scaled.depth_ = depth_, scaled.n_padded_ = n_padded_;
    scaled.data_.resize(k_ * n_padded_);
    const float* src = data_.data();
    float* dst = scaled.data_.data();
    for (int64_t pc = 0; pc < k_; pc += depth_) {
      const int64_t kc = std::min(depth_, k_ - pc);
      for (int64_t j0 = 0; j0 < n_; j0 += kGemmNr) {
        for (int64_t kk = 0; kk < kc; ++kk) {
          const Vec row_scale = Vec::broadcast(scale[pc + kk]);
          for (int j = 0; j < kGemmNv; ++j, src += Vec::kLanes, dst += Vec::kLanes)
            (Vec::load(src) * row_scale).store(dst);
        }
      }
    }
    return scaled;
  }

  int64_t rows() const { return k_; }
  int64_t cols() const { return n_; }
  int64_t depth() const { return depth_; }
  // The panel of columns [j0, j0 + kGemmNr) in the block of rows starting at pc.
  const float* panel(int64_t pc, int64_t j0) const {
    const int64_t kc = std::min(depth_, k_ - pc);
    return data_.data() + pc * n_padded_ + j0 * kc;
  }

 private:
  int64_t k_ = 0, n_ = 0, depth_ = 1, n_padded_ = 0;
  AlignedBuffer data_;
};

namespace detail {

// Exactly kRows rows (never read past them: the rows are the caller's image) × the first kNv
// vectors of B's panel, summed over `taps` products of kc each: A_t's row i at
// a + offsets[t] + i * lda, B_t's rows following B_{t-1}'s in the panel. Then stored by
// store_gemm_tile. With prefetch_b, each k also asks for the line at prefetch_b + k·kGemmNr: the
// same row of the next panel, so that one panel's FMAs cover the next one's trip from memory.
template <int kRows, int kNv>
FOVEA_ALWAYS_INLINE void gemm_rows_in_place_tile_body(const float* a, int64_t lda,
                                                      const int64_t* offsets, int64_t taps,
                                                      int64_t kc, const float* b, float* c,
                                                      int64_t ldc, bool first, int64_t cols,
                                                      const TileEpilogue* e,
                                                      const float* prefetch_b = nullptr) {
  Vec acc[kRows][kNv];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < kNv; ++j)
      acc[i][j] = Vec::zero();
  }
  for (int64_t t = 0; t < taps; ++t) {
    const float* at = a + offsets[t];
    for (int64_t kk = 0; kk < kc; ++kk) {
      if (prefetch_b != nullptr) __builtin_prefetch(prefetch_b + kk * kGemmNr);
      Vec bv[kNv];
#pragma GCC unroll 4
      for (int j = 0; j < kNv; ++j)
        bv[j] = Vec::load(b + j * Vec::kLanes);
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i) {
        const Vec ai = Vec::broadcast(at[i * lda + kk]);
#pragma GCC unroll 4
        for (int j = 0; j < kNv; ++j)
          acc[i][j] = fmadd(ai, bv[j], acc[i][j]);
      }
      b += kGemmNr;
    }
  }
  store_gemm_tile<kRows, kNv>(acc, c, ldc, first, kRows, cols, e);
}

#if defined(__AVX512F__)
// The same product for at most 8 columns, half a 16-lane vector. A row's tile of 8 columns in
// one vector would leave half of every FMA idle, so that a conv pruned from 16 to 8 output
// channels took as long as the unpruned one. Here each vector holds one row's 8 columns twice
// over, for an even k in lanes 2j and the next k in lanes 2j + 1: A's two values k and k + 1
// lie side by side in the row and come as one 8-byte broadcast, B's two rows are interleaved
// once per pair of k for all the tile's rows, and each FMA does 16 useful products. Lane pairs
// are summed when the tile is stored. An odd last k of a tap pairs with zeros.
template <int kRows>
FOVEA_ALWAYS_INLINE void gemm_rows_in_place_half_tile_body(const float* a, int64_t lda,
                                                           const int64_t* offsets, int64_t taps,
                                                           int64_t kc, const float* b, float* c,
                                                           int64_t ldc, bool first, int64_t cols,
                                                           const TileEpilogue* e) {
  // Lane 2j takes lane j of the first source, lane 2j + 1 lane j of the second.
  const __m512i interleave =
      _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512 acc[kRows];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i)
    acc[i] = _mm512_setzero_ps();
  for (int64_t t = 0; t < taps; ++t) {
    const float* at = a + offsets[t];
    int64_t kk = 0;
    for (; kk + 1 < kc; kk += 2) {
      const __m512 bv =
          _mm512_permutex2var_ps(_mm512_castps256_ps512(_mm256_loadu_ps(b)), interleave,
                                 _mm512_castps256_ps512(_mm256_loadu_ps(b + kGemmNr)));
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i) {
        double pair;  // A's values k and k + 1 of row i
        std::memcpy(&pair, at + i * lda + kk, sizeof pair);
        acc[i] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), bv, acc[i]);
      }
      b += 2 * kGemmNr;
    }
    if (kk < kc) {
      const __m512 bv = _mm512_permutex2var_ps(_mm512_castps256_ps512(_mm256_loadu_ps(b)),
                                               interleave, _mm512_setzero_ps());
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i)
        acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(at[i * lda + kk]), bv, acc[i]);
      b += kGemmNr;
    }
  }
  // Column j is lane 2j + lane 2j + 1, moved to lane j.
  const __m512i evens = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 14, 12, 10, 8, 6, 4, 2, 0);
  Vec out[kRows][1];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
    // The mask forms: GCC 12 warns of the unmasked ones' _mm512_undefined (simd.hpp).
    const __m512 sums = _mm512_add_ps(acc[i], _mm512_maskz_permute_ps(kAllLanes, acc[i], 0xB1));
    out[i][0] = Vec{_mm512_maskz_permutexvar_ps(kAllLanes, evens, sums)};
  }
  store_gemm_tile<kRows, 1>(out, c, ldc, first, kRows, cols, e);
}

template <int kRows>
FOVEA_NOINLINE void gemm_rows_in_place_half_microkernel(const float* a, int64_t lda,
                                                        const int64_t* offsets, int64_t taps,
                                                        int64_t kc, const float* b, float* c,
                                                        int64_t ldc, bool first, int64_t cols,
                                                        const TileEpilogue* e) {
  gemm_rows_in_place_half_tile_body<kRows>(a, lda, offsets, taps, kc, b, c, ldc, first, cols, e);
}

// Columns that fit half a vector take the paired kernel.
inline constexpr int64_t kHalfTileCols = Vec::kLanes / 2;
#else
inline constexpr int64_t kHalfTileCols = 0;  // no paired kernel: 8-lane vectors or narrower
#endif

// One tile, in a function of its own: a ragged last tile, a narrow last panel, and every tile
// of gemm_rows_in_place_tile's callers.
template <int kRows, int kNv>
FOVEA_NOINLINE void gemm_rows_in_place_microkernel(const float* a, int64_t lda,
                                                   const int64_t* offsets, int64_t taps, int64_t kc,
                                                   const float* b, float* c, int64_t ldc,
                                                   bool first, int64_t cols,
                                                   const TileEpilogue* e) {
  gemm_rows_in_place_tile_body<kRows, kNv>(a, lda, offsets, taps, kc, b, c, ldc, first, cols, e);
}

// The same rows × `panels` whole column panels in one call (one tap), B's panels b_stride
// floats apart. With K as short as 16 a tile is little work, and calling the microkernel once
// per tile cost as much again as the tile's FMAs. With prefetch_next, each panel prefetches the
// next (gemm_rows_in_place says when), and the last one the first, which the next row tile
// starts on. Prefetching past the last panel instead read 4 bytes · kc · kGemmNr of whatever
// memory follows B into L1 at every row tile; where that memory was unmapped each prefetch
// also walked the page tables in vain, and a 196 × 384 → 64 projection ran 4× slower.
template <int kRows>
FOVEA_NOINLINE void gemm_rows_in_place_panels(const float* a, int64_t lda, int64_t kc,
                                              const float* b, int64_t b_stride, float* c,
                                              int64_t ldc, bool first, int64_t panels,
                                              const TileEpilogue* e, bool prefetch_next) {
  static constexpr int64_t kNoOffset[] = {0};
  for (int64_t p = 0; p < panels; ++p) {
    TileEpilogue tile{};
    if (e != nullptr) {
      tile = *e;
      if (tile.col_bias != nullptr) tile.col_bias += p * kGemmNr;
      if (tile.residual != nullptr) tile.residual += p * kGemmNr;
    }
    const float* next = p + 1 < panels ? b + (p + 1) * b_stride : panels > 1 ? b : nullptr;
    gemm_rows_in_place_tile_body<kRows, kGemmNv>(
        a, lda, kNoOffset, 1, kc, b + p * b_stride, c + p * kGemmNr, ldc, first, kGemmNr,
        e != nullptr ? &tile : nullptr, prefetch_next ? next : nullptr);
  }
}

// `tiles` whole tiles of kGemmMr rows one after another down the rows (tile t's A rows
// t·kGemmMr·lda further on, its C and residual rows t·kGemmMr rows further on), one call: a
// direct conv's row of output pixels. The 3-channel stems (27 or 147 products per tile) ran at
// half the FMA peak calling the microkernel once per tile.
template <int kNv>
FOVEA_NOINLINE void gemm_rows_in_place_row_tiles(const float* a, int64_t lda,
                                                 const int64_t* offsets, int64_t taps, int64_t kc,
                                                 const float* b, float* c, int64_t ldc, bool first,
                                                 int64_t cols, int64_t tiles,
                                                 const TileEpilogue* e) {
  for (int64_t t = 0; t < tiles; ++t) {
    TileEpilogue tile{};
    if (e != nullptr) {
      tile = *e;
      if (tile.residual != nullptr) tile.residual += t * kGemmMr * tile.ld_residual;
    }
#if defined(__AVX512F__)
    if constexpr (kNv == 0) {
      gemm_rows_in_place_half_tile_body<kGemmMr>(a + t * kGemmMr * lda, lda, offsets, taps, kc, b,
                                                 c + t * kGemmMr * ldc, ldc, first, cols,
                                                 e != nullptr ? &tile : nullptr);
      continue;
    }
#endif
    gemm_rows_in_place_tile_body<kGemmMr, kNv == 0 ? 1 : kNv>(
        a + t * kGemmMr * lda, lda, offsets, taps, kc, b, c + t * kGemmMr * ldc, ldc, first, cols,
        e != nullptr ? &tile : nullptr);
  }
}

using GemmRowsInPlacePanels = void (*)(const float*, int64_t, int64_t, const float*, int64_t,
                                       float*, int64_t, bool, int64_t, const TileEpilogue*, bool);

template <int... kRows>
GemmRowsInPlacePanels gemm_rows_in_place_panels(int64_t rows,
                                                std::integer_sequence<int, kRows...>) {
  static constexpr GemmRowsInPlacePanels table[] = {gemm_rows_in_place_panels<kRows + 1>...};
  return table[rows - 1];
}

using GemmRowsInPlaceTile = void (*)(const float*, int64_t, const int64_t*, int64_t, int64_t,
                                     const float*, float*, int64_t, bool, int64_t,
                                     const TileEpilogue*);

template <int... kRows>
GemmRowsInPlaceTile gemm_rows_in_place_tile(int64_t rows, int64_t cols,
                                            std::integer_sequence<int, kRows...>) {
  static constexpr GemmRowsInPlaceTile one_vector[] = {
      gemm_rows_in_place_microkernel<kRows + 1, 1>...};
  static constexpr GemmRowsInPlaceTile full[] = {
      gemm_rows_in_place_microkernel<kRows + 1, kGemmNv>...};
#if defined(__AVX512F__)
  static constexpr GemmRowsInPlaceTile half[] = {gemm_rows_in_place_half_microkernel<kRows + 1>...};
  if (cols <= kHalfTileCols) return half[rows - 1];
#endif
  return (cols <= Vec::kLanes ? one_vector : full)[rows - 1];
}

}  // namespace detail

namespace detail {

// gemm_rows_in_place's split over the threads. Its rows are an image's pixels, and the layers
// before and after it split them too: where each thread takes one contiguous block of rows with
// all the columns, it reads pixels its own core wrote and leaves its output there for the next
// layer. That split is taken when the rows are at least half the weight in data (2·M ≥ N; each
// thread then reads all of B) and every thread gets 8 row tiles or more; otherwise
// plan_gemm_tasks' split. At two threads on MobileNetV2's 14×14 blocks the projections ran
// 10-15 % faster so, and the depthwise convs between them twice as fast. On 7×7 images (9 row
// tiles) it was 20 % slower: half the rows are too few tiles, and each thread streamed all of
// a wide layer's weights.
inline GemmTasks plan_rows_in_place_tasks(int64_t m, int64_t n, int64_t k, int threads) {
  const int64_t m_panels = (m + kGemmMr - 1) / kGemmMr;
  if (threads > 1 && 2 * m >= n && m_panels >= 8 * int64_t{threads}) {
    const int64_t per_thread = (m_panels + threads - 1) / threads;
    return {per_thread * kGemmMr, (n + kGemmNr - 1) / kGemmNr * kGemmNr,
            (m_panels + per_thread - 1) / per_thread, 1};
  }
  return plan_gemm_tasks(m, n, k, threads);
}

}  // namespace detail

// Asks for `rows` rows of kc floats (row stride lda) to be brought into the cache: the next
// tile's A, while this one computes. The rows of a tile are 12 streams through a whole batch of
// pixels (tens of MB at batch 8), which the hardware prefetchers did not keep up with:
// MobileNetV2's 144 → 24 projection at batch 8 ran at half its batch-1 speed per image.
inline void prefetch_rows(const float* a, int64_t rows, int64_t lda, int64_t kc) {
  constexpr int64_t kLineFloats = 64 / sizeof(float);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < kc; k += kLineFloats)
      __builtin_prefetch(a + i * lda + k);
}

// How many of the `left` rows the next tile takes: kGemmMr, except that a last tile of fewer
// than 4 rows is avoided by splitting the last two evenly. A 1-row tile is one FMA chain per
// vector, waiting on the FMA latency at every k: the 49th row of a 7×7 image cost about as
// much as 12 others.
inline int64_t gemm_rows_next_tile(int64_t left) {
  if (left > kGemmMr && left - kGemmMr < 4) return (left + 1) / 2;
  return std::min<int64_t>(kGemmMr, left);
}

// How many whole tiles of kGemmMr rows gemm_rows_next_tile cuts from the start of m rows.
inline int64_t gemm_rows_whole_tiles(int64_t m) {
  int64_t tiles = 0;
  for (int64_t left = m; left > 0 && gemm_rows_next_tile(left) == kGemmMr; left -= kGemmMr)
    ++tiles;
  return tiles;
}

// `tiles` whole tiles down the rows (detail::gemm_rows_in_place_row_tiles), for `cols`
// (1 … kGemmNr) columns.
inline void gemm_rows_in_place_row_tiles(const float* a, int64_t lda, const int64_t* offsets,
                                         int64_t taps, int64_t kc, const float* b, float* c,
                                         int64_t ldc, bool first, int64_t cols, int64_t tiles,
                                         const detail::TileEpilogue* e) {
  // <0>: the paired kernel for half a vector of columns (AVX-512).
  (cols <= detail::kHalfTileCols ? detail::gemm_rows_in_place_row_tiles<0>
   : cols <= Vec::kLanes         ? detail::gemm_rows_in_place_row_tiles<1>
                         : detail::gemm_rows_in_place_row_tiles<kGemmNv>)(a, lda, offsets, taps, kc,
                                                                          b, c, ldc, first, cols,
                                                                          tiles, e);
}

// The register tile for `rows` (1 … kGemmMr) rows × `cols` (1 … kGemmNr) columns.
inline detail::GemmRowsInPlaceTile gemm_rows_in_place_tile(int64_t rows, int64_t cols) {
  return detail::gemm_rows_in_place_tile(rows, cols, std::make_integer_sequence<int, kGemmMr>{});
}

// Columns [col_begin, col_end) of C[M, N] (leading dimension ldc) = epilogue(A · B) for
// A [M, K] read in place (row i at a + i * lda) and B packed in blocks of any depth; by default
// all of them. col_begin must start a panel of B (a multiple of kGemmNr). Split over tiles of
// rows × columns as gemm_packed_a_with splits, K blocks summed in order: the same bits for any
// thread count. A range that ends inside a panel may differ in the last bits from the same
// columns computed with the whole panel (8 or fewer columns take the paired kernel). The
// epilogue's bias is per column (a conv's output channels are the columns here).
inline void gemm_rows_in_place(int64_t m, const float* a, int64_t lda, const PackedMatrixB& b,
                               float* c, int64_t ldc, const GemmEpilogue& e, int64_t col_begin = 0,
                               int64_t col_end = -1) {
  FOVEA_CHECK(e.row_bias == nullptr, "gemm_rows_in_place takes a column bias only");
  const int64_t k = b.rows();
  if (col_end < 0) col_end = b.cols();
  FOVEA_CHECK(k > 0, "gemm_rows_in_place needs K > 0 (a conv's input channels)");
  FOVEA_CHECK(
      col_begin % kGemmNr == 0 && 0 <= col_begin && col_begin <= col_end && col_end <= b.cols(),
      "gemm_rows_in_place: columns [", col_begin, ", ", col_end, ") of ", b.cols(),
      " do not start a panel of ", kGemmNr);
  const int64_t n = col_end - col_begin;
  if (m == 0 || n == 0) return;
  static constexpr int64_t kNoOffset[] = {0};
  const detail::GemmTasks plan = detail::plan_rows_in_place_tasks(m, n, k, threads_available());
  // A task's rows go in chunks whose C block and A block stay in half of L2 across the K
  // blocks: a whole batch of pixels is tens of MB, and a second K block would otherwise read
  // the first one's C back from memory.
  const int64_t row_bytes = int64_t{sizeof(float)} * (plan.nc + std::min(k, b.depth()));
  const int64_t chunk = std::max<int64_t>(1, kGemmL2Bytes / 2 / row_bytes / kGemmMr) * kGemmMr;
  parallel_for(0, plan.m_blocks * plan.n_blocks, [&](int64_t task) {
    const int64_t m_begin = (task / plan.n_blocks) * plan.mc;
    const int64_t m_end = std::min(m_begin + plan.mc, m);
    const int64_t n0 = col_begin + (task % plan.n_blocks) * plan.nc;
    const int64_t n1 = std::min(n0 + plan.nc, col_end);
    for (int64_t m0 = m_begin; m0 < m_end; m0 += chunk) {
      const int64_t m1 = std::min(m0 + chunk, m_end);
      for (int64_t pc = 0; pc < k; pc += b.depth()) {
        const int64_t kc = std::min(b.depth(), k - pc);
        const bool first = pc == 0, last = pc + kc == k;
        // Where this K block of the task's weights is larger than L1 it comes from L2, or from
        // memory in a model (MobileNetV2's 14 MB do not stay in L3): each panel then prefetches
        // the next, and MobileNetV2's 7×7 blocks ran 8-10 % faster with cold weights. Where it
        // fits L1 (the expansions with K = 16 to 32) the prefetches cost 3-5 %.
        const bool prefetch_b = int64_t{sizeof(float)} * kc * (n1 - n0) > kGemmL1Bytes;
        for (int64_t i0 = m0, rows = 0; i0 < m1; i0 += rows) {
          rows = gemm_rows_next_tile(m1 - i0);
          prefetch_rows(a + (i0 + rows) * lda + pc, std::min(rows, m1 - i0 - rows), lda, kc);
          const int64_t whole = (n1 - n0) / kGemmNr;
          if (whole > 0) {
            const detail::TileEpilogue tile{
                nullptr, e.col_bias != nullptr ? e.col_bias + n0 : nullptr,
                e.residual != nullptr ? e.residual + i0 * e.ld_residual + n0 : nullptr,
                e.ld_residual, e.act};
            detail::gemm_rows_in_place_panels(rows, std::make_integer_sequence<int, kGemmMr>{})(
                a + i0 * lda + pc, lda, kc, b.panel(pc, n0), kc * kGemmNr, c + i0 * ldc + n0, ldc,
                first, whole, last ? &tile : nullptr, prefetch_b);
          }
          for (int64_t j0 = n0 + whole * kGemmNr; j0 < n1; j0 += kGemmNr) {
            const int64_t cols = std::min<int64_t>(kGemmNr, n1 - j0);
            const detail::TileEpilogue tile{
                nullptr, e.col_bias != nullptr ? e.col_bias + j0 : nullptr,
                e.residual != nullptr ? e.residual + i0 * e.ld_residual + j0 : nullptr,
                e.ld_residual, e.act};
            gemm_rows_in_place_tile(rows, cols)(a + i0 * lda + pc, lda, kNoOffset, 1, kc,
                                                b.panel(pc, j0), c + i0 * ldc + j0, ldc, first,
                                                cols, last ? &tile : nullptr);
          }
        }
      }
    }
  });
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
