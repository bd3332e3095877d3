// INT8 against FP32, layer by layer: each conv of the shape lists runs as an INT8 conv (the best
// INT8 kernel this CPU has, or the one --isa names) and as the FP32 conv in NHWC, alternating in
// one run, with packed weights reused as a layer does. INT8 reports GOP/s and the percentage of
// this core's INT8 peak, measured at startup in the same ISA (vpdpbusd chains for avx512vnni,
// vpmaddwd + vpaddd for avx2); FP32 reports GFLOP/s.
//
//   bench_qconv2d_cpu [--shapes resnet50_conv,mobilenet_v2_conv,efficientnet_b0_conv]
//                     [--threads 1] [--isa avx512vnni|avx2|generic] [benchmark flags]
//
// The two rows of a layer have the same name but for their /int8 and /fp32 suffix; compare
// their times for the speed-up. Use --benchmark_repetitions and the medians on a busy machine.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../shapes/conv_shapes.hpp"
#include "bench_flags.hpp"
#include "fovea/cpu/int8_isa.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "fovea/quant/ops.hpp"

namespace {

namespace quant = fovea::quant;
using fovea::cpu::Int8Isa;

#if FOVEA_INT8_SIMD
// The chains are written in assembly: GCC 12 kept an array of 24 accumulators in memory,
// storing each one back every iteration, and measured a third of the real throughput.

// 24 independent vpdpbusd chains (zmm8–zmm31) of 64 multiply-adds each: the core's INT8
// throughput.
FOVEA_TARGET_AVX512VNNI double vnni_chains(int64_t iterations) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t it = 0; it < iterations; ++it) {
    asm volatile(
        "vpdpbusd %%zmm1, %%zmm0, %%zmm8\n vpdpbusd %%zmm1, %%zmm0, %%zmm9\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm10\n vpdpbusd %%zmm1, %%zmm0, %%zmm11\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm12\n vpdpbusd %%zmm1, %%zmm0, %%zmm13\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm14\n vpdpbusd %%zmm1, %%zmm0, %%zmm15\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm16\n vpdpbusd %%zmm1, %%zmm0, %%zmm17\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm18\n vpdpbusd %%zmm1, %%zmm0, %%zmm19\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm20\n vpdpbusd %%zmm1, %%zmm0, %%zmm21\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm22\n vpdpbusd %%zmm1, %%zmm0, %%zmm23\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm24\n vpdpbusd %%zmm1, %%zmm0, %%zmm25\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm26\n vpdpbusd %%zmm1, %%zmm0, %%zmm27\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm28\n vpdpbusd %%zmm1, %%zmm0, %%zmm29\n"
        "vpdpbusd %%zmm1, %%zmm0, %%zmm30\n vpdpbusd %%zmm1, %%zmm0, %%zmm31\n" ::
            : "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
              "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
              "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * 64 * 24 * static_cast<double>(iterations) / seconds;
}

// 12 chains of vpmaddwd + vpaddd (ymm4–ymm15), 16 multiply-adds each: the exact AVX2 path's
// throughput.
FOVEA_TARGET_AVX2 double avx2_chains(int64_t iterations) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t it = 0; it < iterations; ++it) {
    asm volatile(
        "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n vpaddd %%ymm2, %%ymm4, %%ymm4\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm3\n vpaddd %%ymm3, %%ymm5, %%ymm5\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n vpaddd %%ymm2, %%ymm6, %%ymm6\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm3\n vpaddd %%ymm3, %%ymm7, %%ymm7\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n vpaddd %%ymm2, %%ymm8, %%ymm8\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm3\n vpaddd %%ymm3, %%ymm9, %%ymm9\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n vpaddd %%ymm2, %%ymm10, %%ymm10\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm3\n vpaddd %%ymm3, %%ymm11, %%ymm11\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n vpaddd %%ymm2, %%ymm12, %%ymm12\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm3\n vpaddd %%ymm3, %%ymm13, %%ymm13\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n vpaddd %%ymm2, %%ymm14, %%ymm14\n"
        "vpmaddwd %%ymm1, %%ymm0, %%ymm3\n vpaddd %%ymm3, %%ymm15, %%ymm15\n" ::
            : "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
              "xmm12", "xmm13", "xmm14", "xmm15");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * 16 * 12 * static_cast<double>(iterations) / seconds;
}
#endif

// One core's INT8 GOP/s in `isa` (multiply-adds count as two): the best of seven short runs.
double measure_int8_peak_gops(Int8Isa isa) {
  double best = 0;
  for (int run = 0; run < 7; ++run) {
#if FOVEA_INT8_SIMD
    if (isa == Int8Isa::avx512vnni) best = std::max(best, vnni_chains(2'000'000) * 1e-9);
    if (isa == Int8Isa::avx2) best = std::max(best, avx2_chains(4'000'000) * 1e-9);
#endif
  }
  return best;  // 0 for the generic path: no peak to compare with
}

