// Activations applied in place to a run of floats: the fused epilogues of the CPU kernels.
// The switch sits outside the loop so each loop is simple enough for the compiler to vectorize;
// the loops are compiled per ISA, hence the ISA namespace.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "fovea/cpu/simd.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// 1 / (1 + e^-v). exp_negated caps e^-v near e^88 (3e-39 is as good as 0 next to 1), which
// keeps the reciprocal's argument finite. Always inlined, as activate() below is.
FOVEA_ALWAYS_INLINE Vec logistic(Vec v) {
  Vec e[1] = {v};
  exp_negated(e);
  return reciprocal(Vec::broadcast(1.0f) + e[0]);
}

// v[i] · logistic(v[i]) for kN vectors in place, each step on all of them before the next (as
// exp's kN form, and for the same reason): the same operations per vector as v * logistic(v),
// so the same bits, and faster kSiluGroup at a time than one after another.
template <int kN>
FOVEA_ALWAYS_INLINE void silu(Vec (&v)[kN]) {
  Vec e[kN];
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    e[i] = v[i];
  exp_negated(e);
#pragma GCC unroll 8
  for (int i = 0; i < kN; ++i)
    v[i] = v[i] * reciprocal(Vec::broadcast(1.0f) + e[i]);
}

// How many vectors silu() takes at once: on Zen 1, eight at 0.85 ns a float against 1.1 for four
// (more chains of dependent operations in flight); sixteen spill and take twice as long.
inline constexpr int kSiluGroup = 8;

// SiLU of vectors kFirst … kCount − 1 of those held in registers (v(i) names the i-th), in
// groups of at most kSiluGroup, as even as the count allows (twelve go as six and six, not
// eight and a slower four).
template <int kCount, int kFirst = 0, class At>
FOVEA_ALWAYS_INLINE void silu_in_groups(At v) {
  constexpr int kGroups = (kCount + kSiluGroup - 1) / kSiluGroup;
  constexpr int kSize = std::min(kCount - kFirst, (kCount + kGroups - 1) / kGroups);
  Vec group[kSize];
#pragma GCC unroll 8
  for (int t = 0; t < kSize; ++t)
    group[t] = v(kFirst + t);
  silu(group);
#pragma GCC unroll 8
  for (int t = 0; t < kSize; ++t)
    v(kFirst + t) = group[t];
  if constexpr (kFirst + kSize < kCount) silu_in_groups<kCount, kFirst + kSize>(v);
}

// SiLU of kCount vectors at v, in place, in silu_in_groups' groups. Never inlined, for register
// tiles' epilogues: there the tile's other sums hold the registers, and SiLU inlined among them
// spilled and reloaded its own temporaries and constants around every step (the direct conv's
// epilogue, 6 × 2 vectors, took 2.5 ns a float on Zen 1). Out of line it has every register.
template <int kCount>
FOVEA_NOINLINE void silu_vectors(Vec* v) {
  silu_in_groups<kCount>([v](int i) -> Vec& { return v[i]; });
}

// y[i] = f(y[i]): whole vectors through Vec, the tail through the same vector code on a padded
// copy, so every element gets the same arithmetic.
template <class F>
void map_in_place(float* y, int64_t count, F f) {
  int64_t i = 0;
  for (; i + Vec::kLanes <= count; i += Vec::kLanes)
    f(Vec::load(y + i)).store(y + i);
  if (i == count) return;
  alignas(64) float tail[Vec::kLanes] = {};
  std::copy(y + i, y + count, tail);
  f(Vec::load(tail)).store(tail);
  std::copy(tail, tail + (count - i), y + i);
}

// The kinds with a vector form (activate below); the others run lane by lane.
inline bool has_vector_form(ActivationKind kind) {
  return kind == ActivationKind::identity || kind == ActivationKind::relu ||
         kind == ActivationKind::relu6 || kind == ActivationKind::silu ||
         kind == ActivationKind::sigmoid;
}

// max/min return their second operand on NaN or a tie, so NaN and -0 pass through ReLU as in
// `y < 0 ? 0 : y`.
inline Vec relu(Vec v) {
  return max(Vec::zero(), v);
}
inline Vec relu6(Vec v) {
  return min(Vec::broadcast(6.0f), max(Vec::zero(), v));
}

// A kind with has_vector_form(kind) applied to one vector: what the GEMM microkernel does to a
// register tile before storing it. Always inlined, with logistic(): a call from a microkernel's
// epilogue makes GCC keep the accumulators on the stack (every vector register is
// caller-saved), spilling inside the FMA loop. Left to GCC, logistic() stopped being inlined
// once the NHWC kernels added callers, and MobileNetV2 at batch 8 ran 25 % slower.
FOVEA_ALWAYS_INLINE Vec activate(Vec v, ActivationKind kind) {
  switch (kind) {
    case ActivationKind::relu:
      return relu(v);
    case ActivationKind::relu6:
      return relu6(v);
    case ActivationKind::silu:
      return v * logistic(v);
    case ActivationKind::sigmoid:
      return logistic(v);
    default:
      return v;
  }
}

// Never inlined: every kernel's epilogue calls it, and inlined (with the vector exp of SiLU and
// sigmoid) into the GEMM microkernel it pushed GCC 12 to spill the accumulators inside the FMA
// loop, which cost 1×1 convs 13 %.
FOVEA_NOINLINE void activate_in_place(float* y, int64_t count, ActivationKind kind) {
  switch (kind) {
    case ActivationKind::identity:
      return;
    case ActivationKind::relu:
      return map_in_place(y, count, [](Vec v) { return relu(v); });
    case ActivationKind::relu6:
      return map_in_place(y, count, [](Vec v) { return relu6(v); });
    case ActivationKind::silu: {
      int64_t i = 0;
      for (; i + kSiluGroup * Vec::kLanes <= count; i += kSiluGroup * Vec::kLanes) {
        Vec group[kSiluGroup];
#pragma GCC unroll 8
        for (int t = 0; t < kSiluGroup; ++t)
          group[t] = Vec::load(y + i + t * Vec::kLanes);
        silu(group);
#pragma GCC unroll 8
        for (int t = 0; t < kSiluGroup; ++t)
          group[t].store(y + i + t * Vec::kLanes);
      }
      return map_in_place(y + i, count - i, [](Vec v) { return v * logistic(v); });
    }
    case ActivationKind::sigmoid:
      return map_in_place(y, count, [](Vec v) { return logistic(v); });
    case ActivationKind::tanh:
      for (int64_t i = 0; i < count; ++i)
        y[i] = std::tanh(y[i]);
      return;
    case ActivationKind::hardswish:
      for (int64_t i = 0; i < count; ++i) {
        const float t = y[i] + 3.0f;
        y[i] = y[i] * (t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t)) / 6.0f;
      }
      return;
    case ActivationKind::hardsigmoid:
      for (int64_t i = 0; i < count; ++i) {
        const float t = y[i] + 3.0f;
        y[i] = (t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t)) / 6.0f;
      }
      return;
  }
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
