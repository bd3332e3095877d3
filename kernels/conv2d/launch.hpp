// Host-side declarations of the conv kernel instances (defined in implicit_gemm.cuh and
// depthwise.cuh, instantiated in instances/*.cu and depthwise.cu) and of the conv launcher's
// entry for other ops. T is the device element type: float, __half or __nv_bfloat16.
#pragma once

#include <cuda_runtime_api.h>

#include "conv2d/conv_problem.hpp"
#include "conv2d/tile_shapes.hpp"

namespace fovea::cuda::detail {

template <class T, class Tile>
void launch_implicit_gemm(const ConvProblem& problem, cudaStream_t stream);

template <class T>
void launch_depthwise(const ConvProblem& problem, cudaStream_t stream);

// Runs `problem` (already validated) on the kernel conv2d would pick. Used by linear and
// squeeze-excitation, which are convolutions over 1x1 images.
template <class T>
void run_conv_problem(const ConvProblem& problem, cudaStream_t stream);

}  // namespace fovea::cuda::detail
