// The class-mix test of drift monitoring: does a window of recent top-1 classes come from the
// same distribution as the reference's?
//
// With 1000 classes and a reference of ~1300 predictions most classes are seen 0-3 times, and a
// fresh sample puts a sizeable share of its predictions on classes the reference never saw (the
// Good-Turing missing mass: a quarter for a uniform law, 17 % for Zipf(1)). Bins drawn from the
// reference's counts (rare classes pooled by reference count) therefore hold more window
// predictions than their reference share says, on noise alone: such a test alarmed at every
// check on in-control Zipf streams. So everything here is a function of the combined counts
// n = reference + window of each class, or is calibrated conditionally on them: under "no
// drift" the two samples are exchangeable, and given the combined counts the split of each
// class's n between them is a random permutation, whichever classes the reference happened to
// see.
//
// Three standard scores, each large under drift:
//   chi_square_z  two-sample chi-square over the common classes (n >= min_bin_total, one bin
//                 each; min_bin_total makes a bin's expected count in the smaller sample
//                 min_expected) plus one bin pooling all rarer classes, as a Wilson-Hilferty
//                 score with bins - 1 degrees of freedom: shifts among frequent classes.
//   vanished_z    reference predictions of classes absent from the window, against their mean
//                 and variance given each class's n (a class with n predictions is absent from
//                 the window with probability C(R, n) / C(R + W, n); the variance includes the
//                 classes' covariances): classes that stopped.
//   appeared_z    window predictions of classes absent from the reference, likewise: classes
//                 that started.
// The statistic is the largest of the three, and the threshold the (1 - false_alarm) quantile
// of that largest score over bootstrap_rounds pairs of samples drawn from the reference's class
// proportions (reference-sized and window-sized), computed once at construction.
//
// Finer pooling of the rare classes (grouping classes by n) is valid too, but it also fires on a
// window resampled from the reference itself, which has no missing mass: the classes seen once
// in all are then all reference predictions. The two one-sided sparse scores stay quiet there
// (on resampled val predictions the vanished score averaged -0.5; the appeared score is far
// below 0, as resampling starts no class). What the three scores barely see is mass moving
// among rare classes that neither empties nor starts any (a class seen twice in a window is
// hardly told from one seen four times at this size).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/monitor/drift_options.hpp"

namespace fovea::monitor {

// The class-mix test's verdict at one check: an alarm when statistic > threshold.
struct ClassMixCheck {
  double statistic = 0;   // the largest of the scores below (chi_square_z only with bins >= 2)
  double threshold = 0;   // bootstrapped (1 - false_alarm) quantile of the statistic
  double chi_square = 0;  // over the common classes and one bin of the rest
  int64_t bins = 0;
  double chi_square_z = 0;
  int64_t vanished = 0;  // reference predictions of classes absent from the window
  double vanished_z = 0;
  int64_t appeared = 0;  // window predictions of classes absent from the reference
  double appeared_z = 0;
};

namespace detail {

// Scores one pair of samples; feed every class with a nonzero combined count once, in any
// order, then finish().
class ClassMixScorer {
 public:
  ClassMixScorer(int64_t ref_total, int64_t win_total, int64_t min_bin_total)
      : ref_total_(static_cast<double>(ref_total)),
        win_total_(static_cast<double>(win_total)),
        min_total_(min_bin_total) {
    // all_ref_[n] = C(R, n) / C(N, n): the chance that a class's n predictions all fell in the
    // reference; all_win_ likewise. Tabled up to 2 kTable (a pair of classes of up to kTable
    // each); past it the binomial rho^n serves.
    const int64_t total = ref_total + win_total;
    const int64_t size = std::min<int64_t>(total, 2 * kTable) + 1;
    all_ref_.assign(static_cast<size_t>(size), 1.0);
    all_win_.assign(static_cast<size_t>(size), 1.0);
    for (int64_t n = 1; n < size; ++n) {
      const double left = static_cast<double>(total - n + 1);
      const size_t i = static_cast<size_t>(n);
      all_ref_[i] = all_ref_[i - 1] * std::max<double>(0, ref_total - n + 1) / left;
      all_win_[i] = all_win_[i - 1] * std::max<double>(0, win_total - n + 1) / left;
    }
    classes_with_.assign(static_cast<size_t>(std::min<int64_t>(total, kTable) + 1), 0);
    log_ref_share_ = std::log(ref_total_ / (ref_total_ + win_total_));
    log_win_share_ = std::log(win_total_ / (ref_total_ + win_total_));
  }

