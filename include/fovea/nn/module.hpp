// Module: the unit networks are built from at run time. A module owns its parameters and
// buffers, names them, and holds named children, so a whole network's tensors are reachable
// under dotted names that match torchvision's state_dict ("layer1.0.conv1.weight").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fovea/core/arena.hpp"
#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"

namespace fovea::nn {

class Dataflow;  // nn/dataflow.hpp

enum class TensorRole : uint8_t {
  parameter,  // learned (weights, biases, batch-norm scale and shift)
  buffer,     // state that is not learned (batch-norm running statistics)
};

struct NamedTensor {
  std::string name;
  Tensor<float>* tensor;
  TensorRole role;
  Tensor<float>* grad = nullptr;  // set by named_parameters_with_grads() only
};

// How a model prepared for inference runs its forwards (plan/planned_forward.hpp): each call in
// planned activation arenas, a batch's images side by side on the threads.
class ForwardPlan {
 public:
  virtual ~ForwardPlan() = default;
  virtual Tensor<float> run(const Tensor<float>& x) = 0;
};

class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;  // parameters are registered by address
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  virtual Tensor<float> forward(const Tensor<float>& x) = 0;
  // The class name shown in summaries and errors, e.g. "Conv2d".
  virtual std::string kind() const = 0;
  // Constructor arguments shown in summaries, e.g. "3, 64, kernel=7, stride=2".
  virtual std::string describe() const { return ""; }

  Tensor<float> operator()(const Tensor<float>& x) { return forward(x); }

  // Appends this module's inference forward on value `x` to `graph` as primitive ops and
  // returns the value it produces (nn/dataflow.hpp). Modules that cannot be lowered say so.
  virtual int lower(Dataflow& graph, int x) {
    (void)graph;
    (void)x;
    fail(kind(),
         " cannot be lowered to a dataflow graph (INT8 and other whole-model tools "
         "need it)");
  }

  // Training: given dLoss/d(output) of the latest training-mode forward not yet differentiated,
  // returns dLoss/d(input) and adds each parameter's gradient into its grad tensor. Forward
  // keeps what backward needs only in training mode; see docs/training.md.
  virtual Tensor<float> backward(const Tensor<float>& grad_out) {
    (void)grad_out;
    fail(kind(), " has no backward: it cannot be trained");
  }

