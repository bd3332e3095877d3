// Classification metrics from logits and labels: top-k accuracy, the confusion matrix,
// per-class precision and recall, and one-vs-rest ROC AUC, written as CSV or JSON.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/core/tensor.hpp"

namespace fovea::train {

class ClassificationMetrics {
 public:
  explicit ClassificationMetrics(int64_t num_classes)
      : classes_(num_classes), confusion_(size_t(num_classes * num_classes), 0) {}

  // logits [N, C]; softmax scores are kept for ROC AUC.
  void add(const Tensor<float>& logits, const std::vector<int64_t>& labels) {
    FOVEA_CHECK(
        logits.rank() == 2 && logits.dim(1) == classes_ && logits.dim(0) == int64_t(labels.size()),
        "metrics: logits ", logits.shape(), " do not fit ", labels.size(), " labels of ", classes_,
        " classes");
    for (int64_t i = 0; i < logits.dim(0); ++i) {
      std::vector<int64_t> order(static_cast<size_t>(classes_));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return logits(i, a) > logits(i, b); });
      const int64_t y = labels[size_t(i)];
      for (int64_t k = 0; k < std::min<int64_t>(5, classes_); ++k)
        if (order[size_t(k)] == y) {
          top5_ += 1;
          top1_ += k == 0 ? 1 : 0;
        }
      ++confusion_[size_t(y * classes_ + order[0])];
      double top = logits(i, order[0]), sum = 0;
      std::vector<double> p(static_cast<size_t>(classes_));
      for (int64_t j = 0; j < classes_; ++j)
        sum += p[size_t(j)] = std::exp(double(logits(i, j)) - top);
      for (double& v : p)
        v /= sum;
      scores_.push_back(std::move(p));
      labels_.push_back(y);
    }
  }

  int64_t count() const { return int64_t(labels_.size()); }
  double top1() const { return count() ? double(top1_) / double(count()) : 0; }
  double top5() const { return count() ? double(top5_) / double(count()) : 0; }
  // Row: true class, column: predicted class.
  int64_t confusion(int64_t truth, int64_t predicted) const {
    return confusion_[size_t(truth * classes_ + predicted)];
  }
  double precision(int64_t c) const {
    int64_t predicted = 0;
    for (int64_t t = 0; t < classes_; ++t)
      predicted += confusion(t, c);
    return predicted ? double(confusion(c, c)) / double(predicted) : 0;
  }
  double recall(int64_t c) const {
    int64_t actual = 0;
    for (int64_t p = 0; p < classes_; ++p)
      actual += confusion(c, p);
    return actual ? double(confusion(c, c)) / double(actual) : 0;
  }
  // One-vs-rest AUC of class c: the probability that a random positive scores above a random
  // negative, ties counting half (the Mann-Whitney statistic, with average ranks).
  double roc_auc(int64_t c) const {
    std::vector<std::pair<double, bool>> s;
    for (size_t i = 0; i < labels_.size(); ++i)
      s.emplace_back(scores_[i][size_t(c)], labels_[i] == c);
    std::sort(s.begin(), s.end());
    double rank_sum = 0;
    int64_t positives = 0;
    for (size_t i = 0; i < s.size();) {
      size_t j = i;
      while (j < s.size() && s[j].first == s[i].first)
        ++j;
      const double average_rank = (double(i) + double(j) + 1) / 2;  // ranks are 1-based
      for (size_t k = i; k < j; ++k)
        if (s[k].second) rank_sum += average_rank, ++positives;
      i = j;
    }
    const int64_t negatives = int64_t(s.size()) - positives;
    if (positives == 0 || negatives == 0) return 0;
    return (rank_sum - double(positives) * double(positives + 1) / 2) /
           (double(positives) * double(negatives));
  }

  std::string per_class_csv() const {
    std::ostringstream out;
    out << "class,precision,recall,roc_auc\n";
    for (int64_t c = 0; c < classes_; ++c)
      out << c << "," << precision(c) << "," << recall(c) << "," << roc_auc(c) << "\n";
    return out.str();
  }
  std::string confusion_csv() const {
    std::ostringstream out;
    for (int64_t t = 0; t < classes_; ++t)
      for (int64_t p = 0; p < classes_; ++p)
        out << confusion(t, p) << (p + 1 < classes_ ? "," : "\n");
    return out.str();
  }
  std::string json() const {
    std::ostringstream out;
    out << "{\"count\": " << count() << ", \"top1\": " << top1() << ", \"top5\": " << top5()
        << ", \"classes\": [";
    for (int64_t c = 0; c < classes_; ++c)
      out << (c ? ", " : "") << "{\"precision\": " << precision(c) << ", \"recall\": " << recall(c)
          << ", \"roc_auc\": " << roc_auc(c) << "}";
    out << "], \"confusion\": [";
    for (int64_t t = 0; t < classes_; ++t) {
      out << (t ? ", " : "") << "[";
      for (int64_t p = 0; p < classes_; ++p)
        out << (p ? ", " : "") << confusion(t, p);
      out << "]";
    }
    out << "]}\n";
    return out.str();
  }

 private:
  int64_t classes_;
  std::vector<int64_t> confusion_;
  int64_t top1_ = 0, top5_ = 0;
  std::vector<std::vector<double>> scores_;
  std::vector<int64_t> labels_;
};

}  // namespace fovea::train
