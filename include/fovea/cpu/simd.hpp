// The SIMD vector type the CPU kernels are written in, chosen at compile time from the compiler's
// target macros (AVX-512F, then AVX2 with FMA, then AArch64's NEON, else a plain-C++ fallback),
// as Eigen does.
//
// Everything that depends on the choice lives in an inline namespace named after the ISA
// (fovea::cpu::avx512, ::avx2, ::neon, ::generic). Two translation units built with different -m
// flags then define differently named symbols, so the linker can never swap an AVX-512 copy of a
// kernel into code meant for a CPU without it (the ODR pitfall of STYLE.md section 5).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif

// For hot kernels that must get a function (and a register allocation) of their own.
// And for helpers that share a hot kernel's tail: inlined, so they join its register allocation.
#if defined(__GNUC__)
#define FOVEA_NOINLINE __attribute__((noinline)) inline
#define FOVEA_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define FOVEA_NOINLINE inline
#define FOVEA_ALWAYS_INLINE inline
#endif

#if defined(__AVX512F__)
#define FOVEA_CPU_ISA avx512
#elif defined(__AVX2__) && defined(__FMA__)
#define FOVEA_CPU_ISA avx2
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define FOVEA_CPU_ISA neon
// For the few kernels with ISA-specific code outside this file (register-tile shapes, pools).
#define FOVEA_CPU_NEON 1
#else
#define FOVEA_CPU_ISA generic
#endif

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

namespace detail {

// x[i] := e^(kSign·x[i]) / 2^n[i], for n = round(kSign·x / ln 2), so that e^(kSign·x) = 2^n ·
// the result; kSign = -1 gives e^-x without negating x first (SiLU's and the logistic's
// argument). s = x − kSign·n·ln 2 is formed in two steps (ln 2 split into a part exact in float
// and the rest), and e^(kSign·s), |s| ≤ ln 2 / 2, is 1 + r + r²(c2 + c3 r + c4 r² + c5 r³) for
// r = kSign·s, summed in Horner's order in s (the odd coefficients take kSign). The coefficients
// come from scripts/fit_exp_polynomial.py, a minimax fit: relative error 1.1e-7, 1.8e-7 with
// float rounding, as close as float gets. kN vectors at once, each step on all of them before the
// next: GCC keeps the source order on x86, and a core with a small scheduler (Zen 1) then held
// only a vector or two of SiLU's long chain of dependent operations in flight, at 34 cycles per
// vector.
template <int kSign, int kN, class V>
FOVEA_ALWAYS_INLINE void exp_reduced(V (&x)[kN], const V (&n)[kN]) {
  static_assert(kSign == 1 || kSign == -1);
  constexpr float kC2 = 4.99992311e-1f, kC3 = 1.66671142e-1f, kC4 = 4.18901145e-2f,
                  kC5 = 8.31252523e-3f;
  V s[kN];
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    s[i] = fmadd(n[i], V::broadcast(kSign * -0.693359375f), x[i]);
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    s[i] = fmadd(n[i], V::broadcast(kSign * 2.12194440e-4f), s[i]);
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = fmadd(V::broadcast(kSign * kC5), s[i], V::broadcast(kC4));
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = fmadd(x[i], s[i], V::broadcast(kSign * kC3));
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = fmadd(x[i], s[i], V::broadcast(kC2));
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = fmadd(x[i], s[i], V::broadcast(kSign * 1.0f));
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = fmadd(x[i], s[i], V::broadcast(1.0f));
}

}  // namespace detail

#if defined(__AVX512F__)

inline constexpr const char* kIsaName = "avx512";