  void add(int64_t ref, int64_t win) {
    const int64_t n = ref + win;
    Sums& s = sums_;
    if (win == 0) s.vanished += ref;
    if (ref == 0) s.appeared += win;
    if (n < static_cast<int64_t>(classes_with_.size())) {
      if (classes_with_[static_cast<size_t>(n)]++ == 0) used_.push_back(n);
    } else {  // so large that its covariance with the others is negligible
      add_moments(n, 1);
    }
    if (n >= min_total_) {
      s.chi_square += chi_square_term(ref, win, ref_total_, win_total_);
      ++s.bins;
      if (s.smallest_ref < 0 || n < s.smallest_ref + s.smallest_win) {
        s.smallest_ref = ref, s.smallest_win = win;
      }
    } else {
      s.rest_ref += ref, s.rest_win += win;
    }
  }

  // The scores; resets for the next sample. threshold is left 0.
  ClassMixCheck finish() {
    Sums& s = sums_;
    if (s.rest_ref + s.rest_win > 0) {
      if (s.rest_ref + s.rest_win >= min_total_ || s.smallest_ref < 0) {
        s.chi_square += chi_square_term(s.rest_ref, s.rest_win, ref_total_, win_total_);
        ++s.bins;
      } else {  // too few for a bin: they join the smallest common class
        s.chi_square += chi_square_term(s.smallest_ref + s.rest_ref, s.smallest_win + s.rest_win,
                                        ref_total_, win_total_) -
                        chi_square_term(s.smallest_ref, s.smallest_win, ref_total_, win_total_);
      }
    }
    add_distinct_counts();
    ClassMixCheck c;
    c.chi_square = std::max(0.0, s.chi_square);
    c.bins = s.bins;
    c.chi_square_z = s.bins >= 2 ? wilson_hilferty_z(c.chi_square, s.bins - 1.0) : 0;
    c.vanished = s.vanished;
    c.vanished_z = score(s.vanished, s.vanished_mean, s.vanished_var, s.vanished_k3);
    c.appeared = s.appeared;
    c.appeared_z = score(s.appeared, s.appeared_mean, s.appeared_var, s.appeared_k3);
    c.statistic = std::max(c.vanished_z, c.appeared_z);
    if (s.bins >= 2) c.statistic = std::max(c.statistic, c.chi_square_z);
    sums_ = Sums{};
    return c;
  }

 private:
  // The mean, variance and third cumulant of the vanished and appeared counts given the
  // combined counts, `classes` classes of combined count n taken as independent.
  void add_moments(int64_t n, double classes) {
    Sums& s = sums_;
    const double pr = all_ref(n), pw = all_win(n), nd = static_cast<double>(n);
    s.vanished_mean += classes * nd * pr;
    s.appeared_mean += classes * nd * pw;
    s.vanished_var += classes * nd * nd * pr * (1 - pr);
    s.appeared_var += classes * nd * nd * pw * (1 - pw);
    s.vanished_k3 += classes * nd * nd * nd * pr * (1 - pr) * (1 - 2 * pr);
    s.appeared_k3 += classes * nd * nd * nd * pw * (1 - pw) * (1 - 2 * pw);
  }

