// Compiled with AVX-512 flags and never run (tests/cpu_kernels/CMakeLists.txt): on a machine
// without AVX-512, as CI's may be, this is what checks that the AVX-512 paths still build.
// Taking the addresses makes the compiler instantiate the kernels behind them.
#include "fovea/fovea.hpp"

namespace {

const void* const kAvx512Entries[] = {
    &fovea::cpu::conv2d_kernels(),
    reinterpret_cast<const void*>(&fovea::cpu::expand_depthwise_nhwc),
    reinterpret_cast<const void*>(&fovea::cpu::expand_depthwise_project_nhwc),
    reinterpret_cast<const void*>(&fovea::cpu::squeeze_excitation_nhwc),
    reinterpret_cast<const void*>(&fovea::cpu::linear_f32),
    reinterpret_cast<const void*>(&fovea::cpu::activation_f32),
    reinterpret_cast<const void*>(&fovea::cpu::max_pool2d_nhwc),
    reinterpret_cast<const void*>(&fovea::cpu::global_avg_pool2d_nhwc),
};

}  // namespace

const void* const* fovea_avx512_entries() {
  return kAvx512Entries;
}