struct Vec {
  static constexpr int kLanes = 16;
  __m512 v;
  static Vec zero() { return {_mm512_setzero_ps()}; }
  static Vec broadcast(float x) { return {_mm512_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  // The first n lanes (0 < n <= kLanes) from or to memory; other lanes read as 0 and are not
  // written, so a vector can end at the edge of a buffer.
  static Vec load_first(const float* p, int64_t n) {
    return {_mm512_maskz_loadu_ps(first_lanes(n), p)};
  }
  void store_first(float* p, int64_t n) const { _mm512_mask_storeu_ps(p, first_lanes(n), v); }
  static __mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
};
inline Vec fmadd(Vec a, Vec b, Vec c) {
  return {_mm512_fmadd_ps(a.v, b.v, c.v)};
}
inline Vec operator+(Vec a, Vec b) {
  return {_mm512_add_ps(a.v, b.v)};
}
// The all-lanes mask forms of max, min, rcp14, roundscale and scalef below (and reduce_add's
// store) sidestep GCC 12's false -Wmaybe-uninitialized in the unmasked ones (_mm512_undefined).
inline constexpr __mmask16 kAllLanes = 0xFFFF;
inline Vec max(Vec a, Vec b) {
  return {_mm512_maskz_max_ps(kAllLanes, a.v, b.v)};
}
inline Vec operator-(Vec a, Vec b) {
  return {_mm512_sub_ps(a.v, b.v)};
}
inline Vec operator*(Vec a, Vec b) {
  return {_mm512_mul_ps(a.v, b.v)};
}
inline Vec operator-(Vec a) {
  return {_mm512_sub_ps(_mm512_setzero_ps(), a.v)};
}
inline Vec min(Vec a, Vec b) {
  return {_mm512_maskz_min_ps(kAllLanes, a.v, b.v)};
}
// 1 / x to about 1 ulp: rcp14's estimate and one Newton step, a few times faster than a division.
// Finite x only (1 / inf would come out NaN).
inline Vec reciprocal(Vec x) {
  const __m512 r = _mm512_maskz_rcp14_ps(kAllLanes, x.v);
  return {_mm512_mul_ps(r, _mm512_fnmadd_ps(x.v, r, _mm512_set1_ps(2.0f)))};
}
// The sum of the lanes, always added in the same order.
inline float reduce_add(Vec a) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, a.v);
  const __m256 eight = _mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
  __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  four = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(four, _mm_movehdup_ps(four)));
}
// e^x (detail::exp_reduced); scalef makes 2^n exact from underflow to overflow, so large |x|
// give 0 and inf as std::exp does. NaN stays NaN (it is max/min's second operand). Always
// inlined, as on AVX2 (see there).
FOVEA_ALWAYS_INLINE Vec exp(Vec x) {
  x.v = _mm512_maskz_min_ps(kAllLanes, _mm512_set1_ps(89.0f),
                            _mm512_maskz_max_ps(kAllLanes, _mm512_set1_ps(-104.0f), x.v));
  const __m512 n = _mm512_maskz_roundscale_ps(
      kAllLanes, _mm512_mul_ps(x.v, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  Vec reduced[1] = {x};
  detail::exp_reduced<1>(reduced, {Vec{n}});
  return {_mm512_maskz_scalef_ps(kAllLanes, reduced[0].v, n)};
}
// e^-x of kN vectors in place, capped at e^88 (finite) as on AVX2.
template <int kN>
FOVEA_ALWAYS_INLINE void exp_negated(Vec (&x)[kN]) {
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = exp(min(Vec::broadcast(88.0f), -x[i]));
}

// The even and odd elements of the 2·kLanes floats lo, hi (lo first): a row split by column
// parity, as a stride-2 convolution reads it.
inline void deinterleave(Vec lo, Vec hi, Vec& even, Vec& odd) {
  const __m512i even_index =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  even.v = _mm512_permutex2var_ps(lo.v, even_index, hi.v);
  odd.v = _mm512_permutex2var_ps(lo.v, _mm512_add_epi32(even_index, _mm512_set1_epi32(1)), hi.v);
}
// rows[i] lane j becomes rows[j] lane i: 16 × 16 floats, in three rounds of shuffles (pairs of
// floats, then quads, then 128-bit lanes) rather than 256 scalar moves. (The masked forms avoid
// the false GCC 12 warning noted at kAllLanes.)
inline void transpose(Vec (&rows)[16]) {
  __m512 pairs[16], quads[16];
  for (int i = 0; i < 16; i += 2) {
    pairs[i] = _mm512_maskz_unpacklo_ps(kAllLanes, rows[i].v, rows[i + 1].v);
    pairs[i + 1] = _mm512_maskz_unpackhi_ps(kAllLanes, rows[i].v, rows[i + 1].v);
  }
  // quads[4i + m], 128-bit lane k: rows 4i … 4i + 3 at column 4k + m.
  for (int i = 0; i < 16; i += 4) {
    quads[i] = _mm512_shuffle_ps(pairs[i], pairs[i + 2], 0x44);
    quads[i + 1] = _mm512_shuffle_ps(pairs[i], pairs[i + 2], 0xEE);
    quads[i + 2] = _mm512_shuffle_ps(pairs[i + 1], pairs[i + 3], 0x44);
    quads[i + 3] = _mm512_shuffle_ps(pairs[i + 1], pairs[i + 3], 0xEE);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512 even01 = _mm512_maskz_shuffle_f32x4(kAllLanes, quads[m], quads[4 + m], 0x88);
    const __m512 odd01 = _mm512_maskz_shuffle_f32x4(kAllLanes, quads[m], quads[4 + m], 0xDD);
    const __m512 even23 = _mm512_maskz_shuffle_f32x4(kAllLanes, quads[8 + m], quads[12 + m], 0x88);
    const __m512 odd23 = _mm512_maskz_shuffle_f32x4(kAllLanes, quads[8 + m], quads[12 + m], 0xDD);
    rows[m].v = _mm512_maskz_shuffle_f32x4(kAllLanes, even01, even23, 0x88);
    rows[4 + m].v = _mm512_maskz_shuffle_f32x4(kAllLanes, odd01, odd23, 0x88);
    rows[8 + m].v = _mm512_maskz_shuffle_f32x4(kAllLanes, even01, even23, 0xDD);
    rows[12 + m].v = _mm512_maskz_shuffle_f32x4(kAllLanes, odd01, odd23, 0xDD);
  }
}

#elif defined(__AVX2__) && defined(__FMA__)

inline constexpr const char* kIsaName = "avx2";

struct Vec {
  static constexpr int kLanes = 8;
  __m256 v;
  static Vec zero() { return {_mm256_setzero_ps()}; }
  static Vec broadcast(float x) { return {_mm256_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
  // The first n lanes (0 < n <= kLanes) from or to memory; other lanes read as 0 and are not
  // written, so a vector can end at the edge of a buffer.
  static Vec load_first(const float* p, int64_t n) {
    return {_mm256_maskload_ps(p, first_lanes(n))};
  }
  void store_first(float* p, int64_t n) const { _mm256_maskstore_ps(p, first_lanes(n), v); }
  static __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};
inline Vec fmadd(Vec a, Vec b, Vec c) {
  return {_mm256_fmadd_ps(a.v, b.v, c.v)};
}
inline Vec operator+(Vec a, Vec b) {
  return {_mm256_add_ps(a.v, b.v)};
}
inline Vec max(Vec a, Vec b) {
  return {_mm256_max_ps(a.v, b.v)};
}
// The sum of the lanes, always added in the same order.
inline float reduce_add(Vec a) {
  __m128 half = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  half = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(half, _mm_movehdup_ps(half)));
}
inline Vec operator-(Vec a, Vec b) {
  return {_mm256_sub_ps(a.v, b.v)};
}
inline Vec operator*(Vec a, Vec b) {
  return {_mm256_mul_ps(a.v, b.v)};
}
inline Vec operator-(Vec a) {
  return {_mm256_sub_ps(_mm256_setzero_ps(), a.v)};
}
inline Vec min(Vec a, Vec b) {
  return {_mm256_min_ps(a.v, b.v)};
}
// 1 / x to about 1e-7: rcp's 12-bit estimate and one Newton step, a few times faster than a
// division. Finite x only (1 / inf would come out NaN).
inline Vec reciprocal(Vec x) {
  const __m256 r = _mm256_rcp_ps(x.v);
  return {_mm256_mul_ps(r, _mm256_fnmadd_ps(x.v, r, _mm256_set1_ps(2.0f)))};
}
// e^-x of kN vectors in place (detail::exp_reduced), with 2^n built in the exponent bits. x is
// first clamped to [-88.37, 87.3], where 2^n stays a normal float: results saturate near 2.4e38
// (finite) and 1e-38 rather than reaching inf and 0. NaN stays NaN (it is max/min's second
// operand). −x·log2 e + 1.5·2^23 + 127 comes out rounded to an integer, as every float from
// 2^23 to 2^24 is one; its low mantissa bits hold n + 127, so shifted left by 23 they are 2^n's
// exponent field, and taking the constant away again leaves n: one FMA, a shift and a
// subtraction, where round, convert and add took four operations. Always inlined: left to GCC,
// exp became a call inside the depthwise kernels' SiLU epilogue, every vector register is
// caller-saved, and the pixel sums went through the stack around each call (6 % of
// EfficientNet-B0's time on a Zen 1 machine).
template <int kN>
FOVEA_ALWAYS_INLINE void exp_negated(Vec (&x)[kN]) {
  constexpr float kRounder = 12582912.0f + 127.0f;
  Vec n[kN];
  __m256i bits[kN];
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i].v = _mm256_min_ps(_mm256_set1_ps(87.3365447504f),
                           _mm256_max_ps(_mm256_set1_ps(-88.3762626647949f), x[i].v));
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i) {
    const __m256 rounded =
        _mm256_fmadd_ps(x[i].v, _mm256_set1_ps(-1.44269504088896341f), _mm256_set1_ps(kRounder));
    bits[i] = _mm256_slli_epi32(_mm256_castps_si256(rounded), 23);
    n[i].v = _mm256_sub_ps(rounded, _mm256_set1_ps(kRounder));
  }
  detail::exp_reduced<-1>(x, n);
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i].v = _mm256_mul_ps(x[i].v, _mm256_castsi256_ps(bits[i]));
}

