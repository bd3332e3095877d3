// fold_batchnorm_in_place: moves every inference batch norm that directly follows a conv into
// that conv (scaled weights, shifted bias; ops/batchnorm/fold.hpp), and marks the batch norm
// folded, which makes it the identity. One pass over the activations less per pair.
//
// A pair is recognised where the data flow is certain from the structure torchvision uses:
//  - a Conv2d immediately followed by a BatchNorm2d among a Sequential's children
//    (Conv2dNormActivation, ResNet's downsample.0/.1, MobileNetV2's conv.2/conv.3), and
//  - children named convN and bnN of any other module (ResNet's conv1/bn1, conv2/bn2, …),
//    whose forward applies bnN to convN's output in every torchvision model.
#pragma once

#include <string>

#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/ops/batchnorm/fold.hpp"

namespace fovea {

namespace detail {

inline void fold_pair(nn::Conv2d& conv, nn::BatchNorm2d& bn, const std::string& where) {
  FOVEA_CHECK(conv.out_channels() == bn.channels(), "fold_batchnorm_in_place: ", where,
              " conv has ", conv.out_channels(), " output channels but its batch norm has ",
              bn.channels());
  const FoldedConv folded = fold_batchnorm(conv.weight(), conv.bias(), bn.weight(), bn.bias(),
                                           bn.running_mean(), bn.running_var(), bn.eps());
  std::copy(folded.weight.begin(), folded.weight.end(), conv.weight().begin());
  conv.set_bias(folded.bias);
  bn.set_folded(true);
}

inline bool is_numbered(const std::string& name, const std::string& stem, std::string& number) {
  if (name.size() <= stem.size() || name.compare(0, stem.size(), stem) != 0) return false;
  number = name.substr(stem.size());
  return number.find_first_not_of("0123456789") == std::string::npos;
}

inline int fold_batchnorm_children(nn::Module& module, const std::string& prefix) {
  int folded = 0;
  const auto& children = module.children();
  const bool sequential = dynamic_cast<nn::Sequential*>(&module) != nullptr;
  for (size_t i = 0; i < children.size(); ++i) {
    auto* conv = dynamic_cast<nn::Conv2d*>(children[i].second.get());
    if (conv == nullptr) continue;
    nn::BatchNorm2d* bn = nullptr;
    std::string number;
    if (sequential) {
      if (i + 1 < children.size())
        bn = dynamic_cast<nn::BatchNorm2d*>(children[i + 1].second.get());
    } else if (is_numbered(children[i].first, "conv", number)) {
      for (const auto& [name, child] : children) {
        if (name == "bn" + number) bn = dynamic_cast<nn::BatchNorm2d*>(child.get());
      }
    }
    if (bn == nullptr || bn->folded()) continue;
    fold_pair(*conv, *bn, prefix + children[i].first);
    ++folded;
  }
  for (const auto& [name, child] : children)
    folded += fold_batchnorm_children(*child, prefix + name + ".");
  return folded;
}

}  // namespace detail

// Folds every recognised conv → batch norm pair of `model` (in inference mode) and returns how
// many it folded. The model computes the same function afterwards, up to rounding, in inference
// mode only; its state_dict then holds the folded conv weights and biases.
inline int fold_batchnorm_in_place(nn::Module& model) {
  FOVEA_CHECK(!model.training(), "fold_batchnorm_in_place needs a model in inference mode");
  return detail::fold_batchnorm_children(model, "");
}

}  // namespace fovea
