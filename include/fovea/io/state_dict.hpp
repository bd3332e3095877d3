// Loading and saving a module's parameters and buffers as a safetensors file, under the same
// dotted names as PyTorch's state_dict ("layer1.0.conv1.weight").
#pragma once

#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/io/safetensors.hpp"
#include "fovea/nn/module.hpp"

namespace fovea {

// Written into "format_version" by save_state_dict unless the caller gives one.
inline constexpr const char* kWeightsFormatVersion = "1";

namespace detail {

// PyTorch's BatchNorm counts training steps in "num_batches_tracked". Inference never reads it
// and fovea has no slot for it, so such keys are neither loaded nor reported as unexpected.
inline bool is_training_bookkeeping(const std::string& name) {
  const std::string suffix = ".num_batches_tracked";
  return name == "num_batches_tracked" ||
         (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
}

inline bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

}  // namespace detail

// Copies every tensor of `file` into the module's existing parameters and buffers (converting
// F64/F16/BF16 to float, and into the target's layout). All problems are collected first and
// reported together in one Error, before anything is copied: shape or dtype mismatches always;
// missing and unexpected tensors when `strict`.
inline void load_state_dict(nn::Module& model, const SafeTensorsFile& file, bool strict = true) {
  constexpr size_t kMaxListed = 20;
  std::vector<std::string> problems;
  const std::vector<nn::NamedTensor> targets = model.named_tensors();
  std::set<std::string> wanted;
  for (const nn::NamedTensor& t : targets) {
    wanted.insert(t.name);
    if (!file.contains(t.name)) {
      bool unloadable = false;
      for (const UnloadableTensor& u : file.unloadable()) {
        if (u.name == t.name) {
          problems.push_back(t.name + ": dtype " + u.dtype + " cannot be loaded into float");
          unloadable = true;
        }
      }
      if (strict && !unloadable) problems.push_back("missing: " + t.name);
      continue;
    }
    const TensorRecord& r = file.record(t.name);
    if (t.tensor->empty()) {
      problems.push_back(t.name + ": the module's tensor has no storage to load into");
    } else if (r.shape != t.tensor->shape()) {
      problems.push_back(t.name + ": expected " + t.tensor->shape().str() + ", got " +
                         r.shape.str());
    } else if (!detail::is_floating(r.dtype)) {
      problems.push_back(t.name + ": stored as " + safetensors::dtype_name(r.dtype) +
                         ", expected a floating-point dtype");
    }
  }
  if (strict) {
    for (const TensorRecord& r : file.tensors()) {
      if (!wanted.count(r.name) && !detail::is_training_bookkeeping(r.name)) {
        problems.push_back("unexpected: " + r.name);
      }
    }
    for (const UnloadableTensor& u : file.unloadable()) {
      if (!wanted.count(u.name) && !detail::is_training_bookkeeping(u.name)) {
        problems.push_back("unexpected: " + u.name + " (" + u.dtype + ")");
      }
    }
  }
  if (!problems.empty()) {
    std::ostringstream out;
    out << "cannot load '" << file.source() << "' into " << model.kind() << ": " << problems.size()
        << (problems.size() == 1 ? " problem" : " problems");
    for (size_t i = 0; i < problems.size() && i < kMaxListed; ++i)
      out << "\n  " << problems[i];
    if (problems.size() > kMaxListed) out << "\n  and " << problems.size() - kMaxListed << " more";
    throw Error(out.str());
  }
  for (const nn::NamedTensor& t : targets) {
    if (!file.contains(t.name)) continue;  // only when not strict
    Tensor<float> loaded = file.load<float>(t.name);
    if (t.tensor->layout() == Layout::nhwc) loaded = loaded.to_layout(Layout::nhwc);
    std::memcpy(t.tensor->data(), loaded.data(), loaded.size_bytes());
  }
  model.parameters_changed();
}

// Writes every parameter and buffer of the module as F32 under its dotted name, with
// `metadata` (see docs/weights_format.md for the keys fovea uses) and "format_version".
inline void save_state_dict(nn::Module& model, const std::string& path,
                            const std::map<std::string, std::string>& metadata = {}) {
  SafeTensorsWriter writer;
  writer.set_metadata("format_version", kWeightsFormatVersion);
  for (const auto& [key, value] : metadata)
    writer.set_metadata(key, value);
  for (const nn::NamedTensor& t : model.named_tensors())
    writer.add(t.name, *t.tensor);
  writer.write(path);
}

}  // namespace fovea
