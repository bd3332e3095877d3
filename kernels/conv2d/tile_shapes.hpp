// The block tiles the implicit-GEMM conv is instantiated for. A tile is kM output pixels by kN
// output channels, stepping through the reduction kK elements at a time, with kWarpsM x kWarpsN
// warps each owning a (kM / kWarpsM) x (kN / kWarpsN) piece of the accumulators.
#pragma once

namespace fovea::cuda::detail {

template <int M, int N, int K, int WarpsM, int WarpsN>
struct GemmTile {
  static constexpr int kM = M, kN = N, kK = K;
  static constexpr int kWarpsM = WarpsM, kWarpsN = WarpsN;
  static constexpr int kWarps = WarpsM * WarpsN;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kWarpM = M / WarpsM, kWarpN = N / WarpsN;
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0, "warp tiles are made of 16x16 fragments");
};

// Large problems: 8 warps, each 64x32.
using Tile128x128x32 = GemmTile<128, 128, 32, 2, 4>;
// Problems that would leave most SMs idle with the large tile: 4 warps, each 32x32.
using Tile64x64x32 = GemmTile<64, 64, 32, 2, 2>;

}  // namespace fovea::cuda::detail
