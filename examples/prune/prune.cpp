// prune: structured channel pruning, or unstructured and 2:4 sparsity, of a weights file
// (docs/pruning.md), with optional fine-tuning on CIFAR-10, and a before/after report of MACs,
// parameters, file size, latency and accuracy.
//
//   prune --weights r50.safetensors --method l1 --target-macs 0.5 --out r50_half.safetensors
//   prune --weights r20.safetensors --method taylor --target-macs 0.5 --round 4
//         --data ../shared/data/cifar10 --epochs 2 --threads 1 --out r20_half.safetensors
//   prune --weights r50.safetensors --method magnitude --sparsity 0.9 --out r50_sparse.safetensors
//
// The pruned file names its widths in its metadata, so classify, accuracy, quantize and
// load_model take it like any other weights file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "calibration_photos.hpp"
#include "command_line.hpp"
#include "fovea/fovea.hpp"
#include "fovea/image/preprocess.hpp"
#include "fovea/prune/reestimate.hpp"
#include "fovea/prune/sparse/sparse_io.hpp"
#include "fovea/prune/target.hpp"
#include "fovea/prune/widths.hpp"
#include "fovea/quant/calibrate.hpp"
#include "latency.hpp"
#include "prune_data.hpp"
#include "prune_report.hpp"
#include "prune_sparse.hpp"

