// 3×3 stride-1 convolution by Winograd's F(m×m, 3×3) in channels-last (NHWC) layout: the
// transforms and thresholds of conv2d_winograd.hpp, with SIMD lanes across channels instead of
// tiles. In NHWC a pixel's channels are contiguous, so every value of an input tile is one
// vector load of Vec::kLanes channels, and nothing is regrouped:
//   V_ξ [tiles, C] = (B^T d B)_ξ per tile            input transform
//   M_ξ [tiles, K] = V_ξ · U_ξ for the α² positions   gemm_rows_in_place, U_ξ packed as B [C, K]
//   y = A^T M A per (tile, channel vector)            output transform, bias, residual, activation
// The GEMMs' rows are tiles and their columns output channels, as the NHWC pointwise GEMM's
// rows are pixels.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/conv2d_winograd.hpp"
#include "fovea/cpu/gemm_rows_in_place.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

template <int kM>
bool conv2d_winograd_nhwc_supports(const Conv2dProblem& problem) {
  return problem.input_layout == Layout::nhwc && problem.residual_layout == Layout::nhwc &&
         winograd_shape<kM>(problem.params);
}

struct WinogradNhwcWeights {
  std::vector<PackedMatrixB> positions;  // α² of [C, K]
};

template <int kM>
std::shared_ptr<const void> winograd_nhwc_prepare(const Tensor<float>& weight,
                                                  const Conv2dParams& cp) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const AlignedBuffer u = winograd_filter_transform<kM>(weight, cp);  // [α²][K][C]
  auto packed = std::make_shared<WinogradNhwcWeights>();
  for (int xi = 0; xi < kAlpha * kAlpha; ++xi)  // element (c, k) at u[ξ][k][c]
    packed->positions.emplace_back(cp.c, cp.k, u.data() + xi * cp.k * cp.c, 1, cp.c, kGemmKc);
  return packed;
}

namespace detail {

// Where one tile lies: its first input row and column (may be negative: padding), and whether
// all of its α×α input lies inside the image, so loads need no checks.
struct WinogradTile {
  int64_t row0, col0;
  bool inside;
};

template <int kM>
WinogradTile winograd_tile(const Conv2dParams& cp, int64_t tiles_w, int64_t tile) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const int64_t row0 = tile / tiles_w * kM - cp.attrs.pad_top;
  const int64_t col0 = tile % tiles_w * kM - cp.attrs.pad_left;
  return {row0, col0, row0 >= 0 && col0 >= 0 && row0 + kAlpha <= cp.h && col0 + kAlpha <= cp.w};
}

// The input transform of tiles [tile0, tile1) of one image (x: its H·W·C floats) into
// v[ξ][tile][C].
template <int kM>
void winograd_nhwc_input(const float* x, const Conv2dParams& cp, int64_t tiles_w, int64_t tiles,
                         int64_t tile0, int64_t tile1, float* v) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  for (int64_t tile = tile0; tile < tile1; ++tile) {
    const WinogradTile at = winograd_tile<kM>(cp, tiles_w, tile);
    for (int64_t c0 = 0; c0 < cp.c; c0 += Vec::kLanes) {
      const int64_t lanes = std::min<int64_t>(Vec::kLanes, cp.c - c0);
      const auto load = [&](int i, int j) {
        const int64_t row = at.row0 + i, col = at.col0 + j;
        if (!at.inside && (row < 0 || row >= cp.h || col < 0 || col >= cp.w)) return Vec::zero();
        const float* p = x + (row * cp.w + col) * cp.c + c0;
        return lanes == Vec::kLanes ? Vec::load(p) : Vec::load_first(p, lanes);
      };
      winograd_input_tile<kM>(load, [&](int a, int b, Vec value) {
        value.store_first(v + ((a * kAlpha + b) * tiles + tile) * cp.c + c0, lanes);
      });
    }
  }
}

