// Instances of the implicit-GEMM conv for __half: the two block tiles the launcher picks from.
#include "conv2d/implicit_gemm.cuh"

namespace fovea::cuda::detail {

template void launch_implicit_gemm<__half, Tile128x128x32>(const ConvProblem&, cudaStream_t);
template void launch_implicit_gemm<__half, Tile64x64x32>(const ConvProblem&, cudaStream_t);

}  // namespace fovea::cuda::detail
