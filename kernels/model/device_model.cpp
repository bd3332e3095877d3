// DeviceModel (fovea/cuda/device_model.hpp): turns a module tree into device steps
// (device_steps.hpp) and runs them.
#include "fovea/cuda/device_model.hpp"

#include <memory>
#include <string>
#include <utility>

#include "fovea/models/efficientnet.hpp"
#include "fovea/models/image_classifier.hpp"
#include "fovea/models/mobilenet_v2.hpp"
#include "fovea/models/resnet.hpp"
#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dropout.hpp"
#include "fovea/nn/flatten.hpp"
#include "fovea/nn/identity.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/nn/squeeze_excitation.hpp"
#include "model/device_steps.hpp"

namespace fovea::cuda {

namespace detail {
namespace {

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

[[noreturn]] void unsupported(const std::string& path, const nn::Module& module,
                              const std::string& why) {
  fail("DeviceModel: module '", path.empty() ? "(model)" : path, "' (", module.kind(),
       ") is not supported on the device: ", why);
}

// Builds the steps for one element type T, appending to chains as the module tree is walked.
template <class T>
class Builder {
 public:
  explicit Builder(Stream stream) : stream_(stream) {}

  // The whole model as one chain.
  std::unique_ptr<ChainStep<T>> build(nn::Module& model) {
    auto chain = std::make_unique<ChainStep<T>>("");
    append(model, "", *chain);
    return chain;
  }

