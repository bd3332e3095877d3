#include <doctest/doctest.h>

#include "fovea/train/metrics.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("metrics of a hand-checked three-class batch") {
    // Predictions (argmax): 0, 1, 1, 2 for true labels 0, 1, 2, 2.
    Tensor<float> z(Shape{4, 3});
    const float v[] = {3, 1, 0, 0, 2, 1, 0, 2, 1, 0, 1, 2};
    std::copy(v, v + 12, z.begin());
    train::ClassificationMetrics m(3);
    m.add(z, {0, 1, 2, 2});
    CHECK(m.top1() == 0.75);
    CHECK(m.top5() == 1.0);
    CHECK(m.confusion(2, 1) == 1);
    CHECK(m.confusion(2, 2) == 1);
    CHECK(m.precision(1) == 0.5);  // predicted 1 twice, right once
    CHECK(m.recall(2) == 0.5);
    CHECK(m.recall(0) == 1.0);
    // Class 0 scores highest only on its own sample: a perfect ranking.
    CHECK(m.roc_auc(0) == 1.0);
    // Class 2 probabilities: sample 0: 1/(e³+e+1) = 0.042, samples 1 and 2 (same logits):
    // e/(1+e²+e) = 0.245, sample 3: e²/(1+e+e²) = 0.665. Positives 2 and 3 against negatives
    // 0 and 1: pairs (2,0) 1, (2,1) tie ½, (3,0) 1, (3,1) 1, so AUC = 3.5 / 4.
    CHECK(m.roc_auc(2) == 0.875);
    CHECK(m.confusion_csv() == "1,0,0\n0,1,0\n0,1,1\n");
    CHECK(m.json().find("\"top1\": 0.75") != std::string::npos);
  }

  TEST_CASE("ROC AUC counts ties as half") {
    Tensor<float> z(Shape{2, 2});  // equal logits: equal scores for both samples
    train::ClassificationMetrics m(2);
    m.add(z, {0, 1});
    CHECK(m.roc_auc(0) == 0.5);
  }
}
