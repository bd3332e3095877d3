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
#include "fovea/core/arena.hpp"
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
  // Inside an arena scope a prepared model runs its layers on the whole batch instead of its
  // plan; a scope's first pass only records, so every allocation still goes to the heap.
  ActivationArena recording_only;
  ArenaScope scope(recording_only);
  model.forward(Tensor<float>(input_shape));  // packs weights and grows per-thread buffers
  AllocationWindow window;
  {
    const Tensor<float> input(input_shape);
    const Tensor<float> output = model.forward(input);
  }
  return window.stats();
}

// Bytes of the model's parameters and buffers, as loaded (after prepare_for_inference: folded).
inline int64_t weight_bytes(nn::Module& model) {
  int64_t bytes = 0;
  for (const nn::NamedTensor& t : model.named_tensors())
    bytes += t.tensor->numel() * static_cast<int64_t>(sizeof(float));
  return bytes;
}

// Bytes a prepared model keeps besides its weights once it has run at `input_shape`: the convs'
// packed weights, and the per-thread packing buffers kernels keep. Drops the packed copies and
// measures a forward that makes them again.
inline int64_t measure_packed_weights(nn::Module& model, const Shape& input_shape) {
  FOVEA_CHECK(!model.training(), "measure_packed_weights needs a model in inference mode");
  model.parameters_changed();
  const Tensor<float> input(input_shape);
  AllocationWindow window;
  model.forward(input);  // the output is freed at once: what stays alive is kept by the model
  return window.stats().live_bytes;
}

}  // namespace fovea
