// fp32 GEMM for the CPU kernels: C[M, N] = A[M, K] · B[K, N], then a fused epilogue
// (row or column bias, residual add, activation).
//
// The structure is the BLIS/GotoBLAS one. A is packed once into panels of kMr rows per block of
// kKc columns (conv weights are packed at load time and reused); B is packed per call into
// panels of kNr columns. A register-tile microkernel of kMr × kNr accumulators runs broadcast-FMA
// over one K block. Work is split over output tiles (blocks of rows × blocks of columns), never
// over K, and the K blocks are always summed in the same order, so the result does not depend
// on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "fovea/core/error.hpp"
#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// Register tile: kMr rows × kNv vectors. 12 × 2 zmm uses 24 of AVX-512's 32 registers for
// accumulators; 6 × 2 ymm uses 12 of AVX2's 16; 6 × 2 NEON vectors (pairs of q registers,
// simd.hpp) use 24 of AArch64's 32, leaving 4 for B's row and the rest for A's broadcasts.
#if defined(__AVX512F__)
inline constexpr int kGemmMr = 12;
#elif (defined(__AVX2__) && defined(__FMA__)) || defined(FOVEA_CPU_NEON)
inline constexpr int kGemmMr = 6;
#else
inline constexpr int kGemmMr = 4;
#endif
inline constexpr int kGemmNv = 2;
inline constexpr int kGemmNr = kGemmNv * Vec::kLanes;
// Cache blocks: a kMr × kKc panel of A stays in L1 while kKc × (up to kGemmNcMax) of packed B
// stays in L2.
inline constexpr int64_t kGemmKc = 256;
inline constexpr int64_t kGemmNcMax = kGemmNr * 16;
inline constexpr int64_t kGemmL2Bytes = 1 << 20;   // a core's L2 on the machines we tune for
inline constexpr int64_t kGemmL1Bytes = 32 << 10;  // a core's L1 data cache

struct GemmEpilogue {
  const float* row_bias = nullptr;  // [M], added to every row (conv: one bias per out channel)
  const float* col_bias = nullptr;  // [N], added to every column
  const float* residual = nullptr;  // [M, N] with leading dimension ld_residual, added last
  int64_t ld_residual = 0;
  ActivationKind act = ActivationKind::identity;  // applied after the additions
};

// A [M, K] in GEMM panel order: for each K block (in order), for each kMr-row panel, kc columns
// of kMr values (rows past M are zero).
class PackedMatrixA {
 public:
  PackedMatrixA() = default;
  // Packs A, element (i, k) read at a[i * row_stride + k * col_stride].
  PackedMatrixA(int64_t m, int64_t k, const float* a, int64_t row_stride, int64_t col_stride)
      : m_(m), k_(k), m_padded_((m + kGemmMr - 1) / kGemmMr * kGemmMr), data_(m_padded_ * k) {
    for (int64_t pc = 0; pc < k_; pc += kGemmKc) {
      const int64_t kc = std::min(kGemmKc, k_ - pc);
      for (int64_t panel = 0; panel * kGemmMr < m_; ++panel) {
        float* dst = data_.data() + pc * m_padded_ + panel * kGemmMr * kc;
        for (int64_t kk = 0; kk < kc; ++kk) {
          for (int64_t r = 0; r < kGemmMr; ++r) {
            const int64_t row = panel * kGemmMr + r;
            dst[kk * kGemmMr + r] = row < m_ ? a[row * row_stride + (pc + kk) * col_stride] : 0.0f;
          }
        }
      }
    }
  }

  int64_t rows() const { return m_; }
  int64_t cols() const { return k_; }
  bool empty() const { return m_ == 0 && k_ == 0; }
  // The panel of rows [panel * kMr, +kMr) for the K block starting at pc of length kc.
  const float* panel(int64_t pc, int64_t kc, int64_t panel) const {
    return data_.data() + pc * m_padded_ + panel * kGemmMr * kc;
  }

 private:
  int64_t m_ = 0, k_ = 0, m_padded_ = 0;
  AlignedBuffer data_;
};

