// Unstructured and 2:4 weight masks: which weights of a model's convs and linear layers are
// pruned (set to zero and kept there), chosen by magnitude.
//
//   magnitude_mask     keeps the largest |w| of one tensor, to a target sparsity
//   global masks       one threshold over every selected tensor (SparsityMasks::prune_to with
//                      global = true): layers with many small weights lose more
//   mask_2_4           in every group of 4 consecutive input channels (at fixed output channel
//                      and tap) keeps the 2 largest |w|: NVIDIA's 2:4 semi-structured pattern,
//                      which sparse tensor cores (kernels/sparse/) and cpu/sparse_gemm.hpp run
//
// A mask is a float tensor of the weight's shape holding 0 (pruned) or 1 (kept). Ties in |w| are
// broken by position (the earlier weight is kept), so masks do not depend on sort stability.
// Training keeps the pruned weights at zero through MaskedOptimizer (masked_optimizer.hpp);
// saving and loading is in sparse_io.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/module.hpp"

namespace fovea::prune::sparse {

enum class Pattern {
  unstructured,  // any weights, to a target sparsity
  two_four,      // 2 of every 4 along the input channels (50 %)
};

inline const char* pattern_name(Pattern p) {
  return p == Pattern::two_four ? "2:4" : "unstructured";
}

inline Pattern parse_pattern(const std::string& name) {
  if (name == "2:4") return Pattern::two_four;
  FOVEA_CHECK(name == "unstructured", "sparsity pattern '", name,
              "' is unknown: expected 'unstructured' or '2:4'");
  return Pattern::unstructured;
}

// The fraction of zeros in t.
inline double sparsity_of(const Tensor<float>& t) {
  if (t.numel() == 0) return 0;
  int64_t zeros = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    zeros += t.data()[i] == 0.0f ? 1 : 0;
  return double(zeros) / double(t.numel());
}

// How many of `count` weights a sparsity prunes: round(sparsity · count).
inline int64_t pruned_count(double sparsity, int64_t count) {
  FOVEA_CHECK(sparsity >= 0 && sparsity <= 1, "sparsity must be in [0, 1], got ", sparsity);
  return std::min<int64_t>(count, int64_t(std::llround(sparsity * double(count))));
}

// Keeps all but the round(sparsity · numel) smallest |w|; ties keep the earlier weight.
inline Tensor<float> magnitude_mask(const Tensor<float>& w, double sparsity) {
  const int64_t n = w.numel(), prune = pruned_count(sparsity, n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const float* v = w.data();
  // The `prune` smallest by (|w|, then later position first), so that among equals the later
  // ones go.
  std::nth_element(order.begin(), order.begin() + prune, order.end(), [v](int64_t a, int64_t b) {
    const float fa = std::abs(v[a]), fb = std::abs(v[b]);
    return fa != fb ? fa < fb : a > b;
  });
  Tensor<float> mask(w.shape());
  mask.fill(1.0f);
  for (int64_t i = 0; i < prune; ++i)
    mask.data()[order[size_t(i)]] = 0.0f;
  return mask;
}

// The layout 2:4 groups run along: weight [K, C, R, S] (conv) or [out, in] (linear, R = S = 1);
// a group is 4 consecutive c at fixed (k, r, s). The CPU and CUDA kernels read 1×1 convs and
// linear layers, where this is the GEMM's reduction dimension.
struct TwoFourLayout {
  int64_t k = 0, c = 0, taps = 1;  // taps = R · S: the stride between consecutive c

  static TwoFourLayout of(const Shape& shape) {
    FOVEA_CHECK(shape.rank() == 4 || shape.rank() == 2,
                "2:4 masks need a conv weight [K, C, R, S] or a linear weight [out, in], got ",
                shape);
    TwoFourLayout l;
    l.k = shape[0], l.c = shape[1];
    l.taps = shape.rank() == 4 ? shape[2] * shape[3] : 1;
    return l;
  }
};

// In every group of 4 consecutive input channels, the 2 largest |w| (the earlier on a tie). When
// C is not a multiple of 4 the last group is shorter: it keeps its 2 largest too (all, if it
// has 1 or 2), so the pattern stays valid for kernels that pad C with zero channels.
inline Tensor<float> mask_2_4(const Tensor<float>& w) {
  const TwoFourLayout l = TwoFourLayout::of(w.shape());
  Tensor<float> mask(w.shape());
  mask.fill(0.0f);
  const float* v = w.data();
  for (int64_t k = 0; k < l.k; ++k)
    for (int64_t t = 0; t < l.taps; ++t)
      for (int64_t c0 = 0; c0 < l.c; c0 += 4) {
        const int64_t size = std::min<int64_t>(4, l.c - c0);
        int64_t at[4];
        for (int64_t j = 0; j < size; ++j)
          at[j] = (k * l.c + c0 + j) * l.taps + t;
        std::stable_sort(at, at + size,
                         [v](int64_t a, int64_t b) { return std::abs(v[a]) > std::abs(v[b]); });
        for (int64_t j = 0; j < std::min<int64_t>(2, size); ++j)
          mask.data()[at[j]] = 1.0f;
      }
  return mask;
}

// Whether w has at most 2 nonzeros in every group of mask_2_4's.
inline bool is_2_4(const Tensor<float>& w) {
  const TwoFourLayout l = TwoFourLayout::of(w.shape());
  for (int64_t k = 0; k < l.k; ++k)
    for (int64_t t = 0; t < l.taps; ++t)
      for (int64_t c0 = 0; c0 < l.c; c0 += 4) {
        int count = 0;
        for (int64_t c = c0; c < std::min(c0 + 4, l.c); ++c)
          count += w.data()[(k * l.c + c) * l.taps + t] != 0.0f ? 1 : 0;
        if (count > 2) return false;
      }
  return true;
}

// Which weights a model's masks cover.
struct SelectOptions {
  bool convs = true;                 // nn::Conv2d weights
  bool linears = true;               // nn::Linear weights
  bool grouped_convs = false;        // depthwise and other grouped convs (few weights, and no 2:4
                                     // kernel reads them)
  int64_t min_elements = 0;          // skip tensors smaller than this (stems, tiny heads)
  std::vector<std::string> exclude;  // layer paths left dense, e.g. {"conv1", "fc"}
};

// A pruned weight: the tensor, its mask and its pattern.
struct MaskedWeight {
  std::string name;  // "layer1.0.conv1.weight", as in the state dict
  Tensor<float>* weight = nullptr;
  Tensor<float> mask;  // 0/1, the weight's shape; all ones until pruned
  Pattern pattern = Pattern::unstructured;
};

// The weights of `model` that `options` selects, by state-dict name, in registration order.
inline std::vector<std::pair<std::string, Tensor<float>*>> select_weights(
    nn::Module& model, const SelectOptions& options = {}) {
  std::vector<std::pair<std::string, Tensor<float>*>> out;
  std::function<void(nn::Module&, const std::string&)> visit = [&](nn::Module& m,
                                                                   const std::string& path) {
    Tensor<float>* weight = nullptr;
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      if (options.convs && (conv->attrs().groups == 1 || options.grouped_convs))
        weight = &conv->weight();
    } else if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
      if (options.linears) weight = &linear->weight();
    }
    const bool excluded =
        std::find(options.exclude.begin(), options.exclude.end(), path) != options.exclude.end();
    if (weight != nullptr && !excluded && weight->numel() >= options.min_elements)
      out.emplace_back(path.empty() ? std::string("weight") : path + ".weight", weight);
    for (const auto& [name, child] : m.children())
      visit(*child, path.empty() ? name : path + "." + name);
  };
  visit(model, "");
  return out;
}

