// Our linear layer (the implicit-GEMM kernel as a GEMM) against cuBLAS's cublasGemmEx, FP16
// inputs and outputs with FP32 accumulation, on the classifier GEMMs of the three models and a
// ResNet-50 1x1 conv written as a GEMM. Same check-then-time protocol as the conv bench.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>

#include <sstream>
#include <string>

#include "fovea/cuda/linear.hpp"
#include "gpu_bench_util.hpp"

namespace fovea::bench {

namespace {

void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  fail(call, " failed at ", file, ":", line, ": ", cublasGetStatusString(status));
}
#define FOVEA_CUBLAS_CHECK(call) check_cublas((call), #call, __FILE__, __LINE__)

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    FOVEA_CUBLAS_CHECK(cublasCreate(&h));
    return h;
  }();
  return handle;
}

// y [n, out] = x [n, in] w [out, in]^T in row-major terms is, column-major, y^T (out x n) =
// op_T(w as in x out) * x^T (in x n): no transposes in memory.
void cublas_linear(const cuda::DeviceTensor<half>& x, const cuda::DeviceTensor<half>& w,
                   cuda::DeviceTensor<half>& y) {
  const int n = static_cast<int>(x.dim(0)), in = static_cast<int>(x.dim(1));
  const int out = static_cast<int>(w.dim(0));
  const float alpha = 1.0f, beta = 0.0f;
  FOVEA_CUBLAS_CHECK(cublasGemmEx(cublas_handle(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha,
                                  w.data(), CUDA_R_16F, in, x.data(), CUDA_R_16F, in, &beta,
                                  y.data(), CUDA_R_16F, out, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT));
}

void linear_vs_cublas(benchmark::State& state, int64_t n, int64_t in, int64_t out,
                      const std::string& label) {
  cuda::ScopedStream stream;
  const cudaStream_t native = static_cast<cudaStream_t>(stream.get().handle);
  FOVEA_CUBLAS_CHECK(cublasSetStream(cublas_handle(), native));
  const auto x = random_device_tensor<half>(Shape{n, in}, Layout::nchw, 3);
  const auto w = random_device_tensor<half>(Shape{out, in}, Layout::nchw, 4);
  cuda::DeviceTensor<half> theirs(Shape{n, out});
  cuda::DeviceTensor<half> ours = cuda::linear(x, w, nullptr, ActivationKind::identity, stream);
  cublas_linear(x, w, theirs);
  cuda::synchronize(stream);
  const double diff = max_normalized_difference(ours, theirs);
  const double tolerance = agreement_tolerance(0x1.0p-11, in);
  if (!(diff <= tolerance)) {
    std::ostringstream message;
    message << "linear differs from cuBLAS by " << diff << " (tolerance " << tolerance << ")";
    state.SkipWithError(message.str().c_str());
    summary_rows().push_back(
        {label, "linear_f16_f32acc (implicit gemm)", 0, 0, 0, 0, message.str()});
    return;
  }
  const auto run_ours = [&] {
    cuda::linear_into(x, w, nullptr, ActivationKind::identity, ours, stream);
  };
  const auto run_cublas = [&] { cublas_linear(x, w, theirs); };
  const PairedTimes t = time_paired(state, native, run_ours, &run_cublas);
  const double ours_s = t.ours_s, theirs_s = t.theirs_s;
  const double flops = 2.0 * n * in * out;
  const double bytes = 2.0 * (n * in + out * in + n * out);
  state.counters["TFLOP/s"] = flops / ours_s * 1e-12;
  state.counters["GB/s"] = bytes / ours_s * 1e-9;
  state.counters["vs_cublas"] = theirs_s / ours_s;
  summary_rows().push_back(
      {label, "linear_f16_f32acc (implicit gemm)", ours_s, theirs_s, flops, bytes, ""});
}

}  // namespace

void register_linear_benchmarks(int64_t batch, int iterations) {
  struct Gemm {
    const char* name;
    int64_t in, out, rows_per_image;
  };
  const Gemm gemms[] = {{"resnet50/fc", 2048, 1000, 1},
                        {"mobilenet_v2/classifier.1", 1280, 1000, 1},
                        {"efficientnet_b0/classifier.1", 1280, 1000, 1},
                        {"resnet50/layer3.0.conv1_as_gemm", 512, 256, 28 * 28}};
  for (const Gemm& g : gemms) {
    const int64_t n = batch * g.rows_per_image;
    const std::string label = g.name;
    benchmark::RegisterBenchmark(
        ("linear_f16/" + label + "/n" + std::to_string(n)).c_str(),
        [g, n, label](benchmark::State& s) {
          run_or_report(s, label, [&] { linear_vs_cublas(s, n, g.in, g.out, label); });
        })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(iterations);
  }
}

}  // namespace fovea::bench