namespace detail {

// The epilogue of one register tile, its pointers already at the tile's first row (row_bias,
// residual) and column (col_bias, residual).
struct TileEpilogue {
  const float* row_bias;
  const float* col_bias;
  const float* residual;
  int64_t ld_residual;
  ActivationKind act;
};

// acc = act(acc) for a kind with a vector form: one switch per tile, not one per vector.
template <int kRows, int kNv>
FOVEA_ALWAYS_INLINE void activate_tile(Vec (&acc)[kRows][kNv], ActivationKind kind) {
  const auto each = [&acc](auto f) {
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 4
      for (int j = 0; j < kNv; ++j)
        acc[i][j] = f(acc[i][j]);
    }
  };
  switch (kind) {
    case ActivationKind::relu:
      return each([](Vec v) { return relu(v); });
    case ActivationKind::relu6:
      return each([](Vec v) { return relu6(v); });
    case ActivationKind::silu: {
      Vec tile[kRows * kNv];
#pragma GCC unroll 16
      for (int i = 0; i < kRows * kNv; ++i)
        tile[i] = acc[i / kNv][i % kNv];
      silu_vectors<kRows * kNv>(tile);
#pragma GCC unroll 16
      for (int i = 0; i < kRows * kNv; ++i)
        acc[i / kNv][i % kNv] = tile[i];
      return;
    }
    case ActivationKind::sigmoid:
      return each([](Vec v) { return logistic(v); });
    default:
      return;
  }
}

// Stores a register tile's first `rows` rows and `cols` columns at c: acc (first K block) or
// c + acc, with the epilogue `e` if given (the last K block), applied in registers as
// apply_gemm_epilogue would apply it in memory. The last vector of a row cut by `cols` is read
// and written only in its first lanes. Each term is one pass over the whole tile behind one
// branch, then the activation over the tile, then the stores. With K as short as 16
// (MobileNetV2's and EfficientNet's first expansions) the epilogue is a fifth of a tile's work:
// a switch on the activation per vector was most of it, and then the tests of each term for
// each vector (60 branches a tile) cost a quarter of the 6×16 tile's time.
template <int kRows, int kNv>
FOVEA_ALWAYS_INLINE void store_gemm_tile(Vec (&acc)[kRows][kNv], float* c, int64_t ldc, bool first,
                                         int64_t rows, int64_t cols, const TileEpilogue* e) {
  int64_t lanes[kNv];
#pragma GCC unroll 4
  for (int j = 0; j < kNv; ++j)
    lanes[j] = std::clamp<int64_t>(cols - j * Vec::kLanes, 0, Vec::kLanes);
  const auto load = [&lanes](const float* p, int j) {
    return lanes[j] == Vec::kLanes ? Vec::load(p) : Vec::load_first(p, lanes[j]);
  };
  // acc[i][j] += term(i, j) over the tile's rows and columns.
  const auto add = [&](auto term) {
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      if (i >= rows) break;
#pragma GCC unroll 4
      for (int j = 0; j < kNv; ++j) {
        if (lanes[j] <= 0) break;
        acc[i][j] = acc[i][j] + term(i, j);
      }
    }
  };
  if (!first) add([&](int i, int j) { return load(c + i * ldc + j * Vec::kLanes, j); });
  if (e != nullptr && e->row_bias != nullptr)
    add([&](int i, int) { return Vec::broadcast(e->row_bias[i]); });
  if (e != nullptr && e->col_bias != nullptr) {
    Vec col_bias[kNv];
#pragma GCC unroll 4
    for (int j = 0; j < kNv; ++j)
      col_bias[j] = lanes[j] > 0 ? load(e->col_bias + j * Vec::kLanes, j) : Vec::zero();
    add([&](int, int j) { return col_bias[j]; });
  }
  if (e != nullptr && e->residual != nullptr)
    add([&](int i, int j) { return load(e->residual + i * e->ld_residual + j * Vec::kLanes, j); });
  const bool vector_act = e != nullptr && has_vector_form(e->act);
  if (vector_act) activate_tile(acc, e->act);
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
    if (i >= rows) break;
