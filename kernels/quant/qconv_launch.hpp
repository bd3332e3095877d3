// Host-side declarations of the INT8 conv kernel instances (defined in qconv2d_imma.cuh and
// qconv2d_dp4a.cuh, instantiated in instances/qconv2d_imma_u8s8.cu and qconv2d_int8.cu) and the
// block tiles they are built for. Out is the output element: uint8_t (requantized) or float
// (dequantized logits).
#pragma once

#include <cuda_runtime_api.h>

#include "quant/qconv_problem.hpp"

namespace fovea::cuda::detail {

// An IMMA block tile: kM output pixels by kN output channels, stepping through the reduction
// kK = 64 bytes (two m16n8k32 steps) at a time through a kStages-deep cp.async pipeline, with
// kWarpsM x kWarpsN warps each owning a (kM / kWarpsM) x (kN / kWarpsN) accumulator tile.
template <int M, int N, int WarpsM, int WarpsN, int Stages>
struct ImmaTile {
  static constexpr int kM = M, kN = N, kK = 64;
  static constexpr int kWarpsM = WarpsM, kWarpsN = WarpsN;
  static constexpr int kWarps = WarpsM * WarpsN;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kWarpM = M / WarpsM, kWarpN = N / WarpsN;
  static constexpr int kStages = Stages;
  // Warp tiles are whole m16 tiles and pairs of n8 tiles (one ldmatrix.x4 loads two of B).
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0, "warp tiles are m16 x (2 x n8) pieces");
};

// Large problems: 8 warps of 64x32 (16 mma per 32-byte step), 3 stages, 60 KB of shared memory.
using ImmaTile128x128x64 = ImmaTile<128, 128, 2, 4, 3>;
// Problems that would leave most SMs idle with the large tile: 4 warps of 32x32, 30 KB.
using ImmaTile64x64x64 = ImmaTile<64, 64, 2, 2, 3>;

// Packed weight rows are padded to the largest IMMA tile's channels, so B loads need no guard.
inline constexpr int kImmaRowPadding = 128;
// The dp4a tile: 64 pixels x 64 channels, 32 reduction bytes (8 words) a slice, 256 threads of
// 4x4 outputs each.
inline constexpr int kDp4aTileM = 64, kDp4aTileN = 64, kDp4aSliceBytes = 32;
inline constexpr int kDepthwiseThreads = 256;

template <class Out, class Tile>
void launch_qconv2d_imma(const QConvProblem& problem, cudaStream_t stream);

template <class Out>
void launch_qconv2d_dp4a(const QConvProblem& problem, cudaStream_t stream);

// kVec channels per thread: 4 (word loads, channel multiplier 1) or 1.
template <class Out, int kVec>
void launch_qconv2d_depthwise(const QConvProblem& problem, cudaStream_t stream);

}  // namespace fovea::cuda::detail
