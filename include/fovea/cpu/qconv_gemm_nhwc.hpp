// INT8 convolution (groups 1) on NHWC activations as one GEMM whose rows are output pixels:
// out[pixel, k] = Σ over taps and input channels of x[tap's pixel, c] · w[k, c, tap], read in
// place. The weights are packed once per ISA into blocks of output channels (QGemmPacked); a
// task runs one block over a stretch of pixel tiles, so the block's panel stays in cache while
// the pixels stream past it. Taps that fall in the padding read a row of zero points.
//
// Input channels are taken in groups of 4 (VNNI's quad). A k×k conv reads whole window rows
// (reads_window_rows below), whose S · C bytes are padded to a multiple of 4 with zero weights;
// a 1×1 or dilated conv whose channel count is not a multiple of 4 reads a copy of its input
// with zero-point channels appended, and its weights are padded with zeros there.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/int8_isa.hpp"
#include "fovea/cpu/qgemm_tile.hpp"
#include "fovea/cpu/qgemm_tile_neon.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/quant/qconv_layer.hpp"

namespace fovea::cpu::int8 {

// How an ISA's tiles are shaped: channels per multiply group, int32 lanes per vector, vectors
// per block, and pixel rows per tile.
struct QGemmGeometry {
  int group, lanes, max_vectors, rows;
  int64_t block_channels() const { return static_cast<int64_t>(lanes) * max_vectors; }
};

inline QGemmGeometry qgemm_geometry(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::avx512vnni:
      return {4, 16, 4, 6};
    case Int8Isa::avx2:
      return {2, 8, 3, 4};
    case Int8Isa::neon:
    case Int8Isa::neon_dotprod:
      return {4, 4, 4, 4};  // qgemm_tile_neon.hpp
    case Int8Isa::generic:
      break;
  }
  return {4, 16, 4, 4};
}

// 64-byte aligned bytes that live as long as a layer (never from an activation arena).
struct AlignedBytes {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data;

  explicit AlignedBytes(size_t bytes = 0) {
    if (bytes == 0) return;
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    FOVEA_CHECK(p != nullptr, "INT8: could not allocate ", bytes, " bytes of packed weights");
    data.reset(static_cast<uint8_t*>(p));
  }
  uint8_t* get() const { return data.get(); }
};

// One ISA's packing of a conv's weights, with the derived requantization values.
struct QGemmPacked {
  Int8Isa isa = Int8Isa::generic;
  QGemmGeometry geometry{};
  int64_t k = 0, c = 0, c_padded = 0;
  bool window_rows = false;     // a tap is a kernel row of S · C bytes, padded to a multiple of 4
  int64_t taps = 0, steps = 0;  // per output pixel, and groups of `group` bytes per tap
  std::vector<int64_t> block_offset;  // bytes into data
  std::vector<int> block_vectors;
  AlignedBytes data;
  quant::QConvRequant requant;
};

// Whether an ISA's kernels read u8 activations as s8 (x − 128): AArch64's, which have only
// s8 × s8 and u8 × u8 products (qgemm_tile_neon.hpp).
inline bool reads_flipped_activations(Int8Isa isa) {
  return isa == Int8Isa::neon || isa == Int8Isa::neon_dotprod;
}

// Adds 128 · Σ w over each output channel's weights to its bias, for kernels that sum
// (x − 128) · w: the sums then come out as Σ x · w.
inline void add_flip_correction(quant::QConvRequant& r, const Tensor<int8_t>& w) {
  const int64_t per_channel = w.numel() / w.dim(0);
  for (int64_t k = 0; k < w.dim(0); ++k) {
    int32_t sum = 0;
    for (int64_t i = 0; i < per_channel; ++i)
      sum += w.data()[k * per_channel + i];
    r.bias[static_cast<size_t>(k)] += 128 * sum;
  }
}

// Whether a kernel's work is worth handing to the other threads: splitting a loop costs them a
// wake-up and a wait at its end, a few microseconds, which MobileNetV2's small 7×7 and 14×14
// layers did not repay (two threads ran it slower than one). `microseconds` is the work's
// estimated time on one core.
inline bool worth_threads(double microseconds) {
  return threads_available() > 1 && microseconds >= 5.0;
}

inline int64_t round_up(int64_t v, int64_t multiple) {
  return (v + multiple - 1) / multiple * multiple;
}

