// Per-layer conv2d timings on the CPU kernels for the shape lists in bench/shapes/, reported as
// GFLOP/s and as a percentage of this core's measured FMA peak (taken at startup with an
// FMA-throughput loop in the same SIMD width the kernels use).
//
//   bench_conv2d_cpu [--shapes resnet50_conv,mobilenet_v2_conv,efficientnet_b0_conv]
//                    [--threads 1] [--layout nchw|nhwc] [--cold-weights] [benchmark flags]
//
// --cold-weights cycles each layer through enough copies of its weights (64 MiB in all, more
// than the last-level cache) that every call reads them from memory, as inside a model, where
// the other layers' weights have evicted them. Deep layers of small images (ResNet-50's 7×7)
// are bound by that read, which the default warm-cache timing hides.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_flags.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"

namespace {

using fovea::cpu::Vec;

struct LayerShape {
  std::string name;
  int64_t n, c, h, w, k, r, s, stride, pad, dilation, groups;
};

std::vector<LayerShape> read_shapes(const std::string& path) {
  std::ifstream in(path);
  FOVEA_CHECK(in.good(), "cannot open shape list ", path);
  std::vector<LayerShape> shapes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    LayerShape s;
    fields >> s.name >> s.n >> s.c >> s.h >> s.w >> s.k >> s.r >> s.s >> s.stride >> s.pad >>
        s.dilation >> s.groups;
    FOVEA_CHECK(!fields.fail(), path, ": cannot parse line '", line, "'");
    shapes.push_back(s);
  }
  return shapes;
}

// GFLOP/s of one core running independent FMA chains held in registers: 12 accumulators cover
// the FMA latency times the number of FMA pipes on current x86 cores. The best of several short
// runs, so a neighbour's burst on a shared machine does not lower the peak.
double measure_fma_peak_gflops() {
  constexpr int kChains = 12;
  const int64_t iterations = 5'000'000;
  double best = 0;
  for (int run = 0; run < 7; ++run) {
    Vec acc[kChains];
    for (int i = 0; i < kChains; ++i)
      acc[i] = Vec::broadcast(0.001f * static_cast<float>(i));
    const Vec a = Vec::broadcast(0.999f), b = Vec::broadcast(0.0001f);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i)
        acc[i] = fovea::cpu::fmadd(acc[i], a, b);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Keep the chains live without touching memory inside the loop.
    for (int i = 1; i < kChains; ++i)
      acc[0] = acc[0] + acc[i];
    float sink[Vec::kLanes];
    acc[0].store(sink);
    benchmark::DoNotOptimize(sink[0]);
    best = std::max(best,
                    2.0 * Vec::kLanes * kChains * static_cast<double>(iterations) / seconds * 1e-9);
  }
  return best;
}

double g_peak_gflops = 0;
bool g_cold_weights = false;

void bench_layer(benchmark::State& state, LayerShape shape, int threads, fovea::Layout layout) {
  fovea::set_num_threads(threads);
  const fovea::Conv2dAttrs attrs =
      fovea::Conv2dAttrs::make(shape.stride, shape.pad, shape.dilation, shape.groups);
  fovea::Tensor<float> x(fovea::Shape{shape.n, shape.c, shape.h, shape.w});
  const fovea::Shape weight_shape{shape.k, shape.c / shape.groups, shape.r, shape.s};
  const int64_t weight_bytes = weight_shape.numel() * int64_t{sizeof(float)};
  const int64_t copies =
      g_cold_weights ? std::clamp<int64_t>((int64_t{64} << 20) / weight_bytes, 2, 256) : 1;
  std::vector<fovea::Tensor<float>> weights;
  for (int64_t i = 0; i < copies; ++i) {
    weights.emplace_back(weight_shape);
    weights.back().fill_uniform(2 + static_cast<uint64_t>(i), -1, 1);
  }
  fovea::Tensor<float> bias(fovea::Shape{shape.k});
  x.fill_uniform(1, -1, 1);
  x = x.to_layout(layout);
  bias.fill_uniform(3, -1, 1);
  const fovea::Conv2dParams cp = fovea::Conv2dParams::make(x.shape(), weight_shape, attrs);
  const fovea::Conv2dEpilogue epilogue{fovea::ActivationKind::relu, nullptr};
  // Weights packed once per copy, as a layer does; the packing happens before the timing.
  std::vector<fovea::Conv2dPrepared> prepared(static_cast<size_t>(copies));
  for (int64_t i = 0; i < copies; ++i)
    fovea::conv2d_fused(x, weights[i], bias, attrs, epilogue, &prepared[i]);
  // Every call's output and scratch come from one activation arena, as in a model's planned
  // forward. From the heap, a large output is fresh pages per call: clearing them cost the
  // 112 × 112 expansions a fifth of their time, which no model pays.
  fovea::ActivationArena arena;
  int64_t next = 0;
  for (auto _ : state) {
    fovea::ArenaScope pass(arena);
    fovea::Tensor<float> y =
        fovea::conv2d_fused(x, weights[next], bias, attrs, epilogue, &prepared[next]);
    benchmark::DoNotOptimize(y.data());
    next = (next + 1) % copies;
  }
  const double flops = cp.flops();
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pct_peak"] = benchmark::Counter(flops * 1e-9 * 100.0 / (g_peak_gflops * threads),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(fovea::last_kernel("conv2d"));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string lists = fovea::bench::take_flag(
      argc, argv, "--shapes", "resnet50_conv,mobilenet_v2_conv,efficientnet_b0_conv");
  const int threads = std::stoi(fovea::bench::take_flag(argc, argv, "--threads", "1"));
  const std::string layout_flag = fovea::bench::take_flag(argc, argv, "--layout", "nchw");
  if (layout_flag != "nchw" && layout_flag != "nhwc") {
    std::fprintf(stderr, "bench_conv2d_cpu: --layout must be nchw or nhwc, got %s\n",
                 layout_flag.c_str());
    return 2;
  }
  const fovea::Layout layout = layout_flag == "nhwc" ? fovea::Layout::nhwc : fovea::Layout::nchw;
  g_cold_weights = fovea::bench::take_switch(argc, argv, "--cold-weights");
  g_peak_gflops = measure_fma_peak_gflops();
  std::printf("isa=%s fma_peak_gflops_per_core=%.1f threads=%d layout=%s weights=%s\n",
              fovea::cpu::kIsaName, g_peak_gflops, threads, fovea::layout_name(layout),
              g_cold_weights ? "cold" : "warm");
  std::istringstream names(lists);
  std::string list;
  while (std::getline(names, list, ',')) {
    for (const LayerShape& shape :
         read_shapes(std::string(FOVEA_BENCH_SHAPES_DIR) + "/" + list + ".txt")) {
      benchmark::RegisterBenchmark((list + "/" + shape.name).c_str(), bench_layer, shape, threads,
                                   layout)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
