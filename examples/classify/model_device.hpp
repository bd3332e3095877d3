// The examples' --device cpu|cuda option: runs a model's forward on the CPU, or on the GPU as a
// fovea::cuda::DeviceModel when this build has the CUDA backend (FOVEA_HAS_CUDA, set by
// examples/classify/CMakeLists.txt when the fovea::cuda target exists).
#pragma once

#include <memory>
#include <string>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/plan/fold_batchnorm.hpp"
#ifdef FOVEA_HAS_CUDA
#include "fovea/cuda/device_model.hpp"
#include "fovea/cuda/runtime.hpp"
#endif

namespace fovea::examples {

enum class Device { cpu, cuda };

inline Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  fail("--device must be cpu or cuda, got '", name, "'");
}

// f16 (default), bf16 or f32 (TF32 on tensor cores): the element type on the GPU.
inline DType parse_device_dtype(const std::string& name) {
  if (name == "f16") return DType::f16;
  if (name == "bf16") return DType::bf16;
  if (name == "f32") return DType::f32;
  fail("--dtype must be f16, bf16 or f32, got '", name, "'");
}

class ModelOnDevice {
 public:
  // For Device::cuda, folds the model's batch norms in place and uploads its weights; throws
  // when the build has no CUDA support or no device is found.
  ModelOnDevice(nn::Module& model, Device device, DType dtype) : model_(model) {
    if (device == Device::cpu) return;
#ifdef FOVEA_HAS_CUDA
    FOVEA_CHECK(cuda::device_available(), "--device cuda: no CUDA device found (",
                cuda::device_unavailable_reason(), ")");
    model.set_training(false);
    fold_batchnorm_in_place(model);
    device_model_ = std::make_unique<cuda::DeviceModel>(model, dtype);
#else
    (void)dtype;
    fail(
        "--device cuda: this build has no CUDA support (configure with nvcc on the PATH and "
        "-DFOVEA_CUDA=ON)");
#endif
  }

  Tensor<float> forward(const Tensor<float>& x) {
#ifdef FOVEA_HAS_CUDA
    if (device_model_) return device_model_->forward(x);
#endif
    return model_.forward(x);
  }

 private:
  nn::Module& model_;
#ifdef FOVEA_HAS_CUDA
  std::unique_ptr<cuda::DeviceModel> device_model_;
#endif
};

}  // namespace fovea::examples