// The output transform of tiles [tile0, tile1) of one image from m[ξ][tile][K]: y = A^T M A +
// bias (+ residual), activated, stored at the tile's pixels that lie inside the output.
template <int kM>
void winograd_nhwc_output(const float* m, const Conv2dParams& cp, const Conv2dCall& call,
                          int64_t tiles_w, int64_t tiles, int64_t tile0, int64_t tile1,
                          const float* residual, float* y) {
  constexpr int kAlpha = Winograd<kM>::kAlpha;
  const ActivationKind act = call.epilogue.act;
  const bool vector_act = has_vector_form(act);
  for (int64_t tile = tile0; tile < tile1; ++tile) {
    const int64_t row0 = tile / tiles_w * kM, col0 = tile % tiles_w * kM;
    for (int64_t k0 = 0; k0 < cp.k; k0 += Vec::kLanes) {
      const int64_t lanes = std::min<int64_t>(Vec::kLanes, cp.k - k0);
      const Vec bias =
          call.bias.empty() ? Vec::zero() : Vec::load_first(call.bias.data() + k0, lanes);
      // A partial tile at the image's bottom or right edge drops the pixels outside it.
      winograd_output_tile<kM>(
          [&](int a, int b) {
            return Vec::load_first(m + ((a * kAlpha + b) * tiles + tile) * cp.k + k0, lanes);
          },
          [&](int i, int j, Vec value) {
            if (row0 + i >= cp.p || col0 + j >= cp.q) return;
            const int64_t at = ((row0 + i) * cp.q + col0 + j) * cp.k + k0;
            value = value + bias;
            if (residual != nullptr) value = value + Vec::load_first(residual + at, lanes);
            if (vector_act) value = activate(value, act);
            value.store_first(y + at, lanes);
          });
    }
    if (vector_act) continue;
    for (int64_t i = row0; i < std::min(row0 + kM, cp.p); ++i)
      activate_in_place(y + (i * cp.q + col0) * cp.k, std::min<int64_t>(kM, cp.q - col0) * cp.k,
                        act);
  }
}

}  // namespace detail

template <int kM>
Tensor<float> conv2d_winograd_nhwc_run(const Conv2dCall& call) {
  constexpr int kPositions = Winograd<kM>::kAlpha * Winograd<kM>::kAlpha;
  const Conv2dParams& cp = call.params;
  const auto& packed = *static_cast<const WinogradNhwcWeights*>(call.prepared);
  const int64_t tiles_w = winograd_tiles(cp.q, kM), tiles = winograd_tiles(cp.p, kM) * tiles_w;
  AlignedBuffer v(kPositions * tiles * cp.c), m(kPositions * tiles * cp.k);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  const int64_t image_in = cp.h * cp.w * cp.c, image_out = cp.p * cp.q * cp.k;
  for (int64_t n = 0; n < cp.n; ++n) {
    parallel_for_parts(0, tiles, [&](int64_t tile0, int64_t tile1) {
      detail::winograd_nhwc_input<kM>(call.x.data() + n * image_in, cp, tiles_w, tiles, tile0,
                                      tile1, v.data());
    });
    // One task per position, each GEMM whole on one thread, as in the NCHW kernel.
    parallel_for_parts(0, kPositions, [&](int64_t xi0, int64_t xi1) {
      for (int64_t xi = xi0; xi < xi1; ++xi)
        gemm_rows_in_place(tiles, v.data() + xi * tiles * cp.c, cp.c,
                           packed.positions[static_cast<size_t>(xi)], m.data() + xi * tiles * cp.k,
                           cp.k, GemmEpilogue{});
    });
    const float* residual = call.epilogue.residual != nullptr
                                ? call.epilogue.residual->data() + n * image_out
                                : nullptr;
    parallel_for_parts(0, tiles, [&](int64_t tile0, int64_t tile1) {
      detail::winograd_nhwc_output<kM>(m.data(), cp, call, tiles_w, tiles, tile0, tile1, residual,
                                       y.data() + n * image_out);
    });
  }
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