// The masks of a model's selected weights.
class SparsityMasks {
 public:
  SparsityMasks() = default;

  // All-ones masks (nothing pruned yet) for the weights `options` selects, in `pattern`.
  static SparsityMasks for_model(nn::Module& model, Pattern pattern,
                                 const SelectOptions& options = {}) {
    SparsityMasks masks;
    for (auto& [name, weight] : select_weights(model, options)) {
      if (pattern == Pattern::two_four) TwoFourLayout::of(weight->shape());  // checks the rank
      MaskedWeight m{name, weight, Tensor<float>(weight->shape()), pattern};
      m.mask.fill(1.0f);
      masks.entries_.push_back(std::move(m));
    }
    return masks;
  }

  // Masks that keep exactly the nonzero weights `options` selects: the masks a pruned model's
  // zeros stand for (after fine-tuning with a MaskedOptimizer, or loading a sparse file).
  static SparsityMasks from_zeros(nn::Module& model, Pattern pattern,
                                  const SelectOptions& options = {}) {
    SparsityMasks masks = for_model(model, pattern, options);
    for (MaskedWeight& m : masks.entries_)
      for (int64_t i = 0; i < m.weight->numel(); ++i)
        m.mask.data()[i] = m.weight->data()[i] != 0.0f ? 1.0f : 0.0f;
    return masks;
  }

