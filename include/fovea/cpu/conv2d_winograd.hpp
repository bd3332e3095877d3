// 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016),
// NCHW, groups 1: each 2×2 output tile costs 16 multiplies per (k, c) instead of 36.
//
// With the transforms G (4×3), B^T (4×4) and A^T (2×4):
//   U = G g G^T per (k, c)                 prepare(): packed as 16 GEMM A operands [K, C]
//   V = B^T d B per (c, 4×4 input tile)    input transform, [16][C][tiles]
//   M_ξ = U_ξ · V_ξ for the 16 positions ξ  16 GEMMs
//   y = A^T M A per (k, tile)              output transform, with bias, residual, activation
// Only problems deep enough for the transforms to pay are taken (see the thresholds); the rest
// go to im2col.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// Below these the transforms cost more than the multiplies saved. Measured on ResNet-50's 3×3
// layers: 1.3-1.5× faster than im2col at 128-512 channels down to 7×7 (16 tiles), 2× slower at
// 64 channels (layer1), where the 16 GEMMs have a depth of only 64.
inline constexpr int64_t kWinogradMinTiles = 16;
inline constexpr int64_t kWinogradMinChannels = 128;

inline bool conv2d_winograd_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  const Conv2dAttrs& a = cp.attrs;
  const int64_t tiles = ((cp.p + 1) / 2) * ((cp.q + 1) / 2);
  return problem.input_layout == Layout::nchw && problem.residual_layout == Layout::nchw &&
         cp.r == 3 && cp.s == 3 && a.stride_h == 1 && a.stride_w == 1 && a.dilation_h == 1 &&
         a.dilation_w == 1 && cp.groups() == 1 && tiles >= kWinogradMinTiles &&
         cp.c >= kWinogradMinChannels && cp.k >= kWinogradMinChannels;
}

struct WinogradWeights {
  std::vector<PackedMatrixA> positions;  // 16 of [K, C]
};

inline std::shared_ptr<const void> winograd_prepare(const Tensor<float>& weight,
                                                    const Conv2dParams& cp) {
  AlignedBuffer u(16 * cp.k * cp.c);  // [16][K][C]
  for (int64_t k = 0; k < cp.k; ++k) {
    for (int64_t c = 0; c < cp.c; ++c) {
      const float* g = weight.data() + (k * cp.c + c) * 9;
      double gg[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        gg[0][j] = g[j];
        gg[1][j] = 0.5 * (double(g[j]) + g[3 + j] + g[6 + j]);
        gg[2][j] = 0.5 * (double(g[j]) - g[3 + j] + g[6 + j]);
        gg[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        const double row[4] = {gg[i][0], 0.5 * (gg[i][0] + gg[i][1] + gg[i][2]),
                               0.5 * (gg[i][0] - gg[i][1] + gg[i][2]), gg[i][2]};
        for (int j = 0; j < 4; ++j)
          u.data()[((i * 4 + j) * cp.k + k) * cp.c + c] = static_cast<float>(row[j]);
      }
    }
  }
  auto packed = std::make_shared<WinogradWeights>();
  for (int xi = 0; xi < 16; ++xi)
    packed->positions.emplace_back(cp.k, cp.c, u.data() + xi * cp.k * cp.c, cp.c, 1);
  return packed;
}

namespace detail {

// V = B^T d B for the 4×4 input tile whose top-left is (row0, col0), zero outside the image;
// writes v[xi * stride]. kInside: the tile lies inside the image. Otherwise the rows and
// columns inside it are worked out once per tile (testing each element was most of the input
// transform's time on 7×7 and 14×14 images, where most tiles touch the padding).
template <bool kInside>
void winograd_input_tile(const float* plane, int64_t h, int64_t w, int64_t row0, int64_t col0,
                         float* v, int64_t stride) {
  float d[4][4] = {};
  const int64_t i0 = kInside ? 0 : std::max<int64_t>(0, -row0);
  const int64_t i1 = kInside ? 4 : std::min<int64_t>(4, h - row0);
  const int64_t j0 = kInside ? 0 : std::max<int64_t>(0, -col0);
  const int64_t j1 = kInside ? 4 : std::min<int64_t>(4, w - col0);
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = j0; j < j1; ++j)
      d[i][j] = plane[(row0 + i) * w + col0 + j];
  float t[4][4];  // B^T d
  for (int j = 0; j < 4; ++j) {
    t[0][j] = d[0][j] - d[2][j];
    t[1][j] = d[1][j] + d[2][j];
    t[2][j] = d[2][j] - d[1][j];
    t[3][j] = d[1][j] - d[3][j];
  }
  for (int i = 0; i < 4; ++i) {  // (B^T d) B
    v[(i * 4 + 0) * stride] = t[i][0] - t[i][2];
    v[(i * 4 + 1) * stride] = t[i][1] + t[i][2];
    v[(i * 4 + 2) * stride] = t[i][2] - t[i][1];
    v[(i * 4 + 3) * stride] = t[i][1] - t[i][3];
  }
}

}  // namespace detail

