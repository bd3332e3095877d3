// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4) that GET /metrics serves. Names follow Prometheus's
// conventions: base units (seconds, bytes), `_total` on counters, `_bucket`/`_sum`/`_count` on
// histograms. docs/serving.md lists every metric the server exports.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fovea::serve {

// Label names and values, in the order they are printed.
using Labels = std::vector<std::pair<std::string, std::string>>;

namespace detail {

// Label values escape backslash, double quote and newline, as the format requires.
inline std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string format_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

inline std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  // The shortest of %.15g and %.17g that reads back as v: bucket bounds print as written.
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", v);
  if (std::strtod(text, nullptr) != v) std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

inline void write_header(std::string& out, const std::string& name, const std::string& help,
                         const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace detail

// A counter or gauge: one value per label set. Thread-safe.
class ValueFamily {
 public:
  enum class Kind { counter, gauge };
  ValueFamily(std::string name, std::string help, Kind kind)
      : name_(std::move(name)), help_(std::move(help)), kind_(kind) {}

  void add(const Labels& labels, double amount = 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    values_[labels] += amount;
  }
  void set(const Labels& labels, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    values_[labels] = value;
  }
  void remove(const Labels& labels) {
    std::lock_guard<std::mutex> lock(mutex_);
    values_.erase(labels);
  }
  double value(const Labels& labels) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = values_.find(labels);
    return it == values_.end() ? 0 : it->second;
  }

  void render(std::string& out) const {
    std::lock_guard<std::mutex> lock(mutex_);
    detail::write_header(out, name_, help_, kind_ == Kind::counter ? "counter" : "gauge");
    for (const auto& [labels, value] : values_) {
      out += name_ + detail::format_labels(labels) + " " + detail::format_value(value) + "\n";
    }
  }

 private:
  std::string name_, help_;
  Kind kind_;
  mutable std::mutex mutex_;
  std::map<Labels, double> values_;
};

// A histogram with fixed upper bounds (a +Inf bucket is implied). Thread-safe.
class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<double> upper_bounds)
      : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(upper_bounds)) {
    std::sort(bounds_.begin(), bounds_.end());
  }

  void observe(const Labels& labels, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    Series& series = series_[labels];
    if (series.buckets.empty()) series.buckets.assign(bounds_.size(), 0);
    // Buckets are counted one each here and summed into cumulative counts when rendered.
    const size_t bucket = static_cast<size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    if (bucket < bounds_.size()) ++series.buckets[bucket];
    ++series.count;
    series.sum += value;
  }

  uint64_t count(const Labels& labels) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = series_.find(labels);
    return it == series_.end() ? 0 : it->second.count;
  }

  void render(std::string& out) const {
    std::lock_guard<std::mutex> lock(mutex_);
    detail::write_header(out, name_, help_, "histogram");
    for (const auto& [labels, series] : series_) {
      uint64_t cumulative = 0;
      for (size_t b = 0; b <= bounds_.size(); ++b) {
        Labels with_le = labels;
        if (b < bounds_.size()) {
          cumulative += series.buckets[b];
          with_le.emplace_back("le", detail::format_value(bounds_[b]));
        } else {
          cumulative = series.count;
          with_le.emplace_back("le", "+Inf");
        }
        out += name_ + "_bucket" + detail::format_labels(with_le) + " " +
               std::to_string(cumulative) + "\n";
      }
      const std::string label_text = detail::format_labels(labels);
      out += name_ + "_sum" + label_text + " " + detail::format_value(series.sum) + "\n";
      out += name_ + "_count" + label_text + " " + std::to_string(series.count) + "\n";
    }
  }

 private:
  struct Series {
    std::vector<uint64_t> buckets;
    uint64_t count = 0;
    double sum = 0;
  };
  std::string name_, help_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<Labels, Series> series_;
};

}  // namespace fovea::serve
