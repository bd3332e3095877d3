// Our INT8 conv (fovea/cuda/qconv2d.hpp, the path qconv2d picks by itself) against cuDNN's INT8
// convolution on ResNet-50's distinct conv shapes (bench/shapes/resnet50_conv.txt, batch
// FOVEA_BENCH_BATCH). Same check-then-time protocol as the FP16 rows:
//   - check: with input zero point 128, unit scales and no bias, our dequantized output is
//     float(Σ (x − 128)·w), and cuDNN's INT8_EXT_CONFIG (x − 128 as s8, float y) computes the
//     same int32 sum, so the two must agree to the last bit (allowing one float rounding);
//   - time: our u8-output layer (bias, requantization, ReLU fused) against cuDNN's
//     INT8_CONFIG (s8 output, alpha scaling and saturation), or its float output where cuDNN
//     refuses s8 output on this GPU (the label then says cudnn_y=f32).
// Shapes cuDNN's INT8 configs cannot take (C or K not a multiple of 4: ResNet-50's first conv)
// are timed for us alone and shown without a ratio.
#include <benchmark/benchmark.h>
#include <cudnn.h>

#include <cmath>
#include <exception>
#include <optional>
#include <sstream>
#include <string>

#include "../shapes/conv_shapes.hpp"
#include "cudnn_qconv.hpp"
#include "fovea/cuda/qconv2d.hpp"
#include "gpu_bench_util.hpp"

