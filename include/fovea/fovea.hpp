// The whole fovea core in one include: tensors, reference ops and their entry points, layers,
// the model zoo, weight files, and the inference plan (load_model prepares models for it;
// BatchRunner, set_num_threads). Plain C++17, no third-party header. The image pipeline
// (fovea/image/, needs stb_image) and the CUDA launchers (fovea/cuda/) are included separately.
#pragma once

#include "fovea/config.hpp"
#include "fovea/core/dtype.hpp"
#include "fovea/core/error.hpp"
#include "fovea/core/half.hpp"
#include "fovea/core/rng.hpp"
#include "fovea/core/shape.hpp"
#include "fovea/core/tensor.hpp"

#include "fovea/ops/activation/activation.hpp"
#include "fovea/ops/attention/attention.hpp"
#include "fovea/ops/batchnorm/batchnorm.hpp"
#include "fovea/ops/batchnorm/fold.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"
#include "fovea/ops/elementwise/flatten.hpp"
#include "fovea/ops/linear/linear.hpp"
#include "fovea/ops/pool2d/pool2d.hpp"
#include "fovea/ops/softmax/softmax.hpp"

#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/cbam.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dropout.hpp"
#include "fovea/nn/flatten.hpp"
#include "fovea/nn/identity.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/nn/squeeze_excitation.hpp"

#include "fovea/io/json.hpp"
#include "fovea/io/npy.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/io/state_dict.hpp"

#include "fovea/models/from_file.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"

#include "fovea/cpu/thread_pool.hpp"
#include "fovea/plan/activation_memory.hpp"
#include "fovea/plan/batch_runner.hpp"
#include "fovea/plan/inference.hpp"
