// DriftOptions, the settings of drift monitoring, and the small numerical pieces its tests
// share: the two-sample chi-square term, the Wilson-Hilferty transform, bootstrap quantiles and
// an alias table for drawing bootstrap samples.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fovea/core/error.hpp"

namespace fovea::monitor {

struct DriftOptions {
  int64_t window = 2000;      // recent predictions compared with the reference
  int64_t check_every = 500;  // a test runs after this many new predictions (once full)
  double false_alarm = 1e-3;  // per check, for the class-mix and confidence tests
  int64_t min_expected = 5;   // pooling: each bin's expected count in the smaller sample
  int64_t bootstrap_rounds = 10000;
  uint64_t seed = 1;
  int64_t confidence_bins = 10;  // quantile bins of the reference's confidences, before pooling
  int64_t cusum_block = 50;      // CUSUM runs on block means of the top-1 confidence
  double cusum_k = 0.5, cusum_h = 10;  // in units of the block mean's reference std deviation
  // The CUSUM's allowance grows by this many standard errors of the reference's mean confidence
  // (cusum_guard * sqrt(cusum_block / R) block units), so that a reference whose mean is off by
  // up to that much still gets the in-control run length of k and h. 0: the plain CUSUM.
  double cusum_guard = 2;

  void validate() const {
    FOVEA_CHECK(window >= 100 && window <= (int64_t{1} << 24),
                "drift options: window: expected a whole number in [100, 2^24], got ", window);
    FOVEA_CHECK(check_every >= 1 && check_every <= (int64_t{1} << 30),
                "drift options: check_every: expected a whole number in [1, 2^30], got ",
                check_every);
    FOVEA_CHECK(false_alarm > 0 && false_alarm <= 0.5,
                "drift options: false_alarm: expected a probability in (0, 0.5], got ",
                false_alarm);
    FOVEA_CHECK(min_expected >= 1 && min_expected <= 1000,
                "drift options: min_expected: expected a whole number in [1, 1000], got ",
                min_expected);
    FOVEA_CHECK(bootstrap_rounds >= 100 && bootstrap_rounds <= 10000000,
                "drift options: bootstrap_rounds: expected a whole number in [100, 10^7], got ",
                bootstrap_rounds);
    // At least 10 bootstrapped statistics above the threshold, or the quantile is too noisy.
    FOVEA_CHECK(false_alarm * static_cast<double>(bootstrap_rounds) >= 10 - 1e-9,
                "drift options: bootstrap_rounds: expected at least 10 / false_alarm = ",
                std::ceil(10 / false_alarm), " rounds for false_alarm ", false_alarm, ", got ",
                bootstrap_rounds);
    FOVEA_CHECK(confidence_bins >= 2 && confidence_bins <= 1000,
                "drift options: confidence_bins: expected a whole number in [2, 1000], got ",
                confidence_bins);
    FOVEA_CHECK(cusum_block >= 5 && cusum_block <= (int64_t{1} << 20),
                "drift options: cusum_block: expected a whole number in [5, 2^20], got ",
                cusum_block);
    FOVEA_CHECK(std::isfinite(cusum_k) && cusum_k >= 0 && cusum_k <= 100,
                "drift options: cusum_k: expected a number in [0, 100], got ", cusum_k);
    FOVEA_CHECK(std::isfinite(cusum_h) && cusum_h > 0 && cusum_h <= 1000,
                "drift options: cusum_h: expected a number in (0, 1000], got ", cusum_h);
    FOVEA_CHECK(std::isfinite(cusum_guard) && cusum_guard >= 0 && cusum_guard <= 10,
                "drift options: cusum_guard: expected a number in [0, 10], got ", cusum_guard);
  }
};

namespace detail {

// One bin's share of the two-sample (homogeneity) chi-square: the sum over both samples of
// (observed - expected)^2 / expected, with expected counts from the pooled proportion.
inline double chi_square_term(double ref, double win, double ref_total, double win_total) {
  const double n = ref + win;
  if (n <= 0) return 0;
  const double d = ref * win_total - win * ref_total;
  return d * d / (ref_total * win_total * n);
}

// Wilson-Hilferty: (X^2 / df)^(1/3) is close to normal; z is its standard score.
inline double wilson_hilferty_z(double x, double df) {
  const double s = 2 / (9 * df);
  return (std::cbrt(x / df) - (1 - s)) / std::sqrt(s);
}
inline double wilson_hilferty_x(double z, double df) {
  const double s = 2 / (9 * df);
  const double c = std::max(0.0, 1 - s + z * std::sqrt(s));
  return df * c * c * c;
}

// A bootstrap draws rounds * (R + W) predictions; past 2^32 draws (some 15-30 s) a monitor's
// start-up would stall a server, so that is refused with what to lower.
inline void check_bootstrap_cost(const DriftOptions& options, int64_t reference, int64_t window,
                                 const char* test) {
  const double draws = static_cast<double>(options.bootstrap_rounds) *
                       (static_cast<double>(reference) + static_cast<double>(window));
  FOVEA_CHECK(draws <= 4294967296.0, test,
              ": bootstrap_rounds * (reference + window) = ", options.bootstrap_rounds, " * (",
              reference, " + ", window, ") draws, expected at ",
              "most 2^32 (a start-up of 15 s or more): lower bootstrap_rounds or the window, or "
              "use a smaller reference");
}

// The value with at most a `tail` fraction of `values` above it (values is reordered).
inline double upper_quantile(std::vector<double>& values, double tail) {
  const size_t above = static_cast<size_t>(std::floor(tail * values.size() + 1e-9));
  const size_t at = values.size() - 1 - std::min(above, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(at), values.end());
  return values[at];
}

// A uniform integer in [0, n) from the top 32 bits of a random word (n < 2^32; the bias is
// below n / 2^32, far under the bootstrap's own noise), without a division.
inline uint32_t below_u32(uint64_t random, uint32_t n) {
  return static_cast<uint32_t>(((random >> 32) * n) >> 32);
}

// Walker's alias table: draws an index with the given weights in O(1).
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights)
      : accept_(weights.size(), 1.0), alias_(weights.size()) {
    const size_t k = weights.size();
    double sum = 0;
    for (const double w : weights)
      sum += w;
    std::vector<double> scaled(k);
    std::vector<uint32_t> small, large;
    for (size_t j = 0; j < k; ++j) {
      scaled[j] = weights[j] * static_cast<double>(k) / sum;
      alias_[j] = static_cast<uint32_t>(j);
      (scaled[j] < 1 ? small : large).push_back(static_cast<uint32_t>(j));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      accept_[s] = scaled[s], alias_[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
  }
  uint32_t draw(uint64_t random) const {
    const uint32_t j = below_u32(random, static_cast<uint32_t>(accept_.size()));
    const double u = static_cast<double>(random & 0xffffffffu) * 0x1.0p-32;
    return u < accept_[j] ? j : alias_[j];
  }

 private:
  std::vector<double> accept_;
  std::vector<uint32_t> alias_;
};

}  // namespace detail

}  // namespace fovea::monitor
