// Whole-model throughput: ResNet-50 (random weights, batch norms folded) as a DeviceModel in
// FP16 at batch 1, 32 and 256, 224x224. Each timed forward is bracketed by CUDA events on the
// model's stream (the GPU's clock; input upload and logits download are not timed); the table
// gives the median forward time and images/s. Before timing, batch 1 is checked against the
// CPU path, so a wrong network fails the run instead of producing a fast number.
//
// Usage: bench_gpu_model [ITERATIONS_SCALE]   (environment FOVEA_BENCH_MODEL_SCALE, default 1:
// 50 / 20 / 6 timed forwards at batch 1 / 32 / 256, after 5 / 3 / 2 warm-up forwards).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "fovea/cuda/device_model.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/resnet.hpp"
#include "fovea/plan/fold_batchnorm.hpp"

namespace {

struct BatchCase {
  int64_t batch;
  int warmup, iterations;
};

// Median milliseconds of `iterations` forwards, each timed alone with a pair of events.
double median_forward_ms(fovea::cuda::DeviceModel& model, int warmup, int iterations) {
  const auto stream = static_cast<cudaStream_t>(model.stream().handle);
  for (int i = 0; i < warmup; ++i)
    model.run();
  fovea::cuda::synchronize(model.stream());
  std::vector<cudaEvent_t> events(static_cast<size_t>(2 * iterations));
  for (cudaEvent_t& e : events)
    FOVEA_CUDA_CHECK(cudaEventCreate(&e));
  for (int i = 0; i < iterations; ++i) {
    FOVEA_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(2 * i)], stream));
    model.run();
    FOVEA_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(2 * i + 1)], stream));
  }
  std::vector<double> ms;
  for (int i = 0; i < iterations; ++i) {
    FOVEA_CUDA_CHECK(cudaEventSynchronize(events[static_cast<size_t>(2 * i + 1)]));
    float t = 0;
    FOVEA_CUDA_CHECK(cudaEventElapsedTime(&t, events[static_cast<size_t>(2 * i)],
                                          events[static_cast<size_t>(2 * i + 1)]));
    ms.push_back(t);
  }
  for (cudaEvent_t e : events)
    (void)cudaEventDestroy(e);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

fovea::Tensor<float> random_images(int64_t batch) {
  fovea::Tensor<float> x(fovea::Shape{batch, 3, 224, 224});
  x.fill_uniform(11, -1.0, 1.0);
  return x;
}

// max |got - want| / max |want|.
double normalized_error(const fovea::Tensor<float>& got, const fovea::Tensor<float>& want) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got[i], w = want[i];
    diff = std::max(diff, std::isnan(g) ? INFINITY : std::abs(g - w));
    ref = std::max(ref, std::abs(w));
  }
  return diff / ref;
}

}  // namespace

int main(int argc, char** argv) {
  if (!fovea::cuda::device_available()) {
    // Under FOVEA_REQUIRE_GPU (bench/gpu/first_contact.sh) a missing device fails the run.
    const char* required = std::getenv("FOVEA_REQUIRE_GPU");
    const bool fail = required != nullptr && *required != '\0' && std::string(required) != "0";
    std::printf("no CUDA device: %s (%s)\n", fail ? "FAILED, FOVEA_REQUIRE_GPU is set" : "skipped",
                fovea::cuda::device_unavailable_reason().c_str());
    return fail ? 1 : 0;
  }
  const char* scale_text = argc > 1 ? argv[1] : std::getenv("FOVEA_BENCH_MODEL_SCALE");
  const double scale = scale_text != nullptr ? std::max(0.1, std::atof(scale_text)) : 1.0;
  const auto scaled = [&](int n) { return std::max(1, static_cast<int>(n * scale)); };
  try {
    std::printf("%s\n", fovea::cuda::device_description(0).c_str());
    std::unique_ptr<fovea::models::ResNet> net = fovea::models::resnet(50);
    fovea::init_weights(*net, 1);
    net->set_training(false);
    fovea::fold_batchnorm_in_place(*net);
    fovea::cuda::DeviceModel model(*net, fovea::DType::f16);

    // Correctness first: batch 1 against the CPU path, with the bound of
    // tests/cuda/cuda_test_device_model.cpp for the 50 layers on ResNet-50's longest path.
    const fovea::Tensor<float> probe = random_images(1);
    const double error = normalized_error(model.forward(probe), net->forward(probe));
    const double bound = 4.0 * 50 * (0x1.0p-11 + 0x1.0p-11 + 0x1.0p-10);
    std::printf("resnet50 fp16 batch 1 vs CPU: normalized logit error %.2e (bound %.2e)\n", error,
                bound);
    if (!(error <= bound)) {
      std::printf("FAILED: the device model disagrees with the CPU path\n");
      return 1;
    }

    const BatchCase cases[] = {{1, 5, scaled(50)}, {32, 3, scaled(20)}, {256, 2, scaled(6)}};
    std::printf("\n%-24s %6s %6s %11s %10s\n", "model", "batch", "iters", "median_ms", "images/s");
    for (const BatchCase& c : cases) {
      model.set_input(random_images(c.batch));
      const double ms = median_forward_ms(model, c.warmup, c.iterations);
      std::printf("%-24s %6lld %6d %11.3f %10.0f\n", "resnet50 fp16 nhwc",
                  static_cast<long long>(c.batch), c.iterations, ms,
                  static_cast<double>(c.batch) / (ms * 1e-3));
    }
  } catch (const fovea::Error& e) {
    std::printf("FAILED: %s\n", e.what());
    return 1;
  }
  return 0;
}
