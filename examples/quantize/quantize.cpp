// quantize: post-training INT8 quantization of a classifier (docs/int8.md). It folds the batch
// norms, calibrates on a folder of real photos, optionally measures each layer's sensitivity and
// keeps the worst layers in FP32, and writes a quantized model file that classify,
// resnet50_infer and accuracy load like any weights file.
//
//   quantize --weights resnet50_v1.safetensors --calib ../shared/data/imagenet/samples \
//            --method percentile --out resnet50_int8.safetensors
//   quantize --weights mnv2.safetensors --calib DIR --sensitivity mnv2.csv --max-drop 1 --out F
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "calibration_photos.hpp"
#include "command_line.hpp"
#include "fovea/fovea.hpp"
#include "fovea/image/preprocess.hpp"
#include "fovea/quant/calibrate.hpp"
#include "fovea/quant/compile.hpp"
#include "fovea/quant/model_file.hpp"
#include "fovea/quant/sensitivity.hpp"
#include "image_files.hpp"
#include "progress.hpp"
#include "sha256.hpp"

namespace fs = std::filesystem;
namespace quant = fovea::quant;

namespace {

struct Args {
  std::string model, weights, calib, out, sensitivity_csv, method = "percentile";
  std::string fp32_layers;  // comma-separated op names kept in FP32
  int64_t calib_images = 300, sensitivity_images = 100, batch = 8, threads = 0;
  int64_t resize = -1, crop = -1;
  double percentile = 99.99, max_drop = -1;
};

const char* kUsage =
    "usage: quantize --weights FILE --calib DIR --out FILE [--model NAME]\n"
    "                [--method minmax|percentile|entropy|mse] [--percentile P]\n"
    "                [--calib-images N] [--sensitivity REPORT.csv] [--max-drop P]\n"
    "                [--sensitivity-images N] [--fp32-layers NAME,NAME,...]\n"
    "                [--batch B] [--threads T] [--resize N] [--crop N]\n"
    "  --weights FILE       the FP32 model (any fovea weights file; --model checks its\n"
    "                       architecture)\n"
    "  --calib DIR          calibration photos (JPEG/PNG/BMP, searched recursively); never\n"
    "                       the photos you evaluate on\n"
    "  --calib-images N     how many, evenly spaced over the sorted list (default 300)\n"
    "  --method M           how each activation's range is chosen (default percentile)\n"
    "  --percentile P       for --method percentile (default 99.99)\n"
    "  --sensitivity CSV    write each layer's error when only it is INT8\n"
    "  --max-drop P         keep the most sensitive layers in FP32 until the INT8 model's\n"
    "                       top-1 agrees with FP32 on at least 100 - P % of the images\n"
    "  --sensitivity-images N  images for the two above (default 100)\n"
    "  --fp32-layers LIST   layers (op names, as the report lists them) kept in FP32\n"
    "  --resize, --crop     override the weights file's preprocessing recipe\n"
    "Exit status: 0 written, 1 failed, 2 usage error.\n";

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options("quantize", kUsage);
  options.text("--model", args.model);
  options.text("--weights", args.weights);
  options.text("--calib", args.calib);
  options.text("--out", args.out);
  options.text("--method", args.method);
  options.real("--percentile", args.percentile, 50, 100);
  options.whole("--calib-images", args.calib_images, 1);
  options.text("--sensitivity", args.sensitivity_csv);
  options.real("--max-drop", args.max_drop, 0, 100);
  options.whole("--sensitivity-images", args.sensitivity_images, 1);
  options.text("--fp32-layers", args.fp32_layers);
  options.whole("--batch", args.batch, 1);
  options.threads("--threads", args.threads);
  options.whole("--resize", args.resize, 0);
  options.whole("--crop", args.crop, 0);
  options.parse(argc, argv);
  if (args.weights.empty()) options.fail("--weights is required");
  if (args.calib.empty()) options.fail("--calib is required");
  if (args.out.empty()) options.fail("--out is required");
  if (args.percentile > 100) options.fail("--percentile must be at most 100");
  try {
    quant::parse_calibration_method(args.method);
  } catch (const fovea::Error& e) {
    options.fail(std::string("--method: ") + e.what());
  }
  if (!fs::is_regular_file(args.weights)) options.fail(args.weights + " is not a file");
  if (!fs::is_directory(args.calib)) options.fail(args.calib + " is not a folder");
  return args;
}

