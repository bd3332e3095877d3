// Early stopping on validation loss: stop once `patience` epochs in a row fail to improve on the
// best loss by more than min_delta.
#pragma once

#include <cstdint>
#include <limits>

namespace fovea::train {

class EarlyStopping {
 public:
  explicit EarlyStopping(int64_t patience, double min_delta = 0)
      : patience_(patience), min_delta_(min_delta) {}

  // Records an epoch's validation loss; true when training should stop.
  bool update(double val_loss) {
    if (val_loss < best_ - min_delta_) {
      best_ = val_loss;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    return bad_epochs_ >= patience_;
  }
  bool improved() const { return bad_epochs_ == 0; }
  double best() const { return best_; }

 private:
  int64_t patience_;
  double min_delta_;
  double best_ = std::numeric_limits<double>::infinity();
  int64_t bad_epochs_ = 0;
};

}  // namespace fovea::train
