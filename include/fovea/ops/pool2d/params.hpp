// Pool2d problem description: the attributes a pooling layer holds, and the output size maths,
// which follow torch's pooling_output_shape and pool2d_shape_check exactly.
#pragma once

#include <cstdint>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"

namespace fovea {

struct Pool2dAttrs {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  // Round the output size up, so a last partial window is kept (torch's ceil_mode).
  bool ceil_mode = false;
  // Average pooling divides by the window including padding (torch's default) or by the number
  // of input elements it covers. Max pooling ignores it.
  bool count_include_pad = true;

  static Pool2dAttrs make(int64_t kernel, int64_t stride, int64_t padding = 0) {
    Pool2dAttrs a;
    a.kernel_h = a.kernel_w = kernel;
    a.stride_h = a.stride_w = stride;
    a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = padding;
    return a;
  }
};

// Output extent along one dimension. With ceil mode the division rounds up, but a window that
// would start in the right padding is dropped: the last one must start inside the input or the
// left padding.
inline int64_t pool_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t pad_before,
                                int64_t pad_after, bool ceil_mode) {
  const int64_t span = input + pad_before + pad_after - kernel + (ceil_mode ? stride - 1 : 0);
  // Floor division: span is negative when the kernel is larger than the padded input.
  const int64_t steps = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
  int64_t output = steps + 1;
  if (ceil_mode && (output - 1) * stride >= input + pad_before) --output;
  return output;
}

// One pooling problem: input (N, C, H, W) to output (N, C, P, Q).
struct Pool2dParams {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t p = 0, q = 0;
  Pool2dAttrs attrs;

  // `op` names the caller in errors ("max_pool2d", "avg_pool2d").
  static Pool2dParams make(const Shape& input, const Pool2dAttrs& a, const char* op) {
    FOVEA_CHECK(input.rank() == 4, op, " input must be (N, C, H, W), got ", input);
    FOVEA_CHECK(a.kernel_h > 0 && a.kernel_w > 0, op, " kernel must be positive, got ", a.kernel_h,
                "x", a.kernel_w);
    FOVEA_CHECK(a.stride_h > 0 && a.stride_w > 0, op, " stride must be positive, got ", a.stride_h,
                "x", a.stride_w);
    FOVEA_CHECK(a.pad_top >= 0 && a.pad_left >= 0 && a.pad_bottom >= 0 && a.pad_right >= 0, op,
                " padding must not be negative");
    // Torch's rule: more padding than half the kernel could make a window see only padding.
    FOVEA_CHECK(a.pad_top <= a.kernel_h / 2 && a.pad_bottom <= a.kernel_h / 2 &&
                    a.pad_left <= a.kernel_w / 2 && a.pad_right <= a.kernel_w / 2,
                op, " padding (top ", a.pad_top, ", left ", a.pad_left, ", bottom ", a.pad_bottom,
                ", right ", a.pad_right, ") must be at most half the kernel ", a.kernel_h, "x",
                a.kernel_w);
    FOVEA_CHECK(input[2] > 0 && input[3] > 0, op, " input must have a non-empty image, got ",
                input);
    Pool2dParams p;
    p.attrs = a;
    p.n = input[0], p.c = input[1], p.h = input[2], p.w = input[3];
    p.p = pool_output_size(p.h, a.kernel_h, a.stride_h, a.pad_top, a.pad_bottom, a.ceil_mode);
    p.q = pool_output_size(p.w, a.kernel_w, a.stride_w, a.pad_left, a.pad_right, a.ceil_mode);
    FOVEA_CHECK(p.p > 0 && p.q > 0, op, " kernel ", a.kernel_h, "x", a.kernel_w,
                " does not fit the padded input ", p.h + a.pad_top + a.pad_bottom, "x",
                p.w + a.pad_left + a.pad_right, " of ", input, " (output would be ", p.p, "x", p.q,
                ")");
    return p;
  }

  Shape input_shape() const { return {n, c, h, w}; }
  Shape output_shape() const { return {n, c, p, q}; }
};

}  // namespace fovea
