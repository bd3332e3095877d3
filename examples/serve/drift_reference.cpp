// fovea_drift_reference: turns the predictions of a validation run into the reference file a
// drift monitor compares live predictions with (include/fovea/monitor/drift_reference.hpp).
//
//   resnet50_infer --json val/*.JPEG > val.jsonl
//   fovea_drift_reference --description "ResNet-50 on val" --out resnet50.drift.json val.jsonl
//
// Input: JSON lines as resnet50_infer --json prints them, one object per image:
//   {"file": "...", "topk": [{"index": 1, "label": "goldfish", "probability": 0.98}, ...], ...}
// The first topk entry is the top-1 prediction. Lines with an "error" member (images that
// failed) are skipped and counted; blank lines are skipped. Exit status: 0 written, 1 bad input
// (the message names the file and line), 2 a usage error.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "fovea/io/json.hpp"
#include "fovea/monitor/drift_reference.hpp"

namespace {

using fovea::monitor::Prediction;

// A longer line is no resnet50_infer output.
constexpr size_t kMaxLineBytes = size_t{1} << 20;

struct Args {
  int64_t num_classes = 1000;
  std::string description, out = "-";
  std::vector<std::string> inputs;
};

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options(
      "fovea_drift_reference",
      "usage: fovea_drift_reference [--num-classes N] [--description TEXT] [--out FILE]\n"
      "                             PREDICTIONS...\n"
      "  PREDICTIONS        files of JSON lines from resnet50_infer --json; - reads stdin\n"
      "  --num-classes N    classes of the model (default 1000)\n"
      "  --description TEXT where the predictions came from, stored in the file\n"
      "  --out FILE         the reference to write (default -: stdout)\n");
  options.whole("--num-classes", args.num_classes, 1, fovea::monitor::kMaxDriftClasses);
  options.text("--description", args.description);
  options.text("--out", args.out);
  options.positional(args.inputs);
  options.parse(argc, argv);
  if (args.inputs.empty()) options.fail("no prediction files given (- reads stdin)");
  if (args.out.empty()) options.fail("--out needs a file name");
  return args;
}

struct Counts {
  int64_t lines = 0, skipped_errors = 0;
};

// The top-1 prediction of one line; false for a line to skip. Throws fovea::Error naming
// `where` ("file:line").
bool read_line(const std::string& line, const std::string& where, int64_t num_classes,
               Prediction& out) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return false;
  const fovea::json::Value v = fovea::json::parse(line, where);
  FOVEA_CHECK(v.is_object(), where, ": expected a JSON object, got ",
              fovea::json::type_name(v.type()));
  if (v.find("error") != nullptr) return false;
  const fovea::json::Value* topk = v.find("topk");
  FOVEA_CHECK(topk != nullptr, where, ": missing field 'topk'");
  FOVEA_CHECK(topk->is_array() && topk->size() >= 1, where,
              ": field 'topk': expected a non-empty array, got ",
              topk->is_array() ? "an empty array" : fovea::json::type_name(topk->type()));
  double previous = 2;
  for (size_t i = 0; i < topk->size(); ++i) {
    const fovea::json::Value& entry = topk->at(i);
    const std::string field = "'topk[" + std::to_string(i) + "]";
    FOVEA_CHECK(entry.is_object(), where, ": field ", field, "': expected an object, got ",
                fovea::json::type_name(entry.type()));
    const fovea::json::Value* index = entry.find("index");
    const fovea::json::Value* probability = entry.find("probability");
    FOVEA_CHECK(index != nullptr && index->is_integer() && !index->number().negative &&
                    index->number().magnitude < static_cast<uint64_t>(num_classes),
                where, ": field ", field, ".index': expected a class in [0, ", num_classes,
                ") (see --num-classes), got ",
                index == nullptr ? "nothing" : fovea::json::abbreviate(fovea::json::dump(*index)));
    FOVEA_CHECK(probability != nullptr && probability->is_number() &&
                    probability->as_number() >= 0 && probability->as_number() <= 1,
                where, ": field ", field, ".probability': expected a number in [0, 1], got ",
                probability == nullptr ? "nothing"
                                       : fovea::json::abbreviate(fovea::json::dump(*probability)));
    const double p = probability->as_number();
    FOVEA_CHECK(p <= previous, where, ": field 'topk': expected probabilities in descending ",
                "order, got ", p, " after ", previous);
    previous = p;
    if (i == 0) out = Prediction{static_cast<int64_t>(index->number().magnitude), p};
  }
  return true;
}

void read_stream(std::istream& in, const std::string& name, int64_t num_classes,
                 std::vector<Prediction>& predictions, Counts& counts) {
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = name + ":" + std::to_string(number);
    FOVEA_CHECK(line.size() <= kMaxLineBytes, where, ": line of ", line.size(),
                " bytes, expected at most ", kMaxLineBytes);
    ++counts.lines;
    Prediction p;
    if (read_line(line, where, num_classes, p)) {
      predictions.push_back(p);
    } else if (line.find_first_not_of(" \t\r") != std::string::npos) {
      ++counts.skipped_errors;
    }
  }
  FOVEA_CHECK(!in.bad(), "error while reading ", name);
}

int run(const Args& args) {
  std::vector<Prediction> predictions;
  Counts counts;
  for (const std::string& input : args.inputs) {
    if (input == "-") {
      read_stream(std::cin, "<stdin>", args.num_classes, predictions, counts);
      continue;
    }
    std::error_code error;
    FOVEA_CHECK(!std::filesystem::is_directory(input, error), "cannot read '", input,
                "': it is a directory");
    std::ifstream file(input, std::ios::binary);
    FOVEA_CHECK(file.is_open(), "cannot open '", input, "' for reading");
    read_stream(file, input, args.num_classes, predictions, counts);
  }
  FOVEA_CHECK(static_cast<int64_t>(predictions.size()) >= fovea::monitor::kMinReferencePredictions,
              "the inputs hold ", predictions.size(), " predictions (", counts.skipped_errors,
              " error lines skipped); a drift reference needs at least ",
              fovea::monitor::kMinReferencePredictions);
  fovea::monitor::DriftReference reference =
      fovea::monitor::DriftReference::from_predictions(args.num_classes, predictions);
  reference.description = args.description;
  int64_t seen = 0;
  for (const int64_t c : reference.class_counts)
    seen += c > 0;
  if (args.out == "-") {
    std::cout << reference.to_json() << std::flush;
    FOVEA_CHECK(std::cout.good(), "error while writing the reference to stdout");
  } else {
    reference.save(args.out);
  }
  std::fprintf(stderr,
               "fovea_drift_reference: %lld predictions (%lld classes seen of %lld) from %lld "
               "lines, %lld error lines skipped; wrote %s\n",
               static_cast<long long>(predictions.size()), static_cast<long long>(seen),
               static_cast<long long>(args.num_classes), static_cast<long long>(counts.lines),
               static_cast<long long>(counts.skipped_errors),
               args.out == "-" ? "stdout" : args.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return run(args);
  } catch (const fovea::Error& e) {
    std::cerr << "fovea_drift_reference: " << e.what() << "\n";
  } catch (const std::exception& e) {  // std::bad_alloc and the like
    std::cerr << "fovea_drift_reference: " << e.what() << "\n";
  }
  return 1;
}
