// CUDA max, average and global average pooling against the host references.
#include <doctest/doctest.h>

#include <sstream>

#include "conv_case.hpp"
#include "cuda_test_util.hpp"
#include "fovea/cuda/pool2d.hpp"
#include "fovea/ops/pool2d/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

Pool2dAttrs random_pool_attrs(Rng& rng) {
  Pool2dAttrs a;
  a.kernel_h = test::pick<int64_t>(rng, {1, 2, 3, 5});
  a.kernel_w = test::pick<int64_t>(rng, {1, 2, 3});
  a.stride_h = test::pick<int64_t>(rng, {1, 2, 3});
  a.stride_w = test::pick<int64_t>(rng, {1, 2});
  a.pad_top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(a.kernel_h / 2 + 1)));
  a.pad_bottom = static_cast<int64_t>(rng.below(static_cast<uint64_t>(a.kernel_h / 2 + 1)));
  a.pad_left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(a.kernel_w / 2 + 1)));
  a.pad_right = static_cast<int64_t>(rng.below(static_cast<uint64_t>(a.kernel_w / 2 + 1)));
  a.ceil_mode = rng.below(2) == 0;
  a.count_include_pad = rng.below(2) == 0;
  return a;
}

std::string describe(const Shape& x, const Pool2dAttrs& a, uint64_t seed) {
  std::ostringstream out;
  out << "input " << x << " kernel " << a.kernel_h << "x" << a.kernel_w << " stride " << a.stride_h
      << "x" << a.stride_w << " pad (t" << a.pad_top << " l" << a.pad_left << " b" << a.pad_bottom
      << " r" << a.pad_right << ") ceil " << a.ceil_mode << " include_pad " << a.count_include_pad
      << " seed " << seed;
  return out.str();
}

template <class T>
void check_random_pools(uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < 30; ++i) {
    const Pool2dAttrs a = random_pool_attrs(rng);
    const Shape shape{1 + static_cast<int64_t>(rng.below(3)),
                      1 + static_cast<int64_t>(rng.below(70)),
                      a.kernel_h + static_cast<int64_t>(rng.below(15)),
                      a.kernel_w + static_cast<int64_t>(rng.below(15))};
    const Tensor<T> x = test::random_tensor<T>(shape, Layout::nhwc, rng);
    const auto dx = test::upload(x);
    const std::string context = describe(shape, a, seed);
    // Max pooling selects an input element: exact.
    const Tensor<T> max_got = cuda::max_pool2d(dx, a).to_host();
    const Tensor<T> max_want = max_pool2d_reference(x, a);
    REQUIRE_MESSAGE(max_got.shape() == max_want.shape(), context);
    CHECK_MESSAGE(test::max_abs_error(max_got, max_want) == 0.0, "max ", context);
    // Average pooling sums at most kernel_h * kernel_w values in float.
    const Tensor<T> avg_got = cuda::avg_pool2d(dx, a).to_host();
    const Tensor<double> avg_want = avg_pool2d_reference(x.template cast<double>(), a);
    const Tensor<double> magnitude = avg_pool2d_reference(test::abs_double(x), a);
    test::check_within_bound(avg_got, avg_want, magnitude,
                             test::float_sum_bound<T>(a.kernel_h * a.kernel_w), "avg " + context);
  }
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda pool2d: hand-checked 2x2 max and average pooling") {
    if (test::skip_without_cuda_device()) return;
    // One channel, 1..16 in a 4x4 image; 2x2 windows with stride 2.
    Tensor<float> x(Shape{1, 1, 4, 4}, Layout::nhwc);
    for (int i = 0; i < 16; ++i)
      x[i] = static_cast<float>(i + 1);
    const auto dx = test::upload(x);
    const Tensor<float> mx = cuda::max_pool2d(dx, Pool2dAttrs::make(2, 2)).to_host();
    const Tensor<float> av = cuda::avg_pool2d(dx, Pool2dAttrs::make(2, 2)).to_host();
    const float max_want[4] = {6, 8, 14, 16};
    const float avg_want[4] = {3.5f, 5.5f, 11.5f, 13.5f};  // e.g. (1 + 2 + 5 + 6) / 4
    for (int i = 0; i < 4; ++i) {
      CHECK(mx[i] == max_want[i]);
      CHECK(av[i] == avg_want[i]);
    }
    // Global average of 1..16 is 8.5.
    CHECK(cuda::global_avg_pool2d(dx).to_host()[0] == 8.5f);
  }

  TEST_CASE("cuda pool2d: randomized max and average pooling match the host reference") {
    if (test::skip_without_cuda_device()) return;
    check_random_pools<float>(51);
    check_random_pools<half>(52);
    check_random_pools<bfloat16>(53);
  }

  TEST_CASE("cuda pool2d: global average pooling matches the host reference") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(61);
    for (const Shape& shape : {Shape{1, 1280, 7, 7}, Shape{3, 37, 13, 9}, Shape{2, 5, 1, 1}}) {
      const Tensor<half> x = test::random_tensor<half>(shape, Layout::nhwc, rng);
      const Tensor<half> got = cuda::global_avg_pool2d(test::upload(x)).to_host();
      const Tensor<double> want = global_avg_pool2d_reference(x.cast<double>());
      const Tensor<double> magnitude = global_avg_pool2d_reference(test::abs_double(x));
      std::ostringstream context;
      context << "global average of " << shape;
      test::check_within_bound(got, want, magnitude,
                               test::float_sum_bound<half>(shape[2] * shape[3]), context.str());
    }
  }
}
