// Writes the small classifier the server, scan and C API tests load: a ResNet-18 with 10 classes
// on 32x32 crops (fast enough to run hundreds of images in a test), random weights from SEED.
//
//   test_classifier_model OUT.safetensors SEED
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "fovea/fovea.hpp"
#include "fovea/image/preprocessing.hpp"

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: test_classifier_model OUT.safetensors SEED\n");
    return 2;
  }
  fovea::ModelOptions options;
  options.num_classes = 10;
  auto model = fovea::build_model("resnet18", options);
  fovea::init_weights(*model, std::strtoull(argv[2], nullptr, 10));
  fovea::Preprocessing recipe;
  recipe.resize = 36;
  recipe.crop = 32;
  fovea::save_state_dict(
      *model, argv[1],
      {{"architecture", "resnet18"}, {"num_classes", "10"}, {"preprocessing", recipe.to_json()}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "test_classifier_model: %s\n", e.what());
  return 1;
}
