// ImageSet: a labelled set of same-sized 8-bit images held in memory (C×H×W each), the form
// every loader produces; plus seeded shuffling, a stratified split and a content hash.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/core/rng.hpp"

namespace fovea::data {

struct ImageSet {
  int64_t channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // image i at [i · C·H·W, (i + 1) · C·H·W), channel-major
  std::vector<int64_t> labels;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // empty when classes are just numbers

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const { return channels * height * width; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
};

// Fisher-Yates with the project's generator, so a seed gives the same order everywhere.
inline void shuffle(std::vector<int64_t>& indices, Rng& rng) {
  for (size_t i = indices.size(); i > 1; --i)
    std::swap(indices[i - 1], indices[rng.below(i)]);
}

inline std::vector<int64_t> all_indices(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = i;
  return v;
}

struct Split {
  std::vector<int64_t> train, val;
};

// Each class contributes round(fraction × its count) shuffled images to val, so both parts keep
// the class proportions.
inline Split stratified_split(const std::vector<int64_t>& labels, double val_fraction,
                              uint64_t seed) {
  FOVEA_CHECK(val_fraction >= 0 && val_fraction < 1, "validation fraction must be in [0, 1), got ",
              val_fraction);
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i)
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  Rng rng(seed);
  Split split;
  for (auto& [label, members] : by_class) {
    shuffle(members, rng);
    const size_t n_val = static_cast<size_t>(val_fraction * double(members.size()) + 0.5);
    split.val.insert(split.val.end(), members.begin(), members.begin() + long(n_val));
    split.train.insert(split.train.end(), members.begin() + long(n_val), members.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.val.begin(), split.val.end());
  return split;
}

// 64-bit FNV-1a of an image's pixels: equal images hash equal, so a shared hash between two
// splits flags the same picture in both.
inline uint64_t content_hash(const ImageSet& set, int64_t i) {
  uint64_t h = 0xcbf29ce484222325ull;
  const uint8_t* p = set.image(i);
  for (int64_t k = 0; k < set.image_bytes(); ++k)
    h = (h ^ p[k]) * 0x100000001b3ull;
  return h;
}

// How many images of `b` (indices into set_b) have the exact content of one in `a`.
inline int64_t count_shared_images(const ImageSet& set_a, const std::vector<int64_t>& a,
                                   const ImageSet& set_b, const std::vector<int64_t>& b) {
  std::vector<uint64_t> hashes;
  for (int64_t i : a)
    hashes.push_back(content_hash(set_a, i));
  std::sort(hashes.begin(), hashes.end());
  int64_t shared = 0;
  for (int64_t i : b)
    shared += std::binary_search(hashes.begin(), hashes.end(), content_hash(set_b, i)) ? 1 : 0;
  return shared;
}

}  // namespace fovea::data