// Whether a conv reads its input as whole window rows: a kernel wider than 1 without dilation.
// On a zero-point-padded copy of the input, a window row's S pixels are contiguous, and since
// the packing is (r, s, c) with c innermost, they are one tap of S · C channels: R row pointers
// per output pixel instead of R · S, each with a longer run of multiply-adds. For an image's 3
// channels under a 7×7 kernel, the per-tap loop had set the pace (the stem ran at 13 % of the
// VNNI peak); for ResNet-50's 3×3 convs, paired against one pointer per tap, the 56×56 one took
// 0.89 of the time and the 7×7 ones 0.99. A row's 21 bytes (7 pixels of 3 channels) take 6
// quads where padding each pixel to 4 channels took 7. The padded copy costs one pass over the
// input.
inline bool reads_window_rows(int64_t kernel_w, int64_t dilation_w) {
  return kernel_w > 1 && dilation_w == 1;
}

// Packs w [K, C, R, S] into blocks of geometry.block_channels() output channels. Within a block,
// for each tap (r, s) and each step of `group` input channels: every channel's `group` weights
// side by side (s8 for groups of 4, s16 for pairs), zero past C and past the block's channels.
inline std::shared_ptr<QGemmPacked> pack_qgemm(const quant::QConvLayer& layer, Int8Isa isa) {
  const Tensor<int8_t>& w = layer.weights.weight;
  auto p = std::make_shared<QGemmPacked>();
  p->isa = isa;
  p->geometry = qgemm_geometry(isa);
  const QGemmGeometry& g = p->geometry;
  p->k = w.dim(0);
  p->c = w.dim(1);
  p->c_padded = round_up(p->c, 4);
  p->window_rows = reads_window_rows(w.dim(3), layer.attrs.dilation_w);
  // The bytes of one tap: a window row's S · C, or one pixel's C; either padded to quads.
  const int64_t tap_bytes = p->window_rows ? round_up(w.dim(3) * p->c, 4) : p->c_padded;
  p->taps = p->window_rows ? w.dim(2) : w.dim(2) * w.dim(3);
  p->steps = tap_bytes / g.group;
  // Weight of output channel k for byte i of tap t (zero in the padding).
  const auto weight_at = [&](int64_t k, int64_t t, int64_t i) -> int8_t {
    if (k >= p->k) return 0;
    if (p->window_rows) return i < w.dim(3) * p->c ? w(k, i % p->c, t, i / p->c) : int8_t{0};
    return i < p->c ? w(k, i, t / w.dim(3), t % w.dim(3)) : int8_t{0};
  };
  const int64_t element = isa == Int8Isa::avx2 ? 2 : 1;
  const int64_t blocks = (p->k + g.block_channels() - 1) / g.block_channels();
  int64_t bytes = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t count = std::min(g.block_channels(), p->k - b * g.block_channels());
    const int vectors = static_cast<int>((count + g.lanes - 1) / g.lanes);
    p->block_offset.push_back(bytes);
    p->block_vectors.push_back(vectors);
    bytes += p->taps * p->steps * vectors * g.lanes * g.group * element;
  }
  p->data = AlignedBytes(static_cast<size_t>(bytes));
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b * g.block_channels();
    const int64_t lanes = static_cast<int64_t>(p->block_vectors[static_cast<size_t>(b)]) * g.lanes;
    int64_t i = 0;
    for (int64_t t = 0; t < p->taps; ++t)
      for (int64_t step = 0; step < p->steps; ++step)
        for (int64_t n = 0; n < lanes; ++n)
          for (int64_t j = 0; j < g.group; ++j, ++i) {
            const int8_t v = weight_at(k0 + n, t, step * g.group + j);
            uint8_t* dst = p->data.get() + p->block_offset[static_cast<size_t>(b)];
            if (element == 2)
              reinterpret_cast<int16_t*>(dst)[i] = v;
            else
              reinterpret_cast<int8_t*>(dst)[i] = v;
          }
  }
  p->requant = quant::derive_requant(layer);
  if (reads_flipped_activations(isa)) add_flip_correction(p->requant, w);
  return p;
}

