// BatchNorm2d layer: torch.nn.BatchNorm2d's parameters "weight" and "bias" (gamma and beta) and
// buffers "running_mean" and "running_var". Inference normalizes with the running statistics;
// training mode normalizes with the batch's own and updates the running ones, as torch does.
// torch's "num_batches_tracked" counter is not kept: it only matters when momentum is None.
// A folded layer (its normalization moved into the conv before it by fold_batchnorm_in_place)
// is the identity at inference. While re-estimating (begin_reestimate, prune/recalibrate.hpp),
// inference normalizes with each batch's statistics and the running ones become their average.
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/keep_indices.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/ops/batchnorm/backward.hpp"
#include "fovea/ops/batchnorm/batchnorm.hpp"

namespace fovea::nn {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1)
      : eps_(eps),
        momentum_(momentum),
        weight_(Tensor<float>(Shape{channels}).fill(1.0f)),
        bias_(Shape{channels}),
        running_mean_(Shape{channels}),
        running_var_(Tensor<float>(Shape{channels}).fill(1.0f)) {
    FOVEA_CHECK(channels > 0, "BatchNorm2d needs a positive channel count, got ", channels);
    FOVEA_CHECK(eps >= 0, "BatchNorm2d eps must not be negative, got ", eps);
    FOVEA_CHECK(momentum >= 0 && momentum <= 1, "BatchNorm2d momentum must be in [0, 1], got ",
                momentum);
    register_parameter("weight", &weight_);
    register_parameter("bias", &bias_);
    register_buffer("running_mean", &running_mean_);
    register_buffer("running_var", &running_var_);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FOVEA_CHECK(x.rank() == 4 && x.dim(1) == channels(), "BatchNorm2d(", channels(),
                ") expects input (N, ", channels(), ", H, W), got ", x.shape());
    if (folded_) {
      FOVEA_CHECK(!training(), "BatchNorm2d(", channels(), ") was folded into its conv for ",
                  "inference and cannot run in training mode");
      return x;
    }
    if (!training() && reestimated_batches_ < 0)
      return batchnorm(x, weight_, bias_, running_mean_, running_var_, eps_);
    BatchNormTraining<float> result = batchnorm_training(x, weight_, bias_, eps_);
    const BatchStatistics<float>& batch = result.statistics;
    FOVEA_CHECK(batch.count > 1, "BatchNorm2d in training mode needs more than one value per ",
                "channel, got input ", x.shape());
    // Re-estimating: the running statistics are the mean over the batches (torch's momentum
    // None), so momentum 1/k for the k-th batch.
    const double momentum = training() ? momentum_ : 1.0 / double(++reestimated_batches_);
    // The running variance is the unbiased estimate; the batch is normalized with the biased one.
    const double unbias = double(batch.count) / double(batch.count - 1);
    for (int64_t c = 0; c < channels(); ++c) {
      running_mean_(c) =
          static_cast<float>((1 - momentum) * running_mean_(c) + momentum * batch.mean(c));
      running_var_(c) =
          static_cast<float>((1 - momentum) * running_var_(c) + momentum * batch.var(c) * unbias);
    }
    if (training()) saved_.push({x, batch.mean, batch.var});
    return std::move(result.output);
  }

  // Inference passes between these two calls normalize with their batch's statistics and
  // replace the running statistics by their average over those batches: a batch norm whose
  // inputs changed (after pruning) learns their new statistics without training.
  void begin_reestimate() {
    FOVEA_CHECK(!folded_, "BatchNorm2d(", channels(),
                ") was folded into its conv; re-estimate its statistics before folding");
    reestimated_batches_ = 0;
  }
  // The number of batches the statistics came from.
  int64_t end_reestimate() {
    const int64_t batches = std::max<int64_t>(0, reestimated_batches_);
    reestimated_batches_ = -1;
    return batches;
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const Saved s = saved_.pop(kind());
    const BatchNormGradients<float> g =
        batchnorm_training_backward(s.input, weight_, s.mean, s.var, eps_, grad_out);
    accumulate_gradient(grad_of(weight_), g.weight);
    accumulate_gradient(grad_of(bias_), g.bias);
    return g.input;
  }

  // Folded into the conv before it, a batch norm is nothing to lower. A structure-only graph
  // (fovea/prune/'s channel groups) lists every batch norm with the value it normalizes.
  int lower(Dataflow& graph, int x) override {
    if (graph.structure_only()) {
      graph.note_batchnorm(graph.path(), x);
      return x;
    }
    FOVEA_CHECK(folded_, graph.path(), ": BatchNorm2d must be folded into its conv before the ",
                "model is lowered (prepare_for_inference does it)");
    return x;
  }
  std::string kind() const override { return "BatchNorm2d"; }
  std::string describe() const override {
    std::ostringstream out;
    out << channels() << ", eps=" << eps_ << ", momentum=" << momentum_;
    return out.str();
  }

  int64_t channels() const { return weight_.dim(0); }
  double eps() const { return eps_; }
  // Weights trained elsewhere carry their own epsilon (Keras ResNet-50 files say 0.001).
  void set_eps(double eps) {
    FOVEA_CHECK(eps >= 0, "BatchNorm2d eps must not be negative, got ", eps);
    eps_ = eps;
  }
  double momentum() const { return momentum_; }
  void set_momentum(double momentum) {
    FOVEA_CHECK(momentum >= 0 && momentum <= 1, "BatchNorm2d momentum must be in [0, 1], got ",
                momentum);
    momentum_ = momentum;
  }
  Tensor<float>& weight() { return weight_; }
  Tensor<float>& bias() { return bias_; }
  Tensor<float>& running_mean() { return running_mean_; }
  Tensor<float>& running_var() { return running_var_; }
  // Structured pruning (fovea/prune/): keeps the channels `kept` (increasing indices) of the
  // scale, shift and running statistics.
  void keep_channels(const std::vector<int64_t>& kept) {
    const char* what = "BatchNorm2d channels";
    weight_ = fovea::detail::keep_indices(weight_, 0, kept, what);
    bias_ = fovea::detail::keep_indices(bias_, 0, kept, what);
    running_mean_ = fovea::detail::keep_indices(running_mean_, 0, kept, what);
    running_var_ = fovea::detail::keep_indices(running_var_, 0, kept, what);
  }
  bool folded() const { return folded_; }
  void set_folded(bool on) { folded_ = on; }

 private:
  double eps_;
  double momentum_;
  Tensor<float> weight_, bias_;
  Tensor<float> running_mean_, running_var_;
  bool folded_ = false;
  int64_t reestimated_batches_ = -1;  // -1: not re-estimating
  struct Saved {
    Tensor<float> input, mean, var;  // the batch statistics it was normalized with
  };
  SavedForBackward<Saved> saved_;
};

}  // namespace fovea::nn