#pragma GCC unroll 4
    for (int j = 0; j < kNv; ++j) {
      if (lanes[j] <= 0) break;
      float* p = c + i * ldc + j * Vec::kLanes;
      if (lanes[j] == Vec::kLanes) {
        acc[i][j].store(p);
      } else {
        acc[i][j].store_first(p, lanes[j]);
      }
    }
    if (e != nullptr && !vector_act) activate_in_place(c + i * ldc, cols, e->act);
  }
}

// acc = the first kRows rows of an A panel · the first kNv vectors of each B panel row over kc,
// then stored by store_gemm_tile. kRows < kGemmMr serves a last row panel of a
// third or two thirds of a panel (M = 64 is five panels and 4 rows), kNv < kGemmNv the narrow
// last column panel of small images; cols < kNv vectors the last column panel, whose last vector
// is read and written only in its first lanes.
// Never inlined: inlined into the task loop, GCC 12 kept the one-vector variant's accumulators
// on the stack (a store after every FMA).
template <int kRows, int kNv>
FOVEA_NOINLINE void gemm_microkernel(int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, bool first, int64_t rows, int64_t cols,
                                     const TileEpilogue* e) {
  Vec acc[kRows][kNv];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < kNv; ++j)
      acc[i][j] = Vec::zero();
  }
  for (int64_t kk = 0; kk < kc; ++kk) {
    Vec bv[kNv];
#pragma GCC unroll 4
    for (int j = 0; j < kNv; ++j)
      bv[j] = Vec::load(b + j * Vec::kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      const Vec ai = Vec::broadcast(a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < kNv; ++j)
        acc[i][j] = fmadd(ai, bv[j], acc[i][j]);
    }
    a += kGemmMr;
    b += kGemmNr;
  }
  store_gemm_tile<kRows, kNv>(acc, c, ldc, first, rows, cols, e);
}

template <int kNv>
void gemm_tile_rows(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool first,
                    int64_t rows, int64_t cols, const TileEpilogue* e) {
  constexpr int kThird = kGemmMr / 3 > 0 ? kGemmMr / 3 : 1;
  if (rows <= kThird) {
    gemm_microkernel<kThird, kNv>(kc, a, b, c, ldc, first, rows, cols, e);
  } else if (rows <= 2 * kThird) {
    gemm_microkernel<2 * kThird, kNv>(kc, a, b, c, ldc, first, rows, cols, e);
  } else {
    gemm_microkernel<kGemmMr, kNv>(kc, a, b, c, ldc, first, rows, cols, e);
  }
}

// The same tile for a few (kCols) columns of a B panel (b, c at the first of them), vectorized
// across the rows instead: acc[j] holds column j for the panel's kGemmMr rows, and each k is one
// A column load and kCols broadcast FMAs. A 7×7 image is 49 columns: the 49th would otherwise
// fill one lane of a vector per row. The FMAs run in the same order per element as in
// gemm_microkernel, so the bits are the same.
template <int kCols>
FOVEA_NOINLINE void gemm_microkernel_columns(int64_t kc, const float* a, const float* b, float* c,
                                             int64_t ldc, bool first, int64_t rows,
                                             const TileEpilogue* e) {
  static_assert(kGemmMr <= Vec::kLanes, "a panel column must fit in one vector");
  Vec acc[kCols];
  for (Vec& v : acc)
    v = Vec::zero();
  for (int64_t kk = 0; kk < kc; ++kk) {
    const Vec column = Vec::load_first(a, kGemmMr);
#pragma GCC unroll 16
    for (int j = 0; j < kCols; ++j)
      acc[j] = fmadd(column, Vec::broadcast(b[j]), acc[j]);
    a += kGemmMr;
    b += kGemmNr;
  }
  alignas(64) float sums[kCols][Vec::kLanes];
  for (int j = 0; j < kCols; ++j)
    acc[j].store(sums[j]);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < kCols; ++j) {
      float v = first ? sums[j][i] : row[j] + sums[j][i];
      if (e != nullptr) {
        if (e->row_bias != nullptr) v += e->row_bias[i];
        if (e->col_bias != nullptr) v += e->col_bias[j];
        if (e->residual != nullptr) v += e->residual[i * e->ld_residual + j];
      }
      row[j] = v;
    }
    if (e != nullptr) activate_in_place(row, kCols, e->act);
  }
}

using GemmColumnsKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, bool,
                                   int64_t, const TileEpilogue*);

template <int... kCols>
GemmColumnsKernel gemm_columns_kernel(int64_t cols, std::integer_sequence<int, kCols...>) {
  static constexpr GemmColumnsKernel table[] = {gemm_microkernel_columns<kCols + 1>...};
  return table[cols - 1];
}

// At most this many columns past a tile's last whole vector go to gemm_microkernel_columns.
// It pays at 1 (a 7×7 image's 49th column: ResNet-50's layer4 1×1 convs 13 % faster,
// MobileNetV2's 7×7 projections 15 %) and lost 3–6 % at 4 (14×14 images, 196 columns), where
// its 4 FMA chains wait on their latency.
inline constexpr int64_t kGemmNarrowColumns = 3;

// A tile with 1 to kGemmNarrowColumns columns past its last whole vector: those go to
// gemm_microkernel_columns. Out of line, so gemm_tile's common path stays small.
FOVEA_NOINLINE void gemm_tile_narrow(int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, bool first, int64_t rows, int64_t cols,
                                     const TileEpilogue* e) {
  const int64_t whole = cols / Vec::kLanes * Vec::kLanes, rest = cols - whole;
  if (whole > 0) gemm_tile_rows<1>(kc, a, b, c, ldc, first, rows, whole, e);
  TileEpilogue shifted{};
  if (e != nullptr) {
    shifted = *e;
    if (shifted.col_bias != nullptr) shifted.col_bias += whole;
    if (shifted.residual != nullptr) shifted.residual += whole;
  }
  gemm_columns_kernel(rest, std::make_integer_sequence<int, kGemmNarrowColumns>{})(
      kc, a, b + whole, c + whole, ldc, first, rows, e != nullptr ? &shifted : nullptr);
}

// A tile of rows × cols real values (rows <= kGemmMr, cols <= kGemmNr), with the epilogue `e`
// if given.
inline void gemm_tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool first,
                      int64_t rows, int64_t cols, const TileEpilogue* e) {
  const int64_t rest = cols % Vec::kLanes;
  if (rest > 0 && rest <= kGemmNarrowColumns) {
    gemm_tile_narrow(kc, a, b, c, ldc, first, rows, cols, e);
  } else if (cols <= Vec::kLanes) {
    gemm_tile_rows<1>(kc, a, b, c, ldc, first, rows, cols, e);
  } else {
    gemm_tile_rows<kGemmNv>(kc, a, b, c, ldc, first, rows, cols, e);
  }
}

// Packs B rows [pc, pc + kc) × columns [n0, n1) into kNr-column panels (columns past n1 are
// zero). Element (k, n) is read at b[k * row_stride + n * col_stride].
inline void pack_b(const float* b, int64_t row_stride, int64_t col_stride, int64_t pc, int64_t kc,
                   int64_t n0, int64_t n1, float* dst) {
  for (int64_t j0 = n0; j0 < n1; j0 += kGemmNr) {
    const int64_t cols = std::min<int64_t>(kGemmNr, n1 - j0);
    for (int64_t kk = 0; kk < kc; ++kk) {
      const float* src = b + (pc + kk) * row_stride + j0 * col_stride;
      if (cols == kGemmNr && col_stride == 1) {
#pragma GCC unroll 4
        for (int j = 0; j < kGemmNv; ++j)
          Vec::load(src + j * Vec::kLanes).store(dst + j * Vec::kLanes);
      } else if (col_stride == 1) {
        // The right edge: masked loads, zeros past the last column.
        for (int j = 0; j < kGemmNv; ++j) {
          const int64_t lanes = std::min<int64_t>(Vec::kLanes, cols - j * Vec::kLanes);
          (lanes > 0 ? Vec::load_first(src + j * Vec::kLanes, lanes) : Vec::zero())
              .store(dst + j * Vec::kLanes);
        }
      } else {
        for (int64_t j = 0; j < cols; ++j)
          dst[j] = src[j * col_stride];
        for (int64_t j = cols; j < kGemmNr; ++j)
          dst[j] = 0.0f;
      }
      dst += kGemmNr;
    }
  }
}

