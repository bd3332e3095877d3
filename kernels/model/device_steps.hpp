// The steps a DeviceModel is made of (device_model.hpp). Each step owns its uploaded weights and
// its output buffer, which is allocated on the first run for an input shape and reused while the
// shape stays the same, so a steady-state forward allocates nothing for convs and linears.
// Included only by kernels/model/device_model.cpp: host C++ compiled by g++ against the CUDA
// runtime header (for the one device-to-device copy), like kernels/runtime/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "fovea/cuda/conv2d.hpp"
#include "fovea/cuda/device_tensor.hpp"
#include "fovea/cuda/linear.hpp"
#include "fovea/cuda/pool2d.hpp"
#include "fovea/cuda/squeeze_excitation.hpp"
#include "fovea/ops/activation/params.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea::cuda::detail {

// (Re)allocates `t` unless it already has `shape` in `layout`.
template <class T>
void ensure_shape(DeviceTensor<T>& t, const Shape& shape, Layout layout) {
  if (t.empty() || t.shape() != shape || t.layout() != layout) t = DeviceTensor<T>(shape, layout);
}

// Copies `source` into `target` (equal element counts) in memory order, queued on `stream`.
template <class T>
void copy_device(const DeviceTensor<T>& source, DeviceTensor<T>& target, Stream stream) {
  FOVEA_CHECK(source.numel() == target.numel(), "cannot copy device tensor ", source.shape(),
              " into ", target.shape(), ": element counts differ");
  if (source.numel() == 0) return;
  FOVEA_CUDA_CHECK(cudaMemcpyAsync(target.data(), source.data(), source.size_bytes(),
                                   cudaMemcpyDeviceToDevice, native(stream)));
}

// A host float tensor converted to T on the device; an empty one (an absent bias) stays empty.
template <class T>
DeviceTensor<T> upload(const Tensor<float>& host, Stream stream) {
  return host.empty() ? DeviceTensor<T>() : DeviceTensor<T>::from_host(host.cast<T>(), stream);
}

template <class T>
class Step {
 public:
  explicit Step(std::string path) : path_(std::move(path)) {}
  virtual ~Step() = default;
  // The step's output; it stays valid until the step runs again.
  virtual const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) = 0;
  // "conv2d 3x3 64->64 +bias relu" (summary lines).
  virtual std::string describe() const = 0;
  virtual void append_summary(std::string& out) const {
    out += (path_.empty() ? "(model)" : path_) + ": " + describe() + "\n";
  }
  const std::string& path() const { return path_; }

 protected:
  std::string path_;
};

// A conv with its folded bias, a fused activation and optionally a fused residual add.
template <class T>
class ConvStep : public Step<T> {
 public:
  ConvStep(std::string path, const Tensor<float>& weight, const Tensor<float>& bias,
           const Conv2dAttrs& attrs, Stream stream)
      : Step<T>(std::move(path)),
        weight_(upload<T>(weight_to_krsc(weight), stream)),
        bias_(upload<T>(bias, stream)),
        attrs_(attrs) {}

  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    return run_with_residual(x, nullptr, stream);
  }
  // y = activation(conv(x) + bias + residual); residual has the output's shape.
  const DeviceTensor<T>& run_with_residual(const DeviceTensor<T>& x,
                                           const DeviceTensor<T>* residual, Stream stream) {
    const Conv2dParams params = Conv2dParams::make(x.shape(), weight_.shape(), attrs_);
    ensure_shape(out_, params.output_shape(), Layout::nhwc);
    Conv2dEpilogue<T> epilogue;
    epilogue.bias = bias_.empty() ? nullptr : &bias_;
    epilogue.residual = residual;
    epilogue.activation = activation_;
    conv2d_into(x, weight_, attrs_, epilogue, out_, stream);
    return out_;
  }
  std::string describe() const override {
    std::string text =
        "conv2d " + std::to_string(weight_.dim(2)) + "x" + std::to_string(weight_.dim(3)) + " " +
        std::to_string(weight_.dim(1) * attrs_.groups) + "->" + std::to_string(weight_.dim(0));
    if (attrs_.stride_h != 1 || attrs_.stride_w != 1)
      text += " stride " + std::to_string(attrs_.stride_h);
    if (attrs_.groups != 1) text += " groups " + std::to_string(attrs_.groups);
    if (!bias_.empty()) text += " +bias";
    if (fuses_residual_) text += " +residual";
    if (activation_ != ActivationKind::identity)
      text += std::string(" ") + activation_name(activation_);
    return text;
  }

  ActivationKind activation() const { return activation_; }
  void fuse_activation(ActivationKind kind) { activation_ = kind; }
  void mark_residual() { fuses_residual_ = true; }

 private:
  DeviceTensor<T> weight_, bias_;
  Conv2dAttrs attrs_;
  ActivationKind activation_ = ActivationKind::identity;
  bool fuses_residual_ = false;  // for the summary only: the caller passes the residual
  DeviceTensor<T> out_;
};

