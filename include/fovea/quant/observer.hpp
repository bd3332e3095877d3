// Observers: what calibration learns about one value from the calibration images, and the four
// ways to turn it into a range for the value's params.
//
// A value is watched in two passes: the first finds its minimum and maximum, the second counts
// it into a histogram of kHistogramBins bins over [min, max]. From those:
// - minmax: [min, max], every value represented, outliers included;
// - percentile: the p-th and (100 − p)-th percentiles, so the rarest values clip;
// - mse: the range whose quantization (rounding plus clipping) has the least mean squared error
//   over the histogram;
// - entropy: the range whose quantized distribution is closest to the observed one in
//   Kullback–Leibler divergence (TensorRT's calibration).
// mse and entropy search from [min, max] inward, one end at a time (searched_range).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/quant/scheme.hpp"

namespace fovea::quant {

enum class CalibrationMethod { minmax, percentile, entropy, mse };

inline const char* calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::minmax:
      return "minmax";
    case CalibrationMethod::percentile:
      return "percentile";
    case CalibrationMethod::entropy:
      return "entropy";
    case CalibrationMethod::mse:
      return "mse";
  }
  return "?";
}

inline CalibrationMethod parse_calibration_method(const std::string& name) {
  for (CalibrationMethod m : {CalibrationMethod::minmax, CalibrationMethod::percentile,
                              CalibrationMethod::entropy, CalibrationMethod::mse})
    if (name == calibration_method_name(m)) return m;
  fail("calibration method must be minmax, percentile, entropy or mse, got '", name, "'");
}

// The real range a value's params cover.
struct ValueRange {
  double lo = 0, hi = 0;
};

class Observer {
 public:
  static constexpr int kHistogramBins = 2048;
  static constexpr int kSearchStep = 4;      // bins an end moves per search step
  static constexpr double kMinKeep = 0.125;  // the search stops at 256 of the 2048 bins

  // Pass 1.
  void observe_range(const Tensor<float>& x) {
    for (const float v : x) {
      if (!std::isfinite(v)) continue;
      min_ = std::min(min_, static_cast<double>(v));
      max_ = std::max(max_, static_cast<double>(v));
    }
    seen_ = seen_ || x.numel() > 0;
  }

  // Pass 2, after pass 1 over the same images.
  void observe_histogram(const Tensor<float>& x) {
    if (counts_.empty()) counts_.assign(kHistogramBins, 0.0);
    const double width = bin_width();
    for (const float v : x) {
      if (!std::isfinite(v)) continue;
      const double bin = width > 0 ? (v - min_) / width : 0.0;
      const int i = std::clamp(static_cast<int>(bin), 0, kHistogramBins - 1);
      counts_[static_cast<size_t>(i)] += 1;
      if (v == 0.0f) zeros_ += 1;
    }
  }

  bool seen() const { return seen_; }
  ValueRange min_max() const { return seen_ ? ValueRange{min_, max_} : ValueRange{0, 0}; }
  const std::vector<double>& histogram() const { return counts_; }

  // The range `method` picks; `percentile` is for the percentile method (e.g. 99.99).
  ValueRange range(CalibrationMethod method, double percentile = 99.99) const {
    if (!seen_ || method == CalibrationMethod::minmax || counts_.empty() || max_ <= min_)
      return min_max();
    if (method == CalibrationMethod::percentile) return percentile_range(percentile);
    return searched_range(method);
  }

 private:
  double bin_width() const { return (max_ - min_) / kHistogramBins; }
  int zero_bin() const {
    const double width = bin_width();
    return width > 0 ? std::clamp(static_cast<int>(-min_ / width), 0, kHistogramBins - 1) : 0;
  }
  double bin_center(int i) const { return min_ + (i + 0.5) * bin_width(); }

  // mse and entropy: from [min, max], repeatedly move one end inward by kSearchStep bins, the
  // end whose move costs less, down to a kMinKeep share of the bins; return the cheapest range
  // seen on the way. An end that is at zero stays (params widen to hold zero anyway).
  ValueRange searched_range(CalibrationMethod method) const {
    const auto cost = [&](int first, int last) {
      const ValueRange r{first == 0 ? min_ : min_ + first * bin_width(),
                         last == kHistogramBins - 1 ? max_ : min_ + (last + 1) * bin_width()};
      return method == CalibrationMethod::mse ? squared_error(r) : kl_divergence(r);
    };
    const int zero = zero_bin();
    int first = 0, last = kHistogramBins - 1;
    int best_first = first, best_last = last;
    double best = cost(first, last);
    while (last - first + 1 > kHistogramBins * kMinKeep) {
      const bool can_lower = min_ < 0 && first + kSearchStep <= zero;
      const bool can_raise = max_ > 0 && last - kSearchStep >= zero;
      if (!can_lower && !can_raise) break;
      const double lower =
          can_lower ? cost(first + kSearchStep, last) : std::numeric_limits<double>::infinity();
      const double raise =
          can_raise ? cost(first, last - kSearchStep) : std::numeric_limits<double>::infinity();
      if (lower <= raise) {
        first += kSearchStep;
      } else {
        last -= kSearchStep;
      }
      const double c = std::min(lower, raise);
      if (c < best) {
        best = c;
        best_first = first;
        best_last = last;
      }
    }
    return {best_first == 0 ? min_ : min_ + best_first * bin_width(),
            best_last == kHistogramBins - 1 ? max_ : min_ + (best_last + 1) * bin_width()};
  }

