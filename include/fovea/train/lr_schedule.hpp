// Learning-rate schedules as functions of the step (or epoch) count t, in the closed forms of
// torch.optim.lr_scheduler: StepLR, CosineAnnealingLR, OneCycleLR (cosine, two phases) and
// LinearLR warm-up, which can precede another schedule.
#pragma once

#include <cmath>
#include <functional>

#include "fovea/core/error.hpp"

namespace fovea::train {

using LrSchedule = std::function<double(int64_t t)>;

// base · gamma^floor(t / step_size).
inline LrSchedule step_lr(double base, int64_t step_size, double gamma = 0.1) {
  FOVEA_CHECK(step_size > 0, "step_lr step size must be positive, got ", step_size);
  return [=](int64_t t) { return base * std::pow(gamma, double(t / step_size)); };
}

// eta_min + (base − eta_min) · (1 + cos(π t / t_max)) / 2.
inline LrSchedule cosine_annealing_lr(double base, int64_t t_max, double eta_min = 0) {
  FOVEA_CHECK(t_max > 0, "cosine_annealing_lr t_max must be positive, got ", t_max);
  return [=](int64_t t) {
    return eta_min + (base - eta_min) * (1 + std::cos(M_PI * double(t) / double(t_max))) / 2;
  };
}

// torch's OneCycleLR with anneal_strategy "cos", three_phase False: cosine from max_lr / div up
// to max_lr over the first pct_start of the steps, then down to max_lr / (div · final_div).
inline LrSchedule one_cycle_lr(double max_lr, int64_t total_steps, double pct_start = 0.3,
                               double div_factor = 25, double final_div_factor = 1e4) {
  FOVEA_CHECK(total_steps > 1, "one_cycle_lr needs at least 2 steps, got ", total_steps);
  const double initial = max_lr / div_factor, final_lr = initial / final_div_factor;
  const double end_up = pct_start * double(total_steps) - 1, end_down = double(total_steps) - 1;
  const auto anneal = [](double start, double end, double pct) {
    return end + (start - end) / 2 * (std::cos(M_PI * pct) + 1);
  };
  return [=](int64_t t) {
    const double s = double(t);
    if (s <= end_up) return anneal(initial, max_lr, s / end_up);
    return anneal(max_lr, final_lr, (s - end_up) / (end_down - end_up));
  };
}

// LinearLR(start_factor, 1, warmup) for the first `warmup` steps, then `after(t − warmup)`.
inline LrSchedule linear_warmup(int64_t warmup, double start_factor, LrSchedule after) {
  FOVEA_CHECK(warmup >= 0, "warm-up length must not be negative, got ", warmup);
  return [=](int64_t t) {
    if (t >= warmup) return after(t - warmup);
    const double factor = start_factor + (1 - start_factor) * double(t) / double(warmup);
    return after(0) * factor;
  };
}

}  // namespace fovea::train
