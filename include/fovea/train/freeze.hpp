// Transfer learning: the parameters left to train after freezing names by prefix, so the
// optimizer never sees (or updates) the frozen ones.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "fovea/nn/module.hpp"

namespace fovea::train {

// Every parameter with its gradient, less those whose name starts with one of `frozen`.
inline std::vector<nn::NamedTensor> trainable_parameters(nn::Module& model,
                                                         const std::vector<std::string>& frozen) {
  std::vector<nn::NamedTensor> out;
  for (const nn::NamedTensor& p : model.named_parameters_with_grads()) {
    bool keep = true;
    for (const std::string& prefix : frozen)
      keep = keep && p.name.compare(0, prefix.size(), prefix) != 0;
    if (keep) out.push_back(p);
  }
  return out;
}

// Copies every parameter and buffer of `from` into the same-named, same-shaped tensor of `to`,
// except names under one of `skip` (e.g. a classifier head built for other classes). Returns how
// many tensors were copied. Replacing a head is: build the model for the new classes, copy the
// backbone from the trained one, freeze it and fine-tune.
inline int64_t copy_tensors_except(nn::Module& from, nn::Module& to,
                                   const std::vector<std::string>& skip) {
  int64_t copied = 0;
  std::vector<nn::NamedTensor> sources = from.named_tensors();
  for (const nn::NamedTensor& dst : to.named_tensors()) {
    bool skipped = false;
    for (const std::string& prefix : skip)
      skipped = skipped || dst.name.compare(0, prefix.size(), prefix) == 0;
    if (skipped) continue;
    const nn::NamedTensor* src = nullptr;
    for (const nn::NamedTensor& s : sources)
      if (s.name == dst.name) src = &s;
    FOVEA_CHECK(src != nullptr, "copy_tensors_except: the source model has no '", dst.name, "'");
    FOVEA_CHECK(src->tensor->shape() == dst.tensor->shape(), "copy_tensors_except: '", dst.name,
                "' is ", src->tensor->shape(), " in the source and ", dst.tensor->shape(),
                " in the target");
    std::copy(src->tensor->begin(), src->tensor->end(), dst.tensor->begin());
    ++copied;
  }
  return copied;
}

}  // namespace fovea::train