namespace fovea::bench {

namespace {

constexpr int32_t kInputZeroPoint = 128;  // cuDNN's s8 input is then x − 128, exactly ours

cudnnHandle_t cudnn_int8_handle() {
  static cudnnHandle_t handle = [] {
    cudnnHandle_t h = nullptr;
    FOVEA_CUDNN_CHECK(cudnnCreate(&h));
    return h;
  }();
  return handle;
}

quant::QuantParams params(float scale, int32_t zero_point) {
  quant::QuantParams p;
  p.scale = scale;
  p.zero_point = zero_point;
  return p;
}

// The layer checked against cuDNN: unit scales, no bias, float output, so our output is the
// plain sum float(Σ (x − 128)·w) (the multiplier s_x·s_w is exactly 1).
quant::QConvLayer check_layer(const Tensor<int8_t>& weight, const Conv2dAttrs& attrs) {
  quant::QConvLayer layer;
  layer.attrs = attrs;
  layer.weights.weight = weight;
  layer.weights.scales.assign(static_cast<size_t>(weight.dim(0)), 1.0f);
  layer.weights.bias = Tensor<int32_t>(Shape{weight.dim(0)});
  layer.input = params(1.0f, kInputZeroPoint);
  layer.dequantize = true;
  return layer;
}

// The layer timed: a ResNet conv as INT8 inference runs it, bias and ReLU fused, u8 output with
// params that keep a typical sum inside the output range.
quant::QConvLayer timed_layer(const Tensor<int8_t>& weight, const Conv2dAttrs& attrs) {
  quant::QConvLayer layer = check_layer(weight, attrs);
  layer.dequantize = false;
  layer.input = params(0.02f, kInputZeroPoint);
  layer.weights.scales.assign(static_cast<size_t>(weight.dim(0)), 0.01f);
  layer.weights.bias.fill_uniform(uint64_t{3}, -20000, 20000);
  layer.act = ActivationKind::relu;
  const double typical = std::sqrt(static_cast<double>(layer.weights.reduction())) * 74 * 73 *
                         layer.input.scale * 0.01;
  layer.output = params(static_cast<float>(typical / 60), 64);
  return layer;
}

// u8 x as cuDNN's s8 x − 128: the same bytes with the top bit flipped.
cuda::DeviceTensor<int8_t> shifted_to_s8(const Tensor<uint8_t>& x) {
  Tensor<int8_t> s(x.shape(), x.layout());
  for (int64_t i = 0; i < x.numel(); ++i)
    s[i] = static_cast<int8_t>(static_cast<int32_t>(x[i]) - 128);
  auto device = cuda::DeviceTensor<int8_t>::from_host(s);
  cuda::synchronize({});
  return device;
}

// One byte per element in and out.
double qconv_bytes(const Conv2dParams& cp) {
  return static_cast<double>(cp.input_shape().numel() + cp.weight_shape().numel() +
                             cp.output_shape().numel());
}

void qconv_vs_cudnn(benchmark::State& state, const ConvLayer& layer, const std::string& label) {
  const Conv2dParams cp = layer.params();
  cuda::ScopedStream stream;
  const cudaStream_t native = static_cast<cudaStream_t>(stream.get().handle);
  FOVEA_CUDNN_CHECK(cudnnSetStream(cudnn_int8_handle(), native));

  Tensor<int8_t> weight(cp.weight_shape());
  weight.fill_uniform(uint64_t{2}, -127, 127);
  Tensor<uint8_t> x_host(cp.input_shape(), Layout::nhwc);
  x_host.fill_uniform(uint64_t{1}, 0, 255);
  const auto x = cuda::DeviceTensor<uint8_t>::from_host(x_host);
  const cuda::QConvDeviceLayer ours_check = cuda::upload_qconv(check_layer(weight, layer.attrs));
  const cuda::QConvDeviceLayer ours = cuda::upload_qconv(timed_layer(weight, layer.attrs));
  cuda::synchronize({});
  const std::string kernel = cuda::qconv2d_kernel_name(ours.spec, cp.input_shape());
  cuda::DeviceTensor<uint8_t> y(cp.output_shape(), Layout::nhwc);
  const auto run_ours = [&] { cuda::qconv2d_into(x, ours, nullptr, y, stream); };

  // cuDNN's side; any failure to set it up leaves our row without a ratio.
  const auto x_s8 = shifted_to_s8(x_host);
  const auto w_s8 = cuda::DeviceTensor<int8_t>::from_host(cuda::weight_to_krsc(weight));
  cuda::DeviceTensor<float> theirs_f32(cp.output_shape(), Layout::nhwc);
  cuda::DeviceTensor<int8_t> theirs_s8(cp.output_shape(), Layout::nhwc);
  std::optional<CudnnInt8Conv> cudnn_check, cudnn_timed;
  std::string cudnn_note;
  try {
    cudnn_check.emplace(cudnn_int8_handle(), cp, x_s8, w_s8, theirs_f32.data(), CUDNN_DATA_FLOAT);
    try {
      cudnn_timed.emplace(cudnn_int8_handle(), cp, x_s8, w_s8, theirs_s8.data(), CUDNN_DATA_INT8);
    } catch (const std::exception&) {
      cudnn_note = " cudnn_y=f32";
    }
  } catch (const std::exception& e) {
    cudnn_note = std::string(" no cuDNN INT8: ") + e.what();
  }

  // Correctness first: a fast wrong answer is not a result.
  if (cudnn_check) {
    cuda::DeviceTensor<float> ours_sum = cuda::qconv2d_dequantized(x, ours_check, stream);
    cudnn_check->run(x_s8, w_s8, theirs_f32.data());
    cuda::synchronize(stream);
    const double diff = max_normalized_difference(ours_sum, theirs_f32);
    if (!(diff <= 0x1.0p-23)) {
      std::ostringstream message;
      message << kernel << " sums differ from cuDNN's INT8 sums by " << diff;
      state.SkipWithError(message.str().c_str());
      summary_rows().push_back({label, kernel, 0, 0, 0, 0, message.str()});
      return;
    }
  }

  double ours_s = 0, theirs_s = 0;
  if (cudnn_check) {
    CudnnInt8Conv& timed = cudnn_timed ? *cudnn_timed : *cudnn_check;
    void* out = cudnn_timed ? static_cast<void*>(theirs_s8.data()) : theirs_f32.data();
    const float alpha = cudnn_timed ? 1.0f / 4096 : 1.0f;  // a requantizing scale for s8 output
    const auto run_cudnn = [&] { timed.run(x_s8, w_s8, out, alpha); };
    const PairedTimes t = time_paired(state, native, run_ours, &run_cudnn);
    ours_s = t.ours_s;
    theirs_s = t.theirs_s;
    state.counters["cudnn_TOPS"] = cp.flops() / theirs_s * 1e-12;
    state.counters["vs_cudnn"] = theirs_s / ours_s;  // > 1: faster than cuDNN
  } else {
    ours_s = time_paired(state, native, run_ours, kNoPeer).ours_s;
  }
  state.counters["TOPS"] = cp.flops() / ours_s * 1e-12;
  state.counters["GB/s"] = qconv_bytes(cp) / ours_s * 1e-9;
  state.SetLabel(kernel + cudnn_note +
                 (cudnn_check ? " cudnn_algo=" + std::to_string(cudnn_check->algorithm()) : ""));
  summary_rows().push_back({label, kernel, ours_s, theirs_s, cp.flops(), qconv_bytes(cp), ""});
}

}  // namespace

// One case per line of resnet50_conv.txt (its shapes are already distinct).
void register_qconv_benchmarks(const std::string& shapes_dir, int64_t batch, int iterations) {
  for (const ConvLayer& base : read_conv_layers(shapes_dir + "/resnet50_conv.txt", "resnet50")) {
    const ConvLayer layer = base.with_batch(batch);
    const std::string label = "resnet50_int8/" + layer.name;
    benchmark::RegisterBenchmark(
        ("qconv2d_u8s8_nhwc/" + label + "/n" + std::to_string(batch)).c_str(),
        [layer, label](benchmark::State& s) {
          run_or_report(s, label, [&] { qconv_vs_cudnn(s, layer, label); });
        })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(iterations);
  }
}

}  // namespace fovea::bench
