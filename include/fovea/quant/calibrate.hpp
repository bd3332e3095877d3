// Calibration: the float model runs on calibration images (never the evaluation set) while an
// Observer per value records its range and histogram; the chosen method then gives each value
// its range (observer.hpp). Batch norms are folded before the graph is lowered, so what is
// observed is what the INT8 model will compute.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "fovea/quant/observer.hpp"
#include "fovea/quant/quantized_model.hpp"

namespace fovea::quant {

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::entropy;
  double percentile = 99.99;  // for CalibrationMethod::percentile
  int64_t batch = 8;          // images per forward
};

// Called after each forward with the images done and the total over all passes.
using CalibrationProgress = std::function<void(int64_t done, int64_t total)>;

// Images [start, end) stacked into one batch; each image is (1, C, H, W) NCHW.
inline Tensor<float> stack_images(const std::vector<Tensor<float>>& images, size_t start,
                                  size_t end) {
  Shape shape = images[start].shape();
  FOVEA_CHECK(shape.rank() == 4 && shape[0] == 1, "calibration images must be (1, C, H, W), got ",
              shape);
  shape[0] = static_cast<int64_t>(end - start);
  Tensor<float> batch = Tensor<float>::uninitialized(shape);
  for (size_t i = start; i < end; ++i) {
    const Tensor<float>& image = images[i];
    FOVEA_CHECK(image.shape() == images[start].shape() && image.layout() == Layout::nchw,
                "calibration images must all have one NCHW shape; got ", image.shape(), " and ",
                images[start].shape());
    std::copy(image.begin(), image.end(), batch.data() + (i - start) * image.numel());
  }
  return batch;
}

// The range of every value of `fp32` (an all-FP32 model) over `images`.
inline std::vector<ValueRange> calibrate(QuantizedModel& fp32,
                                         const std::vector<Tensor<float>>& images,
                                         const CalibrationOptions& options,
                                         const CalibrationProgress& progress = {}) {
  FOVEA_CHECK(!images.empty(), "calibration needs at least one image");
  FOVEA_CHECK(options.batch > 0, "calibration batch must be positive, got ", options.batch);
  std::vector<Observer> observers(fp32.nodes().size());
  const bool histograms = options.method != CalibrationMethod::minmax;
  const int64_t total = static_cast<int64_t>(images.size()) * (histograms ? 2 : 1);
  int64_t done = 0;
  for (int pass = 0; pass < (histograms ? 2 : 1); ++pass) {
    for (size_t start = 0; start < images.size(); start += static_cast<size_t>(options.batch)) {
      const size_t end = std::min(images.size(), start + static_cast<size_t>(options.batch));
      fp32.forward_observed(stack_images(images, start, end),
                            [&](int node, const Tensor<float>& value) {
                              Observer& o = observers[static_cast<size_t>(node)];
                              if (pass == 0)
                                o.observe_range(value);
                              else
                                o.observe_histogram(value);
                            });
      done += static_cast<int64_t>(end - start);
      if (progress) progress(done, total);
    }
  }
  std::vector<ValueRange> ranges;
  for (const Observer& o : observers)
    ranges.push_back(o.range(options.method, options.percentile));
  return ranges;
}

}  // namespace fovea::quant
