// The CIFAR-10 ResNets of He et al. 2016 (section 4.2): a 3×3 conv to 16 channels, three stages
// of n basic blocks at 16, 32 and 64 channels (depth 6n + 2), global average pool, linear.
// Shortcuts are "option A": parameter-free, so a stage change subsamples the identity
// (x[:, :, ::2, ::2]) and zero-pads its channels. Names match akamaster/pytorch_resnet_cifar10
// (conv1, bn1, layer1..3.{i}.conv1/bn1/conv2/bn2, linear), so its checkpoints load one to one.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/saved_for_backward.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/ops/activation/activation.hpp"
#include "fovea/ops/activation/backward.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"
#include "fovea/ops/pool2d/backward.hpp"

namespace fovea::models {

// The option-A shortcut: y = x[:, :, ::2, ::2] with `pad` zero channels before and after.
// akamaster writes it as a LambdaLayer, hence the kind.
class SubsampleChannelPadShortcut : public nn::Module {
 public:
  explicit SubsampleChannelPadShortcut(int64_t pad) : pad_(pad) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    FOVEA_CHECK(x.rank() == 4, "option-A shortcut needs (N, C, H, W), got ", x.shape());
    if (training()) saved_.push(x.shape());
    Tensor<float> y(Shape{x.dim(0), x.dim(1) + 2 * pad_, (x.dim(2) + 1) / 2, (x.dim(3) + 1) / 2},
                    x.layout());
    for (int64_t n = 0; n < y.dim(0); ++n)
      for (int64_t c = 0; c < x.dim(1); ++c)
        for (int64_t h = 0; h < y.dim(2); ++h)
          for (int64_t w = 0; w < y.dim(3); ++w)
            y(n, c + pad_, h, w) = x(n, c, 2 * h, 2 * w);
    return y;
  }
  // The subsampled positions get their gradient back; the rest and the padding get none.
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const Shape input = saved_.pop(kind());
    Tensor<float> g(input);
    for (int64_t n = 0; n < input[0]; ++n)
      for (int64_t c = 0; c < input[1]; ++c)
        for (int64_t h = 0; h < grad_out.dim(2); ++h)
          for (int64_t w = 0; w < grad_out.dim(3); ++w)
            g(n, c, 2 * h, 2 * w) = grad_out(n, c + pad_, h, w);
    return g;
  }
  int lower(nn::Dataflow& graph, int x) override {
    return graph.subsample_pad_channels(graph.path(), pad_, x);
  }
  std::string kind() const override { return "LambdaLayer"; }
  std::string describe() const override {
    std::ostringstream out;
    out << "x[:, :, ::2, ::2], zero-pad " << pad_ << " channels each side";
    return out.str();
  }

 private:
  int64_t pad_;
  nn::SavedForBackward<Shape> saved_;  // input shapes
};

class CifarBasicBlock : public nn::Module {
 public:
  CifarBasicBlock(int64_t in_channels, int64_t planes, int64_t stride) {
    conv1_ = &register_module("conv1", conv3x3(in_channels, planes, stride));
    bn1_ = &register_module("bn1", std::make_unique<nn::BatchNorm2d>(planes));
    conv2_ = &register_module("conv2", conv3x3(planes, planes, 1));
    bn2_ = &register_module("bn2", std::make_unique<nn::BatchNorm2d>(planes));
    // As in akamaster, the shortcut is an empty Sequential (the identity) unless the block
    // changes size.
    if (stride != 1 || in_channels != planes) {
      FOVEA_CHECK(stride == 2 && planes == 2 * in_channels,
                  "an option-A shortcut halves the size and doubles the channels; got stride ",
                  stride, " and ", in_channels, " -> ", planes, " channels");
      shortcut_ =
          &register_module("shortcut", std::make_unique<SubsampleChannelPadShortcut>(planes / 4));
    } else {
      shortcut_ = &register_module("shortcut", std::make_unique<nn::Sequential>());
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> out = activation(bn1_->forward(conv1_->forward(x)), ActivationKind::relu);
    const Tensor<float> hidden = out;
    out = bn2_->forward(conv2_->forward(out));
    out = activation(add(out, shortcut_->forward(x)), ActivationKind::relu);
    if (training()) saved_.push({hidden, out});
    return out;
  }
  // ReLU's derivative is read from its output (positive exactly where its input was); the
  // residual sum sends the same gradient down both branches, whose input gradients add.
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const Saved s = saved_.pop(kind());
    const Tensor<float> g_sum = activation_backward(s.output, grad_out, ActivationKind::relu);
    const Tensor<float> g_shortcut = shortcut_->backward(g_sum);
    Tensor<float> g = conv2_->backward(bn2_->backward(g_sum));
    g = activation_backward(s.hidden, g, ActivationKind::relu);
    g = conv1_->backward(bn1_->backward(g));
    return add(g, g_shortcut);
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("conv1", *conv1_, x);
    y = graph.activation(graph.path_of("relu1"), ActivationKind::relu,
                         graph.lower_child("bn1", *bn1_, y));
    y = graph.lower_child("conv2", *conv2_, y);
    y = graph.lower_child("bn2", *bn2_, y);
    const int shortcut = graph.lower_child("shortcut", *shortcut_, x);
    return graph.activation(graph.path_of("relu2"), ActivationKind::relu,
                            graph.add(graph.path(), y, shortcut));
  }
  std::string kind() const override { return "BasicBlock"; }

