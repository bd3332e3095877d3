// Latency of a model prepared for inference, measured the way classify --bench does: a
// BatchRunner (plan/batch_runner.hpp) runs the batch, each pass in its planned arenas, on
// random input. One probe per model and batch size lets a caller alternate between models in
// one process, so that both see the same machine load.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "fovea/core/shape.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/plan/batch_runner.hpp"

namespace fovea::examples {

class LatencyProbe {
 public:
  // `model` must be prepared for inference and outlive the probe. The first forward, which
  // packs weights and plans the arenas, runs here and is not timed.
  LatencyProbe(nn::Module& model, const Shape& input) : runner_(model), input_(input) {
    input_.fill_uniform(0, -1.0, 1.0);
    runner_.forward(input_);
  }

  // Milliseconds of one forward.
  double time_once() {
    const auto start = std::chrono::steady_clock::now();
    runner_.forward(input_);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  }

 private:
  BatchRunner runner_;
  Tensor<float> input_;
};

inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::nth_element(values.begin(), values.begin() + static_cast<long>(values.size() / 2),
                   values.end());
  return values[values.size() / 2];
}

// Median milliseconds of `repeats` forwards of each probe, taken in turns (a, b, a, b, …).
inline std::vector<double> alternating_medians(std::vector<LatencyProbe*> probes, int64_t repeats) {
  std::vector<std::vector<double>> times(probes.size());
  for (int64_t r = 0; r < repeats; ++r)
    for (size_t p = 0; p < probes.size(); ++p)
      times[p].push_back(probes[p]->time_once());
  std::vector<double> medians;
  for (const std::vector<double>& t : times)
    medians.push_back(median(t));
  return medians;
}

}  // namespace fovea::examples