  ValueRange percentile_range(double percentile) const {
    double total = 0;
    for (double c : counts_)
      total += c;
    const double tail = total * (100.0 - percentile) / 100.0;
    int lo = 0, hi = kHistogramBins - 1;
    for (double seen = 0; lo < hi && seen + counts_[static_cast<size_t>(lo)] <= tail; ++lo)
      seen += counts_[static_cast<size_t>(lo)];
    for (double seen = 0; hi > lo && seen + counts_[static_cast<size_t>(hi)] <= tail; --hi)
      seen += counts_[static_cast<size_t>(hi)];
    return {lo == 0 ? min_ : min_ + lo * bin_width(),
            hi == kHistogramBins - 1 ? max_ : min_ + (hi + 1) * bin_width()};
  }

  // Σ count · (dequantize(quantize(x)) − x)² over the bins' centres, for params covering r.
  double squared_error(const ValueRange& r) const {
    const QuantParams p = activation_params(r.lo, r.hi);
    double total = 0;
    for (int i = 0; i < kHistogramBins; ++i) {
      const double c = counts_[static_cast<size_t>(i)];
      if (c == 0) continue;
      const double x = bin_center(i);
      const double e = dequantize_value(quantize_value(static_cast<float>(x), p), p) - x;
      total += c * e * e;
    }
    return total;
  }

  // KL(P ‖ Q) as TensorRT computes it: P is the histogram clipped to r, the clipped counts added
  // to its end bins; Q is the histogram inside r without them, merged into 256 levels and spread
  // back evenly over each level's non-empty bins. Clipping too much leaves mass in P's end bins
  // that Q lacks; clipping too little leaves Q too coarse.
  double kl_divergence(const ValueRange& r) const {
    const double width = bin_width();
    const int first =
        std::clamp(static_cast<int>(std::floor((r.lo - min_) / width)), 0, kHistogramBins - 1);
    const int last = std::clamp(static_cast<int>(std::ceil((r.hi - min_) / width)) - 1, first,
                                kHistogramBins - 1);
    const int bins = last - first + 1;
    // Exact zeros (half a ReLU's output) quantize without error to any range, which holds
    // zero exactly; left in, their spike in one bin made the divergence favour ranges so
    // narrow that each level had one bin, clipping ReLU outputs at 1.7 standard deviations.
    std::vector<double> counts = counts_;
    counts[static_cast<size_t>(zero_bin())] -= zeros_;
    const std::vector<double> inside(counts.begin() + first, counts.begin() + last + 1);
    std::vector<double> p = inside;
    for (int i = 0; i < first; ++i)
      p.front() += counts[static_cast<size_t>(i)];
    for (int i = last + 1; i < kHistogramBins; ++i)
      p.back() += counts[static_cast<size_t>(i)];
    constexpr int kLevels = kActivationMax - kActivationMin + 1;
    std::vector<double> q(p.size(), 0.0);
    for (int level = 0; level < kLevels; ++level) {
      const int b0 = bins * level / kLevels, b1 = bins * (level + 1) / kLevels;
      double mass = 0;
      int nonzero = 0;
      for (int b = b0; b < b1; ++b) {
        mass += inside[static_cast<size_t>(b)];
        nonzero += inside[static_cast<size_t>(b)] > 0;
      }
      for (int b = b0; b < b1; ++b)
        if (inside[static_cast<size_t>(b)] > 0) q[static_cast<size_t>(b)] = mass / nonzero;
    }
    double p_total = 0, q_total = 0;
    for (size_t b = 0; b < p.size(); ++b) {
      p_total += p[b];
      q_total += q[b];
    }
    if (p_total == 0 || q_total == 0) return std::numeric_limits<double>::infinity();
    // Where P has mass that Q lacks (an end bin holding only clipped values), Q gets a
    // millionth of a bin's share rather than zero, so the divergence stays finite but large.
    const double floor = 1e-6 / static_cast<double>(p.size());
    double kl = 0;
    for (size_t b = 0; b < p.size(); ++b) {
      if (p[b] == 0) continue;
      const double pb = p[b] / p_total;
      const double qb = std::max(q[b] / q_total, floor);
      kl += pb * std::log(pb / qb);
    }
    return kl;
  }

  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  bool seen_ = false;
  std::vector<double> counts_;
  double zeros_ = 0;  // values exactly 0, also counted in counts_
};

}  // namespace fovea::quant