std::set<std::string> split_names(const std::string& list) {
  std::set<std::string> names;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ','))
    if (!name.empty()) names.insert(name);
  return names;
}

void write_sensitivity_csv(const std::string& path,
                           const std::vector<quant::LayerSensitivity>& report,
                           const std::set<std::string>& fp32) {
  std::ofstream out(path);
  FOVEA_CHECK(out, path, ": cannot write the sensitivity report");
  out << "op,name,kind,sqnr_db_alone,top1_agreement_alone_pct,kept_fp32\n";
  for (const quant::LayerSensitivity& s : report)
    out << s.op << "," << s.name << "," << s.kind << "," << s.alone.sqnr_db << ","
        << s.alone.top1_agreement << "," << (fp32.count(s.name) ? 1 : 0) << "\n";
  FOVEA_CHECK(out.good(), path, ": write failed");
}

int run(const Args& args) {
  if (args.threads > 0) fovea::set_num_threads(static_cast<int>(args.threads));
  // Prepared for inference (batch norms folded), as the INT8 compiler wants it.
  fovea::LoadedModel loaded = fovea::load_model(args.weights, args.model);
  FOVEA_CHECK(loaded.architecture != quant::kInt8Architecture, args.weights,
              " is already an INT8 model");
  const fovea::Preprocessing recipe = fovea::examples::calibration_recipe(
      loaded.metadata, args.weights, "quantize", args.resize, args.crop);

  const std::vector<std::string> files =
      fovea::examples::calibration_files(args.calib, args.calib_images);
  std::vector<fovea::Tensor<float>> images;
  fovea::examples::Sha256 data_hash;
  fovea::examples::ProgressLine decoding("decoding", static_cast<int64_t>(files.size()));
  int64_t unreadable = 0;
  for (const std::string& file : files) {
    try {
      images.push_back(fovea::preprocess(fovea::read_image(file), recipe));
      data_hash.update(fs::relative(file, args.calib).string()).update_file(file);
    } catch (const fovea::Error& e) {
      std::cerr << "quantize: skipping " << file << ": " << e.what() << "\n";
      ++unreadable;
    }
    decoding.update(static_cast<int64_t>(images.size()) + unreadable);
  }
  FOVEA_CHECK(!images.empty(), args.calib, ": none of the photos could be read");

  const fovea::nn::Dataflow graph = fovea::nn::lower_to_dataflow(*loaded.model);
  quant::QuantizedModel fp32 = quant::compile_fp32(graph, loaded.architecture);
  quant::CalibrationOptions calibration;
  calibration.method = quant::parse_calibration_method(args.method);
  calibration.percentile = args.percentile;
  calibration.batch = args.batch;
  fovea::examples::ProgressLine calibrating(
      std::string("calibrating (") + args.method + ")",
      static_cast<int64_t>(images.size()) *
          (calibration.method == quant::CalibrationMethod::minmax ? 1 : 2));
  const std::vector<quant::ValueRange> ranges = quant::calibrate(
      fp32, images, calibration, [&](int64_t done, int64_t) { calibrating.update(done); });

  std::set<std::string> fp32_ops = split_names(args.fp32_layers);
  const std::vector<fovea::Tensor<float>> subset(
      images.begin(), images.begin() + std::min<int64_t>(args.sensitivity_images,
                                                         static_cast<int64_t>(images.size())));
  const fovea::Tensor<float> reference = quant::logits_on(fp32, subset, args.batch);
  if (!args.sensitivity_csv.empty() || args.max_drop >= 0) {
    fovea::examples::ProgressLine measuring("sensitivity", 0, "layers");
    const std::vector<quant::LayerSensitivity> report = quant::layer_sensitivity(
        graph, ranges, loaded.architecture, subset, reference, args.batch,
        [&](int64_t done, int64_t total) {
          if (done == 1) measuring = fovea::examples::ProgressLine("sensitivity", total, "layers");
          measuring.update(done);
        });
    if (args.max_drop >= 0) {
      const quant::MixedPrecision chosen =
          quant::choose_mixed_precision(graph, ranges, loaded.architecture, subset, reference,
                                        args.batch, report, 100.0 - args.max_drop, fp32_ops);
      fp32_ops = chosen.fp32_ops;
    }
    if (!args.sensitivity_csv.empty())
      write_sensitivity_csv(args.sensitivity_csv, report, fp32_ops);
    std::vector<quant::LayerSensitivity> worst = report;
    std::sort(worst.begin(), worst.end(),
              [](const auto& a, const auto& b) { return a.alone.sqnr_db < b.alone.sqnr_db; });
    std::printf("most sensitive layers (logit SQNR with only that layer in INT8):\n");
    for (size_t i = 0; i < std::min<size_t>(5, worst.size()); ++i)
      std::printf("  %-40s %-12s %6.1f dB  top-1 agreement %5.1f %%\n", worst[i].name.c_str(),
                  worst[i].kind.c_str(), worst[i].alone.sqnr_db, worst[i].alone.top1_agreement);
  }

  quant::QuantizedModel model = quant::compile_model(graph, ranges, fp32_ops, loaded.architecture);
  const quant::LogitAgreement agreement =
      quant::compare_logits(quant::logits_on(model, subset, args.batch), reference);

  std::map<std::string, std::string> metadata;
  for (const char* key : {"preprocessing", "num_classes", "labels"}) {
    const auto it = loaded.metadata.find(key);
    if (it != loaded.metadata.end()) metadata[key] = it->second;
  }
  std::ostringstream calib_json;
  calib_json << "{\"method\": \"" << args.method << "\", \"percentile\": " << args.percentile
             << ", \"images\": " << images.size() << ", \"data_sha256\": \"" << data_hash.hex()
             << "\", \"source_sha256\": \"" << fovea::examples::sha256_of_file(args.weights)
             << "\"}";
  metadata["int8_calibration"] = calib_json.str();
  std::string fp32_list = "[";
  for (const std::string& name : fp32_ops)
    fp32_list += (fp32_list.size() > 1 ? ", \"" : "\"") + name + "\"";
  metadata["int8_fp32_ops"] = fp32_list + "]";
  quant::save_quantized(model, args.out, metadata);

  std::printf("calibrated on %zu photos (%lld unreadable) with %s\n", images.size(),
              static_cast<long long>(unreadable), args.method.c_str());
  std::printf("%d of %zu ops in INT8", model.int8_ops(), model.nodes().size() - 1);
  if (!fp32_ops.empty()) std::printf(", %zu kept in FP32 (listed in the file)", fp32_ops.size());
  std::printf("\n");
  std::printf(
      "against FP32 on %zu calibration photos: logit SQNR %.1f dB, top-1 agreement %.1f %%\n",
      subset.size(), agreement.sqnr_db, agreement.top1_agreement);
  std::printf("wrote %s (%.1f MB; FP32 file %.1f MB)\n", args.out.c_str(),
              static_cast<double>(fs::file_size(args.out)) / 1e6,
              static_cast<double>(fs::file_size(args.weights)) / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return run(args);
  } catch (const fovea::Error& e) {
    std::cerr << "quantize: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "quantize: " << e.what() << "\n";
  }
  return 1;
}
