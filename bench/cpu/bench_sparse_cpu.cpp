// Dense against sparse 1×1 convolutions (NHWC pointwise GEMM, Y[P, K] = X[P, C] · Wᵀ, bias and
// ReLU fused) on ResNet-50- and MobileNetV2-like shapes: the dense packed GEMM
// (gemm_rows_in_place, what conv2d picks), the unstructured CSR kernel at sparsities 0.5–0.95,
// and the 2:4 kernel (50 %), all from cpu/sparse_gemm.hpp. Every case reports
// "dense_equiv_gflops" (the dense FLOPs 2·P·C·K over the time), so the rows of one shape compare
// directly: sparse beats dense where its figure is higher. Times are CPU time of the calling
// thread (with --threads 1 the kernels run on it), which a busy shared machine disturbs less
// than wall time.
//
//   bench_sparse_cpu [--threads 1] [benchmark flags]
//
// For the crossover table: --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// --benchmark_enable_random_interleaving=true (repetitions of all cases interleaved, so a
// neighbour's burst on a shared machine hits dense and sparse alike).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_flags.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/gemm_rows_in_place.hpp"
#include "fovea/cpu/sparse_gemm.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/prune/sparse/mask.hpp"

namespace {

struct PointwiseShape {
  const char* name;
  int64_t pixels, c, k;
};

// ResNet-50's bottleneck 1×1s (stage by stage, reduce then expand) and MobileNetV2's expansions
// and projections, batch 1.
const PointwiseShape kShapes[] = {
    {"r50_56x56_64to256", 56 * 56, 64, 256},     {"r50_56x56_256to64", 56 * 56, 256, 64},
    {"r50_28x28_128to512", 28 * 28, 128, 512},   {"r50_28x28_512to128", 28 * 28, 512, 128},
    {"r50_14x14_256to1024", 14 * 14, 256, 1024}, {"r50_14x14_1024to256", 14 * 14, 1024, 256},
    {"r50_7x7_512to1024", 7 * 7, 512, 1024},     {"r50_7x7_1024to512", 7 * 7, 1024, 512},
    {"mv2_28x28_32to192", 28 * 28, 32, 192},     {"mv2_14x14_384to64", 14 * 14, 384, 64},
    {"mv2_14x14_96to576", 14 * 14, 96, 576},     {"mv2_7x7_960to160", 7 * 7, 960, 160},
};

const double kSparsities[] = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95};

enum class Kind { dense, csr, two_four };

struct Inputs {
  std::vector<float> x, w, bias, y;
};

Inputs make_inputs(const PointwiseShape& s, uint64_t seed) {
  fovea::Rng rng(seed);
  Inputs in;
  in.x.resize(size_t(s.pixels * s.c));
  in.w.resize(size_t(s.k * s.c));
  in.bias.resize(size_t(s.k));
  in.y.resize(size_t(s.pixels * s.k));
  for (float& v : in.x)
    v = float(rng.uniform(-1, 1));
  for (float& v : in.w)
    v = float(rng.uniform(-1, 1));
  for (float& v : in.bias)
    v = float(rng.uniform(-1, 1));
  return in;
}

void bench_pointwise(benchmark::State& state, PointwiseShape s, Kind kind, double sparsity,
                     int threads) {
  fovea::set_num_threads(threads);
  Inputs in = make_inputs(s, 42);
  fovea::Tensor<float> w(fovea::Shape{s.k, s.c});
  std::copy(in.w.begin(), in.w.end(), w.data());
  // Magnitude masks, as pruning makes them (position matters for the CSR kernel's locality).
  if (kind == Kind::two_four) {
    const fovea::Tensor<float> mask = fovea::prune::sparse::mask_2_4(w);
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data()[i] *= mask.data()[i];
  } else if (kind == Kind::csr) {
    const fovea::Tensor<float> mask = fovea::prune::sparse::magnitude_mask(w, sparsity);
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data()[i] *= mask.data()[i];
  }
  fovea::cpu::GemmEpilogue e;
  e.col_bias = in.bias.data();
  e.act = fovea::ActivationKind::relu;
  std::unique_ptr<fovea::cpu::PackedMatrixB> dense;
  std::unique_ptr<fovea::cpu::SpmmWeightsCsr> csr;
  std::unique_ptr<fovea::cpu::SpmmWeights24> two_four;
  if (kind == Kind::dense)
    dense = std::make_unique<fovea::cpu::PackedMatrixB>(s.c, s.k, w.data(), 1, s.c,
                                                        fovea::cpu::kGemmKc);
  if (kind == Kind::csr)
    csr = std::make_unique<fovea::cpu::SpmmWeightsCsr>(s.k, s.c, w.data(), s.c);
  if (kind == Kind::two_four)
    two_four = std::make_unique<fovea::cpu::SpmmWeights24>(s.k, s.c, w.data(), s.c);
  const auto run = [&] {
    if (dense) {
      fovea::cpu::gemm_rows_in_place(s.pixels, in.x.data(), s.c, *dense, in.y.data(), s.k, e);
    } else if (csr) {
      fovea::cpu::spmm_nhwc(s.pixels, in.x.data(), s.c, *csr, in.y.data(), s.k, e);
    } else {
      fovea::cpu::spmm_nhwc(s.pixels, in.x.data(), s.c, *two_four, in.y.data(), s.k, e);
    }
  };
  run();
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(in.y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * double(s.pixels) * double(s.c) * double(s.k);
  state.counters["dense_equiv_gflops"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["sparsity"] = kind == Kind::dense ? 0.0 : kind == Kind::two_four ? 0.5 : sparsity;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::stoi(fovea::bench::take_flag(argc, argv, "--threads", "1"));
  std::printf("ISA %s, %d thread(s), 32-pixel tiles\n", fovea::cpu::kIsaName, threads);
  for (const PointwiseShape& s : kShapes) {
    const std::string base = std::string("pointwise/") + s.name + "/";
    benchmark::RegisterBenchmark((base + "dense").c_str(), bench_pointwise, s, Kind::dense, 0.0,
                                 threads)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "2_4").c_str(), bench_pointwise, s, Kind::two_four, 0.5,
                                 threads)
        ->Unit(benchmark::kMicrosecond);
    for (double sp : kSparsities) {
      char name[32];
      std::snprintf(name, sizeof name, "csr_%02d", int(sp * 100 + 0.5));
      benchmark::RegisterBenchmark((base + name).c_str(), bench_pointwise, s, Kind::csr, sp,
                                   threads)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
