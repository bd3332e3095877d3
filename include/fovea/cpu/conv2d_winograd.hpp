// 3×3 stride-1 convolution by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray 2016),
// NCHW, groups 1, with output tiles of m = 2 or 4. An m×m output tile is computed from an α×α
// input tile (α = m + 2) with α² multiplies per (k, c) instead of 9m²: 16 instead of 36 for
// F(2×2), 36 instead of 144 for F(4×4).
//
// With the transforms G (α×3), B^T (α×α) and A^T (m×α):
//   U = G g G^T per (k, c)                   prepare(): packed as α² GEMM A operands [K, C]
//   V = B^T d B per (c, input tile)          input transform, [α²][C][tiles]
//   M_ξ = U_ξ · V_ξ for the α² positions ξ   α² GEMMs
//   y = A^T M A per (k, tile)                output transform, with bias, residual, activation
// Both transforms run on SIMD vectors whose lanes are consecutive tiles.
//
// F(4×4)'s transform points 0, ±1, ±2 scale some terms by up to 8 before they cancel, so it
// rounds more than F(2×2): on ResNet-50's 3×3 layer shapes with uniform random data its largest
// error is 0.7-2e-5 of the largest output (F(2×2): 6e-7), under the 1e-4 the kernel tests allow.
// It is worst at a tile's last row and column, whose A^T row carries the 8s.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// The transforms of F(m×m, 3×3), applied along one line of a tile at a time: input() is B^T on
// α values, output() is A^T. Both are written out by hand, since a generic matrix product would
// multiply by the zeros and ones the matrices are mostly made of.
template <int kM>
struct Winograd;

template <>
struct Winograd<2> {
  static constexpr int kAlpha = 4;
  static constexpr double kG[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

  static void input(const Vec (&d)[4], Vec (&v)[4]) {
    v[0] = d[0] - d[2];
    v[1] = d[1] + d[2];
    v[2] = d[2] - d[1];
    v[3] = d[1] - d[3];
  }
  static void output(const Vec (&s)[4], Vec (&y)[2]) {
    y[0] = s[0] + s[1] + s[2];
    y[1] = s[1] - s[2] - s[3];
  }
};

template <>
struct Winograd<4> {
  static constexpr int kAlpha = 6;
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};

  // B^T rows: [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0],
  // [0 2 -1 -2 1 0], [0 4 0 -5 0 1]; rows 1-2 and 3-4 share their even and odd halves.
  static void input(const Vec (&d)[6], Vec (&v)[6]) {
    const Vec four = Vec::broadcast(4.0f), minus_four = Vec::broadcast(-4.0f);
    const Vec minus_five = Vec::broadcast(-5.0f), two = Vec::broadcast(2.0f);
    v[0] = fmadd(minus_five, d[2], fmadd(four, d[0], d[4]));
    const Vec even12 = fmadd(minus_four, d[2], d[4]), odd12 = fmadd(minus_four, d[1], d[3]);
    v[1] = even12 + odd12;
    v[2] = even12 - odd12;
    const Vec even34 = d[4] - d[2], odd34 = two * (d[3] - d[1]);
    v[3] = even34 + odd34;
    v[4] = even34 - odd34;
    v[5] = fmadd(four, d[1], fmadd(minus_five, d[3], d[5]));
  }
  // A^T rows: [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1].
  static void output(const Vec (&s)[6], Vec (&y)[4]) {
    const Vec sum12 = s[1] + s[2], diff12 = s[1] - s[2];
    const Vec sum34 = s[3] + s[4], diff34 = s[3] - s[4];
    y[0] = s[0] + sum12 + sum34;
    y[1] = fmadd(Vec::broadcast(2.0f), diff34, diff12);
    y[2] = fmadd(Vec::broadcast(4.0f), sum34, sum12);
    y[3] = fmadd(Vec::broadcast(8.0f), diff34, diff12) + s[5];
  }
};

// Below these the transforms cost more than the multiplies saved (bench_conv2d_cpu on ResNet-50's
// 3×3 layers, one thread): F(4×4) pays from 64 channels on images of 14×14 and more; F(2×2)
// takes the deep 7×7 layers, where F(4×4) would have only 4 tiles to a GEMM.
template <int kM>
struct WinogradThresholds;
template <>
struct WinogradThresholds<2> {
  static constexpr int64_t kMinTiles = 16, kMinChannels = 128;
};
template <>
struct WinogradThresholds<4> {
  static constexpr int64_t kMinTiles = 16, kMinChannels = 64;
};

