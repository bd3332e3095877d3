// The README's code example: build a zoo model, load weights if given, classify a batch.
#include <cstdio>
#include <exception>

#include <fovea/fovea.hpp>

int main(int argc, char** argv) try {
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    std::fprintf(stderr, "usage: quickstart [WEIGHTS.safetensors]\n");
    return 2;
  }
  // load_model prepares the model for inference (batch norms folded, weights packed, planned
  // memory), so forward() is the fast path; a model built in code is prepared by hand.
  auto model = argc > 1 ? fovea::load_model(argv[1]).model : fovea::build_model("resnet18");
  if (argc <= 1) {
    fovea::init_weights(*model, /*seed=*/0);
    fovea::prepare_for_inference(*model);
  }
  fovea::Tensor<float> images(fovea::Shape{2, 3, 224, 224});  // NCHW, already normalized
  images.fill_uniform(/*seed=*/1, -1.0, 1.0);
  fovea::Tensor<float> probs = fovea::softmax(model->forward(images), /*axis=*/1);
  std::printf("image 0, class 0: p=%.5f of %lld classes\n", probs(0, 0), (long long)probs.dim(1));
  return 0;
} catch (const std::exception& e) {  // fovea::Error says what was wrong, naming the file
  std::fprintf(stderr, "quickstart: %s\n", e.what());
  return 1;
}
