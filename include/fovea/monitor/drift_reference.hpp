// DriftReference: what a drift monitor compares live predictions with, namely the top-1 class
// counts and top-1 confidences of a reference run (a validation set, say), and its JSON file:
//
//   {"format": "fovea-drift-reference", "version": 1, "num_classes": N,
//    "class_counts": [N whole numbers], "confidences": [one number in [0, 1] per prediction],
//    "description": "free text"}
//
// Nothing in a file is trusted: every error names the file, the field, what was expected and
// what was found. The statistics that use a reference live in drift_tests.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/io/file.hpp"
#include "fovea/io/json.hpp"

namespace fovea::monitor {

// One served prediction: the top-1 class and its probability.
struct Prediction {
  int64_t top1 = 0;
  double confidence = 0;
};

inline constexpr const char* kDriftReferenceFormat = "fovea-drift-reference";
inline constexpr int64_t kDriftReferenceVersion = 1;
inline constexpr int64_t kMaxDriftClasses = int64_t{1} << 20;
// A reference needs this many predictions. Both chi-square tests pool bins until each bin
// expects min_expected (5) predictions in the smaller sample, so 100 predictions leave at most
// 20 bins; and the CUSUM standardizes with the reference's mean confidence, whose error is
// sqrt(block / R) block standard deviations: 0.7 at R = 100 and the default block of 50, past the
// CUSUM's allowance k = 0.5, so a smaller reference would drift the CUSUM into alarms on noise.
inline constexpr int64_t kMinReferencePredictions = 100;
inline constexpr int64_t kMaxReferencePredictions = int64_t{1} << 26;
// The largest reference file load() reads (about 25 bytes per confidence at the most above).
inline constexpr int64_t kMaxDriftReferenceFileBytes = int64_t{2} << 30;

struct DriftReference {
  int64_t num_classes = 0;
  std::vector<int64_t> class_counts;  // top-1 counts per class, size num_classes
  std::vector<double> confidences;    // top-1 probability of each reference prediction
  std::string description;            // free text: where it came from

  int64_t predictions() const { return static_cast<int64_t>(confidences.size()); }

  // Throws fovea::Error "<source>: <field> ...: expected ..., got ..." for the first problem:
  // num_classes outside [1, 2^20], class_counts of another length or with a negative entry,
  // counts that do not sum to the number of confidences, fewer than kMinReferencePredictions
  // predictions, and a confidence that is not a finite number in [0, 1].
  void validate(const std::string& source) const {
    FOVEA_CHECK(num_classes >= 1 && num_classes <= kMaxDriftClasses, source,
                ": field 'num_classes': expected a whole number in [1, ", kMaxDriftClasses,
                "], got ", num_classes);
    FOVEA_CHECK(static_cast<int64_t>(class_counts.size()) == num_classes, source,
                ": field 'class_counts': expected num_classes = ", num_classes, " entries, got ",
                class_counts.size());
    int64_t total = 0;
    for (size_t i = 0; i < class_counts.size(); ++i) {
      const int64_t c = class_counts[i];
      FOVEA_CHECK(c >= 0 && c <= kMaxReferencePredictions, source, ": field 'class_counts[", i,
                  "]': expected a count in [0, ", kMaxReferencePredictions, "], got ", c);
      total += c;
    }
    FOVEA_CHECK(total <= kMaxReferencePredictions, source,
                ": field 'class_counts': expected at most ", kMaxReferencePredictions,
                " predictions in all, got ", total);
    FOVEA_CHECK(total >= kMinReferencePredictions, source,
                ": field 'class_counts': expected at least ", kMinReferencePredictions,
                " reference predictions (fewer leave the chi-square tests too few bins and the "
                "CUSUM a noisy reference mean), got ",
                total);
    FOVEA_CHECK(total == predictions(), source, ": field 'confidences': expected one entry per ",
                "reference prediction, i.e. the sum of 'class_counts' = ", total, ", got ",
                confidences.size());
    for (size_t i = 0; i < confidences.size(); ++i) {
      const double c = confidences[i];
      FOVEA_CHECK(std::isfinite(c) && c >= 0 && c <= 1, source, ": field 'confidences[", i,
                  "]': expected a probability in [0, 1], got ", c);
    }
  }

  // The reference of a run's predictions. A top1 outside [0, num_classes) or a confidence that
  // is not in [0, 1] is an error naming the prediction's index.
  static DriftReference from_predictions(int64_t num_classes,
                                         const std::vector<Prediction>& predictions) {
    FOVEA_CHECK(num_classes >= 1 && num_classes <= kMaxDriftClasses,
                "drift reference: num_classes: expected a whole number in [1, ", kMaxDriftClasses,
                "], got ", num_classes);
    DriftReference r;
    r.num_classes = num_classes;
    r.class_counts.assign(static_cast<size_t>(num_classes), 0);
    r.confidences.reserve(predictions.size());
    for (size_t i = 0; i < predictions.size(); ++i) {
      const Prediction& p = predictions[i];
      FOVEA_CHECK(p.top1 >= 0 && p.top1 < num_classes, "drift reference: predictions[", i,
                  "].top1: expected a class in [0, ", num_classes, "), got ", p.top1);
      FOVEA_CHECK(std::isfinite(p.confidence) && p.confidence >= 0 && p.confidence <= 1,
                  "drift reference: predictions[", i,
                  "].confidence: expected a probability in [0, 1], got ", p.confidence);
      ++r.class_counts[static_cast<size_t>(p.top1)];
      r.confidences.push_back(p.confidence);
    }
    r.validate("drift reference");
    return r;
  }

