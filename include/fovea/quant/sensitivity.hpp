// Per-layer sensitivity and the mixed-precision policy.
//
// Sensitivity: for each op, the model with only that op in INT8 (every other op FP32) is run
// on the calibration images and its logits compared with FP32's: their signal-to-quantization-
// noise ratio (SQNR, dB) and how often their top-1 class agrees. The ops that hurt most show
// up with the lowest SQNR; in MobileNets they are typically depthwise convs, SiLU tables and
// squeeze-excitation.
//
// Policy: the ops with the lowest SQNR alone stay FP32, as few as reach a target top-1
// agreement with FP32.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "fovea/nn/dataflow.hpp"
#include "fovea/quant/calibrate.hpp"
#include "fovea/quant/compile.hpp"

namespace fovea::quant {

// How close a model's logits are to FP32's over the same images.
struct LogitAgreement {
  double sqnr_db = 0;         // 10·log10(Σ y² / Σ (ŷ − y)²); infinite when equal
  double top1_agreement = 0;  // percent of images whose top class is the same
};

inline LogitAgreement compare_logits(const Tensor<float>& got, const Tensor<float>& reference) {
  FOVEA_CHECK(got.shape() == reference.shape() && got.rank() == 2,
              "compare_logits: shapes differ, ", got.shape(), " and ", reference.shape());
  double signal = 0, noise = 0;
  int64_t agree = 0;
  const int64_t n = got.dim(0), k = got.dim(1);
  for (int64_t i = 0; i < n; ++i) {
    int64_t best_got = 0, best_ref = 0;
    for (int64_t c = 0; c < k; ++c) {
      const double y = reference(i, c), d = got(i, c) - y;
      signal += y * y;
      noise += d * d;
      if (got(i, c) > got(i, best_got)) best_got = c;
      if (reference(i, c) > reference(i, best_ref)) best_ref = c;
    }
    agree += best_got == best_ref;
  }
  LogitAgreement a;
  a.sqnr_db =
      noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
  a.top1_agreement = n > 0 ? 100.0 * static_cast<double>(agree) / static_cast<double>(n) : 0;
  return a;
}

// The logits of `model` on every image, in batches, stacked [N, classes].
inline Tensor<float> logits_on(nn::Module& model, const std::vector<Tensor<float>>& images,
                               int64_t batch) {
  std::vector<Tensor<float>> parts;
  int64_t rows = 0, classes = 0;
  for (size_t start = 0; start < images.size(); start += static_cast<size_t>(batch)) {
    const size_t end = std::min(images.size(), start + static_cast<size_t>(batch));
    parts.push_back(model.forward(stack_images(images, start, end)));
    rows += parts.back().dim(0);
    classes = parts.back().dim(1);
  }
  Tensor<float> all = Tensor<float>::uninitialized(Shape{rows, classes});
  float* dst = all.data();
  for (const Tensor<float>& p : parts) {
    std::copy(p.begin(), p.end(), dst);
    dst += p.numel();
  }
  return all;
}

struct LayerSensitivity {
  int op = 0;
  std::string name, kind;
  LogitAgreement alone;  // the model with only this op in INT8
};

// Whether an op's INT8 form can add error of its own (flatten only moves bytes).
inline bool is_sensitivity_candidate(const nn::DataflowNode& d) {
  return has_int8_form(d) && d.op != nn::DataflowOp::flatten;
}

// Every candidate op's sensitivity, in graph order. `reference` is the FP32 model's logits on
// `images`. `progress(done, total)` is called after each op.
inline std::vector<LayerSensitivity> layer_sensitivity(
    const nn::Dataflow& graph, const std::vector<ValueRange>& ranges,
    const std::string& architecture, const std::vector<Tensor<float>>& images,
    const Tensor<float>& reference, int64_t batch,
    const std::function<void(int64_t, int64_t)>& progress = {}) {
  std::set<std::string> all_names;
  std::vector<int> candidates;
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    all_names.insert(graph.nodes()[i].name);
    if (is_sensitivity_candidate(graph.nodes()[i])) candidates.push_back(static_cast<int>(i));
  }
  std::vector<LayerSensitivity> report;
  for (int op : candidates) {
    const nn::DataflowNode& d = graph.node(op);
    std::set<std::string> fp32 = all_names;
    fp32.erase(d.name);
    QuantizedModel model = compile_model(graph, ranges, fp32, architecture);
    LayerSensitivity s;
    s.op = op;
    s.name = d.name;
    s.kind =
        d.op == nn::DataflowOp::activation ? activation_name(d.act) : nn::dataflow_op_name(d.op);
    s.alone = compare_logits(logits_on(model, images, batch), reference);
    report.push_back(s);
    if (progress)
      progress(static_cast<int64_t>(report.size()), static_cast<int64_t>(candidates.size()));
  }
  return report;
}

struct MixedPrecision {
  std::set<std::string> fp32_ops;
  LogitAgreement agreement;  // of the chosen model
};

// Keeps the least robust ops (lowest SQNR alone) in FP32: the fewest of them, taken in that
// order, for which the model's top-1 agreement with FP32 on `images` reaches
// `target_agreement` percent (all of them if none does). Agreement grows as more ops stay FP32,
// so the count is found by bisection: about log2(ops) + 1 evaluations of the model, where
// moving one op at a time took one per op (181 for EfficientNet-B0). `fp32_ops` stay FP32
// whatever the count.
inline MixedPrecision choose_mixed_precision(
    const nn::Dataflow& graph, const std::vector<ValueRange>& ranges,
    const std::string& architecture, const std::vector<Tensor<float>>& images,
    const Tensor<float>& reference, int64_t batch, const std::vector<LayerSensitivity>& sensitivity,
    double target_agreement, const std::set<std::string>& fp32_ops = {}) {
  std::vector<LayerSensitivity> order = sensitivity;
  std::stable_sort(order.begin(), order.end(),
                   [](const LayerSensitivity& a, const LayerSensitivity& b) {
                     return a.alone.sqnr_db < b.alone.sqnr_db;
                   });
  const auto with_worst = [&](size_t count) {
    MixedPrecision m;
    m.fp32_ops = fp32_ops;
    for (size_t i = 0; i < count; ++i)
      m.fp32_ops.insert(order[i].name);
    QuantizedModel model = compile_model(graph, ranges, m.fp32_ops, architecture);
    m.agreement = compare_logits(logits_on(model, images, batch), reference);
    return m;
  };
  MixedPrecision best = with_worst(0);
  if (best.agreement.top1_agreement >= target_agreement) return best;
  size_t lo = 0, hi = order.size();  // lo misses the target; hi is assumed to reach it
  MixedPrecision at_hi = with_worst(hi);
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    MixedPrecision m = with_worst(mid);
    if (m.agreement.top1_agreement >= target_agreement) {
      hi = mid;
      at_hi = std::move(m);
    } else {
      lo = mid;
    }
  }
  return at_hi;
}

}  // namespace fovea::quant
