// PredictionRecord: one classified image, as fovea_scan writes it (a JSON line, or a row of its
// CSV form) or as resnet50_infer --json prints it. The readers here are strict: every field
// that is present must have the documented type and range, and a problem names "file:line",
// the field, what was expected and what was there. They are a superset of
// examples/serve/drift_reference.cpp's reader (which takes only the top-1).
//
// Accepted JSON line (fovea_scan):
//   {"path": "...", "sha256": "...", "topk": [{"index": 472, "label": "canoe",
//    "probability": 0.99}, ...], "entropy": 0.03, "margin": 0.99, "model": {...}, ...}
// and resnet50_infer --json's {"file": "...", "topk": [...], "ms": 733.6}: "file" stands in
// for "path"; entropy is then unknown (it needs the full softmax) and the margin comes from
// topk[0] - topk[1]. Lines with an "error" member are images that failed: skipped, counted.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "fovea/io/json.hpp"

namespace fovea::report {

// Class indices past this are a corrupt line, not a model (fovea::monitor::kMaxDriftClasses).
inline constexpr int64_t kMaxClasses = int64_t{1} << 20;

struct TopEntry {
  int64_t index = 0;
  double probability = 0;
  std::string label;  // empty when the line had none
};

struct PredictionRecord {
  std::string path;
  std::vector<TopEntry> topk;     // descending probability, at least one entry
  std::optional<double> entropy;  // nats over the full softmax; absent from resnet50_infer
  std::optional<double> margin;   // top-1 minus top-2 probability
  std::string model_name, model_version, model_sha256;  // empty when not recorded
  std::string where;                                    // "file:line", for later messages

  int64_t top1() const { return topk.front().index; }
  double confidence() const { return topk.front().probability; }
};

namespace detail {

inline std::string shown(const json::Value* v) {
  return v == nullptr ? "nothing" : json::abbreviate(json::dump(*v));
}

// A probability in [0, 1]; entries must not rise.
inline void check_probability(double p, double previous, const std::string& where,
                              const std::string& field) {
  FOVEA_CHECK(std::isfinite(p) && p >= 0 && p <= 1, where, ": field '", field,
              "': expected a probability in [0, 1], got ", p);
  FOVEA_CHECK(p <= previous, where, ": field 'topk': expected probabilities in descending ",
              "order, got ", p, " after ", previous);
}

inline void fill_margin(PredictionRecord& r) {
  if (!r.margin && r.topk.size() >= 2) r.margin = r.topk[0].probability - r.topk[1].probability;
}

}  // namespace detail

// One JSON line into `out`. Returns false for a line to skip: blank (`blank` set) or an
// "error" line (`blank` clear). Throws fovea::Error naming `where` for anything malformed.
inline bool parse_prediction_line(const std::string& line, const std::string& where,
                                  PredictionRecord& out, bool& blank) {
  blank = line.find_first_not_of(" \t\r") == std::string::npos;
  if (blank) return false;
  const json::Value v = json::parse(line, where);
  FOVEA_CHECK(v.is_object(), where, ": expected a JSON object, got ", json::type_name(v.type()));
  if (v.find("error") != nullptr) return false;
  out = PredictionRecord{};
  out.where = where;

  const json::Value* path = v.find("path");
  const char* path_field = "path";
  if (path == nullptr) path = v.find("file"), path_field = "file";
  FOVEA_CHECK(path != nullptr, where, ": missing field 'path' (or resnet50_infer's 'file')");
  FOVEA_CHECK(path->is_string() && !path->as_string().empty(), where, ": field '", path_field,
              "': expected a non-empty string, got ", detail::shown(path));
  out.path = path->as_string();

  const json::Value* topk = v.find("topk");
  FOVEA_CHECK(topk != nullptr, where, ": missing field 'topk'");
  FOVEA_CHECK(topk->is_array() && topk->size() >= 1, where,
              ": field 'topk': expected a non-empty array, got ",
              topk->is_array() ? "an empty array" : json::type_name(topk->type()));
  double previous = 1;
  for (size_t i = 0; i < topk->size(); ++i) {
    const json::Value& entry = topk->at(i);
    const std::string field = "topk[" + std::to_string(i) + "]";
    FOVEA_CHECK(entry.is_object(), where, ": field '", field, "': expected an object, got ",
                json::type_name(entry.type()));
    const json::Value* index = entry.find("index");
    const json::Value* probability = entry.find("probability");
    const json::Value* label = entry.find("label");
    FOVEA_CHECK(index != nullptr && index->is_integer() && !index->number().negative &&
                    index->number().magnitude < static_cast<uint64_t>(kMaxClasses),
                where, ": field '", field, ".index': expected a class index in [0, ", kMaxClasses,
                "), got ", detail::shown(index));
    FOVEA_CHECK(probability != nullptr && probability->is_number(), where, ": field '", field,
                ".probability': expected a number in [0, 1], got ", detail::shown(probability));
    FOVEA_CHECK(label == nullptr || label->is_string(), where, ": field '", field,
                ".label': expected a string, got ", detail::shown(label));
    TopEntry e{static_cast<int64_t>(index->number().magnitude), probability->as_number(),
               label == nullptr ? "" : label->as_string()};
    detail::check_probability(e.probability, previous, where, field + ".probability");
    previous = e.probability;
    for (const TopEntry& before : out.topk)
      FOVEA_CHECK(before.index != e.index, where, ": field 'topk': class ", e.index,
                  " appears twice");
    out.topk.push_back(std::move(e));
  }

  // entropy and margin: a number, or null / absent for "unknown".
  for (const char* name : {"entropy", "margin"}) {
    const json::Value* x = v.find(name);
    if (x == nullptr || x->is_null()) continue;
    FOVEA_CHECK(
        x->is_number() && x->as_number() >= 0 && (name[0] == 'e' || x->as_number() <= 1 + 1e-9),
        where, ": field '", name, "': expected ",
        name[0] == 'e' ? "a number >= 0 (nats)" : "a number in [0, 1]", " or null, got ",
        detail::shown(x));
    (name[0] == 'e' ? out.entropy : out.margin) = x->as_number();
  }
  detail::fill_margin(out);

  if (const json::Value* model = v.find("model"); model != nullptr && !model->is_null()) {
    FOVEA_CHECK(model->is_object(), where, ": field 'model': expected an object, got ",
                json::type_name(model->type()));
    for (auto [key, target] : {std::pair<const char*, std::string*>{"name", &out.model_name},
                               {"version", &out.model_version},
                               {"sha256", &out.model_sha256}}) {
      const json::Value* x = model->find(key);
      if (x == nullptr || x->is_null()) continue;
      FOVEA_CHECK(x->is_string(), where, ": field 'model.", key, "': expected a string, got ",
                  detail::shown(x));
      *target = x->as_string();
    }
  }
  return true;
}

// The columns of fovea_scan's CSV form, found by name in its header row:
//   path,sha256,top1_index,top1_label,top1_probability,...,topK_...,entropy,margin,
//   model_name,model_version,model_sha256,preprocessing
class PredictionCsvColumns {
 public:
  // Throws naming `where` when the header lacks path or top1_index/top1_probability.
  PredictionCsvColumns(const std::vector<std::string>& header, const std::string& where) {
    std::map<std::string, size_t> at;
    for (size_t i = 0; i < header.size(); ++i)
      at[trim(header[i])] = i;
    auto column = [&](const std::string& name) {
      const auto it = at.find(name);
      return it == at.end() ? kNone : it->second;
    };
    path_ = column("path");
    FOVEA_CHECK(path_ != kNone, where, ": expected a header row with a 'path' column");
    for (int k = 1;; ++k) {
      const std::string prefix = "top" + std::to_string(k) + "_";
      const size_t index = column(prefix + "index"), probability = column(prefix + "probability");
      if (index == kNone || probability == kNone) break;
      ranks_.push_back({index, probability, column(prefix + "label")});
    }
    FOVEA_CHECK(!ranks_.empty(), where, ": expected columns top1_index and top1_probability");
    entropy_ = column("entropy"), margin_ = column("margin");
    model_name_ = column("model_name"), model_version_ = column("model_version");
    model_sha256_ = column("model_sha256");
    width_ = header.size();
  }