// The 2-D transforms of one tile, for any layout: input_tile computes V = B^T d B from
// load(i, j) (d's element, a vector of tiles or of channels) into store(a, b, V's element);
// output_tile computes A^T M A from load(a, b) into store(i, j, y's element).
template <int kM, class Load, class Store>
FOVEA_ALWAYS_INLINE void winograd_input_tile(const Load& load, const Store& store) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  Vec t[kAlpha][kAlpha];  // B^T d, column by column
  for (int j = 0; j < kAlpha; ++j) {
    Vec d[kAlpha], column[kAlpha];
    for (int i = 0; i < kAlpha; ++i)
      d[i] = load(i, j);
    Winograd<kM>::input(d, column);
    for (int a = 0; a < kAlpha; ++a)
      t[a][j] = column[a];
  }
  for (int a = 0; a < kAlpha; ++a) {  // (B^T d) B, row by row
    Vec row[kAlpha];
    Winograd<kM>::input(t[a], row);
    for (int b = 0; b < kAlpha; ++b)
      store(a, b, row[b]);
  }
}

template <int kM, class Load, class Store>
FOVEA_ALWAYS_INLINE void winograd_output_tile(const Load& load, const Store& store) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  Vec s[kM][kAlpha];  // A^T M, column by column
  for (int b = 0; b < kAlpha; ++b) {
    Vec column[kAlpha], y[kM];
    for (int a = 0; a < kAlpha; ++a)
      column[a] = load(a, b);
    Winograd<kM>::output(column, y);
    for (int i = 0; i < kM; ++i)
      s[i][b] = y[i];
  }
  for (int i = 0; i < kM; ++i) {  // (A^T M) A, row by row
    Vec y[kM];
    Winograd<kM>::output(s[i], y);
    for (int j = 0; j < kM; ++j)
      store(i, j, y[j]);
  }
}

inline int64_t winograd_tiles(int64_t extent, int kM) {
  return (extent + kM - 1) / kM;
}

// Whether F(kM×kM, 3×3) takes this conv's shape, in either layout.
template <int kM>
bool winograd_shape(const Conv2dParams& cp) {
  const Conv2dAttrs& a = cp.attrs;
  const int64_t tiles = winograd_tiles(cp.p, kM) * winograd_tiles(cp.q, kM);
  return cp.r == 3 && cp.s == 3 && a.stride_h == 1 && a.stride_w == 1 && a.dilation_h == 1 &&
         a.dilation_w == 1 && cp.groups() == 1 && tiles >= WinogradThresholds<kM>::kMinTiles &&
         cp.c >= WinogradThresholds<kM>::kMinChannels &&
         cp.k >= WinogradThresholds<kM>::kMinChannels;
}

template <int kM>
bool conv2d_winograd_supports(const Conv2dProblem& problem) {
  return problem.input_layout == Layout::nchw && problem.residual_layout == Layout::nchw &&
         winograd_shape<kM>(problem.params);
}

struct WinogradWeights {
  std::vector<PackedMatrixA> positions;  // α² of [K, C]
};

// U = G g G^T for every (k, c), as [α²][K][C].
template <int kM>
AlignedBuffer winograd_filter_transform(const Tensor<float>& weight, const Conv2dParams& cp) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const auto& g_matrix = Winograd<kM>::kG;
  AlignedBuffer u(kAlpha * kAlpha * cp.k * cp.c);  // [α²][K][C]
  for (int64_t k = 0; k < cp.k; ++k) {
    for (int64_t c = 0; c < cp.c; ++c) {
      const float* g = weight.data() + (k * cp.c + c) * 9;
      double gg[kAlpha][3] = {};  // G g
      for (int a = 0; a < kAlpha; ++a)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            gg[a][j] += g_matrix[a][i] * g[i * 3 + j];
      for (int a = 0; a < kAlpha; ++a) {  // (G g) G^T
        for (int b = 0; b < kAlpha; ++b) {
          double sum = 0;
          for (int j = 0; j < 3; ++j)
            sum += gg[a][j] * g_matrix[b][j];
          u.data()[((a * kAlpha + b) * cp.k + k) * cp.c + c] = static_cast<float>(sum);
        }
      }
    }
  }
  return u;
}

