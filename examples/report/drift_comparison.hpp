// compare_scans: has the model's output changed between a reference scan and a current one?
//
// Three tests, each from include/fovea/monitor with the current scan as the monitor's window
// and the threshold bootstrapped from the reference:
//   class_mix   ClassMixTest on the top-1 classes. A plain chi-square over 1000 classes and a
//               few thousand images has most cells near 0 and fires on noise; ClassMixTest is
//               calibrated on the combined counts (see its header), so it holds its false-alarm
//               rate at that size.
//   confidence  ConfidenceTest on the top-1 probability (bins at the reference's deciles).
//   entropy     ConfidenceTest on the entropy, which works on any scalar; only when every record
//               of both scans has one (resnet50_infer's lines do not).
// The overall false-alarm rate is split evenly among the tests run (Bonferroni: P(any false
// alarm) <= sum of the parts), and the scans differ when any test fires.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fovea/io/json.hpp"
#include "fovea/monitor/drift_class_mix.hpp"
#include "fovea/monitor/drift_confidence.hpp"
#include "prediction_record.hpp"
#include "report_output.hpp"

namespace fovea::report {

struct DriftSettings {
  double false_alarm = 0.01;  // over all tests together
  uint64_t seed = 1;          // of the bootstraps
  int64_t histogram_bins = 20;
};

namespace detail {

// Bootstrap rounds: 10,000, fewer when the scans are large (a bootstrap draws rounds * (R + W)
// predictions and the monitor refuses more than 2^32), but never so few that the threshold
// quantile rests on fewer than 10 bootstrapped values above it.
inline int64_t bootstrap_rounds(double false_alarm, int64_t draws_per_round) {
  const int64_t affordable = static_cast<int64_t>(4294967296.0 / draws_per_round);
  const int64_t needed = static_cast<int64_t>(std::ceil(10 / false_alarm - 1e-9));
  return std::max(needed, std::min<int64_t>(10000, affordable));
}

inline json::Value histogram(const std::vector<double>& ref, const std::vector<double>& cur,
                             double hi, int64_t bins) {
  json::Value edges = json::Value::array(), ref_counts = json::Value::array(),
              cur_counts = json::Value::array();
  for (int64_t b = 0; b <= bins; ++b)
    edges.push_back(hi * static_cast<double>(b) / static_cast<double>(bins));
  for (const auto* values : {&ref, &cur}) {
    std::vector<int64_t> counts(static_cast<size_t>(bins), 0);
    for (const double x : *values) {
      const int64_t b = static_cast<int64_t>(std::floor(x / hi * static_cast<double>(bins)));
      ++counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, bins - 1))];
    }
    json::Value& target = values == &ref ? ref_counts : cur_counts;
    for (const int64_t c : counts)
      target.push_back(c);
  }
  json::Value out = json::Value::object();
  out.set("edges", std::move(edges));
  out.set("reference", std::move(ref_counts));
  out.set("current", std::move(cur_counts));
  return out;
}

inline double mean(const std::vector<double>& x) {
  double s = 0;
  for (const double v : x)
    s += v;
  return x.empty() ? 0 : s / static_cast<double>(x.size());
}

// ConfidenceTest on any scalar (confidence or entropy), as JSON with its decision.
inline json::Value scalar_test(const std::vector<double>& ref, const std::vector<double>& cur,
                               const monitor::DriftOptions& options, bool& alarm) {
  const monitor::ConfidenceTest test(ref, static_cast<int64_t>(cur.size()), options);
  std::vector<int64_t> counts(static_cast<size_t>(test.bins()), 0);
  for (const double x : cur)
    ++counts[static_cast<size_t>(test.bin_of(x))];
  const monitor::ChiSquareCheck check = test.evaluate(counts);
  alarm = check.bins >= 2 && check.statistic > check.threshold;
  json::Value out = json::Value::object();
  out.set("method", "ConfidenceTest: two-sample chi-square over bins at the reference's deciles");
  out.set("statistic", check.statistic);
  out.set("threshold", check.threshold);
  out.set("false_alarm", options.false_alarm);
  out.set("drift", alarm);
  out.set("bins", check.bins);
  json::Value edges = json::Value::array(), ref_counts = json::Value::array(),
              cur_counts = json::Value::array();
  for (const double e : test.edges())
    edges.push_back(e);
  for (const int64_t c : test.reference_counts())
    ref_counts.push_back(c);
  for (const int64_t c : counts)
    cur_counts.push_back(c);
  out.set("bin_upper_edges", std::move(edges));
  out.set("reference_bin_counts", std::move(ref_counts));
  out.set("current_bin_counts", std::move(cur_counts));
  out.set("reference_mean", mean(ref));
  out.set("current_mean", mean(cur));
  return out;
}

}  // namespace detail

