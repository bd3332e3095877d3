// Sparse × dense GEMM for channels-last 1×1 convolutions and linear layers whose weights are
// mostly zero (fovea/prune/sparse/ makes such weights):
//
//   Y[P, K] = act(X[P, C] · Wᵀ[C, K] + bias + residual),  W [K, C] sparse, X and Y NHWC rows.
//
// The design is XNNPACK's SpMM one (a nonzero weight is broadcast over a vector of pixels), made
// to read NHWC: a task takes a tile of kSpmmPixels pixels, transposes its [pixels, C] block into
// a panel [C][kSpmmPixels] (in registers, simd.hpp's transpose; the panel stays in L1/L2 for all
// K outputs), then for each output channel k walks k's nonzeros only:
//
//   acc[pixels] += w[k, c] · panel[c][pixels]     one broadcast, kSpmmVecs loads and FMAs
//
// and finally transposes kLanes channels' sums back into the pixels' rows of Y with the fused
// epilogue (column bias, residual, activation), as the dense GEMM stores its tiles. Zeros cost
// nothing but the panel's transpose, which is paid once per pixel and amortized over K.
//
// Two weight formats:
//   SpmmWeightsCsr  unstructured: per output channel, its nonzeros' values and their panel
//                   offsets (c · kSpmmPixels, int32), CSR by output channel.
//   SpmmWeights24   2:4 semi-structured along C (at most 2 nonzeros in every group of 4
//                   consecutive input channels): per output channel and group, 2 values and
//                   two 2-bit indices; two groups' indices share a byte (4 bits a group, as
//                   NVIDIA's sparse tensor-core metadata). C need not be a multiple of 4: the
//                   last group is padded with zero channels (and C is padded to a multiple of 8
//                   so that every metadata byte holds two groups).
//
// Sums are formed in the same order whatever the thread count. A zero weight that was stored
// (a 2:4 group with fewer than two nonzeros) adds 0 · x, which is not skipped: an infinite or
// NaN input then gives NaN where the dense GEMM would too.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// A pixel tile is 32 pixels on every ISA (2 zmm, 4 ymm or NEON pairs, 8 generic vectors), so the
// CSR offsets (c · 32) mean the same everywhere. kSpmmChains independent accumulator sets hide
// the FMA latency: nonzero j adds into set j % kSpmmChains (8 vectors in flight in all).
#if defined(__AVX512F__)
inline constexpr int kSpmmVecs = 2;
inline constexpr int kSpmmChains = 4;
#elif (defined(__AVX2__) && defined(__FMA__)) || defined(FOVEA_CPU_NEON)
inline constexpr int kSpmmVecs = 4;
inline constexpr int kSpmmChains = 2;
#else
inline constexpr int kSpmmVecs = 8;
inline constexpr int kSpmmChains = 1;
#endif
inline constexpr int kSpmmPixels = kSpmmVecs * Vec::kLanes;
// (64-pixel tiles on AVX-512, 4 zmm a nonzero, were 20 % faster at C = 64 and 20 % slower at
// C = 1024, whose panel then leaves L1/L2; 32 everywhere keeps one format.)
static_assert(kSpmmPixels == 32, "the CSR offsets assume 32-pixel tiles");

// The sparsity from which the unstructured kernel is chosen over the dense NHWC GEMM, from
// bench/cpu/bench_sparse_cpu.cpp's 1×1 shapes (the crossover table in the pruning guide): the
// median shape crossed at 70 %, but a third of them (small C or K, MobileNetV2's) only at 80 %,
// and all but one (C = 32) won at 80 %.
inline constexpr double kSpmmCrossoverSparsity = 0.80;
// Whether the 2:4 kernel (50 % sparse) beat the dense GEMM there: no, 0.47–0.90× of it (50 %
// zeros skipped do not repay the SpMM's extra loads per FMA, and the metadata decoding).
inline constexpr bool kSpmm24BeatsDense = false;