inline void apply_gemm_epilogue(const GemmEpilogue& e, float* c, int64_t ldc, int64_t row0,
                                int64_t rows, int64_t col0, int64_t cols) {
  for (int64_t i = row0; i < row0 + rows; ++i) {
    float* y = c + i * ldc + col0;
    if (e.row_bias != nullptr) {
      const float bias = e.row_bias[i];
      for (int64_t j = 0; j < cols; ++j)
        y[j] += bias;
    }
    if (e.col_bias != nullptr) {
      for (int64_t j = 0; j < cols; ++j)
        y[j] += e.col_bias[col0 + j];
    }
    if (e.residual != nullptr) {
      const float* r = e.residual + i * e.ld_residual + col0;
      for (int64_t j = 0; j < cols; ++j)
        y[j] += r[j];
    }
    activate_in_place(y, cols, e.act);
  }
}

// How gemm_packed_a_with splits C into tasks: m_blocks × n_blocks blocks of mc rows × nc
// columns (the last ones smaller).
struct GemmTasks {
  int64_t mc, nc, m_blocks, n_blocks;
};

// Each task packs its own slice of B once per K block and streams its rows of A past it, so
// column blocks are the natural split; rows are split too when that balances the threads
// better (a 14×14 image has 7 column panels, which two threads share 4 to 3; 22 row panels
// share 11 to 11), at the price of packing the same B slice once per row block. The plan
// minimizes the estimated finishing time in register tiles: the rounds of tasks the threads
// go through, times a task's tiles, plus its packing (a packed B panel costs about a tenth of a
// tile of FMAs) and, when A is too big to stay in L2, its reading of A from memory (a quarter
// of a tile per row panel; it decides for deep, narrow GEMMs such as ResNet-50's layer4 1×1
// convs, 512 × 49 × 2048).
// Column blocks stay at most kGemmNcMax wide so the packed slice stays in L2.
inline GemmTasks plan_gemm_tasks(int64_t m, int64_t n, int64_t k, int threads) {
  const int64_t m_panels = (m + kGemmMr - 1) / kGemmMr, n_panels = (n + kGemmNr - 1) / kGemmNr;
  const int64_t max_panels_per_block = kGemmNcMax / kGemmNr;
  const int64_t min_n_blocks = (n_panels + max_panels_per_block - 1) / max_panels_per_block;
  const auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  GemmTasks best{m_panels * kGemmMr, ceil_div(n_panels, min_n_blocks) * kGemmNr, 1, min_n_blocks};
  if (threads <= 1) return best;
  const double a_panel_cost = m * k * int64_t{sizeof(float)} > kGemmL2Bytes / 2 ? 0.25 : 0.0;
  double best_cost = -1;
  const int64_t max_blocks = 4 * static_cast<int64_t>(threads);
  for (int64_t nb = min_n_blocks; nb <= std::min(n_panels, min_n_blocks + max_blocks); ++nb) {
    const int64_t n_per = ceil_div(n_panels, nb), n_blocks = ceil_div(n_panels, n_per);
    for (int64_t mb = 1; mb <= std::min(m_panels, max_blocks); ++mb) {
      const int64_t m_per = ceil_div(m_panels, mb), m_blocks = ceil_div(m_panels, m_per);
      const int64_t rounds = ceil_div(m_blocks * n_blocks, threads);
      const double cost = double(rounds) * (double(m_per * n_per) + 0.1 * double(n_per) +
                                            a_panel_cost * double(m_per));
      if (best_cost < 0 || cost < best_cost - 1e-9) {
        best_cost = cost;
        best = {m_per * kGemmMr, n_per * kGemmNr, m_blocks, n_blocks};
      }
    }
  }
  return best;
}

