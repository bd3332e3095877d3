// StepwiseForward: a module whose forward is a chain of steps that may be run in parts, each
// part on whatever batch the caller likes. BatchRunner (plan/batch_runner.hpp) runs a batch's
// early steps one image at a time and the late ones on many images at once.
#pragma once

#include <cstdint>

#include "fovea/core/tensor.hpp"

namespace fovea::nn {

class StepwiseForward {
 public:
  virtual ~StepwiseForward() = default;

  virtual int64_t step_count() const = 0;
  // Steps [begin, end) applied to x, the output of step begin - 1 (or the model's input when
  // begin is 0): forward_steps(x, 0, step_count()) is forward(x).
  virtual Tensor<float> forward_steps(const Tensor<float>& x, int64_t begin, int64_t end) = 0;
};

}  // namespace fovea::nn
