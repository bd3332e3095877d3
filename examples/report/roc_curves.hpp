// One-vs-rest ROC curves and their areas, one per class, from top-k records.
//
// A record's score for class c is its probability when c is in its top-k, else 0: a scan keeps
// only K probabilities, and the rest are below the K-th. So a curve is exact for thresholds above
// each record's K-th probability and, below that, joins its last exact point to (1, 1) with a
// straight line, as if every unlisted score were tied at 0; a scan with --topk equal to the
// number of classes gives exact curves. The area is the trapezoid rule over the curve, ties
// crossed diagonally (the Mann-Whitney statistic, as scikit-learn's roc_auc_score computes it).
//
// Cost: each record adds its K entries to its classes' lists, and each class sorts only its own
// nonzero scores (the zeros are one tie group), so the work is O(N K log N), not O(N C log N).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "prediction_record.hpp"

namespace fovea::report {

struct RocCurve {
  int64_t positives = 0, negatives = 0;
  std::vector<double> fpr, tpr;  // from (0, 0) to (1, 1), thresholds descending
  double auc = 0;
};

// Curves of every class in [0, num_classes) over the records `subset` (indices into records),
// whose true classes are labels[i]. A class with no positives or no negatives gets an empty
// curve (auc undefined: positives or negatives is 0).
inline std::vector<RocCurve> roc_curves(const std::vector<PredictionRecord>& records,
                                        const std::vector<int64_t>& labels,
                                        const std::vector<size_t>& subset, int64_t num_classes) {
  struct Scored {
    double score;
    bool positive;
  };
  std::vector<std::vector<Scored>> scored(static_cast<size_t>(num_classes));
  std::vector<RocCurve> curves(static_cast<size_t>(num_classes));
  for (const size_t i : subset) {
    ++curves[static_cast<size_t>(labels[i])].positives;
    for (const TopEntry& e : records[i].topk)
      if (e.probability > 0 && e.index < num_classes)
        scored[static_cast<size_t>(e.index)].push_back({e.probability, e.index == labels[i]});
  }
  const int64_t total = static_cast<int64_t>(subset.size());
  for (size_t c = 0; c < curves.size(); ++c) {
    RocCurve& curve = curves[c];
    curve.negatives = total - curve.positives;
    if (curve.positives == 0 || curve.negatives == 0) continue;
    std::vector<Scored>& s = scored[c];
    std::sort(s.begin(), s.end(),
              [](const Scored& a, const Scored& b) { return a.score > b.score; });
    const double p = static_cast<double>(curve.positives), n = static_cast<double>(curve.negatives);
    int64_t tp = 0, fp = 0;
    curve.fpr.push_back(0);
    curve.tpr.push_back(0);
    for (size_t j = 0; j < s.size();) {
      const double threshold = s[j].score;
      for (; j < s.size() && s[j].score == threshold; ++j)
        (s[j].positive ? tp : fp) += 1;
      curve.fpr.push_back(static_cast<double>(fp) / n);
      curve.tpr.push_back(static_cast<double>(tp) / p);
    }
    if (curve.fpr.back() < 1 || curve.tpr.back() < 1) {  // the tie group of unlisted scores
      curve.fpr.push_back(1);
      curve.tpr.push_back(1);
    }
    for (size_t j = 1; j < curve.fpr.size(); ++j)
      curve.auc += (curve.fpr[j] - curve.fpr[j - 1]) * (curve.tpr[j] + curve.tpr[j - 1]) / 2;
  }
  return curves;
}

// A curve's true-positive rate at false-positive rate x: linear between points, the highest
// where the curve rises vertically (so averaging curves does not cut their corners).
inline double tpr_at(const RocCurve& curve, double x) {
  const auto it = std::upper_bound(curve.fpr.begin(), curve.fpr.end(), x);
  const size_t hi = static_cast<size_t>(it - curve.fpr.begin());
  if (hi == 0) return curve.tpr.front();
  if (hi == curve.fpr.size()) return curve.tpr.back();
  const double x0 = curve.fpr[hi - 1], x1 = curve.fpr[hi];
  return curve.tpr[hi - 1] + (curve.tpr[hi] - curve.tpr[hi - 1]) * (x - x0) / (x1 - x0);
}

// At most `points` points of a curve, endpoints kept: enough to draw it.
inline RocCurve thin_curve(const RocCurve& curve, size_t points) {
  if (curve.fpr.size() <= points) return curve;
  RocCurve out = curve;
  out.fpr.clear(), out.tpr.clear();
  const double step = static_cast<double>(curve.fpr.size() - 1) / static_cast<double>(points - 1);
  for (size_t k = 0; k < points; ++k) {
    const size_t j = std::min(curve.fpr.size() - 1, static_cast<size_t>(k * step + 0.5));
    out.fpr.push_back(curve.fpr[j]);
    out.tpr.push_back(curve.tpr[j]);
  }
  return out;
}

}  // namespace fovea::report