  std::vector<MaskedWeight>& entries() { return entries_; }
  const std::vector<MaskedWeight>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  MaskedWeight* find(const std::string& name) {
    for (MaskedWeight& m : entries_)
      if (m.name == name) return &m;
    return nullptr;
  }

  // New masks from the weights' current magnitudes. Unstructured entries: `sparsity` of each
  // tensor (global = false) or of all of them together, by one threshold (global = true). 2:4
  // entries take mask_2_4 whatever `sparsity` is. Weights pruned before are zero, so they stay
  // pruned as the sparsity rises (Zhu & Gupta's masks only grow).
  void prune_to(double sparsity, bool global = false) {
    if (!global) {
      for (MaskedWeight& m : entries_)
        m.mask = m.pattern == Pattern::two_four ? mask_2_4(*m.weight)
                                                : magnitude_mask(*m.weight, sparsity);
      return;
    }
    // Global: rank every unstructured weight by (|w|, position) across tensors.
    struct Ref {
      float magnitude;
      uint32_t entry;
      int64_t index;
    };
    std::vector<Ref> all;
    for (size_t e = 0; e < entries_.size(); ++e) {
      MaskedWeight& m = entries_[e];
      if (m.pattern == Pattern::two_four) {
        m.mask = mask_2_4(*m.weight);
        continue;
      }
      for (int64_t i = 0; i < m.weight->numel(); ++i)
        all.push_back({std::abs(m.weight->data()[i]), uint32_t(e), i});
      m.mask = Tensor<float>(m.weight->shape());
      m.mask.fill(1.0f);
    }
    const int64_t prune = pruned_count(sparsity, int64_t(all.size()));
    std::nth_element(all.begin(), all.begin() + prune, all.end(), [](const Ref& a, const Ref& b) {
      if (a.magnitude != b.magnitude) return a.magnitude < b.magnitude;
      return a.entry != b.entry ? a.entry > b.entry : a.index > b.index;
    });
    for (int64_t i = 0; i < prune; ++i)
      entries_[all[size_t(i)].entry].mask.data()[all[size_t(i)].index] = 0.0f;
  }

  // w = w · mask for every entry: pruned weights become (and stay) zero.
  void apply() {
    for (MaskedWeight& m : entries_) {
      float* w = m.weight->data();
      const float* keep = m.mask.data();
      for (int64_t i = 0; i < m.weight->numel(); ++i)
        w[i] = keep[i] != 0.0f ? w[i] : 0.0f;
    }
  }

  // The fraction of the masked weights that are pruned, all entries together.
  double sparsity() const {
    int64_t zeros = 0, total = 0;
    for (const MaskedWeight& m : entries_) {
      for (int64_t i = 0; i < m.mask.numel(); ++i)
        zeros += m.mask.data()[i] == 0.0f ? 1 : 0;
      total += m.mask.numel();
    }
    return total > 0 ? double(zeros) / double(total) : 0;
  }

 private:
  std::vector<MaskedWeight> entries_;
};

// Zhu & Gupta's gradual schedule ("To prune, or not to prune", 2017): from step t0, every Δt
// steps, n times in all, the target sparsity rises as
//   s_t = s_f + (s_i − s_f) · (1 − (t − t0) / (n·Δt))³,   t ∈ {t0, t0 + Δt, …, t0 + n·Δt}
// fast at first, while many weights are redundant, slowly near the end. Before t0 nothing is
// pruned; after t0 + n·Δt the sparsity stays s_f (fine-tuning with the masks fixed).
struct GradualSchedule {
  double initial_sparsity = 0;  // s_i
  double final_sparsity = 0.9;  // s_f
  int64_t begin_step = 0;       // t0 (optimizer steps done)
  int64_t interval = 100;       // Δt
  int64_t updates = 10;         // n

  // The target after `t` optimizer steps.
  double sparsity_at(int64_t t) const {
    FOVEA_CHECK(interval > 0 && updates > 0, "gradual schedule needs interval and updates > 0");
    if (t < begin_step) return 0;
    const double span = double(updates) * double(interval);
    const double done = std::min(1.0, double(t - begin_step) / span);
    const double left = 1.0 - done;
    return final_sparsity + (initial_sparsity - final_sparsity) * left * left * left;
  }
  // Whether the masks are recomputed after step t.
  bool is_update_step(int64_t t) const {
    return t >= begin_step && t <= begin_step + updates * interval &&
           (t - begin_step) % interval == 0;
  }
};

}  // namespace fovea::prune::sparse
