// One loaded version of a classifier, as fovea_serve serves it and fovea_scan runs it: the
// prepared network, its preprocessing recipe, class labels and the identity of the file it came
// from. Loading checks the file, folds and packs the weights (load_model prepares) and runs one
// warm-up forward, so the first request pays no first-call cost; a Servable is then only read, by
// any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fovea/fovea.hpp"
#include "fovea/image/preprocess.hpp"
#include "imagenet_classes.hpp"
#include "sha256.hpp"

namespace fovea::examples {

struct Servable {
  std::string name;
  std::string version;  // "1" for the first load of this name, then one more per reload
  std::string path, sha256, architecture;
  Preprocessing recipe;
  // The input a request's tensor must have: channels, and height and width where the recipe
  // fixes them (a center crop); 0 where any size is taken.
  int64_t channels = 3, height = 0, width = 0;
  int64_t num_classes = 0;
  std::unique_ptr<nn::Module> model;

  std::string label(int64_t index) const {
    const ClassList& imagenet = examples::imagenet_classes();
    if (num_classes == imagenet.size()) return imagenet.labels[static_cast<size_t>(index)];
    return "class " + std::to_string(index);
  }
};

// Loads, checks, prepares and warms up `path` as version `version` of model `name`. Throws
// fovea::Error naming the file when it is not a classifier.
inline std::shared_ptr<Servable> load_servable(const std::string& name, const std::string& path,
                                               const std::string& version) {
  auto servable = std::make_shared<Servable>();
  servable->name = name;
  servable->version = version;
  servable->path = path;
  try {
    servable->sha256 = sha256_of_file(path);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  LoadedModel loaded = load_model(path);
  servable->architecture = loaded.architecture;
  const auto recipe_it = loaded.metadata.find("preprocessing");
  if (recipe_it != loaded.metadata.end()) {
    servable->recipe =
        Preprocessing::from_json(recipe_it->second, path + " metadata 'preprocessing'");
  }
  servable->model = std::move(loaded.model);  // prepared for inference by load_model

  const Preprocessing& recipe = servable->recipe;
  servable->height = servable->width = recipe.crop;
  // The warm-up image: the crop, else a square of the resize side, else ImageNet's 224.
  const int64_t side = recipe.crop > 0 ? recipe.crop : recipe.resize > 0 ? recipe.resize : 224;
  const Tensor<float> warm_up(Shape{1, servable->channels, side, side});  // zeros
  const Tensor<float> logits = servable->model->forward(warm_up);
  FOVEA_CHECK(logits.rank() == 2 && logits.dim(0) == 1 && logits.dim(1) >= 1, path,
              ": the model's output is ", logits.shape(), ", expected (1, classes): a classifier");
  servable->num_classes = logits.dim(1);
  return servable;
}

}  // namespace fovea::examples
