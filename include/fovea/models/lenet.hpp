// LeNet-5 (LeCun et al. 1998) for 1×32×32 images: conv1 1→6 5×5, pool, conv2 6→16 5×5, pool,
// fc1 400→120, fc2 120→84, fc3 84→classes.
//
// The paper squashes with scaled tanh and subsamples with trainable average pools; like most
// modern re-implementations we use ReLU and 2×2 max pooling, which train faster and need no
// extra parameters. Parameter names follow the usual PyTorch LeNet (conv1, conv2, fc1..fc3).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fovea/nn/activation.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/ops/elementwise/flatten.hpp"

namespace fovea::models {

class LeNet5 : public nn::Module {
 public:
  explicit LeNet5(int64_t num_classes = 10) {
    conv1_ = &register_module("conv1", std::make_unique<nn::Conv2d>(1, 6, 5, Conv2dAttrs{}, true));
    relu_ = &register_module("relu", std::make_unique<nn::Activation>(ActivationKind::relu));
    pool_ = &register_module("pool", std::make_unique<nn::MaxPool2d>(Pool2dAttrs::make(2, 2, 0)));
    conv2_ = &register_module("conv2", std::make_unique<nn::Conv2d>(6, 16, 5, Conv2dAttrs{}, true));
    fc1_ = &register_module("fc1", std::make_unique<nn::Linear>(16 * 5 * 5, 120));
    fc2_ = &register_module("fc2", std::make_unique<nn::Linear>(120, 84));
    fc3_ = &register_module("fc3", std::make_unique<nn::Linear>(84, num_classes));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (Tensor<float> y; run_planned(x, y)) return y;  // prepared for inference
    // fc1 is sized for the 16×5×5 map a 32×32 image leaves, so no other size can work.
    FOVEA_CHECK(x.rank() == 4 && x.dim(1) == 1 && x.dim(2) == 32 && x.dim(3) == 32,
                "LeNet5 needs (N, 1, 32, 32) input, got ", x.shape(),
                " (pad 28×28 MNIST digits by 2 pixels on each side)");
    Tensor<float> y = pool_->forward(relu_->forward(conv1_->forward(x)));  // 6×14×14
    y = pool_->forward(relu_->forward(conv2_->forward(y)));                // 16×5×5
    y = relu_->forward(fc1_->forward(flatten(y, 1)));
    y = relu_->forward(fc2_->forward(y));
    return fc3_->forward(y);
  }
  // The forward in reverse; relu_ and pool_ ran several times and pair up last-in-first-out.
  Tensor<float> backward(const Tensor<float>& grad_out) override {
    Tensor<float> g = relu_->backward(fc3_->backward(grad_out));
    g = relu_->backward(fc2_->backward(g));
    g = fc1_->backward(g).reshape(Shape{grad_out.dim(0), 16, 5, 5});
    g = conv2_->backward(relu_->backward(pool_->backward(g)));
    return conv1_->backward(relu_->backward(pool_->backward(g)));
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("conv1", *conv1_, x);
    y = graph.lower_child("pool", *pool_, graph.lower_child("relu", *relu_, y));
    y = graph.lower_child("conv2", *conv2_, y);
    y = graph.lower_child("pool", *pool_, graph.lower_child("relu", *relu_, y));
    y = graph.lower_child("fc1", *fc1_, graph.flatten(graph.path_of("flatten"), y));
    y = graph.lower_child("fc2", *fc2_, graph.lower_child("relu", *relu_, y));
    return graph.lower_child("fc3", *fc3_, graph.lower_child("relu", *relu_, y));
  }
  std::string kind() const override { return "LeNet5"; }

 private:
  nn::Conv2d* conv1_ = nullptr;
  nn::Activation* relu_ = nullptr;
  nn::MaxPool2d* pool_ = nullptr;
  nn::Conv2d* conv2_ = nullptr;
  nn::Linear* fc1_ = nullptr;
  nn::Linear* fc2_ = nullptr;
  nn::Linear* fc3_ = nullptr;
};

inline std::unique_ptr<LeNet5> lenet5(int64_t num_classes = 10) {
  return std::make_unique<LeNet5>(num_classes);
}

}  // namespace fovea::models
