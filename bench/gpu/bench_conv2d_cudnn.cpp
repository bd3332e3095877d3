// Our conv2d kernels against cuDNN's best algorithm, FP16 NHWC, on every conv layer shape of
// ResNet-50, MobileNetV2 and EfficientNet-B0 (bench/shapes/*_layers.txt; identical shapes are
// timed once). Each case first checks that cuDNN's output matches ours, then times both with
// CUDA events; the Google Benchmark time is ours, the counters carry cuDNN's and the ratio.
#include <benchmark/benchmark.h>
#include <cudnn.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../shapes/conv_shapes.hpp"
#include "cudnn_conv.hpp"
#include "fovea/cuda/conv2d.hpp"
#include "fovea/cuda/reference.hpp"
#include "gpu_bench_util.hpp"

namespace fovea::bench {

namespace {

cudnnHandle_t cudnn_handle() {
  static cudnnHandle_t handle = [] {
    cudnnHandle_t h = nullptr;
    FOVEA_CUDNN_CHECK(cudnnCreate(&h));
    return h;
  }();
  return handle;
}

// cudnnConvolutionFwdAlgo_t's names, for the log.
std::string cudnn_algorithm_name(int algorithm) {
  static const char* const kNames[] = {
      "implicit_gemm", "implicit_precomp_gemm", "gemm", "direct", "fft", "fft_tiling",
      "winograd",      "winograd_nonfused"};
  return algorithm >= 0 && algorithm < 8 ? kNames[algorithm] : std::to_string(algorithm);
}

// Bytes a conv must move at least once: input, weight and output.
double conv_bytes(const Conv2dParams& cp) {
  return 2.0 * static_cast<double>(cp.input_shape().numel() + cp.weight_shape().numel() +
                                   cp.output_shape().numel());
}

void conv_vs_cudnn(benchmark::State& state, const ConvLayer& layer, const std::string& label) {
  const Conv2dParams cp = layer.params();
  const std::string kernel = cuda::conv2d_kernel_name(cp, DType::f16);
  cuda::ScopedStream stream;
  const cudaStream_t native = static_cast<cudaStream_t>(stream.get().handle);
  FOVEA_CUDNN_CHECK(cudnnSetStream(cudnn_handle(), native));
  const auto x = random_device_tensor<half>(cp.input_shape(), Layout::nhwc, 1);
  const auto w = random_device_tensor<half>(cp.weight_shape(), Layout::nhwc, 2);
  cuda::DeviceTensor<half> ours(cp.output_shape(), Layout::nhwc);
  cuda::DeviceTensor<half> theirs(cp.output_shape(), Layout::nhwc);
  CudnnConv cudnn(cudnn_handle(), cp, x, w, theirs);

  // Correctness first, against the device reference (double accumulation, one rounding) on the
  // batch's first image: a fast wrong answer is not a result. cuDNN is checked the same way but
  // only noted, since its fastest algorithm may be Winograd or FFT, which round differently yet
  // are cuDNN's answer.
  cuda::conv2d_into(x, w, layer.attrs, {}, ours, stream);
  cudnn.run(x, w, theirs);
  const cuda::DeviceTensor<half> reference =
      cuda::conv2d_reference_device(first_image(x, native), w, nullptr, layer.attrs, stream);
  const cuda::DeviceTensor<half> ours_first = first_image(ours, native);
  const cuda::DeviceTensor<half> theirs_first = first_image(theirs, native);
  cuda::synchronize(stream);
  const double tolerance = agreement_tolerance(0x1.0p-11, cp.c_per_group() * cp.r * cp.s);
  const double diff = max_normalized_difference(ours_first, reference);
  if (!(diff <= tolerance)) {
    std::ostringstream message;
    message << kernel << " differs from the device reference by " << diff << " (tolerance "
            << tolerance << ")";
    state.SkipWithError(message.str().c_str());
    summary_rows().push_back({label, kernel, 0, 0, 0, 0, message.str()});
    return;
  }
  const double cudnn_diff = max_normalized_difference(theirs_first, reference);
  state.counters["cudnn_vs_reference"] = cudnn_diff;

  const auto run_ours = [&] { cuda::conv2d_into(x, w, layer.attrs, {}, ours, stream); };
  const auto run_cudnn = [&] { cudnn.run(x, w, theirs); };
  const PairedTimes t = time_paired(state, native, run_ours, &run_cudnn);
  const double ours_s = t.ours_s, theirs_s = t.theirs_s;
  state.counters["TFLOP/s"] = cp.flops() / ours_s * 1e-12;
  state.counters["GB/s"] = conv_bytes(cp) / ours_s * 1e-9;
  state.counters["cudnn_TFLOP/s"] = cp.flops() / theirs_s * 1e-12;
  state.counters["vs_cudnn"] = theirs_s / ours_s;  // > 1: faster than cuDNN
  state.SetLabel(kernel + " cudnn_algo=" + cudnn_algorithm_name(cudnn.algorithm()) +
                 (cudnn_diff <= tolerance ? "" : " cudnn_off_reference"));
  summary_rows().push_back({label, kernel, ours_s, theirs_s, cp.flops(), conv_bytes(cp), ""});
}

}  // namespace

// One case per distinct shape, named after the first layer that has it.
void register_conv_benchmarks(const std::string& shapes_dir, int64_t batch, int iterations) {
  std::map<std::string, bool> seen;
  for (const char* model : {"resnet50", "mobilenet_v2", "efficientnet_b0"}) {
    const std::string path = shapes_dir + "/" + model + "_layers.txt";
    for (const ConvLayer& base : read_conv_layers(path, model)) {
      const ConvLayer layer = base.with_batch(batch);
      const Conv2dParams cp = layer.params();
      std::ostringstream key;
      key << cp.input_shape() << cp.weight_shape() << layer.attrs.stride_h << "/"
          << layer.attrs.pad_top << "/" << layer.attrs.dilation_h << "/" << layer.attrs.groups;
      if (seen[key.str()]) continue;
      seen[key.str()] = true;
      const std::string label = std::string(model) + "/" + layer.name;
      benchmark::RegisterBenchmark(
          ("conv2d_f16_nhwc/" + label + "/n" + std::to_string(batch)).c_str(),
          [layer, label](benchmark::State& s) {
            run_or_report(s, label, [&] { conv_vs_cudnn(s, layer, label); });
          })
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond)
          ->Iterations(iterations);
    }
  }
}

}  // namespace fovea::bench