inline float* thread_scratch(int64_t count) {
  thread_local AlignedBuffer buffer;
  buffer.resize_kept(count);
  return buffer.data();
}

}  // namespace detail

// C[M, N] (leading dimension ldc) = epilogue(A · B) with A packed. B is never formed: the
// callable pack_b(pc, kc, n0, n1, dst) writes rows [pc, pc + kc) × columns [n0, n1) of it in
// panel order (as detail::pack_b does), so a convolution can pack straight from the image.
template <class PackB>
void gemm_packed_a_with(const PackedMatrixA& a, int64_t n, const PackB& pack_b, float* c,
                        int64_t ldc, const GemmEpilogue& e) {
  const int64_t m = a.rows(), k = a.cols();
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    detail::apply_gemm_epilogue(e, c, ldc, 0, m, 0, n);
    return;
  }
  const detail::GemmTasks plan = detail::plan_gemm_tasks(m, n, k, threads_available());
  const int64_t mc = plan.mc, nc = plan.nc, m_blocks = plan.m_blocks, n_blocks = plan.n_blocks;
  parallel_for(0, m_blocks * n_blocks, [&](int64_t task) {
    const int64_t m0 = (task / n_blocks) * mc, m1 = std::min(m0 + mc, m);
    const int64_t n0 = (task % n_blocks) * nc, n1 = std::min(n0 + nc, n);
    float* packed_b = detail::thread_scratch(kGemmKc * nc);
    for (int64_t pc = 0; pc < k; pc += kGemmKc) {
      const int64_t kc = std::min(kGemmKc, k - pc);
      const bool first = pc == 0, last = pc + kc == k;
      pack_b(pc, kc, n0, n1, packed_b);
      for (int64_t i0 = m0; i0 < m1; i0 += kGemmMr) {
        const int64_t rows = std::min<int64_t>(kGemmMr, m1 - i0);
        const float* a_panel = a.panel(pc, kc, i0 / kGemmMr);
        for (int64_t j0 = n0; j0 < n1; j0 += kGemmNr) {
          const int64_t cols = std::min<int64_t>(kGemmNr, n1 - j0);
          const detail::TileEpilogue tile{
              e.row_bias != nullptr ? e.row_bias + i0 : nullptr,
              e.col_bias != nullptr ? e.col_bias + j0 : nullptr,
              e.residual != nullptr ? e.residual + i0 * e.ld_residual + j0 : nullptr, e.ld_residual,
              e.act};
          detail::gemm_tile(kc, a_panel, packed_b + (j0 - n0) * kc, c + i0 * ldc + j0, ldc, first,
                            rows, cols, last ? &tile : nullptr);
        }
      }
    }
  });
}

// C[M, N] (leading dimension ldc) = epilogue(A · B) with A packed; B's element (k, n) is at
// b[k * b_row_stride + n * b_col_stride].
inline void gemm_packed_a(const PackedMatrixA& a, int64_t n, const float* b, int64_t b_row_stride,
                          int64_t b_col_stride, float* c, int64_t ldc, const GemmEpilogue& e) {
  gemm_packed_a_with(
      a, n,
      [&](int64_t pc, int64_t kc, int64_t n0, int64_t n1, float* dst) {
        detail::pack_b(b, b_row_stride, b_col_stride, pc, kc, n0, n1, dst);
      },
      c, ldc, e);
}

// C = epilogue(A · B) for row-major A [M, K] (lda) and B [K, N] (ldb).
inline void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* c, int64_t ldc, const GemmEpilogue& e = {}) {
  const PackedMatrixA packed(m, k, a, lda, 1);
  gemm_packed_a(packed, n, b, ldb, 1, c, ldc, e);
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
