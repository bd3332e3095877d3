// resnet50_infer: classifies photos with the ImageNet-pretrained ResNet-50 (or any classifier
// weights file) and prints each photo's top-K classes. See docs/resnet50_infer.md.
//
//   resnet50_infer photo.jpg
//   resnet50_infer --weights r50.safetensors --topk 3 --json a.jpg b.png
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "fovea/fovea.hpp"
#include "fovea/image/preprocess.hpp"
#include "imagenet_classes.hpp"
#include "model_device.hpp"
#include "top_k.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string weights;  // empty: the default cache location
  int64_t topk = 5;
  int64_t threads = 0;  // 0: fovea's default
  int64_t resize = -1;  // -1: the weights file's recipe decides
  int64_t crop = -1;
  bool json = false;
  std::string device = "cpu", dtype = "f16";
  std::vector<std::string> images;
};

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options(
      "resnet50_infer",
      "usage: resnet50_infer [--weights FILE] [--topk K] [--threads N] [--resize N]\n"
      "                      [--crop N] [--json] [--device cpu|cuda] [--dtype T]\n"
      "                      IMAGE...\n"
      "  --weights FILE  classifier weights (default "
      "${FOVEA_CACHE:-$HOME/.cache/fovea}/resnet50_v1.safetensors,\n"
      "                  made by weights_tools/fetch_resnet50.sh)\n"
      "  --topk K        classes to print per image (default 5)\n"
      "  --threads N     CPU threads (default: all cores)\n"
      "  --resize N      shorter side before the crop, 0 = no resize (default: the "
      "file's recipe)\n"
      "  --crop N        centre crop side, 0 = no crop (default: the file's recipe)\n"
      "  --json          one JSON object per image and line on stdout\n"
      "  --device D      cpu (default) or cuda (the GPU, if this build has CUDA)\n"
      "  --dtype T       element type on the GPU: f16 (default), bf16, f32 (TF32)\n");
  options.text("--weights", args.weights);
  options.whole("--topk", args.topk, 1);
  options.threads("--threads", args.threads);
  options.whole("--resize", args.resize, 0);
  options.whole("--crop", args.crop, 0);
  options.text("--device", args.device);
  options.text("--dtype", args.dtype);
  options.toggle("--json", args.json);
  options.positional(args.images);
  options.parse(argc, argv);
  if (args.images.empty()) options.fail("no images given");
  return args;
}

std::string default_weights_path() {
  const char* cache = std::getenv("FOVEA_CACHE");
  const char* home = std::getenv("HOME");
  const std::string dir = (cache != nullptr && *cache != '\0') ? cache
                          : home != nullptr                    ? std::string(home) + "/.cache/fovea"
                                                               : ".cache/fovea";
  return dir + "/resnet50_v1.safetensors";
}