// The even and odd elements of the 2·kLanes floats lo, hi (lo first): a row split by column
// parity, as a stride-2 convolution reads it. shuffle_ps works within 128-bit halves, so the
// 64-bit pairs it leaves are put in order afterwards.
inline void deinterleave(Vec lo, Vec hi, Vec& even, Vec& odd) {
  const auto in_order = [](__m256 x) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(x), _MM_SHUFFLE(3, 1, 2, 0)));
  };
  even.v = in_order(_mm256_shuffle_ps(lo.v, hi.v, _MM_SHUFFLE(2, 0, 2, 0)));
  odd.v = in_order(_mm256_shuffle_ps(lo.v, hi.v, _MM_SHUFFLE(3, 1, 3, 1)));
}
// rows[i] lane j becomes rows[j] lane i: 8 × 8 floats, in three rounds of shuffles (pairs of
// floats, then quads, then 128-bit halves).
inline void transpose(Vec (&rows)[8]) {
  __m256 pairs[8], quads[8];
  for (int i = 0; i < 8; i += 2) {
    pairs[i] = _mm256_unpacklo_ps(rows[i].v, rows[i + 1].v);
    pairs[i + 1] = _mm256_unpackhi_ps(rows[i].v, rows[i + 1].v);
  }
  // quads[4i + m], 128-bit half k: rows 4i … 4i + 3 at column 4k + m.
  for (int i = 0; i < 8; i += 4) {
    quads[i] = _mm256_shuffle_ps(pairs[i], pairs[i + 2], 0x44);
    quads[i + 1] = _mm256_shuffle_ps(pairs[i], pairs[i + 2], 0xEE);
    quads[i + 2] = _mm256_shuffle_ps(pairs[i + 1], pairs[i + 3], 0x44);
    quads[i + 3] = _mm256_shuffle_ps(pairs[i + 1], pairs[i + 3], 0xEE);
  }
  for (int m = 0; m < 4; ++m) {
    rows[m].v = _mm256_permute2f128_ps(quads[m], quads[4 + m], 0x20);
    rows[4 + m].v = _mm256_permute2f128_ps(quads[m], quads[4 + m], 0x31);
  }
}

