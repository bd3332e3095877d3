// The SIMD vector type the CPU kernels are written in, chosen at compile time from the compiler's
// target macros (AVX-512F, then AVX2 with FMA, else a plain-C++ fallback), as Eigen does.
//
// Everything that depends on the choice lives in an inline namespace named after the ISA
// (fovea::cpu::avx512, ::avx2, ::generic). Two translation units built with different -m flags
// then define differently named symbols, so the linker can never swap an AVX-512 copy of a
// kernel into code meant for a CPU without it (the ODR pitfall of STYLE.md section 5).
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define FOVEA_CPU_ISA avx512
#elif defined(__AVX2__) && defined(__FMA__)
#define FOVEA_CPU_ISA avx2
#else
#define FOVEA_CPU_ISA generic
#endif

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

#if defined(__AVX512F__)

inline constexpr const char* kIsaName = "avx512";

struct Vec {
  static constexpr int kLanes = 16;
  __m512 v;
  static Vec zero() { return {_mm512_setzero_ps()}; }
  static Vec broadcast(float x) { return {_mm512_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
};
inline Vec fmadd(Vec a, Vec b, Vec c) {
  return {_mm512_fmadd_ps(a.v, b.v, c.v)};
}
inline Vec operator+(Vec a, Vec b) {
  return {_mm512_add_ps(a.v, b.v)};
}
inline Vec max(Vec a, Vec b) {
  return {_mm512_max_ps(a.v, b.v)};
}
// The sum of the lanes, always added in the same order.
inline float reduce_add(Vec a) {
  return _mm512_reduce_add_ps(a.v);
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
// The sum of the lanes, always added in the same order.
inline float reduce_add(Vec a) {
  return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]);
}

#endif

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
