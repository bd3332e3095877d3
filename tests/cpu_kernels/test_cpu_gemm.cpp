// The packed GEMM against a naive triple loop in double, over many M, N, K including 1, primes
// and sizes on both sides of the register tile and cache blocks.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/gemm_rows_in_place.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace {

using fovea::cpu::GemmEpilogue;

std::vector<float> random_vector(int64_t count, fovea::Rng& rng) {
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v)
    x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// max |got - want| / max |want| against C = A · B computed in double.
double gemm_error(int64_t m, int64_t n, int64_t k, uint64_t seed) {
  fovea::Rng rng(seed);
  const std::vector<float> a = random_vector(m * k, rng), b = random_vector(k * n, rng);
  std::vector<float> c(static_cast<size_t>(m * n), -7.0f);  // stale values must be overwritten
  fovea::cpu::gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n);
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t p = 0; p < k; ++p)
        want += double(a[i * k + p]) * double(b[p * n + j]);
      max_diff = std::max(max_diff, std::abs(want - c[i * n + j]));
      max_ref = std::max(max_ref, std::abs(want));
    }
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

}  // namespace

TEST_SUITE("cpu") {
#ifdef FOVEA_EXPECT_ISA
  TEST_CASE("this variant compiled the SIMD path it is named after") {
    CHECK(std::string(fovea::cpu::kIsaName) == FOVEA_EXPECT_ISA);
  }
#endif

  TEST_CASE("gemm matches a naive triple loop for many sizes") {
    const int64_t sizes[] = {1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 47, 64, 97, 131};
    const int64_t depths[] = {1, 3, 17, 64, 255, 256, 257, 600};
    uint64_t seed = 1;
    for (int64_t m : sizes) {
      for (int64_t n : sizes) {
        const int64_t k = depths[(m * 7 + n) % 8];
        const double err = gemm_error(m, n, k, seed);
        INFO("isa=", fovea::cpu::kIsaName, " m=", m, " n=", n, " k=", k, " seed=", seed);
        CHECK(err <= 1e-5);
        ++seed;
      }
    }
  }

  TEST_CASE("gemm crosses the row and column cache blocks") {
    const int64_t m = fovea::cpu::kGemmMr * 20 + 5, n = fovea::cpu::kGemmNcMax * 2 + 3;
    INFO("isa=", fovea::cpu::kIsaName, " m=", m, " n=", n, " k=", 300);
    CHECK(gemm_error(m, n, 300, 99) <= 1e-5);
  }

  TEST_CASE("gemm by hand with bias residual and relu") {
    // A = [[1, 2], [3, 4]], B = [[1, -1, 0], [2, 0, -3]]: A·B = [[5, -1, -6], [11, -3, -12]].
    const float a[] = {1, 2, 3, 4};
    const float b[] = {1, -1, 0, 2, 0, -3};
    const float row_bias[] = {1, -10};
    const float residual[] = {0, 3, 1, 0, 0, 30};
    GemmEpilogue e;
    e.row_bias = row_bias;
    e.residual = residual;
    e.ld_residual = 3;
    e.act = fovea::ActivationKind::relu;
    float c[6];
    fovea::cpu::gemm(2, 3, 2, a, 2, b, 3, c, 3, e);
    // relu([[5+1+0, -1+1+3, -6+1+1], [11-10+0, -3-10+0, -12-10+30]])
    const float want[] = {6, 3, 0, 1, 0, 8};
    for (int i = 0; i < 6; ++i)
      CHECK(c[i] == want[i]);
  }

  TEST_CASE("gemm_rows_in_place computes a range of columns, to the bit, and nothing else") {
    const int64_t m = 13, k = 40, n = 3 * fovea::cpu::kGemmNr + 4;
    fovea::Rng rng(11);
    const std::vector<float> a = random_vector(m * k, rng), b = random_vector(k * n, rng);
    const std::vector<float> bias = random_vector(n, rng);
    const fovea::cpu::PackedMatrixB packed(k, n, b.data(), n, 1, 16);  // K blocks of 16
    GemmEpilogue e;
    e.col_bias = bias.data();
    e.act = fovea::ActivationKind::relu;
    std::vector<float> whole(static_cast<size_t>(m * n)), part(whole.size(), -7.0f);
    fovea::cpu::gemm_rows_in_place(m, a.data(), k, packed, whole.data(), n, e);
    // The range ends 12 columns into a panel: more than half a vector, so the same kernel as
    // the whole panel's sums each column (8 or fewer take AVX-512's paired kernel, whose sums
    // run in another order).
    const int64_t begin = fovea::cpu::kGemmNr, end = 2 * fovea::cpu::kGemmNr + 12;
    fovea::cpu::gemm_rows_in_place(m, a.data(), k, packed, part.data(), n, e, begin, end);
    int wrong = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const float got = part[static_cast<size_t>(i * n + j)];
        wrong +=
            j >= begin && j < end ? got != whole[static_cast<size_t>(i * n + j)] : got != -7.0f;
      }
    CHECK(wrong == 0);
    CHECK_THROWS_AS(fovea::cpu::gemm_rows_in_place(m, a.data(), k, packed, part.data(), n, e, 1, n),
                    fovea::Error);
  }

  TEST_CASE("gemm_rows_in_place gives identical bits on one, two and three threads") {
    // The row split (each thread one block of rows) and plan_gemm_tasks' split, with a column
    // bias, a residual and an activation, against a triple loop in double.
    for (const auto& [m, n, k] :
         {std::array<int64_t, 3>{200, 96, 300}, std::array<int64_t, 3>{97, 40, 33},
          std::array<int64_t, 3>{49, 300, 70}}) {
      CAPTURE(m);
      CAPTURE(n);
      fovea::Rng rng(17);
      const std::vector<float> a = random_vector(m * k, rng), b = random_vector(k * n, rng);
      const std::vector<float> bias = random_vector(n, rng), residual = random_vector(m * n, rng);
      const fovea::cpu::PackedMatrixB packed(k, n, b.data(), n, 1, fovea::cpu::kGemmKc);
      GemmEpilogue e;
      e.col_bias = bias.data();
      e.residual = residual.data();
      e.ld_residual = n;
      e.act = fovea::ActivationKind::relu;
      std::vector<std::vector<float>> c;
      for (int threads : {1, 2, 3}) {
        fovea::set_num_threads(threads);
        c.emplace_back(static_cast<size_t>(m * n), -7.0f);
        fovea::cpu::gemm_rows_in_place(m, a.data(), k, packed, c.back().data(), n, e);
      }
      fovea::set_num_threads(2);
      CHECK(c[1] == c[0]);
      CHECK(c[2] == c[0]);
      double max_diff = 0;
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double want = bias[j] + residual[i * n + j];
          for (int64_t p = 0; p < k; ++p)
            want += double(a[i * k + p]) * double(b[p * n + j]);
          max_diff = std::max(max_diff, std::abs(std::max(want, 0.0) - c[0][i * n + j]));
        }
      }
      CHECK(max_diff <= 1e-4 * double(k));
    }
  }

  TEST_CASE("gemm gives identical bits on one and two threads") {
    const int64_t m = 70, n = 300, k = 530;
    fovea::Rng rng(5);
    const std::vector<float> a = random_vector(m * k, rng), b = random_vector(k * n, rng);
    std::vector<float> c1(static_cast<size_t>(m * n)), c2(c1.size());
    fovea::set_num_threads(1);
    fovea::cpu::gemm(m, n, k, a.data(), k, b.data(), n, c1.data(), n);
    fovea::set_num_threads(2);
    fovea::cpu::gemm(m, n, k, a.data(), k, b.data(), n, c2.data(), n);
    CHECK(c1 == c2);
  }

  TEST_CASE("gemm_rows_in_place gives each thread one block of rows where they outweigh B") {
    using fovea::cpu::kGemmMr;
    using fovea::cpu::detail::plan_rows_in_place_tasks;
    for (int threads : {2, 3, 4}) {
      for (int64_t m : {196, 784, 3136, 25088}) {  // 14×14 and up
        for (int64_t n : {16, 24, 96, 2 * 196}) {  // 2·M ≥ N
          CAPTURE(threads);
          CAPTURE(m);
          CAPTURE(n);
          const auto plan = plan_rows_in_place_tasks(m, n, 256, threads);
          if ((m + kGemmMr - 1) / kGemmMr < 8 * threads) continue;  // 196 rows of 12 (AVX-512)
          CHECK(plan.n_blocks == 1);
          CHECK(plan.nc >= n);
          CHECK(plan.m_blocks == threads);  // one loop index per thread: thread t, block t
          CHECK(plan.mc % kGemmMr == 0);
          CHECK(plan.m_blocks * plan.mc >= m);
          CHECK((plan.m_blocks - 1) * plan.mc < m);
        }
      }
    }
    // A 7×7 image (9 row tiles), weights wider than twice the rows, or one thread: the
    // general plan.
    for (const auto& [m, n, threads] :
         {std::array<int64_t, 3>{49, 16, 2}, std::array<int64_t, 3>{196, 576, 2},
          std::array<int64_t, 3>{3136, 96, 1}}) {
      const auto plan = plan_rows_in_place_tasks(m, n, 256, static_cast<int>(threads));
      const auto general =
          fovea::cpu::detail::plan_gemm_tasks(m, n, 256, static_cast<int>(threads));
      CHECK(plan.mc == general.mc);
      CHECK(plan.nc == general.nc);
    }
  }

  TEST_CASE("gemm task plans cover C exactly and keep every thread busy") {
    using fovea::cpu::kGemmMr;
    using fovea::cpu::kGemmNcMax;
    using fovea::cpu::kGemmNr;
    for (int threads : {1, 2, 3, 4, 8}) {
      for (int64_t m : {1, 12, 64, 255, 512, 2048}) {
        for (int64_t n : {1, 16, 49, 196, 784, 3136, 12544}) {
          for (int64_t k : {16, 2048}) {  // A in L2 and not
            CAPTURE(threads);
            CAPTURE(m);
            CAPTURE(n);
            const auto plan = fovea::cpu::detail::plan_gemm_tasks(m, n, k, threads);
            CHECK(plan.mc % kGemmMr == 0);
            CHECK(plan.nc % kGemmNr == 0);
            CHECK(plan.nc <= kGemmNcMax);
            CHECK(plan.m_blocks * plan.mc >= m);       // every row and column is in a block,
            CHECK((plan.m_blocks - 1) * plan.mc < m);  // and no block is empty
            CHECK(plan.n_blocks * plan.nc >= n);
            CHECK((plan.n_blocks - 1) * plan.nc < n);
            // With enough tiles to go round, the busiest thread gets at most 20 % more
            // register tiles than an even share.
            const int64_t m_panels = (m + kGemmMr - 1) / kGemmMr;
            const int64_t n_panels = (n + kGemmNr - 1) / kGemmNr;
            if (threads > 1 && m_panels * n_panels >= 4 * threads) {
              const int64_t rounds = (plan.m_blocks * plan.n_blocks + threads - 1) / threads;
              const double busiest =
                  double(rounds) * double(plan.mc / kGemmMr) * double(plan.nc / kGemmNr);
              CHECK(busiest <= 1.2 * double(m_panels * n_panels) / threads);
            }
          }
        }
      }
    }
  }
}