namespace detail {

using QTileFn = void (*)(const QTileArgs&);

inline QTileFn qgemm_tile_for(Int8Isa isa, int vectors) {
#if FOVEA_INT8_SIMD
  if (isa == Int8Isa::avx512vnni) {
    static constexpr QTileFn kTiles[] = {qgemm_tile_avx512vnni<6, 1>, qgemm_tile_avx512vnni<6, 2>,
                                         qgemm_tile_avx512vnni<6, 3>, qgemm_tile_avx512vnni<6, 4>};
    return kTiles[vectors - 1];
  }
  if (isa == Int8Isa::avx2) {
    static constexpr QTileFn kTiles[] = {qgemm_tile_avx2<4, 1>, qgemm_tile_avx2<4, 2>,
                                         qgemm_tile_avx2<4, 3>};
    return kTiles[vectors - 1];
  }
#endif
#if FOVEA_INT8_NEON
  if (isa == Int8Isa::neon_dotprod) {
    static constexpr QTileFn kTiles[] = {
        qgemm_tile_neon_dotprod<4, 1>, qgemm_tile_neon_dotprod<4, 2>, qgemm_tile_neon_dotprod<4, 3>,
        qgemm_tile_neon_dotprod<4, 4>};
    return kTiles[vectors - 1];
  }
  if (isa == Int8Isa::neon) {
    static constexpr QTileFn kTiles[] = {qgemm_tile_neon<4, 1>, qgemm_tile_neon<4, 2>,
                                         qgemm_tile_neon<4, 3>, qgemm_tile_neon<4, 4>};
    return kTiles[vectors - 1];
  }
#endif
  (void)isa;
  (void)vectors;
  return nullptr;  // generic: qgemm_tile_generic
}

// x with its channels padded to c_padded by zero points ([N, H, W, c_padded]).
inline Tensor<uint8_t> pad_channels(const uint8_t* x, int64_t pixels, int64_t c, int64_t c_padded,
                                    uint8_t zero_point) {
  Tensor<uint8_t> padded = Tensor<uint8_t>::uninitialized(Shape{pixels * c_padded});
  uint8_t* dst = padded.data();
  for (int64_t i = 0; i < pixels; ++i) {
    std::copy(x + i * c, x + (i + 1) * c, dst + i * c_padded);
    std::fill(dst + i * c_padded + c, dst + (i + 1) * c_padded, zero_point);
  }
  return padded;
}

// x (N, H, W, C) copied into (N, H + top + bottom, W + left + right, C), everything outside x a
// zero point: the input of the window-row form. Three more zero points follow, since the last
// window row's quads may read up to 3 bytes past its end (they meet zero weights).
inline Tensor<uint8_t> pad_input(const uint8_t* x, const Conv2dParams& cp, uint8_t zero_point) {
  const Conv2dAttrs& a = cp.attrs;
  const int64_t hp = cp.h + a.pad_top + a.pad_bottom, wp = cp.w + a.pad_left + a.pad_right;
  Tensor<uint8_t> padded = Tensor<uint8_t>::uninitialized(Shape{cp.n * hp * wp * cp.c + 3});
  uint8_t* dst = padded.data();
  std::fill(dst, dst + padded.numel(), zero_point);
  for (int64_t n = 0; n < cp.n; ++n)
    for (int64_t h = 0; h < cp.h; ++h)
      std::memcpy(dst + ((n * hp + h + a.pad_top) * wp + a.pad_left) * cp.c,
                  x + (n * cp.h + h) * cp.w * cp.c, static_cast<size_t>(cp.w * cp.c));
  return padded;
}

}  // namespace detail

