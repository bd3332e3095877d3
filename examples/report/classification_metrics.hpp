// ClassificationMetrics: how well a scan's top-1 (and top-k) agree with the ground truth over a
// set of records: accuracy, the confusion matrix, per-class precision/recall/F1/support,
// one-vs-rest AUC, and calibration (does a 0.8 confidence come true 80 % of the time?).
//
// Conventions, chosen to match scikit-learn where it has one:
//   precision  TP / predicted, undefined (null) for a class never predicted;
//   recall     TP / support, undefined for a class with no true records;
//   F1         2 P R / (P + R), 0 when TP = 0;
//   macro      the mean over the classes with support > 0, an undefined precision counting 0
//              (scikit-learn's average="macro", zero_division=0, labels = those classes);
//   macro AUC  the mean of the per-class AUCs over classes with positives and negatives;
//   ECE        sum over 15 equal-width bins (lo, hi] of the top-1 confidence of
//              (bin count / N) |accuracy - mean confidence| (Guo et al. 2017, "On Calibration
//              of Modern Neural Networks").
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "prediction_record.hpp"
#include "roc_curves.hpp"

namespace fovea::report {

inline constexpr int kCalibrationBins = 15;
inline constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

struct ClassScores {
  int64_t support = 0, predicted = 0, true_positives = 0;
  double precision = kUndefined, recall = kUndefined, f1 = kUndefined, auc = kUndefined;
};

struct CalibrationBin {
  double lower = 0, upper = 0;
  int64_t count = 0;
  double mean_confidence = kUndefined, accuracy = kUndefined;
};

struct ClassificationMetrics {
  int64_t records = 0;
  size_t min_topk = 0;       // fewest top-k entries of any record
  double top1 = kUndefined;  // accuracy
  double top5 = kUndefined;  // undefined when some record has fewer than 5 entries
  double macro_precision = kUndefined, macro_recall = kUndefined, macro_f1 = kUndefined;
  double macro_auc = kUndefined;
  int64_t auc_classes = 0;  // classes with positives and negatives
  double ece = kUndefined;
  std::vector<ClassScores> classes;                          // by class index
  std::map<std::pair<int64_t, int64_t>, int64_t> confusion;  // (true, predicted) -> count
  std::vector<CalibrationBin> calibration;
  std::vector<RocCurve> roc;  // by class index
};

// The metrics of records `subset` (indices into records, each with labels[i] >= 0) over classes
// [0, num_classes).
inline ClassificationMetrics classification_metrics(const std::vector<PredictionRecord>& records,
                                                    const std::vector<int64_t>& labels,
                                                    const std::vector<size_t>& subset,
                                                    int64_t num_classes) {
  ClassificationMetrics m;
  m.records = static_cast<int64_t>(subset.size());
  m.classes.assign(static_cast<size_t>(num_classes), ClassScores{});
  m.calibration.assign(kCalibrationBins, CalibrationBin{});
  if (subset.empty()) return m;
  m.min_topk = records[subset.front()].topk.size();
  int64_t top1 = 0, top5 = 0;
  std::vector<double> bin_confidence(kCalibrationBins, 0), bin_correct(kCalibrationBins, 0);
  for (const size_t i : subset) {
    const PredictionRecord& r = records[i];
    const int64_t truth = labels[i], predicted = r.top1();
    m.min_topk = std::min(m.min_topk, r.topk.size());
    ++m.classes[static_cast<size_t>(truth)].support;
    ++m.classes[static_cast<size_t>(predicted)].predicted;
    ++m.confusion[{truth, predicted}];
    const bool correct = truth == predicted;
    top1 += correct;
    m.classes[static_cast<size_t>(truth)].true_positives += correct;
    for (size_t k = 0; k < std::min<size_t>(5, r.topk.size()); ++k)
      top5 += r.topk[k].index == truth;
    const int b = std::clamp(static_cast<int>(std::ceil(r.confidence() * kCalibrationBins)) - 1, 0,
                             kCalibrationBins - 1);
    ++m.calibration[static_cast<size_t>(b)].count;
    bin_confidence[static_cast<size_t>(b)] += r.confidence();
    bin_correct[static_cast<size_t>(b)] += correct;
  }
  const double n = static_cast<double>(m.records);
  m.top1 = static_cast<double>(top1) / n;
  if (m.min_topk >= 5) m.top5 = static_cast<double>(top5) / n;

  m.ece = 0;
  for (int b = 0; b < kCalibrationBins; ++b) {
    CalibrationBin& bin = m.calibration[static_cast<size_t>(b)];
    bin.lower = static_cast<double>(b) / kCalibrationBins;
    bin.upper = static_cast<double>(b + 1) / kCalibrationBins;
    if (bin.count == 0) continue;
    const double count = static_cast<double>(bin.count);
    bin.mean_confidence = bin_confidence[static_cast<size_t>(b)] / count;
    bin.accuracy = bin_correct[static_cast<size_t>(b)] / count;
    m.ece += count / n * std::fabs(bin.accuracy - bin.mean_confidence);
  }

  m.roc = roc_curves(records, labels, subset, num_classes);
  double precision_sum = 0, recall_sum = 0, f1_sum = 0, auc_sum = 0;
  int64_t with_support = 0;
  for (size_t c = 0; c < m.classes.size(); ++c) {
    ClassScores& s = m.classes[c];
    const double tp = static_cast<double>(s.true_positives);
    if (s.predicted > 0) s.precision = tp / static_cast<double>(s.predicted);
    if (s.support > 0) s.recall = tp / static_cast<double>(s.support);
    if (s.support > 0 || s.predicted > 0) {
      s.f1 = s.true_positives == 0 ? 0.0 : 2 * s.precision * s.recall / (s.precision + s.recall);
    }
    if (s.support > 0) {
      ++with_support;
      precision_sum += s.predicted > 0 ? s.precision : 0;
      recall_sum += s.recall;
      f1_sum += s.f1;
    }
    if (m.roc[c].positives > 0 && m.roc[c].negatives > 0) {
      s.auc = m.roc[c].auc;
      auc_sum += s.auc;
      ++m.auc_classes;
    }
  }
  m.macro_precision = precision_sum / static_cast<double>(with_support);
  m.macro_recall = recall_sum / static_cast<double>(with_support);
  m.macro_f1 = f1_sum / static_cast<double>(with_support);
  if (m.auc_classes > 0) m.macro_auc = auc_sum / static_cast<double>(m.auc_classes);
  return m;
}

}  // namespace fovea::report
