// Optimizers over a module's parameters, with PyTorch 1.13's update formulas step for step
// (torch.optim.SGD and AdamW, single-tensor path) in float, so a run follows torch's numbers.
// State tensors are named after the parameter ("fc1.weight.momentum_buffer") so checkpoints
// store them next to the weights.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fovea/nn/module.hpp"

namespace fovea::train {

class Optimizer {
 public:
  // Only parameters for which `trainable(name)` holds are updated (see freeze.hpp).
  explicit Optimizer(std::vector<nn::NamedTensor> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  void zero_grad() {
    for (nn::NamedTensor& p : params_)
      p.grad->fill(0.0f);
  }
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  std::vector<nn::NamedTensor>& params() { return params_; }
  // Every state tensor by name, for checkpoints (created as the optimizer first needs them).
  std::map<std::string, Tensor<float>>& state() { return state_; }

 protected:
  Tensor<float>& state_for(const nn::NamedTensor& p, const char* what, bool* created = nullptr) {
    const std::string key = p.name + "." + what;
    auto it = state_.find(key);
    if (created != nullptr) *created = it == state_.end();
    if (it == state_.end()) it = state_.emplace(key, Tensor<float>(p.tensor->shape())).first;
    return it->second;
  }

  std::vector<nn::NamedTensor> params_;
  std::map<std::string, Tensor<float>> state_;
  double lr_ = 0.01;
  int64_t steps_ = 0;
};

struct SgdOptions {
  double lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

// g = grad + wd·p; buf = g on the first step, else momentum·buf + (1 − dampening)·g;
// g = g + momentum·buf (Nesterov) or buf; p = p − lr·g.
class Sgd : public Optimizer {
 public:
  Sgd(std::vector<nn::NamedTensor> params, const SgdOptions& o)
      : Optimizer(std::move(params)), o_(o) {
    FOVEA_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
                "Nesterov momentum needs momentum > 0 and dampening 0");
    lr_ = o.lr;
  }

  void step() override {
    const float wd = float(o_.weight_decay), mom = float(o_.momentum);
    const float keep = float(1 - o_.dampening), neg_lr = float(-lr_);
    for (nn::NamedTensor& p : params_) {
      float* w = p.tensor->data();
      const float* grad = p.grad->data();
      bool first = false;
      Tensor<float>* buf = o_.momentum != 0 ? &state_for(p, "momentum_buffer", &first) : nullptr;
      for (int64_t i = 0; i < p.tensor->numel(); ++i) {
        float g = grad[i];
        if (wd != 0) g = g + wd * w[i];
        if (buf != nullptr) {
          float& b = (*buf)[i];
          b = first ? g : b * mom + keep * g;
          g = o_.nesterov ? g + mom * b : b;
        }
        w[i] = w[i] + neg_lr * g;
      }
    }
    ++steps_;
  }

 private:
  SgdOptions o_;
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
};

// p = p·(1 − lr·wd); m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
// p = p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps).
class AdamW : public Optimizer {
 public:
  AdamW(std::vector<nn::NamedTensor> params, const AdamWOptions& o)
      : Optimizer(std::move(params)), o_(o) {
    lr_ = o.lr;
  }

  void step() override {
    ++steps_;
    const double t = double(steps_);
    const double bias1 = 1 - std::pow(o_.beta1, t), bias2 = 1 - std::pow(o_.beta2, t);
    const float decay = float(1 - lr_ * o_.weight_decay);
    const float b1 = float(o_.beta1), b2 = float(o_.beta2);
    const float one_minus_b1 = float(1 - o_.beta1), one_minus_b2 = float(1 - o_.beta2);
    const float bias2_sqrt = float(std::sqrt(bias2)), eps = float(o_.eps);
    const float neg_step = float(-(lr_ / bias1));
    for (nn::NamedTensor& p : params_) {
      float* w = p.tensor->data();
      const float* grad = p.grad->data();
      float* m = state_for(p, "exp_avg").data();
      float* v = state_for(p, "exp_avg_sq").data();
      for (int64_t i = 0; i < p.tensor->numel(); ++i) {
        const float g = grad[i];
        w[i] = w[i] * decay;
        m[i] = m[i] * b1 + one_minus_b1 * g;
        v[i] = v[i] * b2 + one_minus_b2 * g * g;
        const float denom = std::sqrt(v[i]) / bias2_sqrt + eps;
        w[i] = w[i] + neg_step * m[i] / denom;
      }
    }
  }

 private:
  AdamWOptions o_;
};

}  // namespace fovea::train