 private:
  // Appends the steps of `module` (at `path`) to `chain`.
  void append(nn::Module& module, const std::string& path, ChainStep<T>& chain) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&module)) {
      // The const weight(): the non-const one would drop the CPU path's packed weights.
      chain.steps().push_back(std::make_unique<ConvStep<T>>(path, std::as_const(*conv).weight(),
                                                            conv->bias(), conv->attrs(), stream_));
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&module)) {
      if (!bn->folded())
        unsupported(path, module,
                    "batch norm must be folded into its conv first (fold_batchnorm_in_place)");
    } else if (auto* act = dynamic_cast<nn::Activation*>(&module)) {
      fuse_activation(chain, act->activation_kind(), path, module);
    } else if (auto* linear = dynamic_cast<nn::Linear*>(&module)) {
      chain.steps().push_back(
          std::make_unique<LinearStep<T>>(path, linear->weight(), linear->bias(), stream_));
    } else if (auto* pool = dynamic_cast<nn::MaxPool2d*>(&module)) {
      chain.steps().push_back(std::make_unique<PoolStep<T>>(path, pool->attrs(), true));
    } else if (auto* avg = dynamic_cast<nn::AvgPool2d*>(&module)) {
      chain.steps().push_back(std::make_unique<PoolStep<T>>(path, avg->attrs(), false));
    } else if (auto* adaptive = dynamic_cast<nn::AdaptiveAvgPool2d*>(&module)) {
      chain.steps().push_back(
          std::make_unique<AdaptivePoolStep<T>>(path, adaptive->out_h(), adaptive->out_w()));
    } else if (auto* flatten = dynamic_cast<nn::Flatten*>(&module)) {
      if (flatten->start_dim() != 1) unsupported(path, module, "only start_dim=1 is supported");
      chain.steps().push_back(std::make_unique<FlattenStep<T>>(path));
    } else if (dynamic_cast<nn::Dropout*>(&module) != nullptr ||
               dynamic_cast<nn::Identity*>(&module) != nullptr ||
               dynamic_cast<models::StochasticDepth*>(&module) != nullptr) {
      // The identity at inference: no step.
    } else if (auto* se = dynamic_cast<nn::SqueezeExcitation*>(&module)) {
      append_squeeze_excitation(*se, path, chain);
    } else if (dynamic_cast<models::BasicBlock*>(&module) != nullptr ||
               dynamic_cast<models::Bottleneck*>(&module) != nullptr) {
      append_resnet_block(module, path, chain);
    } else if (dynamic_cast<models::InvertedResidual*>(&module) != nullptr) {
      append_inverted_residual(module, "conv", path, chain);
    } else if (dynamic_cast<models::MBConv*>(&module) != nullptr) {
      append_inverted_residual(module, "block", path, chain);
    } else if (dynamic_cast<models::ResNet*>(&module) != nullptr) {
      // ResNet::forward: the children in order, flattening the pooled features before "fc".
      for (const auto& [name, child] : module.children()) {
        if (name == "fc")
          chain.steps().push_back(std::make_unique<FlattenStep<T>>(join(path, "(flatten)")));
        append(*child, join(path, name), chain);
      }
    } else if (dynamic_cast<models::ImageClassifier*>(&module) != nullptr) {
      append_image_classifier(module, path, chain);
    } else if (dynamic_cast<nn::Sequential*>(&module) != nullptr) {
      for (const auto& [name, child] : module.children())
        append(*child, join(path, name), chain);
    } else {
      unsupported(path, module, "no device implementation for this module kind");
    }
  }

  // An activation module applies to the output of the step before it, which must be a conv or
  // linear whose epilogue is still free.
  void fuse_activation(ChainStep<T>& chain, ActivationKind kind, const std::string& path,
                       const nn::Module& module) {
    Step<T>* last = chain.steps().empty() ? nullptr : chain.steps().back().get();
    if (auto* conv = dynamic_cast<ConvStep<T>*>(last);
        conv != nullptr && conv->activation() == ActivationKind::identity) {
      conv->fuse_activation(kind);
    } else if (auto* linear = dynamic_cast<LinearStep<T>*>(last);
               linear != nullptr && linear->activation() == ActivationKind::identity) {
      linear->fuse_activation(kind);
    } else {
      unsupported(path, module, "an activation must directly follow a conv or linear");
    }
  }

  void append_squeeze_excitation(nn::SqueezeExcitation& se, const std::string& path,
                                 ChainStep<T>& chain) {
    const auto activation_of = [&](const std::string& name) {
      return dynamic_cast<nn::Activation&>(se.submodule(name)).activation_kind();
    };
    chain.steps().push_back(std::make_unique<SqueezeExcitationStep<T>>(
        path, se.fc1().weight(), se.fc1().bias(), se.fc2().weight(), se.fc2().bias(),
        activation_of("activation"), activation_of("scale_activation"), stream_));
  }

  // BasicBlock / Bottleneck: relu(bnN(convN(… relu(bn1(conv1(x))) …)) + identity), identity
  // being downsample(x) or x. Every conv gets the block's ReLU; the last one also the residual.
  void append_resnet_block(nn::Module& block, const std::string& path, ChainStep<T>& chain) {
    auto body = std::make_unique<ChainStep<T>>(path);
    std::unique_ptr<ChainStep<T>> shortcut;
    for (const auto& [name, child] : block.children()) {
      const std::string child_path = join(path, name);
      if (name == "downsample") {
        shortcut = std::make_unique<ChainStep<T>>(child_path);
        append(*child, child_path, *shortcut);
      } else if (name.rfind("conv", 0) == 0 || name.rfind("bn", 0) == 0) {
        append(*child, child_path, *body);
        if (name.rfind("conv", 0) == 0)
          static_cast<ConvStep<T>&>(*body->steps().back()).fuse_activation(ActivationKind::relu);
      } else if (name != "relu") {
        unsupported(child_path, *child, "unexpected child of a ResNet block");
      }
    }
    mark_residual_target(*body, path, block);
    chain.steps().push_back(
        std::make_unique<ResidualStep<T>>(path, std::move(body), std::move(shortcut)));
    // The ReLU after the add is the last conv's fused activation (set above).
  }

  // InvertedResidual ("conv") and MBConv ("block"): a chain whose input is added back when the
  // block keeps the shape, i.e. stride 1 everywhere and as many output channels as input ones.
  void append_inverted_residual(nn::Module& block, const std::string& body_name,
                                const std::string& path, ChainStep<T>& chain) {
    auto body = std::make_unique<ChainStep<T>>(path);
    for (const auto& [name, child] : block.children()) {
      if (name == body_name || name == "stochastic_depth")
        append(*child, join(path, name), *body);
      else
        unsupported(join(path, name), *child, std::string("unexpected child of a ") + block.kind());
    }
    if (!keeps_shape(block.submodule(body_name))) {
      for (auto& step : body->steps())
        chain.steps().push_back(std::move(step));
      return;
    }
    mark_residual_target(*body, path, block);
    auto& last = static_cast<ConvStep<T>&>(*body->steps().back());
    if (last.activation() != ActivationKind::identity)
      unsupported(path, block, "the residual add must come after the last conv's activation");
    chain.steps().push_back(std::make_unique<ResidualStep<T>>(path, std::move(body), nullptr));
  }

  // torchvision's use_res_connect: stride 1 in every conv and in-channels == out-channels.
  static bool keeps_shape(nn::Module& body) {
    int64_t in_channels = -1, out_channels = -1;
    bool stride_one = true;
    visit_convs(body, [&](nn::Conv2d& conv) {
      if (in_channels < 0) in_channels = conv.in_channels();
      out_channels = conv.out_channels();
      stride_one = stride_one && conv.attrs().stride_h == 1 && conv.attrs().stride_w == 1;
    });
    return stride_one && in_channels == out_channels;
  }

  // The convs of a block's main path in order, not descending into squeeze-excitation (whose
  // 1x1 convs act on the pooled vector).
  template <class Visit>
  static void visit_convs(nn::Module& module, Visit&& visit) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&module)) visit(*conv);
    if (dynamic_cast<nn::SqueezeExcitation*>(&module) != nullptr) return;
    for (const auto& child : module.children())
      visit_convs(*child.second, visit);
  }

  static void mark_residual_target(ChainStep<T>& body, const std::string& path,
                                   const nn::Module& block) {
    auto* last =
        body.steps().empty() ? nullptr : dynamic_cast<ConvStep<T>*>(body.steps().back().get());
    if (last == nullptr) unsupported(path, block, "the residual add needs a conv as the last step");
    last->mark_residual();
  }

  // ImageClassifier::forward: classifier(flatten(pool(features(x)))). The pool is the "avgpool"
  // child, or for torchvision's MobileNetV2 a functional global average pool outside the tree.
  void append_image_classifier(nn::Module& model, const std::string& path, ChainStep<T>& chain) {
    bool has_pool = false;
    for (const auto& [name, child] : model.children())
      has_pool = has_pool || name == "avgpool";
    if (!has_pool && model.kind() != "MobileNetV2")
      unsupported(path, model, "an image classifier without an avgpool child");
    append(model.submodule("features"), join(path, "features"), chain);
    if (has_pool) {
      append(model.submodule("avgpool"), join(path, "avgpool"), chain);
    } else {
      chain.steps().push_back(std::make_unique<AdaptivePoolStep<T>>(join(path, "(pool)"), 1, 1));
    }
    chain.steps().push_back(std::make_unique<FlattenStep<T>>(join(path, "(flatten)")));
    append(model.submodule("classifier"), join(path, "classifier"), chain);
  }

  Stream stream_;
};

}  // namespace
}  // namespace detail

