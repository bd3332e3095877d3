// Training checkpoints: one safetensors file (written to a temporary name and renamed, so a
// crash leaves the previous checkpoint whole) holding the model's parameters and buffers under
// "model.<name>", the optimizer's state under "optimizer.<name>", and metadata: the epochs done,
// the optimizer's step count and the run's seed. The data order and augmentation of epoch e are
// drawn from a generator seeded with (seed, e), so seed and epoch are the whole RNG state.
#pragma once

#include <string>

#include "fovea/io/safetensors.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/train/optimizer.hpp"

namespace fovea::train {

struct CheckpointInfo {
  int64_t epochs_done = 0;
  uint64_t seed = 0;
};

inline void save_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer,
                            const CheckpointInfo& info) {
  SafeTensorsWriter writer;
  for (const nn::NamedTensor& t : model.named_tensors())
    writer.add("model." + t.name, *t.tensor);
  for (const auto& [name, state] : optimizer.state())
    writer.add("optimizer." + name, state);
  writer.set_metadata("epochs_done", std::to_string(info.epochs_done));
  writer.set_metadata("optimizer_steps", std::to_string(optimizer.steps()));
  writer.set_metadata("seed", std::to_string(info.seed));
  writer.write(path);
}

namespace detail {
inline void load_model_tensors(const SafeTensorsFile& file, const std::string& path,
                               nn::Module& model) {
  for (const nn::NamedTensor& t : model.named_tensors()) {
    const Tensor<float> saved = file.load<float>("model." + t.name);
    FOVEA_CHECK(saved.shape() == t.tensor->shape(), path, ": '", t.name, "' is ", saved.shape(),
                " in the checkpoint, ", t.tensor->shape(), " in the model");
    std::copy(saved.begin(), saved.end(), t.tensor->begin());
  }
}
}  // namespace detail

// Restores only the model's parameters and buffers from a checkpoint: the start of a new run
// (a warm restart, or fine-tuning) from an earlier run's weights, with a fresh optimizer.
inline void load_checkpoint_weights(const std::string& path, nn::Module& model) {
  detail::load_model_tensors(SafeTensorsFile::open(path), path, model);
  model.parameters_changed();
}

// Restores everything save_checkpoint wrote into a model and optimizer built the same way.
inline CheckpointInfo load_checkpoint(const SafeTensorsFile& file, nn::Module& model,
                                      Optimizer& optimizer) {
  const std::string& path = file.source();
  detail::load_model_tensors(file, path, model);
  optimizer.state().clear();
  for (const TensorRecord& r : file.tensors()) {
    if (r.name.rfind("optimizer.", 0) == 0)
      optimizer.state().emplace(r.name.substr(10), file.load<float>(r.name));
  }
  const auto meta = [&](const char* key) {
    const auto it = file.metadata().find(key);
    FOVEA_CHECK(it != file.metadata().end(), path, ": checkpoint metadata lacks '", key, "'");
    const std::string& text = it->second;
    int64_t value = -1;
    size_t used = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FOVEA_CHECK(used != 0 && used == text.size() && value >= 0, path, ": checkpoint metadata '",
                key, "' is '", text, "', expected a whole number >= 0");
    return value;
  };
  optimizer.set_steps(meta("optimizer_steps"));
  return CheckpointInfo{meta("epochs_done"), static_cast<uint64_t>(meta("seed"))};
}

inline CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model,
                                      Optimizer& optimizer) {
  return load_checkpoint(SafeTensorsFile::open(path), model, optimizer);
}

}  // namespace fovea::train