template <int kM>
std::shared_ptr<const void> winograd_prepare(const Tensor<float>& weight, const Conv2dParams& cp) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const AlignedBuffer u = winograd_filter_transform<kM>(weight, cp);
  auto packed = std::make_shared<WinogradWeights>();
  for (int xi = 0; xi < kAlpha * kAlpha; ++xi)
    packed->positions.emplace_back(cp.k, cp.c, u.data() + xi * cp.k * cp.c, cp.c, 1);
  return packed;
}

namespace detail {

inline int64_t round_up_to_lanes(int64_t n) {
  return (n + Vec::kLanes - 1) / Vec::kLanes * Vec::kLanes;
}

// The input transform of one channel plane into v[ξ * v_stride + tile].
//
// Lanes are tiles, but an input tile's columns are kM apart in the image. So the plane's rows
// are first split by column phase: row i of tile (ty, tx) has its column j at
//   split[(i * kM + j % kM) * split_stride + ty * row_tiles + tx + j / kM],
// with row_tiles = tiles_w + 1 (a tile's last columns are the next one's first), zero outside the
// image. Every (i, j) is then one contiguous vector load across tiles. The lanes that fall on
// each tile row's extra column compute nothing used, and are dropped when the results are copied
// out to v.
template <int kM>
void winograd_input_plane(const float* plane, const Conv2dParams& cp, int64_t tiles_h,
                          int64_t tiles_w, float* v, int64_t v_stride) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const int64_t row_tiles = tiles_w + 1, lanes = tiles_h * row_tiles;
  const int64_t vg_stride = round_up_to_lanes(lanes), split_stride = vg_stride + Vec::kLanes;
  // The GEMM's per-thread packing scratch: no GEMM runs while a transform holds it.
  float* split = thread_scratch(kAlpha * kM * split_stride + kAlpha * kAlpha * vg_stride);
  float* vg = split + kAlpha * kM * split_stride;

  // Tile columns tx whose kM columns all lie inside the image take the unchecked copy.
  const int64_t pad_left = cp.attrs.pad_left;
  const int64_t inside_begin = std::min(row_tiles, (pad_left + kM - 1) / kM);
  const int64_t inside_end = std::max(inside_begin, std::min(row_tiles, (cp.w + pad_left) / kM));
  for (int i = 0; i < kAlpha; ++i) {
    float* split_i = split + i * kM * split_stride;
    for (int64_t ty = 0; ty < tiles_h; ++ty) {
      const int64_t row = ty * kM + i - cp.attrs.pad_top;
      float* dst = split_i + ty * row_tiles;
      if (row < 0 || row >= cp.h) {
        for (int k = 0; k < kM; ++k)
          std::fill(dst + k * split_stride, dst + k * split_stride + row_tiles, 0.0f);
        continue;
      }
      const float* src = plane + row * cp.w;
      const auto checked = [&](int64_t tx) {
        for (int k = 0; k < kM; ++k) {
          const int64_t col = tx * kM + k - pad_left;
          dst[k * split_stride + tx] = col >= 0 && col < cp.w ? src[col] : 0.0f;
        }
      };
      for (int64_t tx = 0; tx < inside_begin; ++tx)
        checked(tx);
      for (int64_t tx = inside_begin; tx < inside_end; ++tx)
        for (int k = 0; k < kM; ++k)
          dst[k * split_stride + tx] = src[tx * kM + k - pad_left];
      for (int64_t tx = inside_end; tx < row_tiles; ++tx)
        checked(tx);
    }
    for (int k = 0; k < kM; ++k)  // what the last vector's loads read past the last tile row
      std::fill(split_i + k * split_stride + lanes, split_i + (k + 1) * split_stride, 0.0f);
  }

  for (int64_t u0 = 0; u0 < lanes; u0 += Vec::kLanes) {
    winograd_input_tile<kM>(
        [&](int i, int j) {
          return Vec::load(split + (i * kM + j % kM) * split_stride + u0 + j / kM);
        },
        [&](int a, int b, Vec v) { v.store(vg + (a * kAlpha + b) * vg_stride + u0); });
  }
  for (int xi = 0; xi < kAlpha * kAlpha; ++xi)
    for (int64_t ty = 0; ty < tiles_h; ++ty) {
      const float* from = vg + xi * vg_stride + ty * row_tiles;
      std::copy(from, from + tiles_w, v + xi * v_stride + ty * tiles_w);
    }
}