template <class T>
class LinearStep : public Step<T> {
 public:
  LinearStep(std::string path, const Tensor<float>& weight, const Tensor<float>& bias,
             Stream stream)
      : Step<T>(std::move(path)),
        weight_(upload<T>(weight, stream)),
        bias_(upload<T>(bias, stream)) {}

  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    FOVEA_CHECK(x.rank() == 2, "device Linear '", this->path_, "' needs a [N, ", weight_.dim(1),
                "] input, got ", x.shape());
    ensure_shape(out_, Shape{x.dim(0), weight_.dim(0)}, Layout::nchw);
    linear_into(x, weight_, bias_.empty() ? nullptr : &bias_, activation_, out_, stream);
    return out_;
  }
  std::string describe() const override {
    std::string text =
        "linear " + std::to_string(weight_.dim(1)) + "->" + std::to_string(weight_.dim(0));
    if (!bias_.empty()) text += " +bias";
    if (activation_ != ActivationKind::identity)
      text += std::string(" ") + activation_name(activation_);
    return text;
  }

  ActivationKind activation() const { return activation_; }
  void fuse_activation(ActivationKind kind) { activation_ = kind; }

 private:
  DeviceTensor<T> weight_, bias_;
  ActivationKind activation_ = ActivationKind::identity;
  DeviceTensor<T> out_;
};

// Max or average pooling. The launchers return a fresh tensor, so this step allocates (and frees
// its previous output) on every run.
template <class T>
class PoolStep : public Step<T> {
 public:
  PoolStep(std::string path, const Pool2dAttrs& attrs, bool max)
      : Step<T>(std::move(path)), attrs_(attrs), max_(max) {}
  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    out_ = max_ ? max_pool2d(x, attrs_, stream) : avg_pool2d(x, attrs_, stream);
    return out_;
  }
  std::string describe() const override {
    return std::string(max_ ? "max_pool2d " : "avg_pool2d ") + std::to_string(attrs_.kernel_h) +
           "x" + std::to_string(attrs_.kernel_w) + " stride " + std::to_string(attrs_.stride_h);
  }

 private:
  Pool2dAttrs attrs_;
  bool max_;
  DeviceTensor<T> out_;
};

// AdaptiveAvgPool2d: global average pooling for a 1x1 output; a copy when the image already has
// the output size; anything else is not supported on the device.
template <class T>
class AdaptivePoolStep : public Step<T> {
 public:
  AdaptivePoolStep(std::string path, int64_t out_h, int64_t out_w)
      : Step<T>(std::move(path)), out_h_(out_h), out_w_(out_w) {}
  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    FOVEA_CHECK(x.rank() == 4, "device AdaptiveAvgPool2d '", this->path_,
                "' needs an (N, C, H, W) input, got ", x.shape());
    if (x.dim(2) == out_h_ && x.dim(3) == out_w_) {
      ensure_shape(out_, x.shape(), x.layout());
      copy_device(x, out_, stream);
    } else {
      FOVEA_CHECK(out_h_ == 1 && out_w_ == 1, "device AdaptiveAvgPool2d '", this->path_,
                  "' supports a 1x1 output or an input of the output size, got output ", out_h_,
                  "x", out_w_, " for input ", x.shape());
      out_ = global_avg_pool2d(x, stream);
    }
    return out_;
  }
  std::string describe() const override {
    return "adaptive_avg_pool2d " + std::to_string(out_h_) + "x" + std::to_string(out_w_);
  }

 private:
  int64_t out_h_, out_w_;
  DeviceTensor<T> out_;
};