// The fraction of nonzero values in w[0, count).
inline double weight_density(const float* w, int64_t count) {
  int64_t nonzero = 0;
  for (int64_t i = 0; i < count; ++i)
    nonzero += w[i] != 0.0f ? 1 : 0;
  return count > 0 ? double(nonzero) / double(count) : 1.0;
}

// W [K, C] in CSR by output channel: channel k's nonzeros are [row_begin[k], row_begin[k + 1]),
// each a value and the offset of its input channel's row in a pixel panel (c · kSpmmPixels).
class SpmmWeightsCsr {
 public:
  SpmmWeightsCsr() = default;
  // From dense weights, element (k, c) at w[k * ldw + c]; every value != 0 is kept.
  SpmmWeightsCsr(int64_t k, int64_t c, const float* w, int64_t ldw) : k_(k), c_(c) {
    FOVEA_CHECK(k >= 0 && c >= 0 && ldw >= c, "sparse weights: bad shape [", k, ", ", c,
                "] with row stride ", ldw);
    FOVEA_CHECK(c * kSpmmPixels < (int64_t{1} << 31) && k * c < (int64_t{1} << 31),
                "sparse weights: [", k, ", ", c, "] is too large for 32-bit offsets");
    row_begin_.reserve(size_t(k + 1));
    row_begin_.push_back(0);
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < c; ++j) {
        const float v = w[i * ldw + j];
        if (v == 0.0f) continue;
        values_.push_back(v);
        offsets_.push_back(static_cast<int32_t>(j * kSpmmPixels));
      }
      row_begin_.push_back(static_cast<int32_t>(values_.size()));
    }
  }

  int64_t rows() const { return k_; }  // output channels K
  int64_t cols() const { return c_; }  // input channels C
  int64_t nonzeros() const { return int64_t(values_.size()); }
  double density() const { return k_ * c_ > 0 ? double(nonzeros()) / double(k_ * c_) : 1.0; }
  const int32_t* row_begin() const { return row_begin_.data(); }
  const int32_t* offsets() const { return offsets_.data(); }
  const float* values() const { return values_.data(); }
  // Panel rows the kernel reads: C.
  int64_t panel_rows() const { return c_; }

 private:
  int64_t k_ = 0, c_ = 0;
  std::vector<int32_t> row_begin_, offsets_;
  std::vector<float> values_;
};

