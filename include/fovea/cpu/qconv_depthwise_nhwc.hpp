// INT8 depthwise convolution (groups = C = K) on NHWC activations: each output pixel's
// channels in vectors, Σ over the taps of x · w widened to int32 (the products of 9 or 25 taps
// would overflow 16 bits), then the GEMM tiles' requantization (store_vector_*). Taps in the
// padding read a row of zero points. Threads take stretches of output rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "fovea/cpu/int8_isa.hpp"
#include "fovea/cpu/qconv_gemm_nhwc.hpp"
#include "fovea/cpu/qgemm_tile.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/quant/qconv_layer.hpp"

namespace fovea::cpu {

// Weights widened to int32, [tap][k_padded] with k_padded a multiple of 16, and the layer's
// requantization values.
struct QDepthwisePacked {
  Int8Isa isa = Int8Isa::generic;
  int64_t k = 0, k_padded = 0, taps = 0;
  std::vector<int32_t> weights;
  quant::QConvRequant requant;
};

inline std::shared_ptr<QDepthwisePacked> pack_qdepthwise(const quant::QConvLayer& layer,
                                                         Int8Isa isa) {
  const Tensor<int8_t>& w = layer.weights.weight;  // [K, 1, R, S]
  auto p = std::make_shared<QDepthwisePacked>();
  p->isa = isa;
  p->k = w.dim(0);
  p->k_padded = round_up(p->k, 16);
  p->taps = w.dim(2) * w.dim(3);
  p->weights.assign(static_cast<size_t>(p->taps * p->k_padded), 0);
  for (int64_t k = 0; k < p->k; ++k)
    for (int64_t t = 0; t < p->taps; ++t)
      p->weights[static_cast<size_t>(t * p->k_padded + k)] = w.data()[k * p->taps + t];
  p->requant = quant::derive_requant(layer);
  return p;
}

namespace detail {

// One output pixel: taps[t] points at the pixel's input for tap t (or a zero-point row).
inline void qdepthwise_pixel_generic(const uint8_t* const* taps, const QDepthwisePacked& p,
                                     const QGemmOutput& o, int64_t row) {
  for (int64_t k = 0; k < p.k; ++k) {
    int32_t acc = 0;
    for (int64_t t = 0; t < p.taps; ++t)
      acc += taps[t][k] * p.weights[static_cast<size_t>(t * p.k_padded + k)];
    store_output(o, row, k, acc);
  }
}

#if FOVEA_INT8_SIMD
// GCC 12 warns that the intrinsics' own _mm512_undefined_* results may be used uninitialized
// when they are inlined into functions with a target attribute: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

FOVEA_TARGET_AVX512VNNI inline void qdepthwise_pixel_avx512vnni(const uint8_t* const* taps,
                                                                const QDepthwisePacked& p,
                                                                const QGemmOutput& o, int64_t row) {
  for (int64_t k = 0; k < p.k; k += 16) {
    const int64_t valid = std::min<int64_t>(16, p.k - k);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
    __m512i acc = _mm512_setzero_si512();
    const int32_t* w = p.weights.data() + k;
    for (int64_t t = 0; t < p.taps; ++t) {
      const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, taps[t] + k));
      acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, _mm512_loadu_si512(w + t * p.k_padded)));
    }
    store_vector_avx512vnni(o, acc, row, k, mask);
  }
}

FOVEA_TARGET_AVX2 inline void qdepthwise_pixel_avx2(const uint8_t* const* taps,
                                                    const QDepthwisePacked& p, const QGemmOutput& o,
                                                    int64_t row) {
  int64_t k = 0;
  for (; k + 8 <= p.k; k += 8) {
    __m256i acc = _mm256_setzero_si256();
    const int32_t* w = p.weights.data() + k;
    for (int64_t t = 0; t < p.taps; ++t) {
      const __m256i x =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(taps[t] + k)));
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * p.k_padded));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(x, wv));
    }
    store_vector_avx2(o, acc, row, k, 8);
  }
  for (; k < p.k; ++k) {
    int32_t acc = 0;
    for (int64_t t = 0; t < p.taps; ++t)
      acc += taps[t][k] * p.weights[static_cast<size_t>(t * p.k_padded + k)];
    store_output(o, row, k, acc);
  }
}

#pragma GCC diagnostic pop
#endif  // FOVEA_INT8_SIMD

}  // namespace detail

// Runs the depthwise conv of `cp` (NHWC u8 input) with packed weights into `out`.
inline void qconv_depthwise_nhwc_run(const uint8_t* x, const Conv2dParams& cp,
                                     const QDepthwisePacked& p, int32_t x_zero_point,
                                     const QGemmOutput& out) {
  const std::vector<uint8_t> zero_row(static_cast<size_t>(p.k_padded),
                                      static_cast<uint8_t>(x_zero_point));
  const Conv2dAttrs& a = cp.attrs;
  parallel_for_parts(0, cp.n * cp.p, [&](int64_t begin, int64_t end) {
    std::vector<const uint8_t*> taps(static_cast<size_t>(p.taps));
    for (int64_t image_row = begin; image_row < end; ++image_row) {
      const int64_t image = image_row / cp.p, op = image_row % cp.p;
      for (int64_t oq = 0; oq < cp.q; ++oq) {
        for (int64_t r = 0; r < cp.r; ++r) {
          const int64_t ih = op * a.stride_h - a.pad_top + r * a.dilation_h;
          for (int64_t s = 0; s < cp.s; ++s) {
            const int64_t iw = oq * a.stride_w - a.pad_left + s * a.dilation_w;
            const bool inside = ih >= 0 && ih < cp.h && iw >= 0 && iw < cp.w;
            taps[static_cast<size_t>(r * cp.s + s)] =
                inside ? x + ((image * cp.h + ih) * cp.w + iw) * cp.c : zero_row.data();
          }
        }
        const int64_t row = image_row * cp.q + oq;
#if FOVEA_INT8_SIMD
        if (p.isa == Int8Isa::avx512vnni) {
          detail::qdepthwise_pixel_avx512vnni(taps.data(), p, out, row);
          continue;
        }
        if (p.isa == Int8Isa::avx2) {
          detail::qdepthwise_pixel_avx2(taps.data(), p, out, row);
          continue;
        }
#endif
        detail::qdepthwise_pixel_generic(taps.data(), p, out, row);
      }
    }
  });
}

}  // namespace fovea::cpu