#elif defined(FOVEA_CPU_NEON)

inline constexpr const char* kIsaName = "neon";

// Eight floats as two 128-bit q registers, rather than one: the kernels' register tiles and
// loops were shaped for AVX2's eight lanes, and AArch64's 32 q registers hold twice AVX2's 16
// ymm's worth of floats, so the same shapes fit with room to spare (gemm.hpp's 6 × 2-vector tile
// is 24 q accumulators, 4 for B and 1–2 for A's broadcasts). A single q register would need a
// 12-row tile to fill the file, and the GEMM's column microkernel holds a panel column (kGemmMr
// rows) in one vector. Every operation is two instructions, which the compiler schedules freely.
struct Vec {
  static constexpr int kLanes = 8;
  float32x4_t lo, hi;
  static Vec zero() { return {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}; }
  static Vec broadcast(float x) { return {vdupq_n_f32(x), vdupq_n_f32(x)}; }
  static Vec load(const float* p) { return {vld1q_f32(p), vld1q_f32(p + 4)}; }
  void store(float* p) const {
    vst1q_f32(p, lo);
    vst1q_f32(p + 4, hi);
  }
  // The first n lanes (0 < n <= kLanes) from or to memory; other lanes read as 0 and are not
  // written, so a vector can end at the edge of a buffer. NEON has no masked loads; a stack copy
  // is what compilers make of the masked forms' fallbacks too.
  static Vec load_first(const float* p, int64_t n) {
    alignas(16) float lanes[8] = {};
    std::copy(p, p + n, lanes);
    return load(lanes);
  }
  void store_first(float* p, int64_t n) const {
    alignas(16) float lanes[8];
    store(lanes);
    std::copy(lanes, lanes + n, p);
  }
};
// One fused multiply-add per lane, rounded once, as _mm256_fmadd_ps: the same bits as AVX2.
inline Vec fmadd(Vec a, Vec b, Vec c) {
  return {vfmaq_f32(c.lo, a.lo, b.lo), vfmaq_f32(c.hi, a.hi, b.hi)};
}
inline Vec operator+(Vec a, Vec b) {
  return {vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)};
}
inline Vec operator-(Vec a, Vec b) {
  return {vsubq_f32(a.lo, b.lo), vsubq_f32(a.hi, b.hi)};
}
inline Vec operator*(Vec a, Vec b) {
  return {vmulq_f32(a.lo, b.lo), vmulq_f32(a.hi, b.hi)};
}
inline Vec operator-(Vec a) {
  return {vnegq_f32(a.lo), vnegq_f32(a.hi)};
}
// a > b ? a : b and a < b ? a : b, lane by lane: x86's maxps and minps (b on a tie or a NaN),
// which the kernels' NaN handling was written against, where NEON's fmax would return the NaN.
inline Vec max(Vec a, Vec b) {
  return {vbslq_f32(vcgtq_f32(a.lo, b.lo), a.lo, b.lo),
          vbslq_f32(vcgtq_f32(a.hi, b.hi), a.hi, b.hi)};
}
inline Vec min(Vec a, Vec b) {
  return {vbslq_f32(vcltq_f32(a.lo, b.lo), a.lo, b.lo),
          vbslq_f32(vcltq_f32(a.hi, b.hi), a.hi, b.hi)};
}
// 1 / x to about 1e-7: frecpe's 8-bit estimate and two Newton steps (frecps is 2 − x·r, fused),
// a few times faster than a division. Finite x only, as on x86.
inline float32x4_t reciprocal_q(float32x4_t x) {
  float32x4_t r = vrecpeq_f32(x);
  r = vmulq_f32(r, vrecpsq_f32(x, r));
  return vmulq_f32(r, vrecpsq_f32(x, r));
}
inline Vec reciprocal(Vec x) {
  return {reciprocal_q(x.lo), reciprocal_q(x.hi)};
}
// The sum of the lanes, always added in the same order: AVX2's ((l0+l4) + (l2+l6)) + ((l1+l5) +
// (l3+l7)).
inline float reduce_add(Vec a) {
  const float32x4_t four = vaddq_f32(a.lo, a.hi);
  const float32x2_t two = vadd_f32(vget_low_f32(four), vget_high_f32(four));
  return vpadds_f32(two);
}
// e^-x of kN vectors in place, as on AVX2 and with the same bits (detail::exp_reduced and the
// exponent-field trick described there): clamp to [-88.37, 87.3], n + 127 rounded by adding
// 1.5·2^23 + 127, shifted into 2^n's exponent field. NaN stays NaN (fmax and fmin keep it).
// Always inlined, for the reason given on AVX2.
FOVEA_ALWAYS_INLINE float32x4_t exp_negated_scale(float32x4_t& x, float32x4_t& n) {
  constexpr float kRounder = 12582912.0f + 127.0f;
  x = vminq_f32(vdupq_n_f32(87.3365447504f), vmaxq_f32(vdupq_n_f32(-88.3762626647949f), x));
  const float32x4_t rounded =
      vfmaq_f32(vdupq_n_f32(kRounder), x, vdupq_n_f32(-1.44269504088896341f));
  n = vsubq_f32(rounded, vdupq_n_f32(kRounder));
  return vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(rounded), 23));
}
template <int kN>
FOVEA_ALWAYS_INLINE void exp_negated(Vec (&x)[kN]) {
  Vec n[kN], scale[kN];
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i) {
    scale[i].lo = exp_negated_scale(x[i].lo, n[i].lo);
    scale[i].hi = exp_negated_scale(x[i].hi, n[i].hi);
  }
  detail::exp_reduced<-1>(x, n);
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    x[i] = x[i] * scale[i];
}