// The output transform of output channel k: y = A^T M A + bias (+ residual), activated. m holds
// M as [ξ][K][tiles] (m_stride = K · tiles), with at least Vec::kLanes floats readable past its
// end; lanes are tiles again, and the m×m results of each vector of tiles are interleaved back
// into the image's rows.
template <int kM>
void winograd_output_plane(const float* m, int64_t m_stride, int64_t tiles_h, int64_t tiles_w,
                           float bias, const float* residual, int64_t p, int64_t q,
                           ActivationKind act, float* out) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const int64_t tiles = tiles_h * tiles_w, o_stride = round_up_to_lanes(tiles);
  float* o = thread_scratch(kM * kM * o_stride);  // [row in tile][column in tile][tile]
  const Vec bias_v = Vec::broadcast(bias);
  for (int64_t t0 = 0; t0 < tiles; t0 += Vec::kLanes) {
    winograd_output_tile<kM>(
        [&](int a, int b) { return Vec::load(m + (a * kAlpha + b) * m_stride + t0); },
        [&](int i, int j, Vec y) { (y + bias_v).store(o + (i * kM + j) * o_stride + t0); });
  }
  const int64_t whole_tiles_w = q / kM;  // tile columns that lie inside the image's width
  for (int64_t ty = 0; ty < tiles_h; ++ty) {
    for (int i = 0; i < kM && ty * kM + i < p; ++i) {
      const int64_t row = ty * kM + i;
      float* out_row = out + row * q;
      const float* o_row = o + i * kM * o_stride + ty * tiles_w;
      for (int64_t tx = 0; tx < whole_tiles_w; ++tx)
        for (int j = 0; j < kM; ++j)
          out_row[tx * kM + j] = o_row[j * o_stride + tx];
      for (int64_t col = whole_tiles_w * kM; col < q; ++col)
        out_row[col] = o_row[(col % kM) * o_stride + col / kM];
      if (residual != nullptr) {
        const float* residual_row = residual + row * q;
        for (int64_t col = 0; col < q; ++col)
          out_row[col] += residual_row[col];
      }
    }
  }
  activate_in_place(out, p * q, act);
}

}  // namespace detail

template <int kM>
Tensor<float> conv2d_winograd_run(const Conv2dCall& call) {
  constexpr int kPositions = Winograd<kM>::kAlpha * Winograd<kM>::kAlpha;
  const Conv2dParams& cp = call.params;
  const auto& packed = *static_cast<const WinogradWeights*>(call.prepared);
  const int64_t tiles_h = winograd_tiles(cp.p, kM), tiles_w = winograd_tiles(cp.q, kM);
  const int64_t tiles = tiles_h * tiles_w;
  // m is read a vector at a time past the last tile of the last channel.
  AlignedBuffer v(kPositions * cp.c * tiles), m(kPositions * cp.k * tiles + Vec::kLanes);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape());
  const int64_t pq = cp.p * cp.q;
  for (int64_t n = 0; n < cp.n; ++n) {
    const float* image = call.x.data() + n * cp.c * cp.h * cp.w;
    parallel_for_parts(0, cp.c, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        detail::winograd_input_plane<kM>(image + c * cp.h * cp.w, cp, tiles_h, tiles_w,
                                         v.data() + c * tiles, cp.c * tiles);
    });
    // One task per position: the GEMMs are small (a 7×7 image gives 16 tiles), so splitting
    // each over the threads cost more in hand-offs than the GEMM itself. Nested in this loop,
    // each GEMM runs whole on one thread.
    parallel_for_parts(0, kPositions, [&](int64_t xi0, int64_t xi1) {
      for (int64_t xi = xi0; xi < xi1; ++xi)
        gemm_packed_a(packed.positions[static_cast<size_t>(xi)], tiles,
                      v.data() + xi * cp.c * tiles, tiles, 1, m.data() + xi * cp.k * tiles, tiles,
                      GemmEpilogue{});
    });
    const float* residual = call.epilogue.residual != nullptr
                                ? call.epilogue.residual->data() + n * cp.k * pq
                                : nullptr;
    float* out = y.data() + n * cp.k * pq;
    parallel_for_parts(0, cp.k, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k)
        detail::winograd_output_plane<kM>(m.data() + k * tiles, cp.k * tiles, tiles_h, tiles_w,
                                          call.bias.empty() ? 0.0f : call.bias(k),
                                          residual != nullptr ? residual + k * pq : nullptr, cp.p,
                                          cp.q, call.epilogue.act, out + k * pq);
    });
  }
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
