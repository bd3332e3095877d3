// The confidence tests of drift monitoring: a two-sample chi-square over bins fixed at the
// reference's confidence deciles, and Page's two-sided CUSUM on block means of the confidence.
//
// ConfidenceTest's bins are the reference's deciles (ties merge bins; bins are pooled until
// each expects min_expected in the smaller sample). The bins are fixed, and the reference's
// counts in quantile bins vary (as uniform spacings) with the same covariance as a multinomial
// sample, so drawing both samples from the bin proportions gives the statistic's null
// distribution: over 200,000 simulated pairs of a reference of 1300 and a window of 2000 its
// 0.99 and 0.999 quantiles were 21.65 and 27.69, the multinomial bootstrap's 21.58 and 27.88.
// For a window resampled from the reference itself the statistic is smaller still (only the
// window varies), so the test is conservative there.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/monitor/drift_options.hpp"

namespace fovea::monitor {

// A chi-square test's verdict at one check; no alarm when bins < 2 (statistic 0, threshold 0).
struct ChiSquareCheck {
  double statistic = 0;
  double threshold = 0;
  int64_t bins = 0;
};

// The two-sample chi-square of top-1 confidences over bins fixed from the reference's quantiles.
// Cost of construction: rounds * (R + W) draws over ~10 bins, about 0.05 s at the defaults.
class ConfidenceTest {
 public:
  ConfidenceTest(const std::vector<double>& reference_confidences, int64_t window,
                 const DriftOptions& options)
      : window_(window) {
    options.validate();
    FOVEA_CHECK(!reference_confidences.empty() && window >= 1,
                "confidence test: expected a reference and a window, got ",
                reference_confidences.size(), " reference confidences and a window of ", window);
    detail::check_bootstrap_cost(options, static_cast<int64_t>(reference_confidences.size()),
                                 window, "confidence test");
    std::vector<double> sorted = reference_confidences;
    for (const double c : sorted)
      FOVEA_CHECK(std::isfinite(c), "confidence test: reference confidence ", c, " is not finite");
    std::sort(sorted.begin(), sorted.end());
    const int64_t r = static_cast<int64_t>(sorted.size());
    reference_total_ = r;
    std::vector<double> edges;  // bin j holds (edges[j-1], edges[j]]
    for (int64_t q = 1; q < options.confidence_bins; ++q) {
      const int64_t at = (q * r + options.confidence_bins - 1) / options.confidence_bins - 1;
      const double e = sorted[static_cast<size_t>(std::max<int64_t>(at, 0))];
      if (edges.empty() || e > edges.back()) edges.push_back(e);
    }
    // Pool adjacent bins until each holds `need` reference predictions (min_expected in the
    // smaller sample); a short last bin joins the one before it.
    const int64_t need = static_cast<int64_t>(
        std::ceil(static_cast<double>(options.min_expected) * r / std::min(r, window_) - 1e-9));
    std::vector<int64_t> counts(edges.size() + 1, 0);
    for (const double c : sorted)
      ++counts[bin_in(edges, c)];
    int64_t acc = 0;
    for (size_t j = 0; j < counts.size(); ++j) {
      acc += counts[j];
      if (acc >= need) {
        reference_counts_.push_back(acc);
        if (j < edges.size()) edges_.push_back(edges[j]);
        acc = 0;
      }
    }
    if (acc > 0) {
      if (reference_counts_.empty()) {
        reference_counts_.push_back(acc);
      } else {
        reference_counts_.back() += acc;
      }
    }
    if (edges_.size() >= reference_counts_.size()) edges_.resize(reference_counts_.size() - 1);
    bootstrap(options);
  }

  int64_t bins() const { return static_cast<int64_t>(reference_counts_.size()); }
  // The bin of a confidence: 0 for values up to the first edge, bins() - 1 above the last.
  int64_t bin_of(double confidence) const {
    return static_cast<int64_t>(bin_in(edges_, confidence));
  }
  const std::vector<double>& edges() const { return edges_; }
  const std::vector<int64_t>& reference_counts() const { return reference_counts_; }
  double threshold() const { return threshold_; }

  // X^2 of the window's counts per bin (size bins(), summing to window) against the reference.
  ChiSquareCheck evaluate(const std::vector<int64_t>& window_bin_counts) const {
    FOVEA_CHECK(window_bin_counts.size() == reference_counts_.size(), "confidence test: expected ",
                reference_counts_.size(), " bin counts, got ", window_bin_counts.size());
    int64_t total = 0;
    for (const int64_t c : window_bin_counts) {
      FOVEA_CHECK(c >= 0, "confidence test: a window bin count is negative: ", c);
      total += c;
    }
    FOVEA_CHECK(total == window_, "confidence test: window bin counts sum to ", total,
                ", expected ", window_);
    ChiSquareCheck out = score(reference_counts_, window_bin_counts);
    out.threshold = threshold_;
    return out;
  }

