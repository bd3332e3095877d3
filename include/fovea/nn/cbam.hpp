// CBAM (Woo et al. 2018): channel attention, then spatial attention. torchvision has no CBAM, so
// the names are ours, chosen to read like the paper and to match the common PyTorch port:
//   channel_attention.fc1.weight  [C/r, C, 1, 1]  shared MLP, 1x1 conv, no bias
//   channel_attention.fc2.weight  [C, C/r, 1, 1]  (ReLU between fc1 and fc2)
//   spatial_attention.conv.weight [1, 2, k, k]    over (mean over C, max over C), padding k/2,
//                                                 no bias
// The spatial conv's input channels are (mean, max), the paper's order; the authors' code stacks
// (max, mean), so its weights need their two input channels swapped.
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/ops/attention/attention.hpp"

namespace fovea::nn {

// x * sigmoid(mlp(avgpool(x)) + mlp(maxpool(x))), children "fc1" and "fc2".
class ChannelAttention : public Module {
 public:
  ChannelAttention(int64_t channels, int64_t reduction) {
    FOVEA_CHECK(channels > 0 && reduction > 0 && channels / reduction > 0,
                "ChannelAttention: channels ", channels, " divided by reduction ", reduction,
                " must leave at least one hidden channel");
    const int64_t hidden = channels / reduction;
    fc1_ = &register_module("fc1",
                            std::make_unique<Conv2d>(channels, hidden, 1, Conv2dAttrs{}, false));
    fc2_ = &register_module("fc2",
                            std::make_unique<Conv2d>(hidden, channels, 1, Conv2dAttrs{}, false));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return channel_attention(x, fc1_->weight(), fc2_->weight());
  }
  std::string kind() const override { return "ChannelAttention"; }
  std::string describe() const override {
    return std::to_string(fc1_->in_channels()) + ", hidden=" + std::to_string(fc1_->out_channels());
  }
  Conv2d& fc1() { return *fc1_; }
  Conv2d& fc2() { return *fc2_; }

 private:
  Conv2d* fc1_;
  Conv2d* fc2_;
};

// x * sigmoid(conv(mean and max over channels)), child "conv".
class SpatialAttention : public Module {
 public:
  explicit SpatialAttention(int64_t kernel) {
    FOVEA_CHECK(kernel > 0 && kernel % 2 == 1, "SpatialAttention kernel must be odd, got ", kernel);
    conv_ = &register_module(
        "conv", std::make_unique<Conv2d>(2, 1, kernel, Conv2dAttrs::make(1, kernel / 2), false));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return spatial_attention(x, conv_->weight(), conv_->bias());
  }
  std::string kind() const override { return "SpatialAttention"; }
  std::string describe() const override {
    return "kernel=" + std::to_string(conv_->weight().dim(2));
  }
  Conv2d& conv() { return *conv_; }

 private:
  Conv2d* conv_;
};

class CBAM : public Module {
 public:
  explicit CBAM(int64_t channels, int64_t reduction = 16, int64_t spatial_kernel = 7) {
    channel_ = &register_module("channel_attention",
                                std::make_unique<ChannelAttention>(channels, reduction));
    spatial_ =
        &register_module("spatial_attention", std::make_unique<SpatialAttention>(spatial_kernel));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return cbam(x, channel_->fc1().weight(), channel_->fc2().weight(), spatial_->conv().weight(),
                spatial_->conv().bias());
  }
  std::string kind() const override { return "CBAM"; }
  std::string describe() const override {
    std::ostringstream out;
    out << channel_->fc1().in_channels() << ", hidden=" << channel_->fc1().out_channels()
        << ", spatial_kernel=" << spatial_->conv().weight().dim(2);
    return out.str();
  }
  ChannelAttention& channel_attention() { return *channel_; }
  SpatialAttention& spatial_attention() { return *spatial_; }

 private:
  ChannelAttention* channel_;
  SpatialAttention* spatial_;
};

}  // namespace fovea::nn