// torch.flatten(x, 1) of an (N, C, 1, 1) tensor: NHWC and NCHW memory agree only when H*W == 1.
template <class T>
class FlattenStep : public Step<T> {
 public:
  using Step<T>::Step;
  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    if (x.rank() == 2) return x;
    FOVEA_CHECK(x.rank() == 4 && x.dim(2) * x.dim(3) == 1, "device Flatten '", this->path_,
                "' supports an (N, C, 1, 1) input (NHWC memory is not torch's order otherwise), "
                "got ",
                x.shape());
    ensure_shape(out_, Shape{x.dim(0), x.dim(1)}, Layout::nchw);
    copy_device(x, out_, stream);
    return out_;
  }
  std::string describe() const override { return "flatten"; }

 private:
  DeviceTensor<T> out_;
};

// torchvision's SqueezeExcitation as one launcher call (it allocates its intermediates).
template <class T>
class SqueezeExcitationStep : public Step<T> {
 public:
  SqueezeExcitationStep(std::string path, const Tensor<float>& fc1_w, const Tensor<float>& fc1_b,
                        const Tensor<float>& fc2_w, const Tensor<float>& fc2_b, ActivationKind act,
                        ActivationKind scale_act, Stream stream)
      : Step<T>(std::move(path)),
        fc1_w_(upload_matrix(fc1_w, stream)),
        fc1_b_(upload<T>(fc1_b, stream)),
        fc2_w_(upload_matrix(fc2_w, stream)),
        fc2_b_(upload<T>(fc2_b, stream)),
        act_(act),
        scale_act_(scale_act) {}
  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    out_ = squeeze_excitation(x, fc1_w_, fc1_b_, fc2_w_, fc2_b_, act_, scale_act_, stream);
    return out_;
  }
  std::string describe() const override {
    return "squeeze_excitation " + std::to_string(fc1_w_.dim(1)) + "->" +
           std::to_string(fc1_w_.dim(0)) + " " + activation_name(act_) + " " +
           activation_name(scale_act_);
  }

 private:
  // A 1x1 conv weight [out, in, 1, 1] as the [out, in] matrix (the same memory).
  static DeviceTensor<T> upload_matrix(const Tensor<float>& w, Stream stream) {
    return upload<T>(w.reshape(Shape{w.dim(0), w.dim(1)}), stream);
  }

  DeviceTensor<T> fc1_w_, fc1_b_, fc2_w_, fc2_b_;
  ActivationKind act_, scale_act_;
  DeviceTensor<T> out_;
};

// Steps run one after another. An empty chain returns its input.
template <class T>
class ChainStep : public Step<T> {
 public:
  using Step<T>::Step;
  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    return run_with_residual(x, nullptr, stream);
  }
  // The residual is added by the last step, which must then be a ConvStep without activation
  // (checked when the chain is built: see last_conv_for_residual).
  const DeviceTensor<T>& run_with_residual(const DeviceTensor<T>& x,
                                           const DeviceTensor<T>* residual, Stream stream) {
    const DeviceTensor<T>* y = &x;
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (residual != nullptr && i + 1 == steps_.size()) {
        return static_cast<ConvStep<T>&>(*steps_[i]).run_with_residual(*y, residual, stream);
      }
      y = &steps_[i]->run(*y, stream);
    }
    return *y;
  }
  std::string describe() const override { return "chain"; }
  void append_summary(std::string& out) const override {
    for (const auto& step : steps_)
      step->append_summary(out);
  }

  std::vector<std::unique_ptr<Step<T>>>& steps() { return steps_; }

 private:
  std::vector<std::unique_ptr<Step<T>>> steps_;
};

// A residual block: `body` then, fused into its last conv, + shortcut(x) (x itself when there is
// no shortcut chain). ResNet blocks apply their ReLU after the add, MobileNetV2 and EfficientNet
// blocks none; either way it is the last conv's fused activation.
template <class T>
class ResidualStep : public Step<T> {
 public:
  ResidualStep(std::string path, std::unique_ptr<ChainStep<T>> body,
               std::unique_ptr<ChainStep<T>> shortcut)
      : Step<T>(std::move(path)), body_(std::move(body)), shortcut_(std::move(shortcut)) {}
  const DeviceTensor<T>& run(const DeviceTensor<T>& x, Stream stream) override {
    const DeviceTensor<T>& identity = shortcut_ ? shortcut_->run(x, stream) : x;
    return body_->run_with_residual(x, &identity, stream);
  }
  std::string describe() const override { return "residual block"; }
  void append_summary(std::string& out) const override {
    if (shortcut_) shortcut_->append_summary(out);
    body_->append_summary(out);
  }

 private:
  std::unique_ptr<ChainStep<T>> body_, shortcut_;
};

}  // namespace fovea::cuda::detail
