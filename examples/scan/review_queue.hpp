// The review queue: the K images the model is least sure of, written as Label Studio tasks for
// people to label (active learning: their labels are worth the most to the next training run).
//
// Uncertainty, larger = less sure, from a record's probabilities over every class:
//   least-confidence  1 - p1
//   margin            1 - (p1 - p2)
//   entropy           -sum p log p (nats)
// Ties go to the smaller path, so the queue does not depend on the order images finished in.
//
// Label Studio's import format (labelstud.io/guide/tasks, "Basic Label Studio JSON format"): a
// list of tasks, each with "data" (the fields the labeling config refers to as $name) and
// "predictions" (each with "model_version", "score" and "result": regions whose "from_name" and
// "to_name" name the config's control and object tags). The matching labeling config, a
// <Choices> of the model's classes over the <Image>, is written beside the tasks.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <queue>
#include <string>
#include <vector>

#include "scan_record.hpp"

namespace fovea::scan {

enum class Uncertainty { least_confidence, margin, entropy };

inline const char* uncertainty_name(Uncertainty u) {
  return u == Uncertainty::least_confidence ? "least-confidence"
         : u == Uncertainty::margin         ? "margin"
                                            : "entropy";
}

inline double uncertainty_of(const Json& record, Uncertainty u) {
  switch (u) {
    case Uncertainty::least_confidence:
      return 1.0 - record["topk"][0]["probability"].get<double>();
    case Uncertainty::margin:
      return 1.0 - record["margin"].get<double>();
    case Uncertainty::entropy:
      return record["entropy"].get<double>();
  }
  return 0;
}

// Keeps the `capacity` most uncertain records seen, as (score, path, record number).
class ReviewQueue {
 public:
  struct Entry {
    double score;
    std::string path;
    size_t record;
  };

  ReviewQueue(int64_t capacity, Uncertainty kind) : capacity_(capacity), kind_(kind) {}

  void offer(const Json& record, size_t number) {
    if (capacity_ <= 0) return;
    Entry entry{uncertainty_of(record, kind_), record["path"].get<std::string>(), number};
    if (static_cast<int64_t>(heap_.size()) < capacity_) {
      heap_.push(std::move(entry));
    } else if (more_uncertain(entry, heap_.top())) {
      heap_.pop();
      heap_.push(std::move(entry));
    }
  }

  // The entries, most uncertain first.
  std::vector<Entry> sorted() const {
    auto copy = heap_;
    std::vector<Entry> out;
    while (!copy.empty()) {
      out.push_back(copy.top());
      copy.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  Uncertainty kind() const { return kind_; }

 private:
  static bool more_uncertain(const Entry& a, const Entry& b) {
    return a.score > b.score || (a.score == b.score && a.path < b.path);
  }
  struct LeastUncertainOnTop {
    bool operator()(const Entry& a, const Entry& b) const { return more_uncertain(a, b); }
  };
  int64_t capacity_;
  Uncertainty kind_;
  std::priority_queue<Entry, std::vector<Entry>, LeastUncertainOnTop> heap_;
};

// Percent-encodes what a URL query value cannot hold as is ('/' is kept, as Label Studio's own
// local-files links keep it).
inline std::string url_encode_path(const std::string& path) {
  std::string out;
  for (const unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// One task: the image's URL (url_prefix + its path, without a leading '/'), its path and hash,
// and the model's top-1 class as a prediction whose score is the top-1 probability.
inline Json label_studio_task(const Json& record, const std::string& url_prefix, double uncertainty,
                              Uncertainty kind) {
  std::string path = record["path"].get<std::string>();
  const std::string relative = path.empty() || path[0] != '/' ? path : path.substr(1);
  const Json& best = record["topk"][0];
  Json choice{{"from_name", "label"},
              {"to_name", "image"},
              {"type", "choices"},
              {"value", {{"choices", Json::array({best["label"]})}}}};
  Json prediction{{"model_version", record["model"]["name"].get<std::string>() + "@" +
                                        record["model"]["version"].get<std::string>()},
                  {"score", best["probability"]},
                  {"result", Json::array({choice})}};
  return Json{{"data",
               {{"image", url_prefix + url_encode_path(relative)},
                {"path", path},
                {"sha256", record["sha256"]},
                {"uncertainty", six_digits(uncertainty)},
                {"uncertainty_measure", uncertainty_name(kind)}}},
              {"predictions", Json::array({prediction})}};
}

// The labeling config the tasks are made for: one choice per class of the model.
inline std::string label_studio_config(const std::vector<std::string>& labels) {
  const auto escape = [](const std::string& s) {
    std::string out;
    for (const char c : s) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        default:
          out += c;
      }
    }
    return out;
  };
  std::string xml =
      "<View>\n  <Image name=\"image\" value=\"$image\"/>\n"
      "  <Choices name=\"label\" toName=\"image\" choice=\"single\">\n";
  for (const std::string& label : labels)
    xml += "    <Choice value=\"" + escape(label) + "\"/>\n";
  return xml + "  </Choices>\n</View>\n";
}

}  // namespace fovea::scan
