// fovea_report: reports on scans (the prediction files of fovea_scan, or resnet50_infer --json
// lines), as a JSON file for machines and a self-contained HTML page for people
// (docs/operations.md).
//
//   fovea_report drift --reference SCAN --current SCAN --out DIR
//       has the model's output changed? Exit status 0 no drift, 1 drift, 2 a usage error or an
//       unreadable input: a cron job or CI step can act on it directly.
//   fovea_report validate --scan SCAN --labels CSV --out DIR
//       accuracy, confusion, per-class precision/recall/F1, ROC, calibration, and the same for
//       each slice of the labels. Exit status 0 written, 1 bad input, 2 a usage error.
//
// The figures are computed here; render_report.py (beside this program) only draws them.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "class_names.hpp"
#include "command_line.hpp"
#include "drift_comparison.hpp"
#include "ground_truth.hpp"
#include "report_output.hpp"
#include "scan_reader.hpp"
#include "validation_report.hpp"

namespace {

namespace report = fovea::report;
using fovea::json::Value;

constexpr const char* kUsage =
    "usage: fovea_report drift --reference SCAN --current SCAN --out DIR [--false-alarm A]\n"
    "                          [--seed S] [--no-html]\n"
    "       fovea_report validate --scan SCAN (--labels CSV | --labels-from-folders)\n"
    "                             [--class-names FILE] --out DIR [--no-html]\n"
    "  SCAN   a scan directory (predictions.jsonl or part-I-of-N.jsonl, or their .csv form)\n"
    "         or one file of JSON lines (fovea_scan's, or resnet50_infer --json's)\n";

constexpr const char* kDriftUsage =
    "usage: fovea_report drift --reference SCAN --current SCAN --out DIR [--false-alarm A]\n"
    "                          [--seed S] [--no-html]\n"
    "  --reference SCAN  the scan taken as normal (a scan directory or a JSON-lines file)\n"
    "  --current SCAN    the scan compared with it\n"
    "  --out DIR         writes DIR/drift.json and DIR/drift.html\n"
    "  --false-alarm A   chance of reporting drift between scans of the same distribution,\n"
    "                    over all tests together (default 0.01)\n"
    "  --seed S          seed of the bootstrapped thresholds (default 1)\n"
    "  --no-html         write only the JSON\n"
    "exit status: 0 no drift, 1 drift, 2 usage error or unreadable input\n";

constexpr const char* kValidateUsage =
    "usage: fovea_report validate --scan SCAN (--labels CSV | --labels-from-folders)\n"
    "                             [--class-names FILE] --out DIR [--no-html]\n"
    "  --scan SCAN            a scan directory or a JSON-lines file of predictions\n"
    "  --labels CSV           path,label[,slice columns...]; an optional header row names the\n"
    "                         slice columns; labels are class indices or class names\n"
    "  --labels-from-folders  the label of a record is its parent folder's name (ImageFolder)\n"
    "  --class-names FILE     class names, line i = class i (synset_words.txt: 'n01440764 "
    "tench, ...')\n"
    "  --out DIR              writes DIR/validate.json and DIR/validate.html\n"
    "  --no-html              write only the JSON\n"
    "exit status: 0 written, 1 bad input, 2 usage error\n";

void print_warnings(const report::Scan& scan) {
  for (const std::string& w : scan.warnings)
    std::cerr << "fovea_report: warning: " << w << "\n";
}

Value lineage(const std::vector<std::pair<std::string, const report::Scan*>>& scans, int argc,
              char** argv) {
  Value out = Value::object();
  for (const auto& [role, scan] : scans)
    out.set(role, report::scan_lineage(*scan));
  out.set("fovea_version", report::fovea_version());
  out.set("command_line", report::command_line(argc, argv));
  return out;
}

// Writes DIR/NAME.json, then the page unless --no-html. A renderer failure is reported, and the
// JSON stands: the exit status is the analysis's.
void write_outputs(const std::string& dir, const std::string& name, const Value& result,
                   bool html) {
  report::make_directory(dir);
  const std::string json_path = (std::filesystem::path(dir) / (name + ".json")).string();
  const std::string html_path = (std::filesystem::path(dir) / (name + ".html")).string();
  report::write_json(json_path, result);
  std::cerr << "fovea_report: wrote " << json_path << "\n";
  if (!html) return;
  const std::string problem = report::render_html(name, json_path, html_path);
  if (problem.empty()) {
    std::cerr << "fovea_report: wrote " << html_path << "\n";
  } else {
    std::cerr << "fovea_report: error: the HTML page was not written: " << problem << " ("
              << json_path << " was)\n";
  }
}

int drift(int argc, char** argv) {
  std::string reference, current, out;
  report::DriftSettings settings;
  bool no_html = false;
  fovea::examples::CommandLine options("fovea_report drift", kDriftUsage);
  options.text("--reference", reference);
  options.text("--current", current);
  options.text("--out", out);
  options.real("--false-alarm", settings.false_alarm, 1e-6, 0.5);
  options.whole("--seed", settings.seed);
  options.toggle("--no-html", no_html);
  options.parse(argc - 1, argv + 1);
  if (reference.empty()) options.fail("--reference is required");
  if (current.empty()) options.fail("--current is required");
  if (out.empty()) options.fail("--out is required");
  try {
    const report::Scan ref = report::read_scan(reference);
    print_warnings(ref);
    const report::Scan cur = report::read_scan(current);
    print_warnings(cur);
    bool drifted = false;
    Value result = Value::object();
    result.set("report", "drift");
    // (named: a range-for over a member of a temporary would outlive the temporary)
    Value comparison = report::compare_scans(ref.records, cur.records, settings, drifted);
    for (auto& [key, value] : comparison.as_object())
      result.set(key, std::move(value));
    result.set("lineage", lineage({{"reference", &ref}, {"current", &cur}}, argc, argv));
    write_outputs(out, "drift", result, !no_html);
    const Value& tests = result.at("tests");
    std::printf("%s: class_mix %.3f (threshold %.3f), confidence %.3f (threshold %.3f)",
                drifted ? "DRIFT" : "no drift", tests.at("class_mix").at("statistic").as_number(),
                tests.at("class_mix").at("threshold").as_number(),
                tests.at("confidence").at("statistic").as_number(),
                tests.at("confidence").at("threshold").as_number());
    if (const Value* e = tests.at("entropy").find("statistic"); e != nullptr) {
      std::printf(", entropy %.3f (threshold %.3f)", e->as_number(),
                  tests.at("entropy").at("threshold").as_number());
    }
    std::printf("\n");
    return drifted ? 1 : 0;
  } catch (const std::exception& e) {  // fovea::Error names the file and line
    std::cerr << "fovea_report drift: " << e.what() << "\n";
    return 2;
  }
}

int validate(int argc, char** argv) {
  std::string scan_path, labels, class_names, out;
  bool from_folders = false, no_html = false;
  fovea::examples::CommandLine options("fovea_report validate", kValidateUsage);
  options.text("--scan", scan_path);
  options.text("--labels", labels);
  options.toggle("--labels-from-folders", from_folders);
  options.text("--class-names", class_names);
  options.text("--out", out);
  options.toggle("--no-html", no_html);
  options.parse(argc - 1, argv + 1);
  if (scan_path.empty()) options.fail("--scan is required");
  if (labels.empty() == !from_folders)
    options.fail("give exactly one of --labels CSV and --labels-from-folders");
  if (out.empty()) options.fail("--out is required");
  try {
    const report::Scan scan = report::read_scan(scan_path);
    print_warnings(scan);
    FOVEA_CHECK(!scan.records.empty(), scan_path, ": no predictions in it (", scan.error_lines,
                " error lines skipped)");
    report::ClassNames names;
    if (!class_names.empty()) names.add_file(class_names);
    names.add_records(scan.records);
    const report::GroundTruth truth = from_folders
                                          ? report::labels_from_folders(scan.records, names)
                                          : report::labels_from_csv(labels, scan.records, names);
    if (truth.unmatched_rows + truth.ambiguous_rows > 0) {
      std::cerr << "fovea_report: warning: " << truth.unmatched_rows + truth.ambiguous_rows
                << " label rows matched no record"
                << (truth.unmatched_row_examples.empty()
                        ? std::string()
                        : " (first: " + truth.unmatched_row_examples.front() + ")")
                << "\n";
    }
    if (truth.unlabelled_records > 0) {
      std::cerr << "fovea_report: warning: " << truth.unlabelled_records
                << " records have no label (first: " << truth.unlabelled_examples.front() << ")\n";
    }
    Value result = Value::object();
    result.set("report", "validate");
    Value figures = report::validation_report(scan.records, truth, names);
    for (auto& [key, value] : figures.as_object())
      result.set(key, std::move(value));
    Value l = lineage({{"scan", &scan}}, argc, argv);
    Value label_source = Value::object();
    if (from_folders) {
      label_source.set("kind", "folders");
    } else {
      label_source.set("kind", "csv");
      label_source.set("path", labels);
      label_source.set("sha256", report::detail::hash_file(labels));
    }
    if (!class_names.empty()) {
      label_source.set("class_names", class_names);
      label_source.set("class_names_sha256", report::detail::hash_file(class_names));
    }
    l.set("labels", std::move(label_source));
    result.set("lineage", std::move(l));
    write_outputs(out, "validate", result, !no_html);
    const Value& s = result.at("summary");
    const auto shown = [](const Value& v) { return v.is_null() ? -1.0 : v.as_number(); };
    std::printf("%lld records: top-1 %.4f, top-5 %.4f, macro F1 %.4f, macro AUC %.4f, ECE %.4f\n",
                static_cast<long long>(s.at("records").as_int64()), shown(s.at("top1_accuracy")),
                shown(s.at("top5_accuracy")), shown(s.at("macro_f1")), shown(s.at("macro_auc")),
                shown(s.at("ece")));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fovea_report validate: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "drift") return drift(argc, argv);
  if (command == "validate") return validate(argc, argv);
  if (command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "fovea_report: "
            << (command.empty() ? "no command given" : "unknown command '" + command + "'") << "\n"
            << kUsage;
  return 2;
}
