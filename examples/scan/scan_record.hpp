// One image's record in a scan's output, and its two spellings: a JSON line (the form the
// scan keeps while it runs, and the default output) and a CSV row.
//
//   {"path": "...", "sha256": "...", "topk": [{"index": 1, "label": "goldfish",
//    "probability": 0.98}, ...], "entropy": 0.11, "margin": 0.97,
//    "model": {"name": "...", "version": "...", "sha256": "..."}, "preprocessing": {...}}
//
// topk is what resnet50_infer --json prints. entropy (in nats) and margin (the top-1 minus the
// top-2 probability) are computed over every class, not only the top K, and are the scores the
// review queue ranks by.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fovea/core/tensor.hpp"
#include "servable.hpp"
#include "top_k.hpp"

namespace fovea::scan {

using Json = nlohmann::ordered_json;

// The model and recipe every record of a scan carries, made once.
inline Json model_identity(const examples::Servable& model, const std::string& name,
                           const std::string& version) {
  return Json{{"name", name}, {"version", version}, {"sha256", model.sha256}};
}

// Six significant digits, as resnet50_infer prints: a record stays short, and the same
// probabilities give the same text on every machine.
inline double six_digits(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", x);
  return std::strtod(text, nullptr);
}

// The record of row `row` of a batch's probabilities (softmax already applied).
inline Json image_record(const std::string& path, const std::string& sha256,
                         const Tensor<float>& probabilities, int64_t row, int64_t topk,
                         const examples::Servable& model, const Json& identity,
                         const Json& recipe) {
  const int64_t classes = probabilities.dim(1);
  double entropy = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const double p = probabilities(row, c);
    if (p > 0) entropy -= p * std::log(p);
  }
  const std::vector<int64_t> best = examples::top_k(probabilities, row, std::max<int64_t>(topk, 2));
  const double second = classes > 1 ? probabilities(row, best[1]) : 0.0;
  Json top = Json::array();
  for (int64_t i = 0; i < std::min<int64_t>(topk, static_cast<int64_t>(best.size())); ++i) {
    const int64_t c = best[static_cast<size_t>(i)];
    top.push_back({{"index", c},
                   {"label", model.label(c)},
                   {"probability", six_digits(probabilities(row, c))}});
  }
  return Json{{"path", path},
              {"sha256", sha256},
              {"topk", std::move(top)},
              {"entropy", six_digits(entropy)},
              {"margin", six_digits(probabilities(row, best[0]) - second)},
              {"model", identity},
              {"preprocessing", recipe}};
}

// Why an image has no record.
inline Json error_record(const std::string& path, const std::string& sha256,
                         const std::string& error) {
  Json record{{"path", path}, {"error", error}};
  if (!sha256.empty()) record["sha256"] = sha256;
  return record;
}

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

inline std::string csv_header(int64_t topk) {
  std::string header = "path,sha256";
  for (int64_t i = 1; i <= topk; ++i) {
    const std::string n = "top" + std::to_string(i);
    header += "," + n + "_index," + n + "_label," + n + "_probability";
  }
  return header + ",entropy,margin,model_name,model_version,model_sha256,preprocessing";
}

// The CSV row of a record, in csv_header's columns; a record with fewer than `topk` classes
// leaves the rest empty.
inline std::string csv_row(const Json& record, int64_t topk) {
  const auto number = [](const Json& v) { return v.dump(); };
  std::string row =
      csv_field(record["path"].get<std::string>()) + "," + record["sha256"].get<std::string>();
  const Json& top = record["topk"];
  for (int64_t i = 0; i < topk; ++i) {
    if (i < static_cast<int64_t>(top.size())) {
      const Json& entry = top[static_cast<size_t>(i)];
      row += "," + number(entry["index"]) + "," + csv_field(entry["label"].get<std::string>()) +
             "," + number(entry["probability"]);
    } else {
      row += ",,,";
    }
  }
  const Json& model = record["model"];
  row += "," + number(record["entropy"]) + "," + number(record["margin"]) + "," +
         csv_field(model["name"].get<std::string>()) + "," +
         csv_field(model["version"].get<std::string>()) + "," + model["sha256"].get<std::string>() +
         "," + csv_field(record["preprocessing"].dump());
  return row;
}

}  // namespace fovea::scan
