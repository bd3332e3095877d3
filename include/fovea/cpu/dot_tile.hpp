// dot_tile: a tile of dot products between two sets of rows, out[i][j] = Σ_t a_i[t] · b_j[t].
//
// A convolution's weight gradient is made of these: dW[k, (c, r, s)] is the dot product, over
// every pixel of every image, of dy's row k with the im2col row (c, r, s). Both rows are
// contiguous, so unlike a GEMM (which would have to transpose one of them into panels) nothing
// is packed: the tile keeps kDotRowsA × kDotRowsB vector accumulators in registers and streams
// the rows past them, and each loaded vector feeds several FMAs.
#pragma once

#include <cstdint>

#include "fovea/cpu/simd.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// Accumulators, plus one vector per row of a and one of b, must fit the register file: 24 + 5
// of AVX-512's 32, 8 + 3 of AVX2's 16.
#if defined(__AVX512F__)
inline constexpr int kDotRowsA = 4;
inline constexpr int kDotRowsB = 6;
#else
inline constexpr int kDotRowsA = 2;
inline constexpr int kDotRowsB = 4;
#endif

// out[i * kDotRowsB + j] = Σ over images m < `images` and t < `length` of
//   a[i][m * a_image_stride + t] · b[j][m * b_image_stride + t].
// Sums run per vector lane in a fixed order, so the result depends only on the inputs.
inline void dot_tile(const float* const* a, int64_t a_image_stride, const float* const* b,
                     int64_t b_image_stride, int64_t images, int64_t length, float* out) {
  Vec acc[kDotRowsA][kDotRowsB];
  float tail[kDotRowsA][kDotRowsB] = {};
  for (auto& row : acc)
    for (Vec& v : row)
      v = Vec::zero();
  const int64_t vector_end = length / Vec::kLanes * Vec::kLanes;
  for (int64_t m = 0; m < images; ++m) {
    const float* ap[kDotRowsA];
    const float* bp[kDotRowsB];
    for (int i = 0; i < kDotRowsA; ++i)
      ap[i] = a[i] + m * a_image_stride;
    for (int j = 0; j < kDotRowsB; ++j)
      bp[j] = b[j] + m * b_image_stride;
    for (int64_t t = 0; t < vector_end; t += Vec::kLanes) {
      Vec av[kDotRowsA];
#pragma GCC unroll 8
      for (int i = 0; i < kDotRowsA; ++i)
        av[i] = Vec::load(ap[i] + t);
#pragma GCC unroll 8
      for (int j = 0; j < kDotRowsB; ++j) {
        const Vec bv = Vec::load(bp[j] + t);
#pragma GCC unroll 8
        for (int i = 0; i < kDotRowsA; ++i)
          acc[i][j] = fmadd(av[i], bv, acc[i][j]);
      }
    }
    for (int64_t t = vector_end; t < length; ++t)
      for (int i = 0; i < kDotRowsA; ++i)
        for (int j = 0; j < kDotRowsB; ++j)
          tail[i][j] += ap[i][t] * bp[j][t];
  }
  for (int i = 0; i < kDotRowsA; ++i)
    for (int j = 0; j < kDotRowsB; ++j)
      out[i * kDotRowsB + j] = reduce_add(acc[i][j]) + tail[i][j];
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