class DeviceModel::Impl {
 public:
  virtual ~Impl() = default;
  virtual void set_input(const Tensor<float>& input) = 0;
  virtual void run() = 0;
  virtual Tensor<float> output() = 0;
  virtual DType dtype() const = 0;
  virtual std::string summary() const = 0;
  Stream stream() const { return stream_.get(); }

 protected:
  ScopedStream stream_;
};

namespace {

template <class T>
class TypedImpl : public DeviceModel::Impl {
 public:
  explicit TypedImpl(nn::Module& model) {
    FOVEA_CHECK(!model.training(), "DeviceModel needs a model in inference mode");
    steps_ = detail::Builder<T>(stream()).build(model);
    synchronize(stream());  // the uploads read host tensors that may not outlive this call
  }
  void set_input(const Tensor<float>& input) override {
    FOVEA_CHECK(input.rank() == 4, "DeviceModel input must be (N, C, H, W), got ", input.shape());
    input_ = DeviceTensor<T>::from_host(input.to_layout(Layout::nhwc).cast<T>(), stream());
    output_ = nullptr;
  }
  void run() override {
    FOVEA_CHECK(!input_.empty(), "DeviceModel::run before set_input");
    output_ = &steps_->run(input_, stream());
  }
  Tensor<float> output() override {
    FOVEA_CHECK(output_ != nullptr, "DeviceModel::output before run");
    const Tensor<T> host = output_->to_host(stream());
    return host.to_layout(Layout::nchw).template cast<float>();
  }
  DType dtype() const override { return dtype_of<T>; }
  std::string summary() const override {
    std::string out;
    steps_->append_summary(out);
    return out;
  }

 private:
  std::unique_ptr<detail::ChainStep<T>> steps_;
  DeviceTensor<T> input_;
  const DeviceTensor<T>* output_ = nullptr;
};

}  // namespace

DeviceModel::DeviceModel(nn::Module& model, DType dtype) {
  switch (dtype) {
    case DType::f32:
      impl_ = std::make_unique<TypedImpl<float>>(model);
      return;
    case DType::f16:
      impl_ = std::make_unique<TypedImpl<half>>(model);
      return;
    case DType::bf16:
      impl_ = std::make_unique<TypedImpl<bfloat16>>(model);
      return;
    default:
      fail("DeviceModel element type must be f32, f16 or bf16, got ", dtype_name(dtype));
  }
}

DeviceModel::~DeviceModel() = default;
DeviceModel::DeviceModel(DeviceModel&&) noexcept = default;
DeviceModel& DeviceModel::operator=(DeviceModel&&) noexcept = default;

Tensor<float> DeviceModel::forward(const Tensor<float>& input) {
  set_input(input);
  run();
  return output();
}
void DeviceModel::set_input(const Tensor<float>& input) {
  impl_->set_input(input);
}
void DeviceModel::run() {
  impl_->run();
}
Tensor<float> DeviceModel::output() {
  return impl_->output();
}
Stream DeviceModel::stream() const {
  return impl_->stream();
}
DType DeviceModel::dtype() const {
  return impl_->dtype();
}
std::string DeviceModel::summary() const {
  return impl_->summary();
}

}  // namespace fovea::cuda