bool file_exists(const std::string& path) {
  return std::ifstream(path).good();
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string json_string(const std::string& s) {
  std::string out;
  fovea::json::detail::dump_string(out, s);
  return out;
}

// The classes' names when the model has ImageNet's 1000 outputs; otherwise "class <i>".
std::string label_of(int64_t index, int64_t num_classes) {
  const fovea::examples::ClassList& imagenet = fovea::examples::imagenet_classes();
  if (num_classes == imagenet.size()) return imagenet.labels[static_cast<size_t>(index)];
  return "class " + std::to_string(index);
}

void print_result(const Args& args, const std::string& file, const fovea::Tensor<float>& probs,
                  double ms) {
  const int64_t classes = probs.dim(1);
  const std::vector<int64_t> best = fovea::examples::top_k(probs, 0, args.topk);
  if (args.json) {
    std::string line = "{\"file\": " + json_string(file) + ", \"topk\": [";
    char number[64];
    for (size_t i = 0; i < best.size(); ++i) {
      std::snprintf(number, sizeof number, "%.6g", probs(0, best[i]));
      line += (i ? ", " : "") + std::string("{\"index\": ") + std::to_string(best[i]) +
              ", \"label\": " + json_string(label_of(best[i], classes)) +
              ", \"probability\": " + number + "}";
    }
    std::snprintf(number, sizeof number, "%.1f", ms);
    line += std::string("], \"ms\": ") + number + "}";
    std::printf("%s\n", line.c_str());
  } else {
    std::printf("%s  (%.1f ms)\n", file.c_str(), ms);
    for (const int64_t c : best) {
      std::printf("  %6.4f  %4lld  %s\n", probs(0, c), static_cast<long long>(c),
                  label_of(c, classes).c_str());
    }
  }
  std::fflush(stdout);
}

// Read errors already name the file; preprocessing ones (a resize past the pixel limit) don't.
void print_failure(const Args& args, const std::string& file, const std::string& message) {
  const bool names_file = message.compare(0, file.size(), file) == 0;
  std::cerr << "resnet50_infer: " << (names_file ? "" : file + ": ") << message << "\n";
  if (args.json) {
    std::printf("{\"file\": %s, \"error\": %s}\n", json_string(file).c_str(),
                json_string(message).c_str());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const std::string weights = args.weights.empty() ? default_weights_path() : args.weights;
  if (args.weights.empty() && !file_exists(weights)) {
    std::cerr << "resnet50_infer: no weights at " << weights << ".\n"
              << "Run weights_tools/fetch_resnet50.sh once: it downloads the ImageNet-pretrained "
                 "ResNet-50 and converts it to that file.\n"
              << "Or pass --weights FILE (set FOVEA_CACHE to move the default folder).\n";
    return 1;
  }
  fovea::Preprocessing recipe;
  std::unique_ptr<fovea::nn::Module> model;
  std::unique_ptr<fovea::examples::ModelOnDevice> runner;
  try {
    if (args.threads > 0) fovea::set_num_threads(static_cast<int>(args.threads));
    const auto load_start = Clock::now();
    fovea::LoadedModel loaded = fovea::load_model(weights);
    const auto recipe_it = loaded.metadata.find("preprocessing");
    if (recipe_it != loaded.metadata.end()) {
      recipe =
          fovea::Preprocessing::from_json(recipe_it->second, weights + " metadata 'preprocessing'");
    } else {
      std::cerr << "resnet50_infer: " << weights
                << " has no 'preprocessing' metadata; using torchvision's ImageNet recipe\n";
    }
    if (args.resize >= 0) recipe.resize = args.resize;
    if (args.crop >= 0) recipe.crop = args.crop;
    model = std::move(loaded.model);  // prepared for inference by load_model
    runner = std::make_unique<fovea::examples::ModelOnDevice>(
        *model, fovea::examples::parse_device(args.device),
        fovea::examples::parse_device_dtype(args.dtype));
    // Progress goes to stderr with --json, so that stdout holds only the JSON lines.
    std::fprintf(args.json ? stderr : stdout, "loaded %s from %s in %.1f ms (%d threads)\n",
                 loaded.architecture.c_str(), weights.c_str(), ms_since(load_start),
                 fovea::num_threads());
    std::fprintf(args.json ? stderr : stdout, "preprocessing %s\n", recipe.to_json().c_str());
  } catch (const fovea::Error& e) {
    std::cerr << "resnet50_infer: " << e.what() << "\n";
    return 1;
  }

  int failures = 0;
  for (const std::string& file : args.images) {
    try {
      const auto start = Clock::now();
      const fovea::Tensor<float> input = fovea::preprocess(fovea::read_image(file), recipe);
      const fovea::Tensor<float> probs = fovea::softmax(runner->forward(input), 1);
      print_result(args, file, probs, ms_since(start));
    } catch (const fovea::Error& e) {
      print_failure(args, file, e.what());
      ++failures;
    }
  }
  if (failures > 0) {
    std::cerr << "resnet50_infer: " << failures << " of " << args.images.size()
              << " images failed\n";
    return 1;
  }
  return 0;
}