// The even and odd elements of the 2·kLanes floats lo, hi (lo first): a row split by column
// parity, as a stride-2 convolution reads it. uzp1/uzp2 take even/odd lanes of a register pair.
inline void deinterleave(Vec lo, Vec hi, Vec& even, Vec& odd) {
  even = {vuzp1q_f32(lo.lo, lo.hi), vuzp1q_f32(hi.lo, hi.hi)};
  odd = {vuzp2q_f32(lo.lo, lo.hi), vuzp2q_f32(hi.lo, hi.hi)};
}
// The 4 × 4 floats in r transposed: 32-bit then 64-bit transposes of register pairs.
inline void transpose_q(float32x4_t& r0, float32x4_t& r1, float32x4_t& r2, float32x4_t& r3) {
  const float32x4_t t0 = vtrn1q_f32(r0, r1), t1 = vtrn2q_f32(r0, r1);
  const float32x4_t t2 = vtrn1q_f32(r2, r3), t3 = vtrn2q_f32(r2, r3);
  const auto d = [](float32x4_t x) { return vreinterpretq_f64_f32(x); };
  const auto f = [](float64x2_t x) { return vreinterpretq_f32_f64(x); };
  r0 = f(vtrn1q_f64(d(t0), d(t2)));
  r1 = f(vtrn1q_f64(d(t1), d(t3)));
  r2 = f(vtrn2q_f64(d(t0), d(t2)));
  r3 = f(vtrn2q_f64(d(t1), d(t3)));
}
// rows[i] lane j becomes rows[j] lane i: 8 × 8 floats as four 4 × 4 blocks, each transposed in
// place, the two off-diagonal blocks swapped.
inline void transpose(Vec (&rows)[8]) {
  transpose_q(rows[0].lo, rows[1].lo, rows[2].lo, rows[3].lo);
  transpose_q(rows[0].hi, rows[1].hi, rows[2].hi, rows[3].hi);
  transpose_q(rows[4].lo, rows[5].lo, rows[6].lo, rows[7].lo);
  transpose_q(rows[4].hi, rows[5].hi, rows[6].hi, rows[7].hi);
  for (int i = 0; i < 4; ++i)
    std::swap(rows[i].hi, rows[4 + i].lo);
}