// The comparison as JSON ("tests", "decision", "classes", "histograms"); `drift` is the verdict.
inline json::Value compare_scans(const std::vector<PredictionRecord>& reference,
                                 const std::vector<PredictionRecord>& current,
                                 const DriftSettings& settings, bool& drift) {
  FOVEA_CHECK(!reference.empty() && !current.empty(), "expected predictions in both scans, got ",
              reference.size(), " in the reference and ", current.size(), " in the current scan");
  const int64_t r = static_cast<int64_t>(reference.size()),
                w = static_cast<int64_t>(current.size());
  int64_t num_classes = 0;
  std::map<int64_t, std::string> labels;
  std::vector<double> ref_conf, cur_conf, ref_entropy, cur_entropy;
  bool entropy_known = true;
  for (const auto* records : {&reference, &current}) {
    for (const PredictionRecord& p : *records) {
      num_classes = std::max(num_classes, p.top1() + 1);
      if (!p.topk.front().label.empty()) labels.emplace(p.top1(), p.topk.front().label);
      (records == &reference ? ref_conf : cur_conf).push_back(p.confidence());
      entropy_known = entropy_known && p.entropy.has_value();
      if (p.entropy) (records == &reference ? ref_entropy : cur_entropy).push_back(*p.entropy);
    }
  }
  std::vector<int64_t> ref_counts(static_cast<size_t>(num_classes), 0), cur_counts = ref_counts;
  for (const PredictionRecord& p : reference)
    ++ref_counts[static_cast<size_t>(p.top1())];
  for (const PredictionRecord& p : current)
    ++cur_counts[static_cast<size_t>(p.top1())];

  const int tests = entropy_known ? 3 : 2;
  monitor::DriftOptions options;
  options.false_alarm = settings.false_alarm / tests;
  options.bootstrap_rounds = detail::bootstrap_rounds(options.false_alarm, r + w);
  options.seed = settings.seed;

  json::Value tests_json = json::Value::object();
  const monitor::ClassMixTest class_mix(ref_counts, w, options);
  const monitor::ClassMixCheck mix = class_mix.evaluate(cur_counts);
  const bool mix_alarm = mix.statistic > mix.threshold;
  {
    json::Value t = json::Value::object();
    t.set("method",
          "ClassMixTest: the largest of three standard scores of the top-1 class "
          "counts (chi-square over common classes, vanished, appeared), calibrated on "
          "the combined counts");
    t.set("statistic", mix.statistic);
    t.set("threshold", mix.threshold);
    t.set("false_alarm", options.false_alarm);
    t.set("drift", mix_alarm);
    t.set("chi_square", mix.chi_square);
    t.set("chi_square_bins", mix.bins);
    t.set("chi_square_z", mix.chi_square_z);
    t.set("vanished", mix.vanished);
    t.set("vanished_z", mix.vanished_z);
    t.set("appeared", mix.appeared);
    t.set("appeared_z", mix.appeared_z);
    tests_json.set("class_mix", std::move(t));
  }
  bool confidence_alarm = false, entropy_alarm = false;
  tests_json.set("confidence", detail::scalar_test(ref_conf, cur_conf, options, confidence_alarm));
  if (entropy_known) {
    monitor::DriftOptions entropy_options = options;
    entropy_options.seed = settings.seed + 0x9e3779b97f4a7c15ull;  // apart from the confidence's
    tests_json.set("entropy",
                   detail::scalar_test(ref_entropy, cur_entropy, entropy_options, entropy_alarm));
  } else {
    json::Value t = json::Value::object();
    t.set("skipped", "entropy is missing from some records (resnet50_infer's lines carry none)");
    tests_json.set("entropy", std::move(t));
  }
  drift = mix_alarm || confidence_alarm || entropy_alarm;

  json::Value decision = json::Value::object();
  decision.set("drift", drift);
  decision.set("false_alarm", settings.false_alarm);
  decision.set("tests_run", tests);
  decision.set("false_alarm_per_test", options.false_alarm);
  decision.set("bootstrap_rounds", options.bootstrap_rounds);
  decision.set("seed", static_cast<uint64_t>(settings.seed));
  decision.set("rule",
               "drift when any test's statistic exceeds its threshold; the overall "
               "false-alarm rate is split evenly among the tests run (Bonferroni)");
  json::Value fired = json::Value::array();
  if (mix_alarm) fired.push_back("class_mix");
  if (confidence_alarm) fired.push_back("confidence");
  if (entropy_alarm) fired.push_back("entropy");
  decision.set("fired", std::move(fired));

  // The per-class table, the largest change in share first.
  struct Row {
    int64_t index, ref, cur;
    double difference;
  };
  std::vector<Row> rows;
  for (int64_t c = 0; c < num_classes; ++c) {
    const int64_t a = ref_counts[static_cast<size_t>(c)], b = cur_counts[static_cast<size_t>(c)];
    if (a + b == 0) continue;
    rows.push_back({c, a, b,
                    static_cast<double>(b) / static_cast<double>(w) -
                        static_cast<double>(a) / static_cast<double>(r)});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
    return std::fabs(x.difference) > std::fabs(y.difference);
  });
  json::Value table = json::Value::array();
  for (const Row& row : rows) {
    json::Value o = json::Value::object();
    o.set("index", row.index);
    const auto label = labels.find(row.index);
    o.set("label", label == labels.end() ? json::Value() : json::Value(label->second));
    o.set("reference_count", row.ref);
    o.set("reference_share", static_cast<double>(row.ref) / static_cast<double>(r));
    o.set("current_count", row.cur);
    o.set("current_share", static_cast<double>(row.cur) / static_cast<double>(w));
    o.set("difference", row.difference);
    table.push_back(std::move(o));
  }

  json::Value histograms = json::Value::object();
  histograms.set("confidence", detail::histogram(ref_conf, cur_conf, 1.0, settings.histogram_bins));
  if (entropy_known) {
    double hi = 0;
    for (const auto* v : {&ref_entropy, &cur_entropy})
      for (const double x : *v)
        hi = std::max(hi, x);
    histograms.set("entropy", detail::histogram(ref_entropy, cur_entropy, hi > 0 ? hi : 1.0,
                                                settings.histogram_bins));
  }

  json::Value out = json::Value::object();
  out.set("reference_predictions", r);
  out.set("current_predictions", w);
  out.set("decision", std::move(decision));
  out.set("tests", std::move(tests_json));
  out.set("classes", std::move(table));
  out.set("histograms", std::move(histograms));
  return out;
}

}  // namespace fovea::report