  // Var(sum of n_i [class i all in one sample]) under the permutation: the classes' variances
  // plus their covariances, which are negative (the samples' sizes are fixed). With the
  // covariances the scores have unit variance whatever the class law; without them their
  // standard deviation was 0.76-0.92. Pairs are summed over distinct counts n: O(distinct^2).
  void add_distinct_counts() {
    Sums& s = sums_;
    for (const int64_t n : used_) {
      const double cn = static_cast<double>(classes_with_[static_cast<size_t>(n)]);
      add_moments(n, cn);
      const double pr = all_ref(n), pw = all_win(n), nd = static_cast<double>(n);
      for (const int64_t m : used_) {
        const double pairs =
            cn * (static_cast<double>(classes_with_[static_cast<size_t>(m)]) - (m == n ? 1 : 0));
        const double nm = nd * static_cast<double>(m);
        s.vanished_var += pairs * nm * (all_ref(n + m) - pr * all_ref(m));
        s.appeared_var += pairs * nm * (all_win(n + m) - pw * all_win(m));
      }
    }
    for (const int64_t n : used_)
      classes_with_[static_cast<size_t>(n)] = 0;
    used_.clear();
  }

  static constexpr int64_t kTable = int64_t{1} << 16;

  struct Sums {
    double chi_square = 0;
    int64_t bins = 0, rest_ref = 0, rest_win = 0, smallest_ref = -1, smallest_win = -1;
    int64_t vanished = 0, appeared = 0;
    double vanished_mean = 0, vanished_var = 0, appeared_mean = 0, appeared_var = 0;
    double vanished_k3 = 0, appeared_k3 = 0;  // third cumulants
  };

  double all_ref(int64_t n) const {
    return n < static_cast<int64_t>(all_ref_.size()) ? all_ref_[static_cast<size_t>(n)]
                                                     : std::exp(log_ref_share_ * n);
  }
  double all_win(int64_t n) const {
    return n < static_cast<int64_t>(all_win_.size()) ? all_win_[static_cast<size_t>(n)]
                                                     : std::exp(log_win_share_ * n);
  }
  // A normal score for a sum of count indicators: right-skewed, so it is matched on three
  // moments to a shifted gamma and that put through Wilson-Hilferty (the plain standard score
  // when the skew is negligible). Only the upper tail matters, and below the mean the plain
  // score is kept: with few classes, each seen hundreds of times, the gamma's shape is tiny and
  // Wilson-Hilferty maps a count of 0 (nothing vanished) to a large positive score, which made
  // two halves of one 60-class sample alarm in 17 of 20 tries.
  static double score(int64_t observed, double mean, double variance, double third_cumulant) {
    if (!(variance > 1e-12)) return 0;
    const double sd = std::sqrt(variance), z = (static_cast<double>(observed) - mean) / sd;
    const double skew = third_cumulant / (variance * sd);
    if (!(skew > 1e-3) || z <= 0) return z;
    const double shape = 4 / (skew * skew);  // gamma(shape) standardized has this skew
    const double y = std::max(0.0, shape + z * std::sqrt(shape));
    return (std::cbrt(y / shape) - (1 - 1 / (9 * shape))) * std::sqrt(9 * shape);
  }

  double ref_total_, win_total_;
  int64_t min_total_;
  double log_ref_share_ = 0, log_win_share_ = 0;
  std::vector<double> all_ref_, all_win_;
  std::vector<int64_t> classes_with_, used_;  // classes by combined count n, and the n in use
  Sums sums_;
};

}  // namespace detail

// Reference top-1 counts against windows of `window` predictions. Construction bootstraps the
// threshold: rounds * (R + W) draws, about 0.2 s for R = 1300, W = 2000 and 10,000 rounds.
// evaluate() is O(num_classes) and const (safe to call from several threads).
class ClassMixTest {
 public:
  ClassMixTest(const std::vector<int64_t>& reference_counts, int64_t window,
               const DriftOptions& options)
      : reference_counts_(reference_counts), window_(window) {
    options.validate();
    FOVEA_CHECK(window >= 1, "class mix test: window: expected >= 1, got ", window);
    FOVEA_CHECK(reference_counts.size() < (size_t{1} << 31),
                "class mix test: too many classes: ", reference_counts.size());
    for (const int64_t c : reference_counts) {
      FOVEA_CHECK(c >= 0 && c < (int64_t{1} << 31),
                  "class mix test: reference counts must be in [0, 2^31), got ", c);
      reference_total_ += c;
    }
    FOVEA_CHECK(reference_total_ >= 1 && reference_total_ < (int64_t{1} << 31),
                "class mix test: expected 1 to 2^31 reference predictions, got ", reference_total_);
    detail::check_bootstrap_cost(options, reference_total_, window_, "class mix test");
    // A bin's expected count in the smaller sample is min_expected: n * min(R, W) / (R + W).
    const double total = static_cast<double>(reference_total_ + window_);
    min_bin_total_ = static_cast<int64_t>(
        std::ceil(static_cast<double>(options.min_expected) * total /
                      static_cast<double>(std::min(reference_total_, window_)) -
                  1e-9));
    bootstrap(options);
  }

