// The README's C++ path against classify --bench's, in one process, alternating: the model
// load_model gives, called as `model->forward(images)`, and a model loaded as written in the
// file, prepared by hand and run by a BatchRunner, as classify --bench runs it. Prints the
// median milliseconds of each and their ratio per batch size.
//
//   readme_path WEIGHTS.safetensors [THREADS] [ROUNDS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include <fovea/fovea.hpp>

namespace {

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: readme_path WEIGHTS.safetensors [THREADS] [ROUNDS]\n");
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 15;
  if (threads > 0) fovea::set_num_threads(threads);
  auto readme = fovea::load_model(argv[1]).model;  // as README.md's example
  auto bench_model = fovea::load_model(argv[1], fovea::LoadFor::training).model;
  fovea::prepare_for_inference(*bench_model);  // as classify --bench
  fovea::BatchRunner runner(*bench_model);
  using Clock = std::chrono::steady_clock;
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  for (const int64_t batch : {1, 2, 8}) {
    fovea::Tensor<float> images(fovea::Shape{batch, 3, 224, 224});
    images.fill_uniform(1, -1.0, 1.0);
    fovea::Tensor<float> a = readme->forward(images), b = runner.forward(images);
    for (int i = 0; i < 2; ++i) {  // the arenas plan on the first passes
      a = readme->forward(images);
      b = runner.forward(images);
    }
    std::vector<double> readme_ms, bench_ms;
    for (int i = 0; i < rounds; ++i) {
      auto t0 = Clock::now();
      a = readme->forward(images);
      auto t1 = Clock::now();
      b = runner.forward(images);
      auto t2 = Clock::now();
      readme_ms.push_back(ms(t1 - t0));
      bench_ms.push_back(ms(t2 - t1));
    }
    bool same = a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
    std::printf("batch=%lld threads=%d readme_ms=%.2f bench_ms=%.2f ratio=%.3f same_logits=%s\n",
                static_cast<long long>(batch), fovea::num_threads(), median(readme_ms),
                median(bench_ms), median(readme_ms) / median(bench_ms), same ? "yes" : "no");
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "readme_path: %s\n", e.what());
  return 1;
}