// W [K, C] with at most 2 nonzeros in every group of 4 consecutive input channels. Per output
// channel: pairs() metadata bytes and 4 · pairs() values. Byte h covers groups 2h (bits 0–3)
// and 2h + 1 (bits 4–7); each group's 4 bits are its two kept positions (0–3) in increasing
// order, first in the low 2 bits. Its values follow in the same order: group 2h's two, then
// group 2h + 1's. A group with fewer than two nonzeros keeps a zero value at a free position.
class SpmmWeights24 {
 public:
  SpmmWeights24() = default;
  // From dense weights, element (k, c) at w[k * ldw + c]. Throws naming the output channel and
  // group when a group holds more than two nonzeros (prune it 2:4 first).
  SpmmWeights24(int64_t k, int64_t c, const float* w, int64_t ldw)
      : k_(k), c_(c), pairs_((c + 7) / 8) {
    FOVEA_CHECK(k >= 0 && c >= 0 && ldw >= c, "2:4 sparse weights: bad shape [", k, ", ", c,
                "] with row stride ", ldw);
    meta_.assign(size_t(k * pairs_), 0);
    values_.assign(size_t(k * pairs_ * 4), 0.0f);
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t g = 0; g < 2 * pairs_; ++g) {
        int kept[2] = {0, 0}, count = 0;
        for (int j = 0; j < 4; ++j) {
          const int64_t ch = 4 * g + j;
          if (ch >= c || w[i * ldw + ch] == 0.0f) continue;
          FOVEA_CHECK(count < 2, "2:4 sparse weights: output channel ", i, ", input channels ",
                      4 * g, "..", std::min(4 * g + 3, c - 1),
                      " hold more than 2 nonzeros (apply a 2:4 mask first)");
          kept[count++] = j;
        }
        // Fill the free slots with unused positions, keeping the pair increasing.
        if (count == 0) kept[0] = 0, kept[1] = 1;
        if (count == 1) {
          if (kept[0] == 3) {
            kept[1] = 3, kept[0] = 2;
          } else {
            kept[1] = kept[0] + 1;
          }
        }
        const size_t h = size_t(i * pairs_ + g / 2);
        const int shift = int(g % 2) * 4;
        meta_[h] = uint8_t(meta_[h] | ((kept[0] | (kept[1] << 2)) << shift));
        for (int s = 0; s < 2; ++s) {
          const int64_t ch = 4 * g + kept[s];
          values_[h * 4 + size_t(g % 2) * 2 + size_t(s)] = ch < c ? w[i * ldw + ch] : 0.0f;
        }
      }
    }
  }

  int64_t rows() const { return k_; }
  int64_t cols() const { return c_; }
  int64_t pairs() const { return pairs_; }  // metadata bytes per output channel
  const uint8_t* meta(int64_t k) const { return meta_.data() + k * pairs_; }
  const float* values(int64_t k) const { return values_.data() + k * pairs_ * 4; }
  // Panel rows the kernel reads: C rounded up to a multiple of 8 (the padding is zero).
  int64_t panel_rows() const { return 8 * pairs_; }
  // The dense [K, C] matrix these weights stand for.
  std::vector<float> to_dense() const {
    std::vector<float> w(size_t(k_ * c_), 0.0f);
    for (int64_t i = 0; i < k_; ++i)
      for (int64_t g = 0; g < 2 * pairs_; ++g) {
        const unsigned bits = (meta(i)[g / 2] >> ((g % 2) * 4)) & 0xF;
        for (int s = 0; s < 2; ++s) {
          const int64_t ch = 4 * g + ((bits >> (2 * s)) & 3);
          const float v = values(i)[(g / 2) * 4 + (g % 2) * 2 + s];
          if (ch < c_) w[size_t(i * c_ + ch)] += v;
        }
      }
    return w;
  }

 private:
  int64_t k_ = 0, c_ = 0, pairs_ = 0;
  std::vector<uint8_t> meta_;
  std::vector<float> values_;
};

