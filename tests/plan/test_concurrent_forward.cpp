// The thread-safety contract (docs/robustness.md): one prepared model may serve inference
// forwards from many threads at once, each thread with its own BatchRunner or calling
// forward() directly. Eight threads run different images through one model, over and over,
// and every output must equal that image's serial result to the bit. Under TSan
// (scripts/test.sh --sanitize thread runs this suite) any shared scratch buffer is a report.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/batch_runner.hpp"
#include "fovea/plan/inference.hpp"
#include "fovea/quant/calibrate.hpp"
#include "fovea/quant/compile.hpp"
#include "harness/compare.hpp"

using fovea::Shape;
using fovea::Tensor;

namespace {

constexpr int kThreads = 8;
constexpr int kRounds = 3;

std::vector<Tensor<float>> images(int count, int64_t channels, int64_t side, int64_t batch) {
  std::vector<Tensor<float>> out;
  for (int i = 0; i < count; ++i) {
    Tensor<float> x(Shape{batch, channels, side, side});
    x.fill_uniform(uint64_t(100 + i), -2, 2);
    out.push_back(std::move(x));
  }
  return out;
}

// Runs forward(input i) for every i on kThreads threads at once, kRounds times each, starting
// together, and checks every output against `serial`.
template <class Forward>
void check_concurrent(const std::vector<Tensor<float>>& inputs,
                      const std::vector<Tensor<float>>& serial, Forward make_forward) {
  std::atomic<int> ready{0}, mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto forward = make_forward();
      ready.fetch_add(1);
      while (ready.load() < kThreads)
        std::this_thread::yield();
      try {
        for (int round = 0; round < kRounds; ++round) {
          for (size_t k = 0; k < inputs.size(); ++k) {
            const size_t i = (k + size_t(t)) % inputs.size();  // threads on different images
            if (fovea::test::max_abs_error(forward(inputs[i]), serial[i]) != 0)
              mismatches.fetch_add(1);
          }
        }
      } catch (const std::exception&) {
        failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  CHECK(failures.load() == 0);
  CHECK(mismatches.load() == 0);
}

std::unique_ptr<fovea::nn::Module> prepared(const std::string& name) {
  std::unique_ptr<fovea::nn::Module> model = fovea::build_model(name);
  fovea::init_weights(*model, 11);
  fovea::prepare_for_inference(*model);
  return model;
}

}  // namespace

TEST_SUITE("threads") {
  TEST_CASE("one prepared model serves concurrent forwards with the serial results") {
    struct Case {
      const char* name;
      int64_t channels, side;
    };
    // Basic blocks, bottlenecks, depthwise, squeeze-excitation, and a small plain CNN.
    for (const Case c :
         {Case{"resnet18", 3, 48}, Case{"resnet50", 3, 40}, Case{"mobilenet_v2", 3, 48},
          Case{"efficientnet_b0", 3, 40}, Case{"lenet5", 1, 32}}) {
      INFO(c.name);
      std::unique_ptr<fovea::nn::Module> model = prepared(c.name);
      fovea::nn::Module& shared = *model;
      SUBCASE("forward() from every thread") {
        const std::vector<Tensor<float>> inputs = images(4, c.channels, c.side, 1);
        std::vector<Tensor<float>> serial;
        for (const Tensor<float>& x : inputs)
          serial.push_back(shared.forward(x));
        check_concurrent(inputs, serial,
                         [&] { return [&](const Tensor<float>& x) { return shared.forward(x); }; });
      }
      SUBCASE("forward() on batches from every thread") {  // each thread's own plan runner
        const std::vector<Tensor<float>> inputs = images(3, c.channels, c.side, 3);
        std::vector<Tensor<float>> serial;
        for (const Tensor<float>& x : inputs)
          serial.push_back(shared.forward(x));
        check_concurrent(inputs, serial,
                         [&] { return [&](const Tensor<float>& x) { return shared.forward(x); }; });
      }
      SUBCASE("a BatchRunner per thread") {
        const std::vector<Tensor<float>> inputs = images(3, c.channels, c.side, 3);
        std::vector<Tensor<float>> serial;
        fovea::BatchRunner runner(shared);
        for (const Tensor<float>& x : inputs)
          serial.push_back(runner.forward(x));
        check_concurrent(inputs, serial, [&] {
          return [runner = std::make_shared<fovea::BatchRunner>(shared)](const Tensor<float>& x) {
            return runner->forward(x);
          };
        });
      }
    }
  }

  TEST_CASE("one INT8 model serves concurrent forwards with the serial results") {
    std::unique_ptr<fovea::nn::Module> model = prepared("mobilenet_v2");
    const fovea::nn::Dataflow graph = fovea::nn::lower_to_dataflow(*model);
    fovea::quant::QuantizedModel fp32 = fovea::quant::compile_fp32(graph, "mobilenet_v2");
    const auto ranges =
        fovea::quant::calibrate(fp32, images(2, 3, 48, 1), fovea::quant::CalibrationOptions{});
    fovea::quant::QuantizedModel q = fovea::quant::compile_model(graph, ranges, {}, "mobilenet_v2");
    const std::vector<Tensor<float>> inputs = images(4, 3, 48, 2);
    std::vector<Tensor<float>> serial;
    for (const Tensor<float>& x : inputs)
      serial.push_back(q.forward(x));
    check_concurrent(inputs, serial,
                     [&] { return [&](const Tensor<float>& x) { return q.forward(x); }; });
  }
}
