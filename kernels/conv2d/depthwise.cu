// Instances of the direct depthwise conv.
#include "conv2d/depthwise.cuh"

namespace fovea::cuda::detail {

template void launch_depthwise<float>(const ConvProblem&, cudaStream_t);
template void launch_depthwise<__half>(const ConvProblem&, cudaStream_t);
template void launch_depthwise<__nv_bfloat16>(const ConvProblem&, cudaStream_t);

}  // namespace fovea::cuda::detail