double g_peak_gops = 0;

quant::QConvLayer random_layer(const fovea::bench::ConvLayer& shape) {
  fovea::Rng rng(2);
  quant::QConvLayer layer;
  layer.attrs = shape.attrs;
  layer.weights.weight = fovea::Tensor<int8_t>(shape.weight);
  layer.weights.weight.fill_uniform(rng, -127, 127);
  for (int64_t k = 0; k < shape.weight[0]; ++k)
    layer.weights.scales.push_back(0.01f);
  layer.weights.bias = fovea::Tensor<int32_t>(fovea::Shape{shape.weight[0]});
  layer.input = quant::QuantParams{0.02f, 0};
  layer.output = quant::QuantParams{0.05f, 0};
  layer.act = fovea::ActivationKind::relu;
  return layer;
}

void bench_int8(benchmark::State& state, fovea::bench::ConvLayer shape, int threads) {
  fovea::set_num_threads(threads);
  const quant::QConvLayer layer = random_layer(shape);
  quant::QTensor x = quant::make_qtensor(shape.input, layer.input);
  x.q.fill_uniform(3, 0, 255);
  fovea::Conv2dPrepared prepared;
  quant::qconv2d(x, layer, nullptr, &prepared);  // packs the weights
  fovea::ActivationArena arena;
  for (auto _ : state) {
    fovea::ArenaScope pass(arena);
    const quant::QTensor y = quant::qconv2d(x, layer, nullptr, &prepared);
    benchmark::DoNotOptimize(y.q.data());
  }
  const double ops = shape.params().flops() * 1e-9;
  state.counters["GOPs"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate);
  if (g_peak_gops > 0)
    state.counters["pct_peak"] = benchmark::Counter(ops * 100.0 / (g_peak_gops * threads),
                                                    benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(fovea::last_kernel("qconv2d"));
}

void bench_fp32(benchmark::State& state, fovea::bench::ConvLayer shape, int threads) {
  fovea::set_num_threads(threads);
  fovea::Tensor<float> x(shape.input, fovea::Layout::nhwc);
  x.fill_uniform(1, -1, 1);
  fovea::Tensor<float> w(shape.weight), bias(fovea::Shape{shape.weight[0]});
  w.fill_uniform(2, -1, 1);
  const fovea::Conv2dEpilogue epilogue{fovea::ActivationKind::relu, nullptr};
  fovea::Conv2dPrepared prepared;
  fovea::conv2d_fused(x, w, bias, shape.attrs, epilogue, &prepared);
  fovea::ActivationArena arena;
  for (auto _ : state) {
    fovea::ArenaScope pass(arena);
    const fovea::Tensor<float> y =
        fovea::conv2d_fused(x, w, bias, shape.attrs, epilogue, &prepared);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(shape.params().flops() * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(fovea::last_kernel("conv2d"));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string lists = fovea::bench::take_flag(
      argc, argv, "--shapes", "resnet50_conv,mobilenet_v2_conv,efficientnet_b0_conv");
  const int threads = std::stoi(fovea::bench::take_flag(argc, argv, "--threads", "1"));
  const std::string isa_flag = fovea::bench::take_flag(argc, argv, "--isa", "");
  if (!isa_flag.empty()) {
    try {
      fovea::cpu::set_int8_isa_limit(fovea::cpu::parse_int8_isa(isa_flag));
    } catch (const fovea::Error& e) {
      std::fprintf(stderr, "bench_qconv2d_cpu: --isa: %s\n", e.what());
      return 2;
    }
  }
  const Int8Isa isa = std::min(fovea::cpu::int8_isa_supported(), fovea::cpu::int8_isa_limit());
  g_peak_gops = measure_int8_peak_gops(isa);
  std::printf("int8_isa=%s int8_peak_gops_per_core=%.1f threads=%d\n",
              fovea::cpu::int8_isa_name(isa), g_peak_gops, threads);
  std::istringstream names(lists);
  std::string list;
  while (std::getline(names, list, ',')) {
    for (const fovea::bench::ConvLayer& layer : fovea::bench::read_conv_layers(
             std::string(FOVEA_BENCH_SHAPES_DIR) + "/" + list + ".txt", list)) {
      const std::string name = list + "/" + layer.name;
      benchmark::RegisterBenchmark((name + "/int8").c_str(), bench_int8, layer, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark((name + "/fp32").c_str(), bench_fp32, layer, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
