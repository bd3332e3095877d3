// Which instruction sets the INT8 kernels may use, chosen at run time.
//
// The FP32 kernels pick their SIMD path at compile time (cpu/simd.hpp). The INT8 kernels are
// compiled for every ISA in every build, each function with its own target attribute, and the
// kernel tables choose among them from the CPU's features: a binary built without -march still
// runs VNNI where the CPU has it, and every path gives the same bits (quant/scheme.hpp), so the
// choice never changes a result. A function with an explicit target attribute is the same code
// in every translation unit whatever its -m flags, so these inline definitions cannot break the
// one-definition rule the way ISA-dependent macros do (STYLE.md section 5).
//
// set_int8_isa_limit (or FOVEA_INT8_ISA in the environment: generic|avx2|avx512vnni on x86,
// generic|neon|neon_dotprod on AArch64) caps the choice, so tests can run each path on one
// machine.
#pragma once

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>

#include "fovea/core/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define FOVEA_X86 1
#include <immintrin.h>
#else
#define FOVEA_X86 0
#endif

// AArch64 always has NEON (Advanced SIMD); ARMv8.2's dot product (sdot/udot) is optional before
// ARMv8.4, so its kernels carry a target attribute and run where Linux reports it
// (HWCAP_ASIMDDP). The attribute names the whole architecture level because GCC's arm_neon.h
// declares the dot-product intrinsics under armv8.2-a+dotprod, and an always-inline callee may
// not need more than its caller has.
#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__GNUC__)
#define FOVEA_INT8_NEON 1
#define FOVEA_TARGET_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#else
#define FOVEA_INT8_NEON 0
#endif

#if FOVEA_X86 && defined(__GNUC__)
#define FOVEA_TARGET_AVX512VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,avx2")))
#define FOVEA_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FOVEA_TARGET_AVX512VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#define FOVEA_INT8_SIMD 1
#else
#define FOVEA_INT8_SIMD 0
#endif

// GCC 12 warns that the intrinsics' own _mm512_undefined_* results may be used uninitialized
// when they are inlined into functions with a target attribute: a false positive, silenced
// around the SIMD kernels. Clang has no such warning (and would warn about the unknown name).
#if defined(__GNUC__) && !defined(__clang__)
#define FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define FOVEA_SILENCE_MAYBE_UNINITIALIZED_END _Pragma("GCC diagnostic pop")
#else
#define FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN
#define FOVEA_SILENCE_MAYBE_UNINITIALIZED_END
#endif

namespace fovea::cpu {

// Every INT8 ISA of every architecture; kInt8Isas lists this one's.
enum class Int8Isa { generic = 0, avx2 = 1, avx512vnni = 2, neon = 3, neon_dotprod = 4 };

// This architecture's ISAs in order of preference; each later one runs on fewer machines.
#if FOVEA_X86
inline constexpr Int8Isa kInt8Isas[] = {Int8Isa::generic, Int8Isa::avx2, Int8Isa::avx512vnni};
#elif FOVEA_INT8_NEON
inline constexpr Int8Isa kInt8Isas[] = {Int8Isa::generic, Int8Isa::neon, Int8Isa::neon_dotprod};
#else
inline constexpr Int8Isa kInt8Isas[] = {Int8Isa::generic};
#endif

// An ISA's place in kInt8Isas, or -1 for another architecture's: "at most this ISA" compares
// ranks.
inline int int8_isa_rank(Int8Isa isa) {
  for (int i = 0; i < static_cast<int>(std::size(kInt8Isas)); ++i)
    if (kInt8Isas[i] == isa) return i;
  return -1;
}

inline const char* int8_isa_name(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::generic:
      return "generic";
    case Int8Isa::avx2:
      return "avx2";
    case Int8Isa::avx512vnni:
      return "avx512vnni";
    case Int8Isa::neon:
      return "neon";
    case Int8Isa::neon_dotprod:
      return "neon_dotprod";
  }
  return "?";
}

// One of this architecture's ISAs by its name ("generic", "avx2", "avx512vnni" on x86); throws
// naming the choices.
inline Int8Isa parse_int8_isa(const std::string& name) {
  std::string choices;
  for (Int8Isa isa : kInt8Isas) {
    if (name == int8_isa_name(isa)) return isa;
    const bool last = isa == kInt8Isas[std::size(kInt8Isas) - 1];
    choices += std::string(choices.empty() ? "" : last ? " or " : ", ") + int8_isa_name(isa);
  }
  fail("INT8 ISA must be ", choices, ", got '", name, "'");
}

namespace int8_isa_detail {

inline Int8Isa detect_int8_isa() {
#if FOVEA_INT8_SIMD
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vnni"))
    return Int8Isa::avx512vnni;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Int8Isa::avx2;
#elif FOVEA_INT8_NEON
#if defined(__ARM_FEATURE_DOTPROD)
  return Int8Isa::neon_dotprod;  // the build's baseline has it
#elif defined(__linux__)
  constexpr unsigned long kHwcapAsimddp = 1ul << 20;  // HWCAP_ASIMDDP, <asm/hwcap.h>
  return (getauxval(AT_HWCAP) & kHwcapAsimddp) != 0 ? Int8Isa::neon_dotprod : Int8Isa::neon;
#else
  return Int8Isa::neon;
#endif
#endif
  return Int8Isa::generic;
}

inline Int8Isa limit_from_environment() {
  const char* v = std::getenv("FOVEA_INT8_ISA");
  return v != nullptr && *v != '\0' ? parse_int8_isa(v) : kInt8Isas[std::size(kInt8Isas) - 1];
}

inline Int8Isa& int8_isa_limit_slot() {
  static Int8Isa limit = limit_from_environment();
  return limit;
}

}  // namespace int8_isa_detail

// The best ISA this CPU has for the INT8 kernels.
inline Int8Isa int8_isa_supported() {
  static const Int8Isa isa = int8_isa_detail::detect_int8_isa();
  return isa;
}

// Caps the ISA the INT8 kernels use (for tests and comparisons); the default allows all.
inline void set_int8_isa_limit(Int8Isa limit) {
  int8_isa_detail::int8_isa_limit_slot() = limit;
}
inline Int8Isa int8_isa_limit() {
  return int8_isa_detail::int8_isa_limit_slot();
}

// Whether kernels written for `isa` may run: the CPU has it and the limit allows it.
inline bool int8_isa_usable(Int8Isa isa) {
  const int rank = int8_isa_rank(isa);
  return rank >= 0 && rank <= int8_isa_rank(int8_isa_supported()) &&
         rank <= int8_isa_rank(int8_isa_limit());
}

// Whether byte permutes across a whole vector (AVX-512 VBMI, which every VNNI core from Ice Lake
// and Zen 4 on has) may run: the 256-entry lookup tables use them. Follows the ISA limit, so a
// test that caps the INT8 kernels at AVX2 caps this too.
inline bool int8_vbmi_usable() {
#if FOVEA_INT8_SIMD
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  }();
  return has && static_cast<int>(int8_isa_limit()) >= static_cast<int>(Int8Isa::avx512vnni);
#else
  return false;
#endif
}

}  // namespace fovea::cpu
