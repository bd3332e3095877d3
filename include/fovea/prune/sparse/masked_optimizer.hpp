// MaskedOptimizer: any optimizer, with pruned weights kept at zero. It is an Optimizer itself, so
// train::fit and the checkpoints take it unchanged:
//
//   train::Sgd sgd(model.named_parameters_with_grads(), options);
//   auto masks = prune::sparse::SparsityMasks::for_model(model, Pattern::unstructured);
//   prune::sparse::MaskedOptimizer opt(sgd, std::move(masks), schedule);   // gradual, or
//   opt.prune_now(0.9);                                                   // one-shot
//   train::fit(model, opt, …);
//
// Each step: the masked weights' gradients are zeroed (so momentum and Adam moments of pruned
// weights stay zero), the wrapped optimizer steps, the masks are recomputed when the gradual
// schedule says so (mask.hpp, GradualSchedule), and every masked weight is multiplied by its
// mask. The masks are part of the optimizer's state, under "<weight name>.sparsity_mask", so
// save_checkpoint stores them ("optimizer.<name>.sparsity_mask") and load_checkpoint restores
// them: a resumed run keeps its masks and its place in the schedule (which follows steps()).
//
// NVIDIA's 2:4 recipe (ASP) is: train dense, then
//   MaskedOptimizer opt(sgd, SparsityMasks::for_model(model, Pattern::two_four));
//   opt.prune_now();   // 2:4 masks from the trained weights
// and fine-tune with the masks fixed (no schedule).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "fovea/prune/sparse/mask.hpp"
#include "fovea/train/optimizer.hpp"

namespace fovea::prune::sparse {

inline constexpr const char* kMaskStateSuffix = ".sparsity_mask";

class MaskedOptimizer : public train::Optimizer {
 public:
  // `inner` must outlive this wrapper; its parameters are this optimizer's. `global` ranks the
  // unstructured weights of all masked tensors together at every schedule update.
  MaskedOptimizer(train::Optimizer& inner, SparsityMasks masks,
                  std::optional<GradualSchedule> schedule = std::nullopt, bool global = false)
      : Optimizer(inner.params()),
        inner_(inner),
        masks_(std::move(masks)),
        schedule_(schedule),
        global_(global) {
    lr_ = inner.lr();
    steps_ = inner.steps();
    state_ = inner.state();
    store_masks();
  }

  // Recomputes every mask at `sparsity` (2:4 entries: their 2:4 mask) from the weights as they
  // are, and applies them. The one-shot form of pruning; gradual pruning calls it from step().
  void prune_now(double sparsity = 0.5) {
    load_masks();
    masks_.prune_to(sparsity, global_);
    masks_.apply();
    store_masks();
  }

  void step() override {
    load_masks();
    // The wrapped optimizer sees this one's learning rate, step count and state (a checkpoint
    // loads into this one's).
    inner_.set_lr(lr_);
    inner_.set_steps(steps_);
    inner_.state().clear();
    for (const auto& [name, tensor] : state_)
      if (!is_mask_key(name)) inner_.state().emplace(name, tensor);
    for (MaskedWeight& m : masks_.entries()) {
      const nn::NamedTensor* p = param_of(m);
      if (p == nullptr || p->grad == nullptr) continue;
      float* g = p->grad->data();
      for (int64_t i = 0; i < p->grad->numel(); ++i)
        g[i] = m.mask.data()[i] != 0.0f ? g[i] : 0.0f;
    }
    inner_.step();
    steps_ = inner_.steps();
    if (schedule_ && schedule_->is_update_step(steps_))
      masks_.prune_to(schedule_->sparsity_at(steps_), global_);
    masks_.apply();
    for (const auto& [name, tensor] : inner_.state())
      state_.insert_or_assign(name, tensor);
    store_masks();
  }

  SparsityMasks& masks() {
    load_masks();
    return masks_;
  }
  const std::optional<GradualSchedule>& schedule() const { return schedule_; }
  train::Optimizer& inner() { return inner_; }

 private:
  static bool is_mask_key(const std::string& name) {
    const std::string suffix = kMaskStateSuffix;
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  // Masks restored by load_checkpoint replace the ones held (checked against the weights).
  void load_masks() {
    for (MaskedWeight& m : masks_.entries()) {
      const auto it = state_.find(m.name + kMaskStateSuffix);
      if (it == state_.end() || it->second.data() == m.mask.data()) continue;
      FOVEA_CHECK(it->second.shape() == m.weight->shape(), "sparsity mask of '", m.name, "' is ",
                  it->second.shape(), ", the weight is ", m.weight->shape());
      m.mask = it->second;
    }
  }
  void store_masks() {
    for (MaskedWeight& m : masks_.entries())
      state_.insert_or_assign(m.name + kMaskStateSuffix, m.mask);
  }
  const nn::NamedTensor* param_of(const MaskedWeight& m) const {
    for (const nn::NamedTensor& p : params_)
      if (p.tensor == m.weight) return &p;
    return nullptr;
  }

  train::Optimizer& inner_;
  SparsityMasks masks_;
  std::optional<GradualSchedule> schedule_;
  bool global_ = false;
};

}  // namespace fovea::prune::sparse