inline Tensor<float> conv2d_winograd_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  const auto& packed = *static_cast<const WinogradWeights*>(call.prepared);
  const int64_t tiles_h = (cp.p + 1) / 2, tiles_w = (cp.q + 1) / 2, tiles = tiles_h * tiles_w;
  AlignedBuffer v(16 * cp.c * tiles), m(16 * cp.k * tiles);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape());
  const int64_t pq = cp.p * cp.q;
  for (int64_t n = 0; n < cp.n; ++n) {
    const float* image = call.x.data() + n * cp.c * cp.h * cp.w;
    parallel_for(0, cp.c, [&](int64_t c) {
      const float* plane = image + c * cp.h * cp.w;
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t row0 = (t / tiles_w) * 2 - cp.attrs.pad_top;
        const int64_t col0 = (t % tiles_w) * 2 - cp.attrs.pad_left;
        const bool inside = row0 >= 0 && row0 + 4 <= cp.h && col0 >= 0 && col0 + 4 <= cp.w;
        float* vt = v.data() + c * tiles + t;
        if (inside) {
          detail::winograd_input_tile<true>(plane, cp.h, cp.w, row0, col0, vt, cp.c * tiles);
        } else {
          detail::winograd_input_tile<false>(plane, cp.h, cp.w, row0, col0, vt, cp.c * tiles);
        }
      }
    });
    // One task per position: the 16 GEMMs are small (7×7 and 14×14 images give 16 and 49
    // tiles), so splitting each over the threads cost more in hand-offs than the GEMM itself.
    // Nested in this loop, each GEMM runs whole on one thread.
    parallel_for(0, 16, [&](int64_t xi) {
      gemm_packed_a(packed.positions[static_cast<size_t>(xi)], tiles, v.data() + xi * cp.c * tiles,
                    tiles, 1, m.data() + xi * cp.k * tiles, tiles, GemmEpilogue{});
    });
    const float* residual = call.epilogue.residual != nullptr
                                ? call.epilogue.residual->data() + n * cp.k * pq
                                : nullptr;
    float* out = y.data() + n * cp.k * pq;
    parallel_for(0, cp.k, [&](int64_t k) {
      const float bias = call.bias.empty() ? 0.0f : call.bias(k);
      float* out_plane = out + k * pq;
      for (int64_t t = 0; t < tiles; ++t) {
        const float* mk = m.data() + k * tiles + t;
        const int64_t stride = cp.k * tiles;
        float s[2][4];  // A^T M
        for (int j = 0; j < 4; ++j) {
          const float m0 = mk[j * stride], m1 = mk[(4 + j) * stride];
          const float m2 = mk[(8 + j) * stride], m3 = mk[(12 + j) * stride];
          s[0][j] = m0 + m1 + m2;
          s[1][j] = m1 - m2 - m3;
        }
        const int64_t p0 = (t / tiles_w) * 2, q0 = (t % tiles_w) * 2;
        for (int i = 0; i < 2 && p0 + i < cp.p; ++i) {
          const float row[2] = {s[i][0] + s[i][1] + s[i][2], s[i][1] - s[i][2] - s[i][3]};
          for (int j = 0; j < 2 && q0 + j < cp.q; ++j) {
            const int64_t at = (p0 + i) * cp.q + q0 + j;
            out_plane[at] = row[j] + bias + (residual != nullptr ? residual[k * pq + at] : 0.0f);
          }
        }
      }
      activate_in_place(out_plane, pq, call.epilogue.act);
    });
  }
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
