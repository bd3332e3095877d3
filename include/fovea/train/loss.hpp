// Classification losses on logits [N, C] with integer labels, each returning the mean loss and
// its gradient with respect to the logits (what the model's backward starts from).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/tensor.hpp"

namespace fovea::train {

struct LossResult {
  double loss = 0;
  Tensor<float> grad;  // dLoss/dlogits, [N, C]
};

struct CrossEntropyOptions {
  double label_smoothing = 0;         // ε: target is (1 − ε)·one-hot + ε / C
  std::vector<double> class_weights;  // empty: all 1
};

namespace detail {

inline void check_logits(const Tensor<float>& logits, const std::vector<int64_t>& labels,
                         const char* loss) {
  FOVEA_CHECK(logits.rank() == 2, loss, " needs logits [N, C], got ", logits.shape());
  FOVEA_CHECK(int64_t(labels.size()) == logits.dim(0), loss, ": ", labels.size(),
              " labels for a batch of ", logits.dim(0));
  for (int64_t y : labels)
    FOVEA_CHECK(y >= 0 && y < logits.dim(1), loss, ": label ", y, " is outside [0, ", logits.dim(1),
                ")");
}

// Row i's softmax probabilities and log-probabilities of logits · scale in double, max-shifted.
inline void softmax_row(const Tensor<float>& logits, int64_t i, std::vector<double>& p,
                        std::vector<double>& log_p, double scale = 1) {
  const int64_t c = logits.dim(1);
  double top = scale * logits(i, int64_t(0));
  for (int64_t j = 1; j < c; ++j)
    top = std::max(top, scale * logits(i, j));
  double sum = 0;
  for (int64_t j = 0; j < c; ++j)
    sum += std::exp(scale * logits(i, j) - top);
  const double log_sum = std::log(sum);
  for (int64_t j = 0; j < c; ++j) {
    log_p[size_t(j)] = scale * logits(i, j) - top - log_sum;
    p[size_t(j)] = std::exp(log_p[size_t(j)]);
  }
}

}  // namespace detail

// torch.nn.functional.cross_entropy(reduction="mean", weight=w, label_smoothing=ε):
//   loss_i = (1 − ε)·w[y_i]·(−log p_i[y_i]) + (ε / C)·Σ_c w[c]·(−log p_i[c]),
// summed and divided by Σ_i w[y_i] (N without weights), as torch does.
inline LossResult cross_entropy(const Tensor<float>& logits, const std::vector<int64_t>& labels,
                                const CrossEntropyOptions& options = {}) {
  detail::check_logits(logits, labels, "cross_entropy");
  const int64_t n = logits.dim(0), c = logits.dim(1);
  const double eps = options.label_smoothing;
  FOVEA_CHECK(eps >= 0 && eps <= 1, "cross_entropy label smoothing must be in [0, 1], got ", eps);
  std::vector<double> w = options.class_weights;
  if (w.empty()) w.assign(size_t(c), 1.0);
  FOVEA_CHECK(int64_t(w.size()) == c, "cross_entropy: ", w.size(), " class weights for ", c,
              " classes");
  double weight_sum = 0, total = 0, sum_w = 0;
  for (double v : w)
    sum_w += v;
  for (int64_t y : labels)
    weight_sum += w[size_t(y)];
  FOVEA_CHECK(weight_sum > 0, "cross_entropy: the batch's class weights sum to ", weight_sum);
  LossResult r{0, Tensor<float>(logits.shape())};
  std::vector<double> p(static_cast<size_t>(c)), log_p(static_cast<size_t>(c));
  for (int64_t i = 0; i < n; ++i) {
    detail::softmax_row(logits, i, p, log_p);
    const size_t y = size_t(labels[size_t(i)]);
    double smooth = 0;
    for (int64_t j = 0; j < c; ++j)
      smooth -= w[size_t(j)] * log_p[size_t(j)];
    total += (1 - eps) * w[y] * -log_p[y] + eps / double(c) * smooth;
    // d(−log p_c)/dz_j = p_j − [c = j], weighted and summed as above.
    for (int64_t j = 0; j < c; ++j) {
      const double hard = (1 - eps) * w[y] * (p[size_t(j)] - (size_t(j) == y ? 1 : 0));
      const double soft = eps / double(c) * (sum_w * p[size_t(j)] - w[size_t(j)]);
      r.grad(i, j) = static_cast<float>((hard + soft) / weight_sum);
    }
  }
  r.loss = total / weight_sum;
  return r;
}

// Knowledge distillation (Hinton, Vinyals & Dean 2015): the student learns the labels and the
// teacher's softened probabilities,
//   (1 − α)·cross_entropy(z_s, y) + α·T²·mean_i KL(softmax(z_t,i / T) ‖ softmax(z_s,i / T)),
// with α = `weight` and T = `temperature`. The T² keeps the soft term's gradient,
// T·(softmax(z_s / T) − softmax(z_t / T)) / N, on the scale of the hard term's as T changes.
struct DistillationOptions {
  double temperature = 4;
  double weight = 0.9;  // α: the soft term's share
};

inline LossResult distillation_loss(const Tensor<float>& student, const Tensor<float>& teacher,
                                    const std::vector<int64_t>& labels,
                                    const DistillationOptions& options = {},
                                    const CrossEntropyOptions& hard_options = {}) {
  FOVEA_CHECK(teacher.shape() == student.shape(), "distillation: the teacher's logits are ",
              teacher.shape(), ", the student's ", student.shape());
  const double t = options.temperature, alpha = options.weight;
  FOVEA_CHECK(t > 0, "distillation temperature must be positive, got ", t);
  FOVEA_CHECK(alpha >= 0 && alpha <= 1, "distillation weight must be in [0, 1], got ", alpha);
  LossResult r = cross_entropy(student, labels, hard_options);
  const int64_t n = student.dim(0), c = student.dim(1);
  std::vector<double> ps(static_cast<size_t>(c)), log_ps(static_cast<size_t>(c));
  std::vector<double> pt(static_cast<size_t>(c)), log_pt(static_cast<size_t>(c));
  double kl = 0;
  for (int64_t i = 0; i < n; ++i) {
    detail::softmax_row(student, i, ps, log_ps, 1 / t);
    detail::softmax_row(teacher, i, pt, log_pt, 1 / t);
    for (int64_t j = 0; j < c; ++j) {
      const size_t k = size_t(j);
      kl += pt[k] * (log_pt[k] - log_ps[k]);
      const double soft = t * (ps[k] - pt[k]) / double(n);
      r.grad(i, j) = static_cast<float>((1 - alpha) * r.grad(i, j) + alpha * soft);
    }
  }
  r.loss = (1 - alpha) * r.loss + alpha * t * t * kl / double(n);
  return r;
}

// Focal loss (Lin et al. 2017) on the softmax: mean of −α (1 − p_t)^γ log p_t with p_t the
// probability of the true class. γ = 0 and α = 1 give cross-entropy.
inline LossResult focal_loss(const Tensor<float>& logits, const std::vector<int64_t>& labels,
                             double gamma = 2.0, double alpha = 1.0) {
  detail::check_logits(logits, labels, "focal_loss");
  FOVEA_CHECK(gamma >= 0, "focal_loss gamma must not be negative, got ", gamma);
  const int64_t n = logits.dim(0), c = logits.dim(1);
  LossResult r{0, Tensor<float>(logits.shape())};
  std::vector<double> p(static_cast<size_t>(c)), log_p(static_cast<size_t>(c));
  for (int64_t i = 0; i < n; ++i) {
    detail::softmax_row(logits, i, p, log_p);
    const size_t y = size_t(labels[size_t(i)]);
    const double pt = p[y], lp = log_p[y], q = 1 - pt;
    r.loss += -alpha * std::pow(q, gamma) * lp;
    // dL/dz_j = −α (δ_jy − p_j) [(1 − p_t)^γ − γ (1 − p_t)^(γ−1) p_t log p_t]; the second term
    // vanishes with 1 − p_t (it is 0 · log 1 there).
    const double bracket =
        std::pow(q, gamma) - (q > 0 && gamma > 0 ? gamma * std::pow(q, gamma - 1) * pt * lp : 0);
    for (int64_t j = 0; j < c; ++j) {
      const double delta = size_t(j) == y ? 1 : 0;
      r.grad(i, j) = static_cast<float>(-alpha * (delta - p[size_t(j)]) * bracket / double(n));
    }
  }
  r.loss /= double(n);
  return r;
}

}  // namespace fovea::train