namespace detail {

// panel[c][i] = x[i * ldx + c] for the first `pixels` pixels (0 for the rest of the tile), rows
// c ∈ [C, rows) zero: kLanes × kLanes blocks transposed in registers.
inline void spmm_pack_pixels(const float* x, int64_t ldx, int64_t pixels, int64_t c, int64_t rows,
                             float* panel) {
  constexpr int kL = Vec::kLanes;
  for (int64_t c0 = 0; c0 < c; c0 += kL) {
    const int64_t cn = std::min<int64_t>(kL, c - c0);
    for (int v = 0; v < kSpmmVecs; ++v) {
      Vec r[kL];
      for (int i = 0; i < kL; ++i) {
        const int64_t p = v * kL + i;
        const float* src = x + p * ldx + c0;
        r[i] = p >= pixels ? Vec::zero() : cn == kL ? Vec::load(src) : Vec::load_first(src, cn);
      }
      transpose(r);
      for (int64_t j = 0; j < cn; ++j)
        r[j].store(panel + (c0 + j) * kSpmmPixels + v * kL);
    }
  }
  std::fill(panel + c * kSpmmPixels, panel + rows * kSpmmPixels, 0.0f);
}

// The sums of kChains accumulator sets, plus the bias, stored as one channel's row of pixels.
FOVEA_ALWAYS_INLINE void spmm_finish_channel(Vec (&acc)[kSpmmChains][kSpmmVecs], float bias,
                                             float* out) {
#pragma GCC unroll 8
  for (int v = 0; v < kSpmmVecs; ++v) {
    Vec sum = acc[0][v];
#pragma GCC unroll 4
    for (int ch = 1; ch < kSpmmChains; ++ch)
      sum = sum + acc[ch][v];
    (sum + Vec::broadcast(bias)).store(out + v * Vec::kLanes);
  }
}

// Output channels [k0, k0 + kn) of one pixel tile into staging [kn][kSpmmPixels].
FOVEA_NOINLINE void spmm_channels_csr(const float* panel, const SpmmWeightsCsr& w, int64_t k0,
                                      int64_t kn, const float* bias, float* staging) {
  constexpr int kL = Vec::kLanes;
  for (int64_t kk = 0; kk < kn; ++kk) {
    const int64_t k = k0 + kk;
    const int32_t begin = w.row_begin()[k], end = w.row_begin()[k + 1];
    const float* values = w.values();
    const int32_t* offsets = w.offsets();
    Vec acc[kSpmmChains][kSpmmVecs];
#pragma GCC unroll 8
    for (int ch = 0; ch < kSpmmChains; ++ch)
#pragma GCC unroll 8
      for (int v = 0; v < kSpmmVecs; ++v)
        acc[ch][v] = Vec::zero();
    int32_t j = begin;
    for (; j + kSpmmChains <= end; j += kSpmmChains) {
#pragma GCC unroll 8
      for (int ch = 0; ch < kSpmmChains; ++ch) {
        const Vec wv = Vec::broadcast(values[j + ch]);
        const float* xp = panel + offsets[j + ch];
#pragma GCC unroll 8
        for (int v = 0; v < kSpmmVecs; ++v)
          acc[ch][v] = fmadd(wv, Vec::load(xp + v * kL), acc[ch][v]);
      }
    }
    for (; j < end; ++j) {
      const Vec wv = Vec::broadcast(values[j]);
      const float* xp = panel + offsets[j];
#pragma GCC unroll 8
      for (int v = 0; v < kSpmmVecs; ++v)
        acc[0][v] = fmadd(wv, Vec::load(xp + v * kL), acc[0][v]);
    }
    spmm_finish_channel(acc, bias != nullptr ? bias[k] : 0.0f, staging + kk * kSpmmPixels);
  }
}

// The same for 2:4 weights: per metadata byte, four nonzeros in two groups of four channels.
FOVEA_NOINLINE void spmm_channels_24(const float* panel, const SpmmWeights24& w, int64_t k0,
                                     int64_t kn, const float* bias, float* staging) {
  constexpr int kL = Vec::kLanes;
  constexpr int64_t kRow = kSpmmPixels;
  for (int64_t kk = 0; kk < kn; ++kk) {
    const int64_t k = k0 + kk;
    const uint8_t* meta = w.meta(k);
    const float* values = w.values(k);
    Vec acc[kSpmmChains][kSpmmVecs];
#pragma GCC unroll 8
    for (int ch = 0; ch < kSpmmChains; ++ch)
#pragma GCC unroll 8
      for (int v = 0; v < kSpmmVecs; ++v)
        acc[ch][v] = Vec::zero();
    const float* base = panel;
    for (int64_t h = 0; h < w.pairs(); ++h, base += 8 * kRow, values += 4) {
      const unsigned m = meta[h];
      const float* xs[4] = {base + (m & 3) * kRow, base + ((m >> 2) & 3) * kRow,
                            base + (4 + ((m >> 4) & 3)) * kRow, base + (4 + (m >> 6)) * kRow};
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        const Vec wv = Vec::broadcast(values[i]);
#pragma GCC unroll 8
        for (int v = 0; v < kSpmmVecs; ++v)
          acc[i % kSpmmChains][v] = fmadd(wv, Vec::load(xs[i] + v * kL), acc[i % kSpmmChains][v]);
      }
    }
    spmm_finish_channel(acc, bias != nullptr ? bias[k] : 0.0f, staging + kk * kSpmmPixels);
  }
}

