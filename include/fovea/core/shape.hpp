// Shape: the logical extents of a tensor, rank 0 to kMaxRank. Rank-4 shapes are always read as
// (N, C, H, W), whatever the memory layout.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"

namespace fovea {

inline constexpr int kMaxRank = 6;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }
  // The dimensions in [first, last), without a vector's allocation.
  static Shape from_range(const int64_t* first, const int64_t* last) {
    Shape shape;
    shape.assign(first, last);
    return shape;
  }

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }

  // Product of all extents; throws if it overflows int64 (a hostile file can ask for that).
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) {
      const int64_t d = dims_[static_cast<size_t>(i)];
      if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
        fail("shape ", str(), " has more elements than fit in 64 bits");
      }
      n *= d;
    }
    return n;
  }

  std::vector<int64_t> to_vector() const { return std::vector<int64_t>(begin(), end()); }

  std::string str() const {
    std::ostringstream out;
    out << '[';
    for (int i = 0; i < rank_; ++i)
      out << (i ? ", " : "") << dims_[static_cast<size_t>(i)];
    out << ']';
    return out.str();
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.str(); }

 private:
  template <class It>
  void assign(It first, It last) {
    const auto n = last - first;
    FOVEA_CHECK(n <= kMaxRank, "shape rank ", n, " exceeds the maximum of ", kMaxRank);
    rank_ = static_cast<int>(n);
    for (int i = 0; first != last; ++first, ++i) {
      FOVEA_CHECK(*first >= 0, "shape dimension ", i, " is negative (", *first, ")");
      dims_[static_cast<size_t>(i)] = *first;
    }
  }

  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace fovea