// Runs the conv of `cp` (NHWC u8 input x, groups 1) with packed weights into `out` (u8, or float
// when out.out_float is set), residual and requantization as `out` says.
inline void qconv_gemm_nhwc_run(const uint8_t* x, const Conv2dParams& cp, const QGemmPacked& p,
                                int32_t x_zero_point, const QGemmOutput& out) {
  const QGemmGeometry& g = p.geometry;
  const int64_t mr = g.rows;
  const Conv2dAttrs& a = cp.attrs;
  const auto zp = static_cast<uint8_t>(x_zero_point);
  const bool window_rows = p.window_rows;
  Tensor<uint8_t> padded;
  const uint8_t* input = x;
  if (window_rows) {
    padded = detail::pad_input(x, cp, zp);
    input = padded.data();
  } else if (p.c_padded != p.c) {
    padded = detail::pad_channels(x, cp.n * cp.h * cp.w, p.c, p.c_padded, zp);
    input = padded.data();
  }
  const int64_t taps = p.taps, steps = p.steps;
  const int64_t padded_h = cp.h + a.pad_top + a.pad_bottom,
                padded_w = cp.w + a.pad_left + a.pad_right;
  const std::vector<uint8_t> zero_row(static_cast<size_t>(p.c_padded), zp);
  const int64_t rows = cp.n * cp.p * cp.q;
  const int64_t tiles = (rows + mr - 1) / mr;
  const int64_t blocks = static_cast<int64_t>(p.block_vectors.size());
  // A GEMM runs about 0.3 (VNNI) to 0.05 (generic) multiply-adds per picosecond on one core;
  // the NEON figures are estimates (docs/embedding.md, ARM builds), not yet measured.
  const double multiply_adds = static_cast<double>(rows) * p.k * p.taps * p.steps * g.group;
  const double per_microsecond = p.isa == Int8Isa::avx512vnni     ? 3e5
                                 : p.isa == Int8Isa::avx2         ? 1e5
                                 : p.isa == Int8Isa::neon_dotprod ? 1e5
                                                                  : 5e4;
  const bool threaded = worth_threads(multiply_adds / per_microsecond);
  const bool pointwise = cp.r == 1 && cp.s == 1 && a.stride_h == 1 && a.stride_w == 1 &&
                         a.pad_top == 0 && a.pad_left == 0;
  // The row pointers of output pixel (image, op, oq) in a conv other than 1×1: one per tap, at
  // stride mr (window rows: tap 0's alone).
  const auto point_rows = [&](int64_t image, int64_t op, int64_t oq, const uint8_t** ptr) {
    if (window_rows) {  // tap 0's row; the tile steps tap_stride to the others
      ptr[0] = input + ((image * padded_h + op * a.stride_h) * padded_w + oq * a.stride_w) * cp.c;
      return;
    }
    for (int64_t r = 0; r < cp.r; ++r) {
      const int64_t ih = op * a.stride_h - a.pad_top + r * a.dilation_h;
      for (int64_t s = 0; s < cp.s; ++s) {
        const int64_t iw = oq * a.stride_w - a.pad_left + s * a.dilation_w;
        const bool inside = ih >= 0 && ih < cp.h && iw >= 0 && iw < cp.w;
        ptr[(r * cp.s + s) * mr] =
            inside ? input + ((image * cp.h + ih) * cp.w + iw) * p.c_padded : zero_row.data();
      }
    }
  };
  // Tiles [t_begin, t_end) of block b.
  const auto run_tiles = [&](int64_t b, int64_t t_begin, int64_t t_end) {
    const int vectors = p.block_vectors[static_cast<size_t>(b)];
    const int64_t n0 = b * g.block_channels();
    const int64_t n_count = std::min(g.block_channels(), p.k - n0);
    std::vector<const uint8_t*> row_ptrs(static_cast<size_t>(taps * mr));
    QTileArgs args{row_ptrs.data(),
                   window_rows ? a.dilation_h * padded_w * cp.c : 0,
                   taps,
                   steps,
                   p.data.get() + p.block_offset[static_cast<size_t>(b)],
                   0,
                   0,
                   n0,
                   n_count,
                   &out};
    const detail::QTileFn tile = detail::qgemm_tile_for(p.isa, vectors);
    const auto run_tile = [&] {
      if (tile != nullptr) {
        tile(args);
      } else if (mr == 4) {
        qgemm_tile_generic<4>(args, static_cast<int64_t>(vectors) * g.lanes);
      }
    };
    for (int64_t t = t_begin; t < t_end; ++t) {
      args.m0 = t * mr;
      args.m_count = std::min(mr, rows - args.m0);
      // Rows past the last repeat it; their sums are computed and dropped.
      if (pointwise) {  // the output pixels are the input's: no coordinates to track
        for (int64_t i = 0; i < mr; ++i)
          row_ptrs[static_cast<size_t>(i)] = input + std::min(args.m0 + i, rows - 1) * p.c_padded;
        run_tile();
        continue;
      }
      // The pixel's coordinates step along with m (one division per tile, not three per row).
      int64_t m = args.m0, image = m / (cp.p * cp.q), op = m / cp.q % cp.p, oq = m % cp.q;
      for (int64_t i = 0; i < mr; ++i) {
        point_rows(image, op, oq, row_ptrs.data() + i);
        if (m + 1 == rows) continue;
        ++m;
        if (++oq == cp.q) {
          oq = 0;
          if (++op == cp.p) {
            op = 0;
            ++image;
          }
        }
      }
      run_tile();
    }
  };
  // Threads split the output pixels, each taking every block of its own stretch: the next
  // layer's thread then reads the pixels its own core wrote (the depthwise conv splits rows the
  // same way). Too few tiles to go round, and they split the blocks instead (the classifier).
  if (!threaded) {
    for (int64_t b = 0; b < blocks; ++b)
      run_tiles(b, 0, tiles);
  } else if (tiles >= threads_available()) {
    parallel_for_parts(0, tiles, [&](int64_t t_begin, int64_t t_end) {
      for (int64_t b = 0; b < blocks; ++b)
        run_tiles(b, t_begin, t_end);
    });
  } else {
    parallel_for(0, blocks, [&](int64_t b) { run_tiles(b, 0, tiles); });
  }
}

}  // namespace fovea::cpu::int8
