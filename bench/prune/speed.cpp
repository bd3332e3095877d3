// A structured MAC cut against the dense model, both prepared for inference, timed in turns in
// one process (so both see the same machine load) at batch 1 and 8.
//
//   speed WEIGHTS|ZOO_NAME THREADS ROUNDS [KEEP_MACS] [ROUND_TO]
//
// A zoo name (resnet56_cifar) gets random weights: speed does not depend on their values.
// The pruned model keeps at most KEEP_MACS (default 0.5) of the MACs, l1 per group, widths
// rounded to multiples of ROUND_TO (default 8).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fovea/fovea.hpp"
#include "fovea/prune/target.hpp"
#include "latency.hpp"

using namespace fovea;

namespace {

std::unique_ptr<nn::Module> open(const std::string& spec, std::string& architecture) {
  if (std::filesystem::exists(spec)) {
    LoadedModel loaded = load_model(spec, LoadFor::training);
    architecture = loaded.architecture;
    return std::move(loaded.model);
  }
  architecture = spec;
  ModelOptions options;
  if (spec.find("_cifar") != std::string::npos) options.num_classes = 10;
  auto model = build_model(spec, options);
  init_weights(*model, 1);
  return model;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: speed WEIGHTS|ZOO_NAME THREADS ROUNDS [KEEP_MACS] [ROUND_TO]\n");
    return 2;
  }
  try {
    if (std::atoi(argv[2]) > 0) set_num_threads(std::atoi(argv[2]));
    const int64_t rounds = std::atoll(argv[3]);
    const double keep = argc > 4 ? std::atof(argv[4]) : 0.5;
    std::string architecture;
    auto dense = open(argv[1], architecture);
    auto pruned = open(argv[1], architecture);
    const int64_t size = architecture.find("_cifar") != std::string::npos ? 32 : 224;
    const Shape input{1, 3, size, size};
    prune::PruneOptions options;
    options.multiple = argc > 5 ? std::atoll(argv[5]) : 8;
    const prune::PruneReport report = prune::prune_to_macs(*pruned, options, input, keep);
    prepare_for_inference(*dense);
    prepare_for_inference(*pruned);
    std::printf(
        "%s: %.4g -> %.4g GMACs (%.2fx fewer, ratio %.3f, multiple %lld), %d threads, "
        "%lld rounds\n",
        architecture.c_str(), double(report.before.macs) / 1e9, double(report.after.macs) / 1e9,
        double(report.before.macs) / double(report.after.macs), report.ratio,
        static_cast<long long>(options.multiple), num_threads(), static_cast<long long>(rounds));
    for (int64_t batch : {1, 8}) {
      const Shape shape{batch, 3, size, size};
      examples::LatencyProbe a(*dense, shape), b(*pruned, shape);
      const std::vector<double> ms = examples::alternating_medians({&a, &b}, rounds);
      std::printf("batch %lld: dense %.2f ms, pruned %.2f ms, %.2fx faster\n",
                  static_cast<long long>(batch), ms[0], ms[1], ms[0] / ms[1]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "speed: %s\n", e.what());
    return 1;
  }
  return 0;
}
