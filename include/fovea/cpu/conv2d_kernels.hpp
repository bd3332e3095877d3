// The CPU conv2d kernel table the conv2d entry point chooses from (STYLE.md pattern 1). Names
// follow conv2d_<dtype>_<layout>_<algorithm>_<isa>; the ISA is the one this translation unit
// was compiled for (simd.hpp).
#pragma once

#include <string>
#include <vector>

#include "fovea/cpu/conv2d_depthwise.hpp"
#include "fovea/cpu/conv2d_depthwise_channels.hpp"
#include "fovea/cpu/conv2d_depthwise_nhwc.hpp"
#include "fovea/cpu/conv2d_direct.hpp"
#include "fovea/cpu/conv2d_gemm.hpp"
#include "fovea/cpu/conv2d_nhwc.hpp"
#include "fovea/cpu/conv2d_winograd.hpp"
#include "fovea/cpu/conv2d_winograd_nhwc.hpp"
#include "fovea/cpu/kernel_registry.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

struct Conv2dKernelRun {
  // Packs the weights into the form run() reads (null when the kernel reads them as they are).
  std::shared_ptr<const void> (*prepare)(const Tensor<float>& weight, const Conv2dParams& cp);
  Tensor<float> (*run)(const Conv2dCall& call);
};

using Conv2dKernel = KernelEntry<Conv2dProblem, Conv2dKernelRun>;

inline const std::vector<Conv2dKernel>& conv2d_kernels() {
  static const std::vector<Conv2dKernel> table = [] {
    const std::string isa = kIsaName;
    std::vector<Conv2dKernel> t;
    t.push_back({"conv2d_f32_nchw_depthwise_channels_" + isa,
                 35,
                 conv2d_depthwise_channels_supports,
                 {nullptr, conv2d_depthwise_channels_run}});
    t.push_back({"conv2d_f32_nchw_depthwise_direct_" + isa,
                 30,
                 conv2d_depthwise_supports,
                 {nullptr, conv2d_depthwise_run}});
    t.push_back({"conv2d_f32_nchw_pointwise_gemm_" + isa,
                 20,
                 conv2d_pointwise_supports,
                 {pack_conv2d_weights, conv2d_pointwise_run}});
    t.push_back({"conv2d_f32_nchw_winograd_f4x3_gemm_" + isa,
                 16,
                 conv2d_winograd_supports<4>,
                 {winograd_prepare<4>, conv2d_winograd_run<4>}});
    t.push_back({"conv2d_f32_nchw_winograd_f2x3_gemm_" + isa,
                 15,
                 conv2d_winograd_supports<2>,
                 {winograd_prepare<2>, conv2d_winograd_run<2>}});
    t.push_back({"conv2d_f32_nchw_direct_" + isa,
                 12,
                 conv2d_direct_supports,
                 {direct_conv_prepare, conv2d_direct_run}});
    t.push_back({"conv2d_f32_nchw_im2col_gemm_" + isa,
                 10,
                 conv2d_im2col_supports,
                 {pack_conv2d_weights, conv2d_im2col_run}});
    // Channels last: each takes only NHWC problems, so the priorities order them among
    // themselves.
    t.push_back({"conv2d_f32_nhwc_depthwise_" + isa,
                 35,
                 conv2d_depthwise_nhwc_supports,
                 {conv2d_depthwise_nhwc_prepare, conv2d_depthwise_nhwc_run}});
    t.push_back({"conv2d_f32_nhwc_pointwise_gemm_" + isa,
                 20,
                 conv2d_nhwc_pointwise_supports,
                 {conv2d_nhwc_pointwise_prepare, conv2d_nhwc_pointwise_run}});
    t.push_back({"conv2d_f32_nhwc_winograd_f4x3_gemm_" + isa,
                 16,
                 conv2d_winograd_nhwc_supports<4>,
                 {winograd_nhwc_prepare<4>, conv2d_winograd_nhwc_run<4>}});
    t.push_back({"conv2d_f32_nhwc_winograd_f2x3_gemm_" + isa,
                 15,
                 conv2d_winograd_nhwc_supports<2>,
                 {winograd_nhwc_prepare<2>, conv2d_winograd_nhwc_run<2>}});
    t.push_back({"conv2d_f32_nhwc_direct_" + isa,
                 12,
                 conv2d_nhwc_direct_supports,
                 {conv2d_nhwc_direct_prepare, conv2d_nhwc_direct_run}});
    return t;
  }();
  return table;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
