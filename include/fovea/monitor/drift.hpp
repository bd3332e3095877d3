// DriftMonitor: compares a sliding window of recent predictions with a reference run and says
// when the class mix or the confidence has drifted. Three tests:
//
//   "class_mix"              the largest of three scores comparing the window's top-1 classes
//                            with the reference's, given each class's combined count: a
//                            two-sample chi-square of the common classes, reference predictions
//                            of classes gone from the window, window predictions of classes new
//                            to the reference (drift_class_mix.hpp); statistic and threshold
//                            are standard scores, the threshold bootstrapped
//   "confidence"             two-sample chi-square over the reference's confidence deciles,
//                            threshold bootstrapped (drift_confidence.hpp)
//   "mean_confidence_cusum"  two-sided CUSUM on block means of the top-1 confidence
//
// The first two hold a per-check false-alarm rate of options.false_alarm. They run once the
// window is full and then every check_every predictions; the CUSUM moves at the end of every
// block of cusum_block predictions. A test's alert starts at a check where its statistic exceeds
// its threshold and ends at the first later check where it does not; add() returns those
// moments as events.
//
// Cost: construction bootstraps both thresholds once, deterministically from options.seed
// (0.25-0.3 s for 1000 classes, a reference of 1300 predictions, a window of 2000 and 10,000
// rounds; it grows as rounds * (R + W), and past 2^32 draws it is refused). add() is O(1) except
// at checks, which cost O(num_classes) (some 20 us for 1000 classes). Memory: about 24 bytes per
// class, 8 per window slot and 8 per reference prediction.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/monitor/drift_class_mix.hpp"
#include "fovea/monitor/drift_confidence.hpp"
#include "fovea/monitor/drift_options.hpp"
#include "fovea/monitor/drift_reference.hpp"

namespace fovea::monitor {

// One test's gauges: its statistic and threshold at the last check and whether it is alerting.
// Before a test's first check its statistic is 0.
struct DriftTestState {
  std::string test;
  double statistic = 0, threshold = 0;
  bool alert = false;
  int64_t checks = 0;  // checks run so far
  int64_t alerts = 0;  // alerts started so far
};

// An alert that started (started = true) or ended at the prediction numbered `prediction`
// (1 = the first prediction added), with the statistic and threshold of that check.
struct DriftEvent {
  int64_t prediction = 0;
  std::string test;
  bool started = false;
  double statistic = 0, threshold = 0;
};

// Not thread-safe: the caller holds a lock around add() and state().
class DriftMonitor {
 public:
  static constexpr const char* kClassMix = "class_mix";
  static constexpr const char* kConfidence = "confidence";
  static constexpr const char* kCusum = "mean_confidence_cusum";

  DriftMonitor(DriftReference reference, DriftOptions options = {})
      : reference_(checked(std::move(reference), options)),
        options_(options),
        class_mix_(reference_.class_counts, options_.window, options_),
        confidence_(reference_.confidences, options_.window, options_),
        cusum_(reference_.confidences, options_),
        window_classes_(static_cast<size_t>(options_.window), 0),
        window_bins_(static_cast<size_t>(options_.window), 0),
        class_counts_(static_cast<size_t>(reference_.num_classes), 0),
        bin_counts_(static_cast<size_t>(confidence_.bins()), 0) {
    states_[0].test = kClassMix;
    states_[0].threshold = class_mix_.threshold();
    states_[1].test = kConfidence;
    states_[1].threshold = confidence_.threshold();
    states_[2].test = kCusum;
    states_[2].threshold = cusum_.threshold();
  }

  // Adds one prediction; returns the alerts that started or ended with it. A top1 outside
  // [0, num_classes) or a confidence that is not in [0, 1] is an error, and changes nothing.
  std::vector<DriftEvent> add(const Prediction& p) {
    FOVEA_CHECK(p.top1 >= 0 && p.top1 < reference_.num_classes, "drift monitor: prediction ",
                count_ + 1, ": top1: expected a class in [0, ", reference_.num_classes, "), got ",
                p.top1);
    FOVEA_CHECK(std::isfinite(p.confidence) && p.confidence >= 0 && p.confidence <= 1,
                "drift monitor: prediction ", count_ + 1,
                ": confidence: expected a probability in [0, 1], got ", p.confidence);
    const size_t slot = static_cast<size_t>(count_ % options_.window);
    if (count_ >= options_.window) {
      --class_counts_[static_cast<size_t>(window_classes_[slot])];
      --bin_counts_[static_cast<size_t>(window_bins_[slot])];
    }
    window_classes_[slot] = static_cast<int32_t>(p.top1);
    window_bins_[slot] = static_cast<int32_t>(confidence_.bin_of(p.confidence));
    ++class_counts_[static_cast<size_t>(p.top1)];
    ++bin_counts_[static_cast<size_t>(window_bins_[slot])];
    ++count_;

    std::vector<DriftEvent> events;
    if (cusum_.add(p.confidence))
      record(states_[2], cusum_.statistic(), cusum_.threshold(), events);
    if (count_ >= options_.window && (count_ - options_.window) % options_.check_every == 0) {
      last_class_mix_ = class_mix_.evaluate(class_counts_);
      record(states_[0], last_class_mix_.statistic, last_class_mix_.threshold, events);
      const ChiSquareCheck conf = confidence_.evaluate(bin_counts_);
      record(states_[1], conf.statistic, conf.threshold, events);
    }
    return events;
  }

  // "class_mix", "confidence", "mean_confidence_cusum", in that order.
  std::vector<DriftTestState> state() const { return {states_[0], states_[1], states_[2]}; }
  int64_t predictions() const { return count_; }
  const DriftOptions& options() const { return options_; }
  const DriftReference& reference() const { return reference_; }
  // The class-mix test's three scores at the last check, for logs.
  const ClassMixCheck& last_class_mix() const { return last_class_mix_; }
  const ClassMixTest& class_mix_test() const { return class_mix_; }
  const ConfidenceTest& confidence_test() const { return confidence_; }
  const ConfidenceCusum& cusum() const { return cusum_; }

 private:
  static DriftReference checked(DriftReference reference, const DriftOptions& options) {
    options.validate();
    reference.validate("drift monitor reference");
    return reference;
  }

  void record(DriftTestState& s, double statistic, double threshold,
              std::vector<DriftEvent>& events) {
    s.statistic = statistic, s.threshold = threshold;
    ++s.checks;
    const bool alert = statistic > threshold;
    if (alert == s.alert) return;
    s.alert = alert;
    if (alert) ++s.alerts;
    events.push_back(DriftEvent{count_, s.test, alert, statistic, threshold});
  }

  DriftReference reference_;
  DriftOptions options_;
  ClassMixTest class_mix_;
  ConfidenceTest confidence_;
  ConfidenceCusum cusum_;
  std::vector<int32_t> window_classes_, window_bins_;  // ring buffer of the window
  std::vector<int64_t> class_counts_, bin_counts_;     // the window's counts
  int64_t count_ = 0;
  DriftTestState states_[3];
  ClassMixCheck last_class_mix_;
};

}  // namespace fovea::monitor