  static DriftReference parse(std::string_view json_text, const std::string& source_name) {
    const json::Value doc = json::parse(json_text, source_name);
    const std::string& src = source_name;
    FOVEA_CHECK(doc.is_object(), src, ": expected a JSON object, got ",
                json::type_name(doc.type()));
    for (const auto& member : doc.as_object()) {
      const std::string& k = member.first;
      FOVEA_CHECK(k == "format" || k == "version" || k == "num_classes" || k == "class_counts" ||
                      k == "confidences" || k == "description",
                  src, ": unknown field '", json::abbreviate(k),
                  "': expected format, version, num_classes, class_counts, confidences and "
                  "description");
    }
    const std::string format = string_field(doc, "format", src);
    FOVEA_CHECK(format == kDriftReferenceFormat, src, ": field 'format': expected \"",
                kDriftReferenceFormat, "\", got \"", json::abbreviate(format), "\"");
    const int64_t version = whole_field(doc, "version", src);
    FOVEA_CHECK(version == kDriftReferenceVersion, src, ": field 'version': expected ",
                kDriftReferenceVersion, ", got ", version);
    DriftReference r;
    r.num_classes = whole_field(doc, "num_classes", src);
    FOVEA_CHECK(r.num_classes >= 1 && r.num_classes <= kMaxDriftClasses, src,
                ": field 'num_classes': expected a whole number in [1, ", kMaxDriftClasses,
                "], got ", r.num_classes);
    const json::Value::Array& counts = array_field(doc, "class_counts", src);
    FOVEA_CHECK(static_cast<int64_t>(counts.size()) == r.num_classes, src,
                ": field 'class_counts': expected num_classes = ", r.num_classes, " entries, got ",
                counts.size());
    r.class_counts.reserve(counts.size());
    for (size_t i = 0; i < counts.size(); ++i) {
      const json::Value& v = counts[i];
      const bool whole = v.is_integer() && (!v.number().negative || v.number().magnitude == 0) &&
                         v.number().magnitude <= uint64_t{kMaxReferencePredictions};
      FOVEA_CHECK(whole, src, ": field 'class_counts[", i, "]': expected a whole number in [0, ",
                  kMaxReferencePredictions, "], got ", describe(v));
      r.class_counts.push_back(static_cast<int64_t>(v.number().magnitude));
    }
    const json::Value::Array& confidences = array_field(doc, "confidences", src);
    r.confidences.reserve(confidences.size());
    for (size_t i = 0; i < confidences.size(); ++i) {
      const json::Value& v = confidences[i];
      FOVEA_CHECK(v.is_number(), src, ": field 'confidences[", i,
                  "]': expected a probability in [0, 1], got ", describe(v));
      r.confidences.push_back(v.as_number());
    }
    if (const json::Value* d = doc.find("description")) {
      FOVEA_CHECK(d->is_string(), src, ": field 'description': expected a string, got ",
                  json::type_name(d->type()));
      r.description = d->as_string();
    }
    r.validate(src);
    return r;
  }

  static DriftReference load(const std::string& path) {
    const std::vector<uint8_t> bytes = io::read_file(path, kMaxDriftReferenceFileBytes);
    return parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
  }

  // One field a line, so files diff and grep well; numbers print exactly (shortest round trip).
  std::string to_json() const {
    json::Value counts = json::Value::array(), conf = json::Value::array();
    for (const int64_t c : class_counts)
      counts.push_back(c);
    for (const double c : confidences)
      conf.push_back(c);
    return "{\n  \"format\": " + json::dump(kDriftReferenceFormat) +
           ",\n  \"version\": " + json::dump(kDriftReferenceVersion) +
           ",\n  \"num_classes\": " + json::dump(num_classes) +
           ",\n  \"description\": " + json::dump(description) +
           ",\n  \"class_counts\": " + json::dump(counts) +
           ",\n  \"confidences\": " + json::dump(conf) + "\n}\n";
  }

  // Validates, then writes atomically (a reader sees the old file or the whole new one).
  void save(const std::string& path) const {
    validate("drift reference for '" + path + "'");
    const std::string text = to_json();
    io::write_file_atomic(path, {text});
  }

 private:
  static std::string describe(const json::Value& v) {
    if (!v.is_number()) return json::type_name(v.type());
    return json::abbreviate(json::dump(v));
  }
  static const json::Value& field(const json::Value& doc, const char* name,
                                  const std::string& src) {
    const json::Value* v = doc.find(name);
    FOVEA_CHECK(v != nullptr, src, ": missing field '", name, "'");
    return *v;
  }
  static std::string string_field(const json::Value& doc, const char* name,
                                  const std::string& src) {
    const json::Value& v = field(doc, name, src);
    FOVEA_CHECK(v.is_string(), src, ": field '", name, "': expected a string, got ", describe(v));
    return v.as_string();
  }
  static int64_t whole_field(const json::Value& doc, const char* name, const std::string& src) {
    const json::Value& v = field(doc, name, src);
    FOVEA_CHECK(v.is_integer() && !v.number().negative &&
                    v.number().magnitude <= static_cast<uint64_t>(INT64_MAX),
                src, ": field '", name, "': expected a whole number, got ", describe(v));
    return static_cast<int64_t>(v.number().magnitude);
  }
  static const json::Value::Array& array_field(const json::Value& doc, const char* name,
                                               const std::string& src) {
    const json::Value& v = field(doc, name, src);
    FOVEA_CHECK(v.is_array(), src, ": field '", name, "': expected an array, got ", describe(v));
    return v.as_array();
  }
};

}  // namespace fovea::monitor
