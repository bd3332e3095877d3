// The data-movement helpers of simd.hpp, exactly: transpose and deinterleave only move floats,
// so every lane must land where it belongs, bit for bit, on each SIMD path.
#include <doctest/doctest.h>

#include "fovea/cpu/simd.hpp"

using fovea::cpu::Vec;

namespace {

constexpr int L = Vec::kLanes;

// A distinct value for lane j of vector i.
float tag(int i, int j) {
  return static_cast<float>(100 * i + j);
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("transpose moves lane j of row i to lane i of row j") {
    float in[L][L], out[L][L];
    Vec rows[L];
    for (int i = 0; i < L; ++i) {
      for (int j = 0; j < L; ++j)
        in[i][j] = tag(i, j);
      rows[i] = Vec::load(in[i]);
    }
    fovea::cpu::transpose(rows);
    for (int i = 0; i < L; ++i)
      rows[i].store(out[i]);
    for (int i = 0; i < L; ++i) {
      for (int j = 0; j < L; ++j) {
        CAPTURE(i);
        CAPTURE(j);
        CHECK(out[j][i] == tag(i, j));
      }
    }
  }

  TEST_CASE("deinterleave splits 2 vectors into their even and odd elements") {
    float in[2 * L], even[L], odd[L];
    for (int k = 0; k < 2 * L; ++k)
      in[k] = tag(0, k);
    Vec e, o;
    fovea::cpu::deinterleave(Vec::load(in), Vec::load(in + L), e, o);
    e.store(even);
    o.store(odd);
    for (int k = 0; k < L; ++k) {
      CAPTURE(k);
      CHECK(even[k] == in[2 * k]);
      CHECK(odd[k] == in[2 * k + 1]);
    }
  }
}
