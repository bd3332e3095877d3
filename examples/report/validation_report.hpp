// validation_report: the JSON of `fovea_report validate`: the metrics of all labelled records,
// the same summary for each value of each slice column with its gap to the overall figure (a
// bias audit: which camera, site or group does the model serve worse?), and the matching of
// labels to records.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "class_names.hpp"
#include "classification_metrics.hpp"
#include "ground_truth.hpp"
#include "report_output.hpp"

namespace fovea::report {

// Curves kept in the JSON for the page: the classes with the most support (a handful is all a
// chart can show), each thinned to this many points.
inline constexpr size_t kCurvesShown = 6, kCurvePoints = 200, kMostConfused = 30;

namespace detail {

inline json::Value or_null(double x) {
  return number_or_null(x);
}

inline json::Value summary(const ClassificationMetrics& m) {
  json::Value o = json::Value::object();
  o.set("records", m.records);
  o.set("top1_accuracy", or_null(m.top1));
  o.set("top5_accuracy", or_null(m.top5));
  o.set("macro_precision", or_null(m.macro_precision));
  o.set("macro_recall", or_null(m.macro_recall));
  o.set("macro_f1", or_null(m.macro_f1));
  o.set("macro_auc", or_null(m.macro_auc));
  o.set("ece", or_null(m.ece));
  return o;
}

inline json::Value curve_json(const RocCurve& curve) {
  json::Value fpr = json::Value::array(), tpr = json::Value::array();
  for (size_t j = 0; j < curve.fpr.size(); ++j) {
    fpr.push_back(curve.fpr[j]);
    tpr.push_back(curve.tpr[j]);
  }
  json::Value o = json::Value::object();
  o.set("fpr", std::move(fpr));
  o.set("tpr", std::move(tpr));
  return o;
}

inline json::Value examples_json(const std::vector<std::string>& examples) {
  json::Value a = json::Value::array();
  for (const std::string& e : examples)
    a.push_back(e);
  return a;
}

}  // namespace detail

inline json::Value validation_report(const std::vector<PredictionRecord>& records,
                                     const GroundTruth& truth, const ClassNames& names) {
  std::vector<size_t> labelled;
  int64_t num_classes = names.file_classes();
  for (size_t i = 0; i < records.size(); ++i) {
    if (truth.label[i] < 0) continue;
    labelled.push_back(i);
    num_classes = std::max(num_classes, truth.label[i] + 1);
    for (const TopEntry& e : records[i].topk)
      num_classes = std::max(num_classes, e.index + 1);
  }
  FOVEA_CHECK(!labelled.empty(), "no record has a label: ", truth.unmatched_rows,
              " label rows matched no record path (first: ",
              truth.unmatched_row_examples.empty() ? std::string("none")
                                                   : truth.unmatched_row_examples.front(),
              "; first record: ", records.empty() ? std::string("none") : records.front().path,
              ")");
  const ClassificationMetrics m =
      classification_metrics(records, truth.label, labelled, num_classes);
  const auto label_of = [&](int64_t c) {
    const std::string name = names.name_of(c);
    return name.empty() ? json::Value() : json::Value(name);
  };

  json::Value out = json::Value::object();
  json::Value summary = detail::summary(m);
  summary.set("classes", num_classes);
  summary.set("min_topk", static_cast<int64_t>(m.min_topk));
  summary.set("auc_classes", m.auc_classes);
  out.set("summary", std::move(summary));
  out.set("definitions",
          json::Value(json::Value::Object{
              {"precision", "TP / predicted; null for a class never predicted (0 in macro means)"},
              {"recall", "TP / support; null for a class with no true records"},
              {"f1", "2 P R / (P + R); 0 when TP = 0"},
              {"macro", "mean over the classes with support > 0"},
              {"top5_accuracy", "null when some record has fewer than 5 top-k entries"},
              {"ece",
               "sum over 15 equal-width bins (lo, hi] of the top-1 confidence of "
               "count / N * |accuracy - mean confidence|"}}));

  json::Value matching = json::Value::object();
  matching.set("labelled_records", static_cast<int64_t>(labelled.size()));
  matching.set("unlabelled_records", truth.unlabelled_records);
  matching.set("unlabelled_examples", detail::examples_json(truth.unlabelled_examples));
  matching.set("unmatched_label_rows", truth.unmatched_rows);
  matching.set("ambiguous_label_rows", truth.ambiguous_rows);
  matching.set("unmatched_label_examples", detail::examples_json(truth.unmatched_row_examples));
  matching.set("header_row", truth.header);
  out.set("matching", std::move(matching));

  // Per class: every class that is true or predicted at least once.
  json::Value per_class = json::Value::array();
  for (size_t c = 0; c < m.classes.size(); ++c) {
    const ClassScores& s = m.classes[c];
    if (s.support == 0 && s.predicted == 0) continue;
    json::Value o = json::Value::object();
    o.set("index", static_cast<int64_t>(c));
    o.set("label", label_of(static_cast<int64_t>(c)));
    o.set("support", s.support);
    o.set("predicted", s.predicted);
    o.set("true_positives", s.true_positives);
    o.set("precision", detail::or_null(s.precision));
    o.set("recall", detail::or_null(s.recall));
    o.set("f1", detail::or_null(s.f1));
    o.set("auc", detail::or_null(s.auc));
    per_class.push_back(std::move(o));
  }
  out.set("per_class", std::move(per_class));

  // Confusion: the nonzero cells (a dense 1000 x 1000 matrix is a million mostly-zero numbers),
  // and the largest off-diagonal cells, the pairs of classes the model mixes up most.
  json::Value cells = json::Value::array();
  std::vector<std::pair<int64_t, std::pair<int64_t, int64_t>>> off_diagonal;
  for (const auto& [cell, count] : m.confusion) {
    cells.push_back(json::Value(json::Value::Array{cell.first, cell.second, count}));
    if (cell.first != cell.second) off_diagonal.push_back({count, cell});
  }
  std::stable_sort(off_diagonal.begin(), off_diagonal.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  json::Value confused = json::Value::array();
  for (size_t k = 0; k < std::min(kMostConfused, off_diagonal.size()); ++k) {
    json::Value o = json::Value::object();
    o.set("true", off_diagonal[k].second.first);
    o.set("true_label", label_of(off_diagonal[k].second.first));
    o.set("predicted", off_diagonal[k].second.second);
    o.set("predicted_label", label_of(off_diagonal[k].second.second));
    o.set("count", off_diagonal[k].first);
    confused.push_back(std::move(o));
  }
  json::Value confusion = json::Value::object();
  confusion.set("format", "nonzero cells as [true class, predicted class, count]");
  confusion.set("cells", std::move(cells));
  confusion.set("most_confused", std::move(confused));
  out.set("confusion", std::move(confusion));

  // ROC: the macro-average curve on a grid of false-positive rates, and a few classes' curves.
  json::Value roc = json::Value::object();
  roc.set("note",
          "scores of classes outside a record's top-k are taken as 0, so curves are "
          "exact only above each record's K-th probability; a scan with --topk equal "
          "to the number of classes gives exact curves");
  roc.set("topk", static_cast<int64_t>(m.min_topk));
  roc.set("macro_auc", detail::or_null(m.macro_auc));
  std::vector<size_t> with_curves;
  for (size_t c = 0; c < m.roc.size(); ++c)
    if (m.roc[c].positives > 0 && m.roc[c].negatives > 0) with_curves.push_back(c);
  if (!with_curves.empty()) {
    RocCurve macro;
    for (int k = 0; k <= 100; ++k) {
      const double x = k / 100.0;
      double sum = 0;
      for (const size_t c : with_curves)
        sum += tpr_at(m.roc[c], x);
      macro.fpr.push_back(x);
      macro.tpr.push_back(sum / static_cast<double>(with_curves.size()));
    }
    roc.set("macro_curve", detail::curve_json(macro));
  }
  std::stable_sort(with_curves.begin(), with_curves.end(),
                   [&](size_t a, size_t b) { return m.roc[a].positives > m.roc[b].positives; });
  json::Value shown = json::Value::array();
  for (size_t k = 0; k < std::min(kCurvesShown, with_curves.size()); ++k) {
    const size_t c = with_curves[k];
    json::Value o = detail::curve_json(thin_curve(m.roc[c], kCurvePoints));
    o.set("index", static_cast<int64_t>(c));
    o.set("label", label_of(static_cast<int64_t>(c)));
    o.set("auc", m.roc[c].auc);
    o.set("positives", m.roc[c].positives);
    shown.push_back(std::move(o));
  }
  roc.set("classes_shown", std::move(shown));
  out.set("roc", std::move(roc));

  json::Value calibration = json::Value::object();
  calibration.set("bins", kCalibrationBins);
  calibration.set("ece", detail::or_null(m.ece));
  json::Value reliability = json::Value::array();
  for (const CalibrationBin& b : m.calibration) {
    json::Value o = json::Value::object();
    o.set("lower", b.lower);
    o.set("upper", b.upper);
    o.set("count", b.count);
    o.set("mean_confidence", detail::or_null(b.mean_confidence));
    o.set("accuracy", detail::or_null(b.accuracy));
    reliability.push_back(std::move(o));
  }
  calibration.set("reliability", std::move(reliability));
  out.set("calibration", std::move(calibration));

  // Slices: each value of each slice column, its summary and the gap (slice - overall).
  json::Value slices = json::Value::array();
  const json::Value overall = detail::summary(m);
  for (size_t col = 0; col < truth.slice_columns.size(); ++col) {
    std::map<std::string, std::vector<size_t>> groups;
    for (const size_t i : labelled)
      groups[truth.slices[i][col]].push_back(i);
    for (const auto& [value, members] : groups) {
      const ClassificationMetrics s =
          classification_metrics(records, truth.label, members, num_classes);
      json::Value o = json::Value::object();
      o.set("column", truth.slice_columns[col]);
      o.set("value", value);
      json::Value figures = detail::summary(s), gaps = json::Value::object();
      for (const auto& [key, x] : figures.as_object()) {
        if (key == "records") continue;
        const json::Value& all = overall.at(key);
        gaps.set(key, x.is_null() || all.is_null() ? json::Value()
                                                   : json::Value(x.as_number() - all.as_number()));
      }
      o.set("metrics", std::move(figures));
      o.set("gap_to_overall", std::move(gaps));
      slices.push_back(std::move(o));
    }
  }
  out.set("slice_columns", [&] {
    json::Value a = json::Value::array();
    for (const std::string& c : truth.slice_columns)
      a.push_back(c);
    return a;
  }());
  out.set("slices", std::move(slices));
  return out;
}

}  // namespace fovea::report
