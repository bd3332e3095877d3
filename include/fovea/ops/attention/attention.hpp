// Attention blocks: the entry points layers call. Squeeze-excitation has CPU kernels
// (cpu/squeeze_excitation.hpp) for NCHW and NHWC input, the output keeping the input's layout;
// everything else, and the reference-only policy, runs the reference.
#pragma once

#include <string>

#include "fovea/cpu/kernel_registry.hpp"
#include "fovea/cpu/squeeze_excitation.hpp"
#include "fovea/ops/attention/reference.hpp"

namespace fovea {

inline Tensor<float> squeeze_excitation(const Tensor<float>& x, const Tensor<float>& fc1_w,
                                        const Tensor<float>& fc1_b, const Tensor<float>& fc2_w,
                                        const Tensor<float>& fc2_b, ActivationKind act,
                                        ActivationKind scale_act) {
  if (kernel_policy() == KernelPolicy::reference_only || x.rank() != 4) {
    record_kernel("squeeze_excitation", "squeeze_excitation_reference");
    return squeeze_excitation_reference(x, fc1_w, fc1_b, fc2_w, fc2_b, act, scale_act);
  }
  detail::check_squeeze_excitation_shapes(x.shape(), fc1_w.shape(), fc1_b.shape(), fc2_w.shape(),
                                          fc2_b.shape());
  if (x.layout() == Layout::nhwc) {
    static const std::string kernel = std::string("squeeze_excitation_f32_nhwc_") + cpu::kIsaName;
    record_kernel("squeeze_excitation", kernel);
    return cpu::squeeze_excitation_nhwc(x, fc1_w, fc1_b, fc2_w, fc2_b, act, scale_act);
  }
  static const std::string nchw_kernel =
      std::string("squeeze_excitation_f32_nchw_") + cpu::kIsaName;
  record_kernel("squeeze_excitation", nchw_kernel);
  return cpu::squeeze_excitation_nchw(x, fc1_w, fc1_b, fc2_w, fc2_b, act, scale_act);
}

inline Tensor<float> channel_attention(const Tensor<float>& x, const Tensor<float>& w1,
                                       const Tensor<float>& w2) {
  return channel_attention_reference(x, w1, w2);
}

inline Tensor<float> spatial_attention(const Tensor<float>& x, const Tensor<float>& weight,
                                       const Tensor<float>& bias = Tensor<float>()) {
  return spatial_attention_reference(x, weight, bias);
}

inline Tensor<float> cbam(const Tensor<float>& x, const Tensor<float>& mlp_w1,
                          const Tensor<float>& mlp_w2, const Tensor<float>& spatial_w,
                          const Tensor<float>& spatial_b = Tensor<float>()) {
  return cbam_reference(x, mlp_w1, mlp_w2, spatial_w, spatial_b);
}

}  // namespace fovea
