// The GPU bench driver: registers the conv-vs-cuDNN (FP16 and INT8) and linear-vs-cuBLAS cases,
// runs them, and prints a short summary table. Without a device it says so and exits 0, like the
// CUDA tests (1 under FOVEA_REQUIRE_GPU). Built without cuDNN, only linear vs cuBLAS runs.
//
// Environment: FOVEA_BENCH_BATCH (default 32), FOVEA_BENCH_ITERATIONS (alternating rounds per
// case, each 20 back-to-back calls of ours and of the peer after an L2 flush: gpu_bench_util.hpp;
// default 7), FOVEA_BENCH_SHAPES (directory of *_layers.txt, default the source tree's).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "fovea/cuda/runtime.hpp"
#include "gpu_bench_util.hpp"

namespace fovea::bench {

void register_conv_benchmarks(const std::string& shapes_dir, int64_t batch, int iterations);
void register_qconv_benchmarks(const std::string& shapes_dir, int64_t batch, int iterations);
void register_linear_benchmarks(int64_t batch, int iterations);

std::vector<SummaryRow>& summary_rows() {
  static std::vector<SummaryRow> rows;
  return rows;
}

// One line per case, then the geometric mean of the speed ratio per model. A row the provider
// could not run (theirs_s == 0: no cuDNN INT8 config for the shape) shows our time alone.
void print_summary(const char* provider_column) {
  std::printf("\n%-48s %-56s %9s %9s %7s %7s %6s\n", "layer", "our kernel", "ours_us",
              provider_column, "TFLOP/s", "GB/s", "ratio");
  std::map<std::string, std::pair<double, int>> by_model;
  int mismatches = 0;
  for (const SummaryRow& r : summary_rows()) {
    if (!r.mismatch.empty()) {
      std::printf("%-48s FAILED: %s\n", r.name.c_str(), r.mismatch.c_str());
      ++mismatches;
      continue;
    }
    if (r.theirs_s <= 0) {
      std::printf("%-48s %-56s %9.1f %9s %7.1f %7.0f %6s\n", r.name.c_str(), r.kernel.c_str(),
                  r.ours_s * 1e6, "-", r.flops / r.ours_s * 1e-12, r.bytes / r.ours_s * 1e-9, "-");
      continue;
    }
    const double ratio = r.theirs_s / r.ours_s;
    std::printf("%-48s %-56s %9.1f %9.1f %7.1f %7.0f %6.2f\n", r.name.c_str(), r.kernel.c_str(),
                r.ours_s * 1e6, r.theirs_s * 1e6, r.flops / r.ours_s * 1e-12,
                r.bytes / r.ours_s * 1e-9, ratio);
    auto& [log_sum, count] = by_model[r.name.substr(0, r.name.find('/'))];
    log_sum += std::log(ratio);
    ++count;
  }
  std::printf(
      "\nspeed ratio (provider time / our time; > 1 means we are faster), geometric mean:\n");
  for (const auto& [model, acc] : by_model) {
    std::printf("  %-20s %6.3f over %d shapes\n", model.c_str(), std::exp(acc.first / acc.second),
                acc.second);
  }
  if (mismatches > 0)
    std::printf("%d cases failed (wrong output or a failed call) and were not timed\n", mismatches);
}

}  // namespace fovea::bench

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!fovea::cuda::device_available()) {
    // Under FOVEA_REQUIRE_GPU (bench/gpu/first_contact.sh) a missing device fails the run.
    const char* required = std::getenv("FOVEA_REQUIRE_GPU");
    const bool fail = required != nullptr && *required != '\0' && std::string(required) != "0";
    std::printf("no CUDA device: %s (%s)\n", fail ? "FAILED, FOVEA_REQUIRE_GPU is set" : "skipped",
                fovea::cuda::device_unavailable_reason().c_str());
    return fail ? 1 : 0;
  }
  std::printf("%s\n", fovea::cuda::device_description(0).c_str());
  const char* shapes = std::getenv("FOVEA_BENCH_SHAPES");
  const int64_t batch = std::max<int64_t>(1, env_int("FOVEA_BENCH_BATCH", 32));
  const int iterations =
      static_cast<int>(std::max<int64_t>(1, env_int("FOVEA_BENCH_ITERATIONS", 7)));
  const char* shapes_dir = shapes != nullptr ? shapes : FOVEA_BENCH_SHAPES_DIR;
#ifdef FOVEA_BENCH_HAVE_CUDNN
  fovea::bench::register_conv_benchmarks(shapes_dir, batch, iterations);
  fovea::bench::register_qconv_benchmarks(shapes_dir, batch, iterations);
#else
  (void)shapes_dir;
  std::printf("built without cuDNN: the cuDNN comparison is skipped (linear vs cuBLAS only)\n");
#endif
  fovea::bench::register_linear_benchmarks(batch, iterations);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fovea::bench::print_summary("ref_us");
  // A disagreement with cuDNN or cuBLAS is a failure of the run, not just a missing number.
  for (const auto& row : fovea::bench::summary_rows()) {
    if (!row.mismatch.empty()) return 1;
  }
  return 0;
}
