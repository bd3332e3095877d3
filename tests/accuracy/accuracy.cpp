// accuracy: top-1 and top-5 of a classifier weights file over a folder of labelled images.
//
//   accuracy --weights W --wnid-names DIR       files named nXXXXXXXX_*.JPEG; the WordNet id
//                                               is the class (ImageNet's 1000, as shipped with
//                                               resnet50_infer)
//   accuracy --weights W --labels FILE          "file, index" lines; files next to FILE
//   accuracy --weights W --class-folders DIR    DIR/<class>/<image>; the class index is the
//                                               folder's place in alphabetical order (CIFAR-10)
//
// Options: --resize N, --crop N (override the file's recipe; 0 = skip), --batch B (default 16),
// --threads T, --limit N (an evenly spaced subset of N images), --min-top1 P (exit 1 below P
// percent), --skip-if-missing (exit 77 when the weights or the images are absent).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "fovea/fovea.hpp"
#include "fovea/image/preprocess.hpp"
#include "image_files.hpp"
#include "imagenet_classes.hpp"
#include "top_k.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kSkipped = 77;  // CTest's SKIP_RETURN_CODE

struct Args {
  std::string weights, wnid_names, labels, class_folders;
  int64_t resize = -1, crop = -1;  // -1: the weights file's recipe
  int64_t batch = 16, threads = 0, limit = 0;
  double min_top1 = -1;
  bool skip_if_missing = false;
};

struct Sample {
  std::string path;
  int64_t label;
};

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options(
      "accuracy",
      "usage: accuracy --weights FILE (--wnid-names DIR | --labels FILE | "
      "--class-folders DIR)\n"
      "                [--resize N] [--crop N] [--batch B] [--threads T] [--limit N]\n"
      "                [--min-top1 PERCENT] [--skip-if-missing]\n");
  options.text("--weights", args.weights);
  options.text("--wnid-names", args.wnid_names);
  options.text("--labels", args.labels);
  options.text("--class-folders", args.class_folders);
  options.whole("--resize", args.resize, 0);
  options.whole("--crop", args.crop, 0);
  options.whole("--batch", args.batch, 1);
  options.whole("--threads", args.threads, 1);
  options.whole("--limit", args.limit, 1);
  options.real("--min-top1", args.min_top1, 0);
  options.toggle("--skip-if-missing", args.skip_if_missing);
  options.parse(argc, argv);
  if (args.weights.empty()) options.fail("--weights is required");
  const int sources = !args.wnid_names.empty() + !args.labels.empty() + !args.class_folders.empty();
  if (sources != 1) options.fail("give exactly one of --wnid-names, --labels and --class-folders");
  return args;
}

// nXXXXXXXX_anything.JPEG: the WordNet id before the first '_' names the class.
std::vector<Sample> samples_from_wnid_names(const fs::path& dir) {
  const fovea::examples::ClassList& classes = fovea::examples::imagenet_classes();
  std::vector<Sample> samples;
  for (const fs::path& file : fovea::examples::image_files_in(dir)) {
    const std::string name = file.filename().string();
    const std::string wnid = name.substr(0, name.find('_'));
    const auto it = classes.index_of_wnid.find(wnid);
    FOVEA_CHECK(it != classes.index_of_wnid.end(), file.string(), ": the name does not start with ",
                "one of the 1000 ImageNet WordNet ids (nXXXXXXXX_...)");
    samples.push_back({file.string(), it->second});
  }
  return samples;
}

// "file, index" per line; file names are relative to the list's folder.
std::vector<Sample> samples_from_labels_file(const fs::path& list) {
  std::ifstream in(list);
  FOVEA_CHECK(in, list.string(), ": cannot open the labels file");
  std::vector<Sample> samples;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const size_t comma = line.find(',');
    size_t used = 0;
    int64_t label = -1;
    try {
      if (comma != std::string::npos) label = std::stoll(line.substr(comma + 1), &used);
    } catch (const std::exception&) {
      label = -1;
    }
    FOVEA_CHECK(label >= 0, list.string(), " line ", line_number,
                ": expected \"file, class index\", got \"", line, "\"");
    samples.push_back({(list.parent_path() / line.substr(0, comma)).string(), label});
  }
  return samples;
}

// DIR/<class>/<image>, classes in alphabetical order of their folder names.
std::vector<Sample> samples_from_class_folders(const fs::path& dir) {
  std::vector<fs::path> classes;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) classes.push_back(entry.path());
  std::sort(classes.begin(), classes.end());
  FOVEA_CHECK(!classes.empty(), dir.string(), ": no class folders");
  std::vector<Sample> samples;
  for (size_t c = 0; c < classes.size(); ++c)
    for (const fs::path& file : fovea::examples::image_files_in(classes[c]))
      samples.push_back({file.string(), static_cast<int64_t>(c)});
  return samples;
}

