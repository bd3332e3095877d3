// Instances of the INT8 tensor-core conv: the two block tiles the launcher picks from, each with
// the requantized u8 output and the dequantized float output.
#include "quant/qconv2d_imma.cuh"

namespace fovea::cuda::detail {

template void launch_qconv2d_imma<uint8_t, ImmaTile128x128x64>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_imma<uint8_t, ImmaTile64x64x64>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_imma<float, ImmaTile128x128x64>(const QConvProblem&, cudaStream_t);
template void launch_qconv2d_imma<float, ImmaTile64x64x64>(const QConvProblem&, cudaStream_t);

}  // namespace fovea::cuda::detail