// staging [kn][kSpmmPixels] (channel-major sums, bias included) transposed into the first
// `pixels` rows of y (leading dimension ldy, already at column k0), with residual and
// activation, as store_gemm_tile finishes a dense tile.
inline void spmm_store_channels(const float* staging, int64_t pixels, int64_t kn, float* y,
                                int64_t ldy, const float* residual, int64_t ld_residual,
                                ActivationKind act) {
  constexpr int kL = Vec::kLanes;
  const bool vector_act = has_vector_form(act);
  for (int v = 0; v < kSpmmVecs && v * kL < pixels; ++v) {
    Vec r[kL];
    for (int i = 0; i < kL; ++i)
      r[i] = i < kn ? Vec::load(staging + i * kSpmmPixels + v * kL) : Vec::zero();
    transpose(r);
    for (int j = 0; j < kL; ++j) {
      const int64_t p = v * kL + j;
      if (p >= pixels) break;
      Vec o = r[j];
      if (residual != nullptr) {
        const float* res = residual + p * ld_residual;
        o = o + (kn == kL ? Vec::load(res) : Vec::load_first(res, kn));
      }
      if (vector_act) o = activate(o, act);
      float* dst = y + p * ldy;
      if (kn == kL) {
        o.store(dst);
      } else {
        o.store_first(dst, kn);
      }
      if (!vector_act) activate_in_place(dst, kn, act);
    }
  }
}

// The task loop shared by both formats: pixel tiles × chunks of output-channel blocks.
template <class Weights, class Channels>
void spmm_nhwc_run(int64_t pixels, const float* x, int64_t ldx, const Weights& w, float* y,
                   int64_t ldy, const GemmEpilogue& e, const Channels& channels) {
  FOVEA_CHECK(e.row_bias == nullptr, "sparse GEMM: a row (pixel) bias is not supported");
  const int64_t k = w.rows(), c = w.cols();
  if (pixels <= 0 || k <= 0) return;
  constexpr int kL = Vec::kLanes;
  const int64_t tiles = (pixels + kSpmmPixels - 1) / kSpmmPixels;
  const int64_t blocks = (k + kL - 1) / kL;
  // Few pixel tiles (7×7 images): split the output channels too, so every thread has work; each
  // such task packs its own copy of the tile's panel.
  const int64_t want = 4 * int64_t{threads_available()};
  int64_t chunks = tiles >= want ? 1 : std::min(blocks, (want + tiles - 1) / tiles);
  const int64_t per_chunk = (blocks + chunks - 1) / chunks;
  chunks = (blocks + per_chunk - 1) / per_chunk;
  const int64_t rows = w.panel_rows();
  parallel_for(0, tiles * chunks, [&](int64_t task) {
    const int64_t tile = task / chunks, chunk = task % chunks;
    const int64_t p0 = tile * kSpmmPixels, pn = std::min<int64_t>(kSpmmPixels, pixels - p0);
    float* panel = thread_scratch((rows + kL) * kSpmmPixels);
    float* staging = panel + rows * kSpmmPixels;
    spmm_pack_pixels(x + p0 * ldx, ldx, pn, c, rows, panel);
    const int64_t b_end = std::min(blocks, (chunk + 1) * per_chunk);
    for (int64_t b = chunk * per_chunk; b < b_end; ++b) {
      const int64_t k0 = b * kL, kn = std::min<int64_t>(kL, k - k0);
      channels(panel, w, k0, kn, e.col_bias, staging);
      spmm_store_channels(staging, pn, kn, y + p0 * ldy + k0, ldy,
                          e.residual != nullptr ? e.residual + p0 * e.ld_residual + k0 : nullptr,
                          e.ld_residual, e.act);
    }
  });
}

}  // namespace detail

// Y [P, K] (leading dimension ldy) = epilogue(X [P, C] (leading dimension ldx) · Wᵀ): the
// epilogue's col_bias [K], residual [P, K] and activation; row_bias is not supported.
inline void spmm_nhwc(int64_t pixels, const float* x, int64_t ldx, const SpmmWeightsCsr& w,
                      float* y, int64_t ldy, const GemmEpilogue& e = {}) {
  detail::spmm_nhwc_run(pixels, x, ldx, w, y, ldy, e, detail::spmm_channels_csr);
}
inline void spmm_nhwc(int64_t pixels, const float* x, int64_t ldx, const SpmmWeights24& w, float* y,
                      int64_t ldy, const GemmEpilogue& e = {}) {
  detail::spmm_nhwc_run(pixels, x, ldx, w, y, ldy, e, detail::spmm_channels_24);
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