  // The scores of the window's class counts (size num_classes, summing to window).
  ClassMixCheck evaluate(const std::vector<int64_t>& window_counts) const {
    FOVEA_CHECK(window_counts.size() == reference_counts_.size(), "class mix test: expected ",
                reference_counts_.size(), " window counts, got ", window_counts.size());
    detail::ClassMixScorer scorer(reference_total_, window_, min_bin_total_);
    int64_t total = 0;
    for (size_t c = 0; c < window_counts.size(); ++c) {
      const int64_t w = window_counts[c];
      FOVEA_CHECK(w >= 0, "class mix test: window count of class ", c, " is negative: ", w);
      total += w;
      if (reference_counts_[c] + w > 0) scorer.add(reference_counts_[c], w);
    }
    FOVEA_CHECK(total == window_, "class mix test: window counts sum to ", total, ", expected ",
                window_);
    ClassMixCheck out = scorer.finish();
    out.threshold = threshold_;
    return out;
  }

  double threshold() const { return threshold_; }
  int64_t min_bin_total() const { return min_bin_total_; }
  int64_t window() const { return window_; }

 private:
  void bootstrap(const DriftOptions& options) {
    std::vector<int32_t> labels;  // the reference's predictions, one class each
    labels.reserve(static_cast<size_t>(reference_total_));
    for (size_t c = 0; c < reference_counts_.size(); ++c) {
      labels.insert(labels.end(), static_cast<size_t>(reference_counts_[c]),
                    static_cast<int32_t>(c));
    }
    std::vector<int64_t> ref(reference_counts_.size(), 0), win(reference_counts_.size(), 0);
    std::vector<int32_t> touched;  // classes drawn this round, so a round costs O(R + W)
    detail::ClassMixScorer scorer(reference_total_, window_, min_bin_total_);
    std::vector<double> scores(static_cast<size_t>(options.bootstrap_rounds));
    Rng rng(options.seed);
    const uint32_t n_labels = static_cast<uint32_t>(labels.size());
    for (double& score : scores) {
      for (int side = 0; side < 2; ++side) {
        std::vector<int64_t>& counts = side == 0 ? ref : win;
        const int64_t draws = side == 0 ? reference_total_ : window_;
        for (int64_t i = 0; i < draws; ++i) {
          const size_t c = static_cast<size_t>(labels[detail::below_u32(rng.next_u64(), n_labels)]);
          if (ref[c] == 0 && win[c] == 0) touched.push_back(static_cast<int32_t>(c));
          ++counts[c];
        }
      }
      for (const int32_t c : touched) {
        scorer.add(ref[static_cast<size_t>(c)], win[static_cast<size_t>(c)]);
        ref[static_cast<size_t>(c)] = win[static_cast<size_t>(c)] = 0;
      }
      touched.clear();
      score = scorer.finish().statistic;
    }
    threshold_ = detail::upper_quantile(scores, options.false_alarm);
  }

  std::vector<int64_t> reference_counts_;
  int64_t window_ = 0, reference_total_ = 0, min_bin_total_ = 1;
  double threshold_ = 0;
};

}  // namespace fovea::monitor
