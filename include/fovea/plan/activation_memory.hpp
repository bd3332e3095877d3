// measure_activation_peak: how much memory one forward pass needs besides the weights, measured
// by running it with an AllocationWindow (core/allocation_tracker.hpp) open.
//
// Counted: every tensor and kernel scratch buffer (im2col columns, Winograd tiles) allocated
// during the pass, the input included, for as long as it is alive; the peak is the most of that
// alive at once. Not counted: the weights and their packed copies (made by a warm-up pass before
// the window opens) and the small per-thread packing buffers, which only grow and are reused
// from pass to pass. The pass runs on the heap, so the peak is the least any arena could hold;
// an ActivationArena (core/arena.hpp) plans a buffer for repeated passes and reports its size.
#pragma once

#include <cstdint>

#include "fovea/core/allocation_tracker.hpp"
#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/module.hpp"

namespace fovea {

// Runs `model` twice on a zero input of `input_shape` (NCHW float) and measures the second
// pass. Prepare the model first (prepare_for_inference) to measure the path you deploy.
inline AllocationStats measure_activation_peak(nn::Module& model, const Shape& input_shape) {
  // A training-mode forward keeps activations for backward, which is not what is measured here.
  FOVEA_CHECK(!model.training(), "measure_activation_peak needs a model in inference mode");
  model.forward(Tensor<float>(input_shape));  // packs weights and grows per-thread buffers
  AllocationWindow window;
  {
    const Tensor<float> input(input_shape);
    const Tensor<float> output = model.forward(input);
  }
  return window.stats();
}

}  // namespace fovea
