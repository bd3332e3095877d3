// fovea_scan: classifies every image under directories, or listed in a manifest, and writes one
// record per image for the reports, review queues and audits that follow (docs/operations.md).
//
//   fovea_scan --model resnet50.safetensors --out scans/2026-12-07 /data/photos
//   find /data -name '*.jpg' | fovea_scan --model m.safetensors --out s --manifest -
//   fovea_scan --model m.safetensors --out s --shard-count 8 /data    (in a k8s Indexed Job)
//
// Exit status: 0 every image classified, 1 some images failed (listed in errors.jsonl) or the
// model could not be loaded, 2 a usage error.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "command_line.hpp"
#include "decode_pipeline.hpp"
#include "fovea/config.hpp"
#include "fovea/plan/batch_runner.hpp"
#include "progress.hpp"
#include "review_queue.hpp"
#include "scan_inputs.hpp"
#include "scan_journal.hpp"
#include "scan_output.hpp"
#include "servable.hpp"

namespace {

using fovea::scan::Json;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, model_name, model_version, out, manifest, format = "jsonl";
  std::vector<std::string> paths;
  int64_t topk = 5, threads = 0, batch = 8, decode_threads = 1, decode_nice = 10;
  int64_t shard_index = -1, shard_count = -1;
  int64_t review = 0, max_image_pixels = fovea::kMaxImagePixels;
  int64_t resize = -1, crop = -1;  // -1: the model file's recipe decides
  std::string uncertainty = "margin", review_url_prefix = "/data/local-files/?d=";
  bool resume = false;
};

// A whole number from the environment, or nothing when unset; a malformed value is an error.
std::optional<int64_t> env_whole(const char* name, const fovea::examples::CommandLine& options) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(value, &end, 10);
  if (errno != 0 || *end != '\0' || n < 0)
    options.fail(std::string(name) + " wants a whole number >= 0, got '" + value + "'");
  return n;
}