struct Tally {
  int64_t images = 0, top1 = 0, top5 = 0, failed = 0;
};

// Runs one batch of equal-sized images and counts the hits.
void score_batch(fovea::nn::Module& model, const std::vector<fovea::Image>& images,
                 const std::vector<int64_t>& labels, const fovea::Preprocessing& recipe,
                 Tally& tally) {
  if (images.empty()) return;
  const fovea::Tensor<float> logits = model.forward(fovea::images_to_batch(images, recipe));
  for (int64_t n = 0; n < logits.dim(0); ++n) {
    const std::vector<int64_t> best = fovea::examples::top_k(logits, n, 5);
    const int64_t label = labels[static_cast<size_t>(n)];
    FOVEA_CHECK(label < logits.dim(1), "class index ", label, " is beyond the model's ",
                logits.dim(1), " classes");
    tally.top1 += best[0] == label;
    tally.top5 += std::find(best.begin(), best.end(), label) != best.end();
    ++tally.images;
  }
}

int run(const Args& args) {
  const std::string data = !args.wnid_names.empty() ? args.wnid_names
                           : !args.labels.empty()   ? args.labels
                                                    : args.class_folders;
  for (const std::string& path : {args.weights, data}) {
    if (!fs::exists(path)) {
      std::cerr << "accuracy: " << path << " does not exist"
                << (args.skip_if_missing ? " (skipped)" : "") << "\n";
      return args.skip_if_missing ? kSkipped : 1;
    }
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (args.threads > 0) fovea::set_num_threads(static_cast<int>(args.threads));
  fovea::LoadedModel loaded = fovea::load_model(args.weights);  // prepared for inference
  fovea::Preprocessing recipe;
  const auto recipe_it = loaded.metadata.find("preprocessing");
  if (recipe_it != loaded.metadata.end())
    recipe = fovea::Preprocessing::from_json(recipe_it->second);
  if (args.resize >= 0) recipe.resize = args.resize;
  if (args.crop >= 0) recipe.crop = args.crop;

  const std::vector<Sample> samples = fovea::examples::evenly_spaced(
      !args.wnid_names.empty() ? samples_from_wnid_names(args.wnid_names)
      : !args.labels.empty()   ? samples_from_labels_file(args.labels)
                               : samples_from_class_folders(args.class_folders),
      args.limit);
  FOVEA_CHECK(!samples.empty(), data, ": no images found");
  std::printf("%s (%s) on %zu images from %s; %d threads, batch %lld\npreprocessing %s\n",
              args.weights.c_str(), loaded.architecture.c_str(), samples.size(), data.c_str(),
              fovea::num_threads(), static_cast<long long>(args.batch), recipe.to_json().c_str());
  std::fflush(stdout);

  Tally tally;
  std::vector<fovea::Image> images;
  std::vector<int64_t> labels;
  for (const Sample& sample : samples) {
    fovea::Image image;
    try {
      image = fovea::resize_and_crop(fovea::read_image(sample.path), recipe);
    } catch (const fovea::Error& e) {
      std::cerr << "accuracy: " << e.what() << "\n";
      ++tally.failed;
      continue;
    }
    // A batch holds images of one size: without a crop, sizes can differ.
    const bool size_changes =
        !images.empty() && (image.height != images[0].height || image.width != images[0].width);
    if (size_changes || static_cast<int64_t>(images.size()) == args.batch) {
      score_batch(*loaded.model, images, labels, recipe, tally);
      images.clear();
      labels.clear();
    }
    images.push_back(std::move(image));
    labels.push_back(sample.label);
  }
  score_batch(*loaded.model, images, labels, recipe, tally);

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double top1 = 100.0 * static_cast<double>(tally.top1) / static_cast<double>(tally.images);
  const double top5 = 100.0 * static_cast<double>(tally.top5) / static_cast<double>(tally.images);
  std::printf("top-1 %.2f %% (%lld/%lld)  top-5 %.2f %% (%lld/%lld)  %.1f s (%.1f ms/image)\n",
              top1, static_cast<long long>(tally.top1), static_cast<long long>(tally.images), top5,
              static_cast<long long>(tally.top5), static_cast<long long>(tally.images), seconds,
              1000.0 * seconds / static_cast<double>(tally.images));
  if (tally.failed > 0) {
    std::printf("%lld images could not be read\n", static_cast<long long>(tally.failed));
    return 1;
  }
  if (args.min_top1 >= 0 && top1 < args.min_top1) {
    std::printf("FAIL: top-1 %.2f %% is below the required %.2f %%\n", top1, args.min_top1);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return run(args);
  } catch (const fovea::Error& e) {
    std::cerr << "accuracy: " << e.what() << "\n";
    return 1;
  } catch (const fs::filesystem_error& e) {
    std::cerr << "accuracy: " << e.what() << "\n";
    return 1;
  }
}