namespace {

using namespace fovea;

struct PruneArgs {
  std::string weights, model, method, out, data, cache = "cifar10-cache", calib, teacher;
  double target_macs = -1, sparsity = -1;  // exactly one is given
  bool global = false, distill = false;
  double distill_temperature = 4, distill_weight = 0.9;
  int64_t multiple = 8;
  int64_t epochs = 0, batch = 128, taylor_batches = 8, train_images = 0, patience = 0;
  int64_t calib_images = 1024;
  int64_t steps = 1;
  double lr = 0.01;
  int64_t image_size = 0;  // 0: 32 for CIFAR models and LeNet-5, else 224
  int64_t bench = 5, threads = 0;
  uint64_t seed = 1;
};

bool sparse_method(const std::string& method) {
  return method == "magnitude" || method == "2:4";
}

bool known_method(const std::string& method) {
  for (const char* m : {"l1", "l2", "bn", "taylor", "magnitude", "2:4"})
    if (method == m) return true;
  return false;
}

std::string usage_text() {
  return "usage: prune --weights FILE [--model NAME] --method l1|l2|bn|taylor|magnitude|2:4\n"
         "             (--target-macs F | --sparsity S) [--global] [--round M]\n"
         "             [--steps K] --out FILE\n"
         "             [--data DIR [--epochs N] [--batch B] [--lr LR] [--cache DIR]\n"
         "             [--train-images N] [--patience P] [--taylor-batches N]\n"
         "             [--distill | --teacher FILE] [--distill-temperature T]\n"
         "             [--distill-weight A]]\n"
         "             [--calib DIR] [--calib-images N] [--image-size N] [--bench REPEATS]\n"
         "             [--threads T] [--seed S]\n"
         "l1, l2, bn and taylor remove channels: --target-macs F keeps at most F of the dense\n"
         "model's MACs (0.5: half); --sparsity S removes S of every group's channels (with\n"
         "--global: of all channels, least important first). Widths are rounded to multiples\n"
         "of --round (default 8). --steps K reaches --target-macs in K prunings, the MACs\n"
         "falling by the same factor each time, each followed by re-estimation and --epochs\n"
         "of fine-tuning (iterative pruning; default 1).\n"
         "magnitude zeroes the smallest weights: --sparsity S of each conv and linear weight\n"
         "(with --global: S of them all); 2:4 keeps 2 of every 4 input channels. Both leave\n"
         "the first conv and the classifier dense.\n"
         "--data is the CIFAR-10 JPEG folder (or its archives, unpacked into --cache): test\n"
         "accuracy before and after, --epochs N of fine-tuning (default 0) on all training\n"
         "images or --train-images of them (with --patience P: 10 % held out, stop after P\n"
         "epochs without progress), and the gradients --method taylor needs. --distill\n"
         "fine-tunes on the unpruned model's softened logits as well as the labels\n"
         "(knowledge distillation; --teacher FILE: another model's), at temperature T\n"
         "(default 4) with weight A (default 0.9) on the soft term.\n"
         "After pruning, batch norms re-estimate their statistics on --calib-images (default\n"
         "1024; 0: off) training images of --data, or photos of --calib DIR read with the\n"
         "file's preprocessing. --bench times REPEATS forwards at batch 1 and 8 (default 5; 0\n"
         "skips).\n";
}

PruneArgs parse_args(int argc, char** argv) {
  PruneArgs args;
  fovea::examples::CommandLine options("prune", usage_text());
  options.text("--weights", args.weights);
  options.text("--model", args.model);
  options.text("--method", args.method);
  options.real("--target-macs", args.target_macs, 0, 1);
  options.real("--sparsity", args.sparsity, 0, 1);
  options.toggle("--global", args.global);
  options.whole("--round", args.multiple, 1, 4096);
  options.whole("--steps", args.steps, 1, 100);
  options.text("--out", args.out);
  options.text("--data", args.data);
  options.whole("--epochs", args.epochs, 0);
  options.whole("--batch", args.batch, 2);
  options.real("--lr", args.lr, 0);
  options.text("--cache", args.cache);
  options.whole("--train-images", args.train_images, 2);
  options.whole("--patience", args.patience, 1);
  options.text("--calib", args.calib);
  options.whole("--calib-images", args.calib_images, 0);
  options.whole("--taylor-batches", args.taylor_batches, 1);
  options.toggle("--distill", args.distill);
  options.text("--teacher", args.teacher);
  options.real("--distill-temperature", args.distill_temperature, 1e-3, 1e3);
  options.real("--distill-weight", args.distill_weight, 0, 1);
  options.whole("--image-size", args.image_size, 1, 8192);
  options.whole("--bench", args.bench, 0);
  options.threads("--threads", args.threads);
  options.whole("--seed", args.seed);
  options.parse(argc, argv);
  if (args.weights.empty()) options.fail("--weights is required");
  if (args.out.empty()) options.fail("--out is required");
  if (args.method.empty()) options.fail("--method is required");
  if (!known_method(args.method))
    options.fail("--method must be l1, l2, bn, taylor, magnitude or 2:4, got '" + args.method +
                 "'");
  if (args.method == "2:4") {
    if (args.target_macs >= 0 || args.sparsity >= 0)
      options.fail(
          "--method 2:4 prunes half of every group of 4; it takes no --target-macs or "
          "--sparsity");
  } else if (args.method == "magnitude") {
    if (args.target_macs >= 0 || args.sparsity < 0)
      options.fail(
          "--method magnitude takes --sparsity S (the fraction of weights zeroed), not "
          "--target-macs");
  } else if ((args.target_macs >= 0) == (args.sparsity >= 0)) {
    options.fail("give exactly one of --target-macs and --sparsity");
  }
  if (args.steps > 1 && args.target_macs < 0)
    options.fail("--steps prunes to a MAC target in several steps: it needs --target-macs");
  if (args.target_macs == 0) options.fail("--target-macs wants a fraction in (0, 1], got 0");
  if (args.sparsity == 1) options.fail("--sparsity wants a fraction in [0, 1), got 1");
  if (args.epochs > 0 && args.data.empty()) options.fail("--epochs needs --data to fine-tune on");
  if (!args.calib.empty() && !std::filesystem::is_directory(args.calib))
    options.fail("--calib wants a folder of photos, got '" + args.calib + "'");
  if ((args.train_images > 0 || args.patience > 0) && args.epochs == 0)
    options.fail("--train-images and --patience shape fine-tuning: they need --epochs");
  if ((args.distill || !args.teacher.empty()) && args.epochs == 0)
    options.fail("--distill and --teacher shape fine-tuning: they need --epochs");
  if (args.distill && !args.teacher.empty())
    options.fail("give --distill (the unpruned model teaches) or --teacher FILE, not both");
  if (args.method == "taylor" && args.data.empty())
    options.fail("--method taylor needs --data: its scores come from gradients on training images");
  return args;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The single-image input shape the MACs are counted on.
Shape model_input(const std::string& architecture, int64_t image_size) {
  const bool small = architecture == "lenet5" || ends_with(architecture, "_cifar");
  const int64_t size = image_size > 0 ? image_size : small ? 32 : 224;
  return Shape{1, architecture == "lenet5" ? 1 : 3, size, size};
}

// Median latency at batch 1 and 8 of the two files' prepared models, timed in turns.
void measure_latency(const PruneArgs& args, const Shape& input, examples::ModelFigures& before,
                     examples::ModelFigures& after) {
  std::cout << "timing batch 1 and 8, " << args.bench << " repeats each, " << num_threads()
            << " threads" << std::endl;
  auto dense = load_model(args.weights, args.model).model;  // prepared for inference
  auto pruned = load_model(args.out).model;
  for (int64_t batch : {1, 8}) {
    const Shape shape{batch, input[1], input[2], input[3]};
    examples::LatencyProbe a(*dense, shape), b(*pruned, shape);
    const std::vector<double> ms = examples::alternating_medians({&a, &b}, args.bench);
    (batch == 1 ? before.latency_b1_ms : before.latency_b8_ms) = ms[0];
    (batch == 1 ? after.latency_b1_ms : after.latency_b8_ms) = ms[1];
  }
}

// `teacher`: the model to distil from, or nullptr.
examples::FineTune fine_tune_options(const PruneArgs& args, nn::Module* teacher) {
  examples::FineTune f;
  f.epochs = args.epochs, f.batch = args.batch, f.lr = args.lr, f.seed = args.seed;
  f.train_images = args.train_images, f.patience = args.patience;
  f.teacher = teacher;
  f.distillation.temperature = args.distill_temperature;
  f.distillation.weight = args.distill_weight;
  return f;
}

// The teacher of --distill (the unpruned model) or --teacher FILE, prepared for inference;
// nullptr without either.
std::unique_ptr<nn::Module> load_teacher(const PruneArgs& args) {
  if (!args.distill && args.teacher.empty()) return nullptr;
  const std::string file = args.distill ? args.weights : args.teacher;
  LoadedModel teacher = load_model(file, args.distill ? args.model : "");
  std::printf("distilling from %s (%s), temperature %g, soft weight %g\n", file.c_str(),
              teacher.architecture.c_str(), args.distill_temperature, args.distill_weight);
  std::fflush(stdout);
  return std::move(teacher.model);
}

// Removes channels (l1, l2, bn, taylor): --sparsity of them, or as many as leave at most
// `keep_macs` of the model's MACs.
void prune_channels(nn::Module& model, const PruneArgs& args, const std::string& architecture,
                    const Shape& input, const examples::Cifar10* data, double keep_macs) {
  prune::PruneOptions options;
  options.criterion =
      args.method == "bn" ? prune::Criterion::bn_gamma : prune::criterion_from_name(args.method);
  options.scope = args.global ? prune::Scope::global : prune::Scope::per_group;
  options.multiple = args.multiple;
  if (options.criterion == prune::Criterion::taylor)
    examples::taylor_gradients(model, *data, args.taylor_batches, args.batch, args.seed);
  options.ratio = std::max(args.sparsity, 0.0);  // with --target-macs, the search sets it
  const prune::PruneReport report = args.target_macs > 0
                                        ? prune::prune_to_macs(model, options, input, keep_macs)
                                        : prune::prune_model(model, options, input);
  int64_t narrowed = 0;
  for (const prune::GroupWidth& g : report.groups)
    narrowed += g.after < g.before;
  std::printf(
      "pruned %s by %s (%s, widths multiple of %lld): ratio %.3f, %lld of %zu groups "
      "narrowed\n",
      architecture.c_str(), prune::criterion_name(options.criterion),
      args.global ? "global" : "per group", static_cast<long long>(args.multiple), report.ratio,
      static_cast<long long>(narrowed), report.groups.size());
  std::fflush(stdout);
}

// How a channel-pruned file was made, for its "pruning" metadata.
std::string pruning_metadata(const PruneArgs& args, double macs_kept) {
  char text[256];
  std::snprintf(text, sizeof text,
                "{\"criterion\":\"%s\",\"scope\":\"%s\",\"macs_kept\":%.4f,\"multiple\":%lld,"
                "\"steps\":%lld,\"epochs_per_step\":%lld,\"distilled\":%s}",
                args.method.c_str(), args.global ? "global" : "per_group", macs_kept,
                static_cast<long long>(args.multiple), static_cast<long long>(args.steps),
                static_cast<long long>(args.epochs),
                args.distill || !args.teacher.empty() ? "true" : "false");
  return text;
}

// The batches batch norms re-estimate on: --calib-images training images of --data (a seeded
// subset, no augmentation), or photos of --calib read as the weights file says. Empty when
// neither is given or --calib-images is 0.
std::vector<Tensor<float>> reestimation_batches(const PruneArgs& args, const LoadedModel& loaded,
                                                const examples::Cifar10* data) {
  std::vector<Tensor<float>> batches;
  if (args.calib_images == 0) return batches;
  if (!args.calib.empty()) {
    const Preprocessing recipe =
        examples::calibration_recipe(loaded.metadata, args.weights, "prune");
    std::vector<Tensor<float>> images;
    for (const std::string& file : examples::calibration_files(args.calib, args.calib_images)) {
      try {
        images.push_back(preprocess(read_image(file), recipe));
      } catch (const Error& e) {
        std::cerr << "prune: skipping " << file << ": " << e.what() << "\n";
      }
    }
    for (size_t start = 0; start + 1 < images.size(); start += 32)
      batches.push_back(quant::stack_images(images, start, std::min(images.size(), start + 32)));
  } else if (data != nullptr) {
    std::vector<int64_t> ids = data::all_indices(data->train.size());
    Rng rng(args.seed);
    data::shuffle(ids, rng);
    ids.resize(size_t(std::min<int64_t>(args.calib_images, int64_t(ids.size()))));
    for (size_t start = 0; start + 1 < ids.size(); start += size_t(args.batch)) {
      const std::vector<int64_t> part(
          ids.begin() + long(start),
          ids.begin() + long(std::min(ids.size(), start + size_t(args.batch))));
      batches.push_back(
          data::make_batch(data->train, part, {}, nullptr, data->recipe.normalization, 0).images);
    }
  }
  return batches;
}

// Batch-norm re-estimation after pruning (prune/reestimate.hpp), when there are images for it.
// The images are read only here, where they are used (not for gradual sparsity).
void reestimate(nn::Module& model, const PruneArgs& args, const LoadedModel& loaded,
                const examples::Cifar10* data) {
  const std::vector<Tensor<float>> batches = reestimation_batches(args, loaded, data);
  if (batches.empty()) return;
  int64_t images = 0;
  for (const Tensor<float>& b : batches)
    images += b.dim(0);
  const int64_t norms = prune::reestimate_batchnorm(model, batches);
  std::printf("re-estimated the statistics of %lld batch norms on %lld images\n",
              static_cast<long long>(norms), static_cast<long long>(images));
  std::fflush(stdout);
}

int run_prune(const PruneArgs& args) {
  LoadedModel loaded = load_model(args.weights, args.model, LoadFor::training);
  nn::Module& model = *loaded.model;
  const Shape input = model_input(loaded.architecture, args.image_size);
  std::optional<examples::Cifar10> data;
  if (!args.data.empty()) {
    data = examples::load_cifar10(args.data, args.cache);
    FOVEA_CHECK(input == Shape({1, data->test.channels, data->test.height, data->test.width}),
                "--data holds ", data->test.channels, "x", data->test.height, "x", data->test.width,
                " images, but ", loaded.architecture, " takes ", input);
  }
  const std::unique_ptr<nn::Module> teacher = load_teacher(args);
  examples::ModelFigures before, after;
  const prune::ModelCost dense = prune::model_cost(model, input);
  before.macs = dense.macs, before.parameters = dense.parameters;
  if (data) before.top1 = examples::test_top1(model, *data);

  std::map<std::string, std::string> metadata = loaded.metadata;
  metadata["architecture"] = loaded.architecture;
  if (sparse_method(args.method)) {
    prune::sparse::SparsityMasks masks =
        examples::sparsify(model,
                           args.method == "2:4" ? prune::sparse::Pattern::two_four
                                                : prune::sparse::Pattern::unstructured,
                           args.sparsity, args.global, data ? &*data : nullptr,
                           fine_tune_options(args, teacher.get()));
    if (!data || args.epochs == 0) reestimate(model, args, loaded, data ? &*data : nullptr);
    std::printf("sparsified %s by %s: %.1f %% of %zu weight tensors' values are zero\n",
                loaded.architecture.c_str(), args.method.c_str(), 100 * masks.sparsity(),
                masks.entries().size());
    const examples::ModelFigures cost = examples::nonzero_cost(model, input);
    after.macs = cost.macs, after.parameters = cost.parameters;
    prune::sparse::save_sparse_model(model, args.out, masks, metadata);
  } else {
    // Step i of K keeps target^(i/K) of the dense MACs, so each removes the same share.
    for (int64_t step = 1; step <= args.steps; ++step) {
      if (args.steps > 1)
        std::printf("step %lld of %lld\n", static_cast<long long>(step),
                    static_cast<long long>(args.steps));
      const double goal = std::pow(args.target_macs, double(step) / double(args.steps));
      const double current = double(prune::model_cost(model, input).macs);
      prune_channels(model, args, loaded.architecture, input, data ? &*data : nullptr,
                     std::min(1.0, goal * double(dense.macs) / current));
      reestimate(model, args, loaded, data ? &*data : nullptr);
      if (data && args.epochs > 0) {
        std::printf("test top-1 pruned, before fine-tuning: %.2f %%\n",
                    100 * examples::test_top1(model, *data));
        std::fflush(stdout);
        examples::fine_tune(model, *data, fine_tune_options(args, teacher.get()));
      }
    }
    const prune::ModelCost cost = prune::model_cost(model, input);
    after.macs = cost.macs, after.parameters = cost.parameters;
    metadata["pruning"] = pruning_metadata(args, double(cost.macs) / double(dense.macs));
    prune::save_pruned_model(model, args.out, metadata);
  }
  std::cout << "wrote " << args.out << "\n";
  if (data) after.top1 = examples::test_top1(model, *data);

  before.file_bytes = static_cast<int64_t>(std::filesystem::file_size(args.weights));
  after.file_bytes = static_cast<int64_t>(std::filesystem::file_size(args.out));
  if (args.bench > 0) measure_latency(args, input, before, after);
  examples::print_comparison(before, after, sparse_method(args.method));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const PruneArgs args = parse_args(argc, argv);
  try {
    if (args.threads > 0) set_num_threads(static_cast<int>(args.threads));
    return run_prune(args);
  } catch (const std::exception& e) {
    std::cerr << "prune: " << e.what() << "\n";
    return 1;
  }
}