#else

inline constexpr const char* kIsaName = "generic";

// Four plain floats: loops the compiler may vectorize with whatever the baseline ISA offers.
struct Vec {
  static constexpr int kLanes = 4;
  float v[4];
  static Vec zero() { return {{0, 0, 0, 0}}; }
  static Vec broadcast(float x) { return {{x, x, x, x}}; }
  static Vec load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
  void store(float* p) const { std::copy(v, v + 4, p); }
  // The first n lanes (0 < n <= kLanes) from or to memory; other lanes read as 0 and are not
  // written, so a vector can end at the edge of a buffer.
  static Vec load_first(const float* p, int64_t n) {
    Vec r = zero();
    std::copy(p, p + n, r.v);
    return r;
  }
  void store_first(float* p, int64_t n) const { std::copy(v, v + n, p); }
};
inline Vec fmadd(Vec a, Vec b, Vec c) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = a.v[i] * b.v[i] + c.v[i];
  return r;
}
inline Vec operator+(Vec a, Vec b) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = a.v[i] + b.v[i];
  return r;
}
inline Vec max(Vec a, Vec b) {
  Vec r;
  // NaN in `a` propagates, matching max_pool2d's rule that a NaN in the window wins.
  for (int i = 0; i < 4; ++i)
    r.v[i] = (a.v[i] != a.v[i] || a.v[i] > b.v[i]) ? a.v[i] : b.v[i];
  return r;
}
inline Vec operator-(Vec a, Vec b) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = a.v[i] - b.v[i];
  return r;
}
inline Vec operator*(Vec a, Vec b) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = a.v[i] * b.v[i];
  return r;
}
inline Vec min(Vec a, Vec b) {
  Vec r;
  // As x86's minps: b on a tie or a NaN.
  for (int i = 0; i < 4; ++i)
    r.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
  return r;
}
inline Vec reciprocal(Vec x) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = 1.0f / x.v[i];
  return r;
}
inline Vec operator-(Vec a) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = -a.v[i];
  return r;
}
// The sum of the lanes, always added in the same order.
inline float reduce_add(Vec a) {
  return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]);
}
inline Vec exp(Vec x) {
  Vec r;
  for (int i = 0; i < 4; ++i)
    r.v[i] = std::exp(x.v[i]);
  return r;
}
// e^-x of kN vectors in place, capped at e^88 (finite) as on AVX2.
template <int kN>
void exp_negated(Vec (&x)[kN]) {
  for (int i = 0; i < kN; ++i)
    x[i] = exp(min(Vec::broadcast(88.0f), -x[i]));
}

// The even and odd elements of the 2·kLanes floats lo, hi (lo first).
inline void deinterleave(Vec lo, Vec hi, Vec& even, Vec& odd) {
  even = {{lo.v[0], lo.v[2], hi.v[0], hi.v[2]}};
  odd = {{lo.v[1], lo.v[3], hi.v[1], hi.v[3]}};
}
// rows[i] lane j becomes rows[j] lane i.
inline void transpose(Vec (&rows)[4]) {
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j)
      std::swap(rows[i].v[j], rows[j].v[i]);
}

#endif

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