// The shard: --shard-index/--shard-count, else a Kubernetes Indexed Job's JOB_COMPLETION_INDEX,
// else a Slurm array's SLURM_ARRAY_TASK_ID (counted from SLURM_ARRAY_TASK_MIN, with
// SLURM_ARRAY_TASK_COUNT shards); one shard of one when none is given.
void resolve_shard(Args& args, const fovea::examples::CommandLine& options) {
  if (args.shard_index < 0) {
    if (const auto k8s = env_whole("JOB_COMPLETION_INDEX", options)) {
      args.shard_index = *k8s;
    } else if (const auto slurm = env_whole("SLURM_ARRAY_TASK_ID", options)) {
      args.shard_index = *slurm - env_whole("SLURM_ARRAY_TASK_MIN", options).value_or(0);
      if (args.shard_count < 0)
        args.shard_count = env_whole("SLURM_ARRAY_TASK_COUNT", options).value_or(-1);
    }
  }
  if (args.shard_index < 0 && args.shard_count < 0) args.shard_index = 0, args.shard_count = 1;
  if (args.shard_count < 0) {
    options.fail("shard " + std::to_string(args.shard_index) +
                 " given (or found in the environment) but not how many shards: give "
                 "--shard-count (the Job's completions or the array's size)");
  }
  if (args.shard_index < 0) args.shard_index = 0;
  if (args.shard_count < 1 || args.shard_index >= args.shard_count) {
    options.fail("the shard index must be in [0, " + std::to_string(args.shard_count) + "), got " +
                 std::to_string(args.shard_index));
  }
}

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options(
      "fovea_scan",
      "usage: fovea_scan --model FILE --out DIR [options] [PATH...] [--manifest FILE|-]\n"
      "  PATH                 an image, or a directory searched recursively for JPEG/PNG/BMP\n"
      "  --manifest FILE      image paths, one a line (- reads stdin)\n"
      "  --model FILE         a classifier's .safetensors (FP32)\n"
      "  --model-name NAME    recorded with every prediction (default: the file's stem)\n"
      "  --model-version V    recorded likewise (default: sha256: and the file hash's start)\n"
      "  --out DIR            where the records go (created if missing)\n"
      "  --format F           jsonl (default) or csv\n"
      "  --topk K             classes per record (default 5)\n"
      "  --threads T          inference threads (default: all cores)\n"
      "  --batch B            images per forward (default 8)\n"
      "  --decode-threads D   threads reading and decoding images (default 1)\n"
      "  --decode-nice N      how far below inference they run (default 10)\n"
      "  --max-image-pixels P larger images are refused (default 100000000)\n"
      "  --resize N           shorter side before the crop, 0 = none (default: the file's recipe)\n"
      "  --crop N             centre crop side, 0 = none (default: the file's recipe)\n"
      "  --resume             keep the records a killed run of this shard left; scan the rest\n"
      "  --shard-index I      this shard (default: $JOB_COMPLETION_INDEX or\n"
      "                       $SLURM_ARRAY_TASK_ID - $SLURM_ARRAY_TASK_MIN, else 0)\n"
      "  --shard-count N      shards (default: $SLURM_ARRAY_TASK_COUNT, else 1)\n"
      "  --review K           write the K most uncertain images as Label Studio tasks\n"
      "  --uncertainty U      least-confidence, margin (default) or entropy\n"
      "  --review-url-prefix P  prefix of each task's image URL (default\n"
      "                       /data/local-files/?d=, Label Studio's local files)\n"
      "Exit status: 0 all classified, 1 some images failed (see errors.jsonl), 2 usage.\n");
  options.text("--model", args.model);
  options.text("--model-name", args.model_name);
  options.text("--model-version", args.model_version);
  options.text("--out", args.out);
  options.text("--manifest", args.manifest);
  options.text("--format", args.format);
  options.whole("--topk", args.topk, 1, 1 << 20);
  options.threads("--threads", args.threads);
  options.whole("--batch", args.batch, 1, 4096);
  options.whole("--decode-threads", args.decode_threads, 1, 256);
  options.whole("--decode-nice", args.decode_nice, 0, 19);
  options.whole("--max-image-pixels", args.max_image_pixels, 1, fovea::kMaxImagePixels);
  options.whole("--resize", args.resize, 0, 1 << 16);
  options.whole("--crop", args.crop, 0, 1 << 16);
  options.toggle("--resume", args.resume);
  options.whole("--shard-index", args.shard_index, 0);
  options.whole("--shard-count", args.shard_count, 1, 1 << 20);
  options.whole("--review", args.review, 0, 1 << 24);
  options.text("--uncertainty", args.uncertainty);
  options.text("--review-url-prefix", args.review_url_prefix);
  options.positional(args.paths);
  options.parse(argc, argv);
  if (args.model.empty()) options.fail("--model is required");
  if (args.out.empty()) options.fail("--out is required");
  if (args.paths.empty() && args.manifest.empty())
    options.fail("nothing to scan: give directories or images, or --manifest");
  if (args.format != "jsonl" && args.format != "csv")
    options.fail("--format must be jsonl or csv, got '" + args.format + "'");
  if (args.uncertainty != "least-confidence" && args.uncertainty != "margin" &&
      args.uncertainty != "entropy") {
    options.fail("--uncertainty must be least-confidence, margin or entropy, got '" +
                 args.uncertainty + "'");
  }
  for (const std::string& p : args.paths) {
    std::error_code error;
    if (!std::filesystem::exists(p, error)) options.fail("no such file or directory: " + p);
  }
  resolve_shard(args, options);
  if (args.model_name.empty()) args.model_name = std::filesystem::path(args.model).stem().string();
  return args;
}

