// The activation functions fovea knows, under the class names torch.nn gives them.
#pragma once

#include <string>

#include "fovea/core/error.hpp"

namespace fovea {

enum class ActivationKind { identity, relu, relu6, silu, sigmoid, tanh, hardswish, hardsigmoid };

inline constexpr ActivationKind kAllActivationKinds[] = {
    ActivationKind::identity,  ActivationKind::relu,       ActivationKind::relu6,
    ActivationKind::silu,      ActivationKind::sigmoid,    ActivationKind::tanh,
    ActivationKind::hardswish, ActivationKind::hardsigmoid};

// The torch.nn class name ("ReLU", "Hardswish", …), used in summaries and model files.
inline const char* activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::identity:
      return "Identity";
    case ActivationKind::relu:
      return "ReLU";
    case ActivationKind::relu6:
      return "ReLU6";
    case ActivationKind::silu:
      return "SiLU";
    case ActivationKind::sigmoid:
      return "Sigmoid";
    case ActivationKind::tanh:
      return "Tanh";
    case ActivationKind::hardswish:
      return "Hardswish";
    case ActivationKind::hardsigmoid:
      return "Hardsigmoid";
  }
  return "?";
}

// The kind whose torch class name is `name`; throws listing the known names otherwise.
inline ActivationKind activation_from_name(const std::string& name) {
  std::string known;
  for (ActivationKind kind : kAllActivationKinds) {
    if (name == activation_name(kind)) return kind;
    known += known.empty() ? "" : ", ";
    known += activation_name(kind);
  }
  fail("unknown activation '", name, "' (expected one of ", known, ")");
}

}  // namespace fovea
