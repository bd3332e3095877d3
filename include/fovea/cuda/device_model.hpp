// DeviceModel: a whole network on the GPU, built once from an nn::Module tree.
//
// The constructor walks the module tree the way the modules' own forward() functions do,
// uploads every weight once in the chosen element type (conv weights in KRSC order, activations
// NHWC) and records the kernels to launch. Each ReLU/ReLU6/SiLU/… that follows a conv or linear
// is fused into that kernel's epilogue, and so is every residual add (ResNet blocks,
// MobileNetV2's InvertedResidual, EfficientNet's MBConv), so a block ends in one kernel.
//
// Understood: Sequential (and Conv2dNormActivation), Conv2d, BatchNorm2d once folded into its
// conv (fold_batchnorm_in_place), Activation after a conv or linear, MaxPool2d, AvgPool2d,
// AdaptiveAvgPool2d to 1x1, Flatten of a 1x1 image, Linear, Dropout / Identity /
// StochasticDepth (the identity at inference), SqueezeExcitation, ResNet with BasicBlock or
// Bottleneck, InvertedResidual, MBConv, and the ImageClassifier models (MobileNetV2,
// EfficientNet). Anything else is an Error naming the module's path and kind.
//
// Plain C++17: the definitions live in kernels/model/ and are compiled into fovea_cuda.
#pragma once

#include <memory>
#include <string>

#include "fovea/core/dtype.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/cuda/runtime.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::cuda {

class DeviceModel {
 public:
  // `model` must be in inference mode with its batch norms folded (fold_batchnorm_in_place or
  // prepare_for_inference); it is only read, and not needed afterwards. `dtype` is the element
  // type on the device: DType::f16, DType::bf16 (FP32 accumulation) or DType::f32 (run as TF32).
  DeviceModel(nn::Module& model, DType dtype);
  ~DeviceModel();
  DeviceModel(DeviceModel&&) noexcept;
  DeviceModel& operator=(DeviceModel&&) noexcept;

  // Logits for an NCHW (or NHWC) float batch: uploads, runs, downloads (waits for the device).
  Tensor<float> forward(const Tensor<float>& input);

  // The same in three steps, so a bench can time run() alone: set_input uploads (converted to
  // the device type, NHWC), run queues the whole network on stream() without waiting, output
  // waits for it and returns the result as float. Activation buffers are allocated on the first
  // run for an input shape and reused while the shape stays the same.
  void set_input(const Tensor<float>& input);
  void run();
  Tensor<float> output();

  Stream stream() const;
  DType dtype() const;
  // One line per launched step, e.g. "layer1.0.conv3: conv2d 1x1 64->256 +bias +residual relu".
  std::string summary() const;

  class Impl;  // defined in kernels/model/device_model.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fovea::cuda