 private:
  static size_t bin_in(const std::vector<double>& edges, double x) {
    return static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), x) - edges.begin());
  }

  ChiSquareCheck score(const std::vector<int64_t>& ref, const std::vector<int64_t>& win) const {
    ChiSquareCheck out;
    out.bins = static_cast<int64_t>(ref.size());
    for (size_t j = 0; j < ref.size(); ++j) {
      out.statistic += detail::chi_square_term(ref[j], win[j], reference_total_, window_);
    }
    return out;
  }

  void bootstrap(const DriftOptions& options) {
    const size_t k = reference_counts_.size();
    if (k < 2) return;  // one bin: nothing to compare, threshold 0 and no alarms
    const detail::AliasTable bin_table(
        std::vector<double>(reference_counts_.begin(), reference_counts_.end()));
    std::vector<int64_t> ref(k), win(k);
    std::vector<double> scores(static_cast<size_t>(options.bootstrap_rounds));
    Rng rng(options.seed ^ 0x636f6e666964656eull);  // a stream apart from the class mix test's
    for (double& s : scores) {
      std::fill(ref.begin(), ref.end(), 0);
      std::fill(win.begin(), win.end(), 0);
      for (int64_t i = 0; i < reference_total_ + window_; ++i) {
        ++(i < reference_total_ ? ref : win)[bin_table.draw(rng.next_u64())];
      }
      s = score(ref, win).statistic;
    }
    threshold_ = detail::upper_quantile(scores, options.false_alarm);
  }

  std::vector<double> edges_;
  std::vector<int64_t> reference_counts_;
  int64_t window_ = 0, reference_total_ = 0;
  double threshold_ = 0;
};

// Page's two-sided CUSUM on block means of the top-1 confidence. Each block of B predictions
// gives z = (block mean - reference mean) / (reference std / sqrt(B)), and
//   S+ = max(0, S+ + z - k'),  S- = max(0, S- - z - k'),  statistic = max(S+, S-),
// alarming while statistic > h. Both sides are capped at 2h, so a long shift does not pile up
// and the alarm ends about h / k' blocks (11 blocks, 560 predictions, at the defaults and
// R = 1300) after the mean returns.
//
// The reference mean is an estimate from R predictions, off by N(0, B / R) in block units (0.2
// at R = 1300, B = 50). Page's CUSUM with k = 0.5 treats such an offset as a shift: on in-control
// streams of 20,000 predictions it alarmed for 15 % of references (30 of 200 simulated). So the
// allowance is k' = k + cusum_guard * sqrt(B / R): 0.89 at the defaults and R = 1300, and a
// reference whose mean is off by up to cusum_guard standard errors leaves the in-control drift of
// each side at -k or below.
//
// In-control average run length (ARL0) by Siegmund's approximation for N(0, 1) increments:
// one side ARL = (exp(2 k b) - 2 k b - 1) / (2 k^2) with b = h + 1.166; two sides halve it. At
// k = 0.5, h = 10 that is 141,000 blocks one-sided and 70,700 blocks (3.5 million predictions
// at B = 50) two-sided, for every reference within cusum_guard = 2 standard errors (95 % of
// them; with an exact reference mean it is 1.4e8 blocks). Averaged over references of
// R = 1300, Siegmund's run lengths give P(alarm within 20,000 predictions) = 0.1 % (12.6 %
// without the guard; 0 of 100 simulated in-control streams alarmed). The price: a drop of 0.05
// in mean confidence (sd 0.24) takes 17 blocks (870 predictions) on average instead of 11 (540).
class ConfidenceCusum {
 public:
  ConfidenceCusum(const std::vector<double>& reference_confidences, const DriftOptions& options)
      : block_(options.cusum_block), h_(options.cusum_h) {
    options.validate();
    FOVEA_CHECK(reference_confidences.size() >= 2, "confidence CUSUM: expected at least 2 ",
                "reference confidences, got ", reference_confidences.size());
    double sum = 0;
    for (const double c : reference_confidences)
      sum += c;
    const double n = static_cast<double>(reference_confidences.size());
    mean_ = sum / n;
    double squares = 0;
    for (const double c : reference_confidences)
      squares += (c - mean_) * (c - mean_);
    // A reference whose confidences are all alike would make any change infinitely significant;
    // the floor (a thousandth of the probability scale) keeps z finite.
    std_ = std::max(std::sqrt(squares / (n - 1)), 1e-3);
    block_std_ = std_ / std::sqrt(static_cast<double>(block_));
    k_ = options.cusum_k + options.cusum_guard * std::sqrt(static_cast<double>(block_) / n);
  }

  // Adds one confidence; true when it completed a block (the statistic moved).
  bool add(double confidence) {
    block_sum_ += confidence;
    if (++in_block_ < block_) return false;
    const double z = (block_sum_ / static_cast<double>(block_) - mean_) / block_std_;
    upper_ = std::clamp(upper_ + z - k_, 0.0, 2 * h_);
    lower_ = std::clamp(lower_ - z - k_, 0.0, 2 * h_);
    block_sum_ = 0, in_block_ = 0;
    return true;
  }

  double statistic() const { return std::max(upper_, lower_); }
  double threshold() const { return h_; }
  double upper() const { return upper_; }  // evidence of a rise in mean confidence
  double lower() const { return lower_; }  // evidence of a drop
  double reference_mean() const { return mean_; }
  double reference_std() const { return std_; }
  double allowance() const { return k_; }  // k' = cusum_k + guard * sqrt(B / R)
  int64_t block() const { return block_; }

  // Siegmund's approximation of a one-sided CUSUM's average run length, in blocks, when the
  // standardized block means have mean `drift` beyond the allowance: drift = shift - k.
  static double siegmund_arl(double drift, double h) {
    const double b = h + 1.166;
    if (std::fabs(drift) < 1e-9) return b * b;
    return (std::exp(-2 * drift * b) + 2 * drift * b - 1) / (2 * drift * drift);
  }
  // Two-sided average run length in blocks when the block means shift by `shift` block
  // standard deviations (0: the in-control ARL0).
  double average_run_length(double shift) const {
    return 1 / (1 / siegmund_arl(shift - k_, h_) + 1 / siegmund_arl(-shift - k_, h_));
  }

 private:
  int64_t block_;
  double h_, k_ = 0;
  double mean_ = 0, std_ = 0, block_std_ = 0;
  double block_sum_ = 0, upper_ = 0, lower_ = 0;
  int64_t in_block_ = 0;
};

}  // namespace fovea::monitor