 private:
  static std::unique_ptr<nn::Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride) {
    return std::make_unique<nn::Conv2d>(in, out, 3, Conv2dAttrs::make(stride, 1), false);
  }

  nn::Conv2d* conv1_ = nullptr;
  nn::BatchNorm2d* bn1_ = nullptr;
  nn::Conv2d* conv2_ = nullptr;
  nn::BatchNorm2d* bn2_ = nullptr;
  nn::Module* shortcut_ = nullptr;
  struct Saved {
    Tensor<float> hidden, output;  // after the first ReLU, and the block's output
  };
  nn::SavedForBackward<Saved> saved_;
};

class CifarResNet : public nn::Module {
 public:
  CifarResNet(int64_t blocks_per_stage, int64_t num_classes) {
    conv1_ = &register_module(
        "conv1", std::make_unique<nn::Conv2d>(3, 16, 3, Conv2dAttrs::make(1, 1), false));
    bn1_ = &register_module("bn1", std::make_unique<nn::BatchNorm2d>(16));
    int64_t in_channels = 16;
    const int64_t planes[3] = {16, 32, 64};
    for (size_t i = 0; i < 3; ++i) {
      auto layer = std::make_unique<nn::Sequential>();
      for (int64_t b = 0; b < blocks_per_stage; ++b) {
        const int64_t stride = (b == 0 && i > 0) ? 2 : 1;
        layer->add(std::make_unique<CifarBasicBlock>(in_channels, planes[i], stride));
        in_channels = planes[i];
      }
      layers_[i] = &register_module("layer" + std::to_string(i + 1), std::move(layer));
    }
    linear_ = &register_module("linear", std::make_unique<nn::Linear>(64, num_classes));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (Tensor<float> y; run_planned(x, y)) return y;  // prepared for inference
    Tensor<float> y = activation(bn1_->forward(conv1_->forward(x)), ActivationKind::relu);
    if (training()) saved_stem_.push(y);
    for (nn::Sequential* layer : layers_)
      y = layer->forward(y);
    if (training()) saved_features_.push(y.shape());
    // akamaster pools with avg_pool2d(kernel = width), which equals a global pool only for
    // square maps; the adaptive pool gives the same 8×8 → 1×1 result and also takes other sizes.
    return linear_->forward(flatten(pool_.forward(y), 1));
  }
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    const Shape features = saved_features_.pop(kind());
    Tensor<float> g = linear_->backward(grad_out).reshape(Shape{features[0], features[1], 1, 1});
    g = adaptive_avg_pool2d_backward_reference(features, g);
    for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer)
      g = (*layer)->backward(g);
    g = activation_backward(saved_stem_.pop(kind()), g, ActivationKind::relu);
    return conv1_->backward(bn1_->backward(g));
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("conv1", *conv1_, x);
    y = graph.activation(graph.path_of("relu"), ActivationKind::relu,
                         graph.lower_child("bn1", *bn1_, y));
    for (size_t i = 0; i < layers_.size(); ++i)
      y = graph.lower_child("layer" + std::to_string(i + 1), *layers_[i], y);
    y = graph.lower_child("avgpool", pool_, y);
    return graph.lower_child("linear", *linear_, graph.flatten(graph.path_of("flatten"), y));
  }
  std::string kind() const override { return "ResNet"; }

 private:
  nn::Conv2d* conv1_ = nullptr;
  nn::BatchNorm2d* bn1_ = nullptr;
  std::array<nn::Sequential*, 3> layers_{};
  nn::Linear* linear_ = nullptr;
  nn::AdaptiveAvgPool2d pool_{1, 1};                // a function call in akamaster, so not a child
  nn::SavedForBackward<Tensor<float>> saved_stem_;  // after the stem's ReLU
  nn::SavedForBackward<Shape> saved_features_;      // the last stage's output shape
};

// ResNet-`depth` for CIFAR; depth must be 6n + 2 (20, 32, 44, 56, 110, …).
inline std::unique_ptr<CifarResNet> resnet_cifar(int depth, int64_t num_classes = 10) {
  FOVEA_CHECK(depth >= 8 && (depth - 2) % 6 == 0,
              "a CIFAR ResNet's depth must be 6n + 2 (20, 32, 44, 56, 110), got ", depth);
  return std::make_unique<CifarResNet>((depth - 2) / 6, num_classes);
}

}  // namespace fovea::models