  // Every parameter with its gradient tensor (same shape, created zero-filled on first use).
  std::vector<NamedTensor> named_parameters_with_grads(const std::string& prefix = "") {
    std::vector<NamedTensor> out;
    collect_parameters_with_grads(prefix, out);
    return out;
  }
  // Tells this module and every one below it that parameters were written from outside (a
  // loader, an optimizer step), so state derived from them (packed conv weights) is rebuilt.
  void parameters_changed() {
    on_parameters_changed();
    for (auto& child : children_)
      child.second->parameters_changed();
  }
  void zero_grad() {
    for (NamedTensor& p : named_parameters_with_grads())
      p.grad->fill(0.0f);
  }
  // The gradient of one of this module's registered parameters, created zero-filled on first use.
  Tensor<float>& grad_of(const Tensor<float>& parameter) {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (tensors_[i].tensor != &parameter) continue;
      FOVEA_CHECK(tensors_[i].role == TensorRole::parameter, kind(), ": '", tensors_[i].name,
                  "' is a buffer and has no gradient");
      if (grads_.size() < tensors_.size()) grads_.resize(tensors_.size());
      if (!grads_[i] || grads_[i]->shape() != parameter.shape())
        grads_[i] = std::make_unique<Tensor<float>>(parameter.shape());
      return *grads_[i];
    }
    fail(kind(), ": grad_of a tensor that is not one of its parameters");
  }

  // Every parameter and buffer of this module and its children, depth first, in registration
  // order, named with `prefix` in front.
  std::vector<NamedTensor> named_tensors(const std::string& prefix = "") {
    std::vector<NamedTensor> out;
    collect(prefix, out);
    return out;
  }

  int64_t parameter_count() {
    int64_t total = 0;
    for (const NamedTensor& t : named_tensors()) {
      if (t.role == TensorRole::parameter) total += t.tensor->numel();
    }
    return total;
  }

  const std::vector<std::pair<std::string, std::unique_ptr<Module>>>& children() const {
    return children_;
  }

  // The descendant at a dotted path ("layer1.0.conv1"); throws naming the path if absent.
  Module& submodule(const std::string& path) {
    Module* m = this;
    std::string rest = path;
    while (!rest.empty()) {
      const size_t dot = rest.find('.');
      const std::string head = rest.substr(0, dot);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
      Module* next = nullptr;
      for (auto& [name, child] : m->children_) {
        if (name == head) next = child.get();
      }
      FOVEA_CHECK(next != nullptr, "no submodule '", head, "' in '", path, "' (in a ", m->kind(),
                  ")");
      m = next;
    }
    return *m;
  }

  // Training mode changes batch norm (batch statistics) and dropout (active); inference is
  // the default.
  void set_training(bool on) {
    training_ = on;
    for (auto& child : children_)
      child.second->set_training(on);
  }
  bool training() const { return training_; }

  // Set by prepare_for_inference on the model it prepares; nullptr takes the plan away.
  void set_forward_plan(std::unique_ptr<ForwardPlan> plan) { forward_plan_ = std::move(plan); }

  // An indented, torch-like listing of the module tree.
  std::string summary() const {
    std::ostringstream out;
    print(out, "", 0);
    return out.str();
  }

 protected:
  // A whole model's forward() begins with `if (Tensor<float> y; run_planned(x, y)) return y;`,
  // so a model prepared for inference runs every call through its plan. The plan calls
  // forward() again inside an arena scope, where this returns false and the layers run. So does
  // a call already inside the caller's own ArenaScope or BatchRunner, or in training mode.
  bool run_planned(const Tensor<float>& x, Tensor<float>& y) {
    if (forward_plan_ == nullptr || training_ || detail::active_arena() != nullptr) return false;
    y = forward_plan_->run(x);
    return true;
  }

  // Drops whatever this module derived from its own parameters; see parameters_changed().
  virtual void on_parameters_changed() {}
  void register_parameter(std::string name, Tensor<float>* t) {
    tensors_.push_back({std::move(name), t, TensorRole::parameter});
  }
  void register_buffer(std::string name, Tensor<float>* t) {
    tensors_.push_back({std::move(name), t, TensorRole::buffer});
  }
  template <class M>
  M& register_module(std::string name, std::unique_ptr<M> child) {
    M& ref = *child;
    children_.emplace_back(std::move(name), std::move(child));
    return ref;
  }

 private:
  void collect(const std::string& prefix, std::vector<NamedTensor>& out) {
    for (const NamedTensor& t : tensors_)
      out.push_back({prefix + t.name, t.tensor, t.role});
    for (auto& [name, child] : children_)
      child->collect(prefix + name + ".", out);
  }

  void collect_parameters_with_grads(const std::string& prefix, std::vector<NamedTensor>& out) {
    for (const NamedTensor& t : tensors_) {
      if (t.role == TensorRole::parameter)
        out.push_back({prefix + t.name, t.tensor, t.role, &grad_of(*t.tensor)});
    }
    for (auto& [name, child] : children_)
      child->collect_parameters_with_grads(prefix + name + ".", out);
  }

  void print(std::ostringstream& out, const std::string& name, int depth) const {
    out << std::string(static_cast<size_t>(depth) * 2, ' ')
        << (name.empty() ? "" : "(" + name + "): ") << kind() << "(" << describe() << ")\n";
    for (const auto& [child_name, child] : children_)
      child->print(out, child_name, depth + 1);
  }

  std::vector<NamedTensor> tensors_;
  std::vector<std::unique_ptr<Tensor<float>>> grads_;  // parallel to tensors_, made on demand
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  bool training_ = false;
  std::unique_ptr<ForwardPlan> forward_plan_;
};

}  // namespace fovea::nn