fovea::scan::Uncertainty parse_uncertainty(const std::string& name) {
  return name == "least-confidence" ? fovea::scan::Uncertainty::least_confidence
         : name == "entropy"        ? fovea::scan::Uncertainty::entropy
                                    : fovea::scan::Uncertainty::margin;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

// Runs inference on images of one shape and appends their records; a batch the model refuses
// is run again image by image, so one bad image fails alone.
class Classifier {
 public:
  Classifier(const fovea::examples::Servable& model, const Args& args, Json identity, Json recipe,
             fovea::scan::ScanJournal& journal, fovea::scan::ReviewQueue& review,
             std::vector<Json>& errors)
      : model_(model),
        topk_(args.topk),
        identity_(std::move(identity)),
        recipe_(std::move(recipe)),
        runner_(*model.model),
        journal_(journal),
        review_(review),
        errors_(errors) {}

  void run(std::vector<fovea::scan::DecodedImage>& images) {
    if (images.empty()) return;
    try {
      classify(images);
    } catch (const fovea::Error&) {
      for (auto& image : images) {
        std::vector<fovea::scan::DecodedImage> one;
        one.push_back(std::move(image));
        try {
          classify(one);
        } catch (const fovea::Error& e) {
          errors_.push_back(fovea::scan::error_record(one[0].path, one[0].sha256,
                                                      one[0].path + ": inference: " + e.what()));
        }
      }
    }
    images.clear();
  }

 private:
  void classify(const std::vector<fovea::scan::DecodedImage>& images) {
    fovea::Shape shape = images[0].tensor.shape();
    const int64_t per_image = images[0].tensor.numel();
    shape[0] = static_cast<int64_t>(images.size());
    fovea::Tensor<float> batch(shape);
    for (size_t i = 0; i < images.size(); ++i) {
      std::copy(images[i].tensor.data(), images[i].tensor.data() + per_image,
                batch.data() + static_cast<int64_t>(i) * per_image);
    }
    const fovea::Tensor<float> probabilities = fovea::softmax(runner_.forward(batch), 1);
    for (size_t i = 0; i < images.size(); ++i) {
      const Json record =
          fovea::scan::image_record(images[i].path, images[i].sha256, probabilities,
                                    static_cast<int64_t>(i), topk_, model_, identity_, recipe_);
      review_.offer(record, journal_.append(record));
    }
  }

  const fovea::examples::Servable& model_;
  int64_t topk_;
  Json identity_, recipe_;
  fovea::BatchRunner runner_;
  fovea::scan::ScanJournal& journal_;
  fovea::scan::ReviewQueue& review_;
  std::vector<Json>& errors_;
};

int scan(const Args& args, int argc, char** argv) {
  const auto started = Clock::now();
  const std::string started_utc = utc_now();
  const fovea::scan::ShardFiles files(args.shard_index, args.shard_count, args.format);

  if (args.threads > 0) fovea::set_num_threads(static_cast<int>(args.threads));
  const auto model = fovea::examples::load_servable(args.model_name, args.model, "");
  const std::string version =
      args.model_version.empty() ? "sha256:" + model->sha256.substr(0, 12) : args.model_version;
  const Json identity = fovea::scan::model_identity(*model, args.model_name, version);
  fovea::Preprocessing preprocessing = model->recipe;
  if (args.resize >= 0) preprocessing.resize = args.resize;
  if (args.crop >= 0) preprocessing.crop = args.crop;
  const Json recipe = Json::parse(preprocessing.to_json());

  const fovea::scan::ScanInputs inputs =
      fovea::scan::collect_inputs(args.paths, args.manifest, args.shard_index, args.shard_count);
  Json lineage{{"model", identity},
               {"preprocessing", recipe},
               {"topk", args.topk},
               {"format", args.format},
               {"manifest_sha256", inputs.manifest_sha256},
               {"shard", {{"index", args.shard_index}, {"count", args.shard_count}}}};
  if (args.resume) {
    if (const auto done = fovea::scan::finished_shard(args.out, files, lineage)) {
      std::fprintf(stderr, "fovea_scan: %s/%s: this shard is already complete (%lld failed)\n",
                   args.out.c_str(), files.success.c_str(),
                   static_cast<long long>(done->at("failed").get<int64_t>()));
      return done->at("failed").get<int64_t>() > 0 ? 1 : 0;
    }
  }

  // Records are identified by path in the journals; the header says what made them.
  const Json header{{"fovea_scan_journal", 1},
                    {"model_sha256", model->sha256},
                    {"preprocessing", recipe},
                    {"topk", args.topk}};
  std::filesystem::create_directories(args.out);
  fovea::scan::ScanJournal journal(args.out, files.records, header);
  fovea::scan::ReviewQueue review(args.review, parse_uncertainty(args.uncertainty));
  std::vector<std::string> todo = inputs.shard;
  std::vector<std::string> consumed;
  int64_t resumed = 0;
  if (args.resume) {
    const std::unordered_set<std::string> wanted(inputs.shard.begin(), inputs.shard.end());
    fovea::scan::ResumedRecords found =
        fovea::scan::read_journals(args.out, files.records, journal.path(), header, wanted);
    for (const std::string& why : found.ignored)
      std::fprintf(stderr, "fovea_scan: --resume ignores %s\n", why.c_str());
    std::unordered_set<std::string> done;
    for (const Json& record : found.records) {
      review.offer(record, journal.append(record));
      done.insert(record["path"].get<std::string>());
    }
    resumed = static_cast<int64_t>(found.records.size());
    consumed = std::move(found.journals);
    todo.erase(std::remove_if(todo.begin(), todo.end(),
                              [&](const std::string& p) { return done.count(p) != 0; }),
               todo.end());
  }
  std::fprintf(stderr,
               "fovea_scan: shard %lld of %lld: %zu of %zu images%s; model %s (%s, %d threads), "
               "batches of %lld\n",
               static_cast<long long>(args.shard_index), static_cast<long long>(args.shard_count),
               inputs.shard.size(), inputs.all.size(),
               resumed > 0 ? (", " + std::to_string(resumed) + " kept from before").c_str() : "",
               args.model.c_str(), model->architecture.c_str(), fovea::num_threads(),
               static_cast<long long>(args.batch));

  std::vector<Json> errors;
  const auto scan_start = Clock::now();
  {
    fovea::DecodeLimits limits;
    limits.max_pixels = args.max_image_pixels;
    fovea::scan::DecodePipeline pipeline(todo, preprocessing, limits,
                                         static_cast<int>(args.decode_threads),
                                         static_cast<int>(args.decode_nice),
                                         static_cast<size_t>(2 * args.batch + args.decode_threads));
    Classifier classifier(*model, args, identity, recipe, journal, review, errors);
    fovea::examples::ProgressLine progress("fovea_scan", static_cast<int64_t>(todo.size()));
    // Images wait here by shape (a recipe without a crop gives several) until a batch is full.
    std::map<std::string, std::vector<fovea::scan::DecodedImage>> waiting;
    size_t waiting_images = 0;
    int64_t handled = 0;
    while (auto image = pipeline.next()) {
      ++handled;
      if (!image->error.empty()) {
        errors.push_back(fovea::scan::error_record(image->path, image->sha256, image->error));
      } else {
        auto& group = waiting[image->tensor.shape().str()];
        group.push_back(std::move(*image));
        ++waiting_images;
        if (static_cast<int64_t>(group.size()) == args.batch) {
          waiting_images -= group.size();
          classifier.run(group);
        } else if (waiting_images > static_cast<size_t>(4 * args.batch)) {
          // Many sizes, none filling a batch: run the largest group rather than hold them all.
          auto largest = std::max_element(waiting.begin(), waiting.end(), [](auto& a, auto& b) {
            return a.second.size() < b.second.size();
          });
          waiting_images -= largest->second.size();
          classifier.run(largest->second);
        }
      }
      progress.update(handled - static_cast<int64_t>(waiting_images));
    }
    for (auto& [shape, group] : waiting)
      classifier.run(group);
    progress.update(handled);
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  // The rate counts only the images this run decoded and classified, over the time it took,
  // without loading the model: the figure to compare with classify --bench.
  const double scan_seconds = std::chrono::duration<double>(Clock::now() - scan_start).count();
  const int64_t classified = static_cast<int64_t>(journal.size());
  std::vector<std::string> command_line(argv, argv + argc);
  lineage["fovea_version"] = std::to_string(FOVEA_VERSION_MAJOR) + "." +
                             std::to_string(FOVEA_VERSION_MINOR) + "." +
                             std::to_string(FOVEA_VERSION_PATCH);
  lineage["command_line"] = command_line;
  lineage["images"] = inputs.shard.size();
  lineage["inputs_all_shards"] = inputs.all.size();
  lineage["classified"] = classified;
  lineage["failed"] = errors.size();
  lineage["kept_from_before"] = resumed;
  lineage["started"] = started_utc;
  lineage["finished"] = utc_now();
  lineage["seconds"] = seconds;
  lineage["images_per_second"] =
      scan_seconds > 0 ? static_cast<double>(classified - resumed) / scan_seconds : 0.0;
  fovea::scan::commit_shard(args.out, files, journal, errors, review, args.topk,
                            args.review_url_prefix, model->num_classes, *model, lineage);
  consumed.push_back(journal.path());
  for (const std::string& j : consumed)
    std::remove(j.c_str());

  std::fprintf(stderr, "fovea_scan: %lld classified, %zu failed in %.1f s (%.1f images/s): %s/%s\n",
               static_cast<long long>(classified), errors.size(), seconds,
               lineage["images_per_second"].get<double>(), args.out.c_str(), files.records.c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "fovea_scan: the failures and why are in %s/%s\n", args.out.c_str(),
                 files.errors.c_str());
  }
  return errors.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return scan(args, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fovea_scan: " << e.what() << "\n";
    return 1;
  }
}
