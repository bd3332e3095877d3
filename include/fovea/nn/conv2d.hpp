// Conv2d layer: torch.nn.Conv2d's parameters ("weight" (K, C/groups, R, S), optional "bias").
// With weight caching on (inference plans turn it on), the conv kernel's packed weights are
// kept between calls and dropped whenever weight() is accessed for writing. With channels last
// on for batches up to some size (inference plans turn it on where it pays), an inference
// forward of such a batch computes in NHWC, converting an NCHW input first; its output is NHWC.
// With weight caching on, a 1×1 conv whose weights are pruned to kSpmmCrossoverSparsity or more
// (fovea/prune/sparse/) runs its NHWC inference passes on the sparse kernels.
#pragma once

#include <algorithm>
#include <atomic>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/cpu/channels_last.hpp"
#include "fovea/cpu/conv2d_sparse_nhwc.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/keep_indices.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/conv2d/backward.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"

namespace fovea::nn {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, const Conv2dAttrs& attrs,
         bool bias)
      : Conv2d(in_channels, out_channels, kernel_size, kernel_size, attrs, bias) {}

  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
         const Conv2dAttrs& attrs, bool bias)
      : attrs_(attrs),
        weight_(Shape{out_channels, in_channels / attrs.groups, kernel_h, kernel_w}) {
    FOVEA_CHECK(
        attrs.groups > 0 && in_channels % attrs.groups == 0 && out_channels % attrs.groups == 0,
        "Conv2d(", in_channels, ", ", out_channels, "): channels must divide by groups ",
        attrs.groups);
    register_parameter("weight", &weight_);
    if (bias) {
      bias_ = Tensor<float>(Shape{out_channels});
      register_parameter("bias", &bias_);
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (training()) {
      saved_.push(x);
      return conv2d_fused(x, weight_, bias_, attrs_, Conv2dEpilogue{},
                          cache_weights_ ? &prepared_ : nullptr);
    }
    return forward_fused(x, Conv2dEpilogue{});
  }

  // Inference only: act(conv(x) + bias + residual) in one pass over the output. A model calls
  // it in place of conv → batch norm → activation (→ add) once the batch norm is folded in.
  Tensor<float> forward_fused(const Tensor<float>& x, const Conv2dEpilogue& epilogue) {
    FOVEA_CHECK(!training(), "Conv2d::forward_fused is for inference mode (it keeps no input)");
    if (x.rank() == 4 && x.layout() == Layout::nchw && x.dim(0) <= channels_last_max_batch_)
      return run_inference(cpu::to_channels_last(x), epilogue);
    return run_inference(x, epilogue);
  }

  // The packed weights `kernel` computes with for `cp`: from the slot forward uses when weight
  // caching is on, else packed for this call. For callers that run a kernel themselves
  // (nn/expand_depthwise.hpp).
  std::shared_ptr<const void> prepared_weights(const cpu::Conv2dKernel& kernel,
                                               const Conv2dParams& cp) {
    const auto make = [&] { return kernel.run.prepare(weight_, cp); };
    return cache_weights_ ? prepared_.get_or_make(kernel.name, make) : make();
  }

  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const Tensor<float> x = saved_.pop(kind());
    const Conv2dGradients<float> g = conv2d_backward(x, weight_, grad_out, attrs_, has_bias());
    accumulate_gradient(grad_of(weight_), g.weight);
    if (has_bias()) accumulate_gradient(grad_of(bias_), g.bias);
    return g.input;
  }

  int lower(Dataflow& graph, int x) override {
    return graph.conv(graph.path(), weight_, bias_, attrs_, x);
  }
  std::string kind() const override { return "Conv2d"; }
  std::string describe() const override {
    std::ostringstream out;
    out << in_channels() << ", " << out_channels() << ", kernel=" << weight_.dim(2) << "x"
        << weight_.dim(3) << ", stride=" << attrs_.stride_h << "x" << attrs_.stride_w
        << ", padding=" << attrs_.pad_top << "," << attrs_.pad_left << "," << attrs_.pad_bottom
        << "," << attrs_.pad_right;
    if (attrs_.dilation_h != 1 || attrs_.dilation_w != 1)
      out << ", dilation=" << attrs_.dilation_h << "x" << attrs_.dilation_w;
    if (attrs_.groups != 1) out << ", groups=" << attrs_.groups;
    if (bias_.empty()) out << ", bias=false";
    return out.str();
  }

  const Conv2dAttrs& attrs() const { return attrs_; }
  int64_t in_channels() const { return weight_.dim(1) * attrs_.groups; }
  int64_t out_channels() const { return weight_.dim(0); }
  // Non-const access may change the weights, so it drops the packed copy.
  Tensor<float>& weight() {
    drop_prepared();
    return weight_;
  }
  const Tensor<float>& weight() const { return weight_; }
  Tensor<float>& bias() { return bias_; }  // empty when the layer has no bias
  const Tensor<float>& bias() const { return bias_; }
  bool has_bias() const { return !bias_.empty(); }
  // Gives a layer built without a bias one (registered as "bias"), e.g. to fold a batch norm in.
  void set_bias(const Tensor<float>& bias) {
    FOVEA_CHECK(bias.shape() == Shape{out_channels()}, "Conv2d bias must be [", out_channels(),
                "], got ", bias.shape());
    if (bias_.empty()) {
      bias_ = bias.clone();
      register_parameter("bias", &bias_);
    } else {
      std::copy(bias.begin(), bias.end(), bias_.begin());
    }
  }

  // Structured pruning (fovea/prune/): keeps the output channels `kept` (increasing indices)
  // and drops the rest from weight and bias. A depthwise conv (groups = in = out channels,
  // one filter per channel) has its input channels go with them, and its groups shrink to match
  // (to a plain 1 → 1 conv for a single channel).
  void keep_output_channels(const std::vector<int64_t>& kept) {
    FOVEA_CHECK(attrs_.groups == 1 || is_depthwise(), "Conv2d(", describe(),
                "): only plain and depthwise convs can drop channels");
    weight_ = fovea::detail::keep_indices(weight_, 0, kept, "Conv2d output channels");
    if (!bias_.empty()) bias_ = fovea::detail::keep_indices(bias_, 0, kept, "Conv2d bias");
    if (attrs_.groups != 1) attrs_.groups = static_cast<int64_t>(kept.size());
    drop_prepared();
  }
  // Keeps the input channels `kept` (increasing indices) of a plain conv; a depthwise conv
  // drops its inputs through keep_output_channels.
  void keep_input_channels(const std::vector<int64_t>& kept) {
    FOVEA_CHECK(attrs_.groups == 1, "Conv2d(", describe(),
                "): a grouped conv's input channels follow its output channels");
    weight_ = fovea::detail::keep_indices(weight_, 1, kept, "Conv2d input channels");
    drop_prepared();
  }
  // One filter per channel: groups = in channels = out channels (more than one).
  bool is_depthwise() const {
    return attrs_.groups > 1 && weight_.dim(1) == 1 && weight_.dim(0) == attrs_.groups;
  }

  // Keep the kernel's packed weights between calls. Writes through weight() drop them; writes
  // that go through named_tensors() must be followed by parameters_changed() (load_state_dict
  // and the training loop do this).
  void set_weight_caching(bool on) {
    cache_weights_ = on;
    drop_prepared();
  }
  bool weight_caching() const { return cache_weights_; }

  // Compute inference passes of batches up to `max_batch` images in NHWC (channels last): an
  // NCHW input is converted first. 0 turns it off. Training passes are not affected.
  void set_channels_last(int64_t max_batch) { channels_last_max_batch_ = max_batch; }
  int64_t channels_last_max_batch() const { return channels_last_max_batch_; }

 protected:
  void on_parameters_changed() override { drop_prepared(); }

 private:
  enum class Sparsity { unmeasured, dense, sparse };

  Tensor<float> run_inference(const Tensor<float>& x, const Conv2dEpilogue& epilogue) {
    if (!cache_weights_) return conv2d_fused(x, weight_, bias_, attrs_, epilogue, nullptr);
    if (x.layout() == Layout::nhwc && sparse_pointwise())
      return conv2d_nhwc_pointwise_sparse(x, weight_, bias_, attrs_, epilogue, &prepared_);
    return conv2d_fused(x, weight_, bias_, attrs_, epilogue, &prepared_);
  }

  // Whether this is a plain 1×1 conv whose weights are sparse enough for the sparse kernels.
  // Measured once per weight change: the weights of dense models cost one pass, then nothing.
  bool sparse_pointwise() {
    Sparsity sparsity = sparsity_.load(std::memory_order_relaxed);
    if (sparsity == Sparsity::unmeasured) {
      const bool pointwise =
          attrs_.groups == 1 && weight_.dim(2) == 1 && weight_.dim(3) == 1 &&
          attrs_.stride_h == 1 && attrs_.stride_w == 1 &&
          attrs_.pad_top + attrs_.pad_bottom + attrs_.pad_left + attrs_.pad_right == 0;
      const bool sparse = pointwise && 1.0 - cpu::weight_density(weight_.data(), weight_.numel()) >=
                                           cpu::kSpmmCrossoverSparsity;
      // Threads that measure at once store the same answer.
      sparsity = sparse ? Sparsity::sparse : Sparsity::dense;
      sparsity_.store(sparsity, std::memory_order_relaxed);
    }
    return sparsity == Sparsity::sparse;
  }

  void drop_prepared() {
    prepared_.reset();
    sparsity_.store(Sparsity::unmeasured, std::memory_order_relaxed);
  }

  Conv2dAttrs attrs_;
  Tensor<float> weight_;
  Tensor<float> bias_;
  bool cache_weights_ = false;
  int64_t channels_last_max_batch_ = 0;
  Conv2dPrepared prepared_;
  std::atomic<Sparsity> sparsity_{Sparsity::unmeasured};
  SavedForBackward<Tensor<float>> saved_;  // inputs
};

}  // namespace fovea::nn