  // One data row; empty rank fields end the top-k early (a model with fewer classes than K).
  PredictionRecord parse(const std::vector<std::string>& row, const std::string& where) const {
    FOVEA_CHECK(row.size() == width_, where, ": expected ", width_,
                " fields as in the header, got ", row.size());
    PredictionRecord r;
    r.where = where;
    r.path = row[path_];
    FOVEA_CHECK(!r.path.empty(), where, ": field 'path' is empty");
    double previous = 1;
    for (size_t k = 0; k < ranks_.size(); ++k) {
      const std::string name = "top" + std::to_string(k + 1);
      const std::string& index_text = row[ranks_[k].index];
      if (index_text.empty() && k > 0) break;
      int64_t index = 0;
      FOVEA_CHECK(parse_integer(index_text, index) && index >= 0 && index < kMaxClasses, where,
                  ": field '", name, "_index': expected a class index in [0, ", kMaxClasses,
                  "), got '", json::abbreviate(index_text), "'");
      const double p = number(row[ranks_[k].probability], where, name + "_probability");
      detail::check_probability(p, previous, where, name + "_probability");
      previous = p;
      r.topk.push_back({index, p, ranks_[k].label == kNone ? "" : row[ranks_[k].label]});
    }
    if (entropy_ != kNone && !row[entropy_].empty()) {
      r.entropy = number(row[entropy_], where, "entropy");
      FOVEA_CHECK(*r.entropy >= 0, where, ": field 'entropy': expected >= 0, got ", *r.entropy);
    }
    if (margin_ != kNone && !row[margin_].empty()) r.margin = number(row[margin_], where, "margin");
    detail::fill_margin(r);
    if (model_name_ != kNone) r.model_name = row[model_name_];
    if (model_version_ != kNone) r.model_version = row[model_version_];
    if (model_sha256_ != kNone) r.model_sha256 = row[model_sha256_];
    return r;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  struct Rank {
    size_t index, probability, label;
  };

  static double number(const std::string& text, const std::string& where,
                       const std::string& field) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FOVEA_CHECK(used != 0 && used == text.size() && std::isfinite(x), where, ": field '", field,
                "': expected a number, got '", json::abbreviate(text), "'");
    return x;
  }

  size_t path_ = kNone, entropy_ = kNone, margin_ = kNone;
  size_t model_name_ = kNone, model_version_ = kNone, model_sha256_ = kNone, width_ = 0;
  std::vector<Rank> ranks_;
};

}  // namespace fovea::report
