// Conv2d gradients. For y[n, k, p, q] = b[k] + Σ w[k, c', r, s] · x[n, g·C/G + c', ih, iw] with
// ih = p·stride_h − pad_top + r·dilation_h (likewise iw), every term sends
//   dy · w  to dx at (n, c, ih, iw),   dy · x  to dw at (k, c', r, s),   dy  to db[k].
// conv2d_backward_reference walks exactly those terms; conv2d_backward gets the same sums as
// GEMMs per group over a chunk of images:
//   cols [C/G·R·S, B·P·Q] = im2col(x),  dW_gᵀ += cols · dY_gᵀ,  dcols = W_gᵀ · dY_g → col2im(dx).
// For stride 1 without dilation or groups, dx is itself a convolution, of dy with the weights
// flipped in space and transposed in channels, padded by R − 1 − pad, and runs on the forward
// conv kernels instead.
#pragma once

#include <algorithm>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/conv2d_gemm.hpp"
#include "fovea/cpu/dot_tile.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea {

template <class T>
struct Conv2dGradients {
  Tensor<T> input, weight, bias;  // bias is empty when the layer has none
};

template <class T>
Conv2dGradients<T> conv2d_backward_reference(const Tensor<T>& x, const Tensor<T>& weight,
                                             const Tensor<T>& grad_y, const Conv2dAttrs& attrs,
                                             bool has_bias) {
  using Acc = typename AccumulatorOf<T>::type;
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  FOVEA_CHECK(grad_y.shape() == cp.output_shape(), "conv2d backward: gradient ", grad_y.shape(),
              " should have the output's shape ", cp.output_shape());
  const Conv2dAttrs& a = cp.attrs;
  std::vector<Acc> dx(static_cast<size_t>(x.numel()), Acc(0));
  std::vector<Acc> dw(static_cast<size_t>(weight.numel()), Acc(0));
  std::vector<Acc> db(static_cast<size_t>(cp.k), Acc(0));
  const auto dx_at = [&](int64_t n, int64_t c, int64_t h, int64_t w) -> Acc& {
    return dx[static_cast<size_t>(((n * cp.c + c) * cp.h + h) * cp.w + w)];
  };
  const auto dw_at = [&](int64_t k, int64_t c, int64_t r, int64_t s) -> Acc& {
    return dw[static_cast<size_t>(((k * cp.c_per_group() + c) * cp.r + r) * cp.s + s)];
  };
  for (int64_t n = 0; n < cp.n; ++n) {
    for (int64_t k = 0; k < cp.k; ++k) {
      const int64_t c0 = (k / cp.k_per_group()) * cp.c_per_group();
      for (int64_t p = 0; p < cp.p; ++p) {
        for (int64_t q = 0; q < cp.q; ++q) {
          const Acc g = convert<Acc>(grad_y(n, k, p, q));
          db[static_cast<size_t>(k)] += g;
          for (int64_t c = 0; c < cp.c_per_group(); ++c) {
            for (int64_t r = 0; r < cp.r; ++r) {
              const int64_t ih = p * a.stride_h - a.pad_top + r * a.dilation_h;
              if (ih < 0 || ih >= cp.h) continue;
              for (int64_t s = 0; s < cp.s; ++s) {
                const int64_t iw = q * a.stride_w - a.pad_left + s * a.dilation_w;
                if (iw < 0 || iw >= cp.w) continue;
                dx_at(n, c0 + c, ih, iw) += g * convert<Acc>(weight(k, c, r, s));
                dw_at(k, c, r, s) += g * convert<Acc>(x(n, c0 + c, ih, iw));
              }
            }
          }
        }
      }
    }
  }
  Conv2dGradients<T> out{Tensor<T>(x.shape(), x.layout()), Tensor<T>(weight.shape()), Tensor<T>()};
  for (int64_t n = 0; n < cp.n; ++n)
    for (int64_t c = 0; c < cp.c; ++c)
      for (int64_t h = 0; h < cp.h; ++h)
        for (int64_t w = 0; w < cp.w; ++w)
          out.input(n, c, h, w) = convert<T>(dx_at(n, c, h, w));
  for (int64_t i = 0; i < weight.numel(); ++i)
    out.weight[i] = convert<T>(dw[static_cast<size_t>(i)]);
  if (has_bias) {
    out.bias = Tensor<T>(Shape{cp.k});
    for (int64_t k = 0; k < cp.k; ++k)
      out.bias(k) = convert<T>(db[static_cast<size_t>(k)]);
  }
  return out;
}

namespace detail {

// Rows [row0, row1) of (c', r, s) × columns (image b, p, q) of group g's input patches for
// images [n0, n0 + count), written from row 0 of `cols`; zero where the window reads padding.
inline void conv_im2col_rows(const Tensor<float>& x, const Conv2dParams& cp, int64_t g, int64_t n0,
                             int64_t count, int64_t row0, int64_t row1, float* cols) {
  const int64_t pq = cp.p * cp.q;
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t c = g * cp.c_per_group() + row / (cp.r * cp.s);
    const int64_t r = row / cp.s % cp.r, s = row % cp.s;
    for (int64_t b = 0; b < count; ++b) {
      const float* plane = x.data() + ((n0 + b) * cp.c + c) * cp.h * cp.w;
      cpu::detail::im2col_row(plane, cp, r, s, cols + ((row - row0) * count + b) * pq);
    }
  }
}

// Adds column gradients back onto the input gradient: the transpose of conv_im2col. Threads
// split input channels, so no two write the same element and the sum order is fixed.
inline void conv_col2im(const float* cols, const Conv2dParams& cp, int64_t g, int64_t n0,
                        int64_t count, Tensor<float>& dx) {
  const Conv2dAttrs& a = cp.attrs;
  const int64_t pq = cp.p * cp.q;
  parallel_for(0, cp.c_per_group(), [&](int64_t cg) {
    const int64_t c = g * cp.c_per_group() + cg;
    for (int64_t r = 0; r < cp.r; ++r) {
      for (int64_t s = 0; s < cp.s; ++s) {
        const float* src = cols + ((cg * cp.r + r) * cp.s + s) * count * pq;
        for (int64_t b = 0; b < count; ++b) {
          float* plane = dx.data() + ((n0 + b) * cp.c + c) * cp.h * cp.w;
          for (int64_t p = 0; p < cp.p; ++p) {
            const int64_t ih = p * a.stride_h - a.pad_top + r * a.dilation_h;
            for (int64_t q = 0; q < cp.q; ++q, ++src) {
              const int64_t iw = q * a.stride_w - a.pad_left + s * a.dilation_w;
              if (ih >= 0 && ih < cp.h && iw >= 0 && iw < cp.w) plane[ih * cp.w + iw] += *src;
            }
          }
        }
      }
    }
  });
}

// Whether dx = conv2d(dy, flipped weights, R − 1 − pad): stride 1, no dilation, one group, and
// padding of at most R − 1 (S − 1) on every side.
inline bool input_gradient_is_a_conv(const Conv2dParams& cp) {
  const Conv2dAttrs& a = cp.attrs;
  return a.stride_h == 1 && a.stride_w == 1 && a.dilation_h == 1 && a.dilation_w == 1 &&
         cp.groups() == 1 && std::max(a.pad_top, a.pad_bottom) <= cp.r - 1 &&
         std::max(a.pad_left, a.pad_right) <= cp.s - 1 && a.pad_top >= 0 && a.pad_bottom >= 0 &&
         a.pad_left >= 0 && a.pad_right >= 0;
}

// dx[n, c, i, j] = Σ dy[n, k, i + pad − r, j + pad − s] · w[k, c, r, s]; with r' = R − 1 − r that
// is a convolution of dy with w'[c, k, r', s'] = w[k, c, R − 1 − r', S − 1 − s'].
inline Tensor<float> conv_input_gradient_as_conv(const Tensor<float>& weight,
                                                 const Tensor<float>& grad_y,
                                                 const Conv2dParams& cp) {
  Tensor<float> flipped(Shape{cp.c, cp.k, cp.r, cp.s});
  for (int64_t k = 0; k < cp.k; ++k)
    for (int64_t c = 0; c < cp.c; ++c)
      for (int64_t r = 0; r < cp.r; ++r)
        for (int64_t s = 0; s < cp.s; ++s)
          flipped(c, k, cp.r - 1 - r, cp.s - 1 - s) = weight(k, c, r, s);
  const Conv2dAttrs& a = cp.attrs;
  Conv2dAttrs t;
  t.pad_top = cp.r - 1 - a.pad_top, t.pad_bottom = cp.r - 1 - a.pad_bottom;
  t.pad_left = cp.s - 1 - a.pad_left, t.pad_right = cp.s - 1 - a.pad_right;
  return conv2d(grad_y, flipped, Tensor<float>(), t);
}

}  // namespace detail

namespace detail {

// dW_g[k, row] = Σ over images and pixels of dY_g[k] · cols[row], cols [C/G·R·S, P·Q] being an
// image's patches: a tile of dot products (cpu/dot_tile.hpp) per kDotRowsA × kDotRowsB outputs.
// Tasks own blocks of rows (c', r, s): each builds its rows' patches for a few images at a time
// (so they stay in cache) and adds every step's tiles into its own double sums in image order.
// No sum is split across tasks, so the bits do not depend on the thread count.
inline void conv_weight_gradient(const Tensor<float>& x, const Tensor<float>& grad_y,
                                 const Conv2dParams& cp, int64_t g, float* dw_g) {
  constexpr int64_t kRowsA = cpu::kDotRowsA, kRowsB = cpu::kDotRowsB;
  const int64_t kg = cp.k_per_group(), rows = cp.c_per_group() * cp.r * cp.s, pq = cp.p * cp.q;
  const int64_t images_per_step = std::max<int64_t>(1, 2048 / std::max<int64_t>(pq, 1));
  const int64_t row_tiles = (rows + kRowsB - 1) / kRowsB;
  const int64_t tasks_wanted = 2 * int64_t(num_threads());
  const int64_t block = (row_tiles + tasks_wanted - 1) / tasks_wanted * kRowsB;
  parallel_for(0, (rows + block - 1) / block, [&](int64_t task) {
    const int64_t row0 = task * block, row1 = std::min(rows, row0 + block), height = row1 - row0;
    std::vector<float> cols(static_cast<size_t>(height * images_per_step * pq));
    std::vector<double> sum(static_cast<size_t>(height * kg), 0.0);  // [row - row0][k]
    float tile[kRowsA * kRowsB];
    for (int64_t n0 = 0; n0 < cp.n; n0 += images_per_step) {
      const int64_t count = std::min(images_per_step, cp.n - n0);
      conv_im2col_rows(x, cp, g, n0, count, row0, row1, cols.data());
      for (int64_t k0 = 0; k0 < kg; k0 += kRowsA) {
        // Rows past the edge repeat the last one; their results are dropped.
        const float* dy_rows[kRowsA];
        for (int64_t i = 0; i < kRowsA; ++i)
          dy_rows[i] = grad_y.data() + (n0 * cp.k + g * kg + std::min(k0 + i, kg - 1)) * pq;
        for (int64_t j0 = row0; j0 < row1; j0 += kRowsB) {
          const float* col_rows[kRowsB];
          for (int64_t j = 0; j < kRowsB; ++j)
            col_rows[j] = cols.data() + (std::min(j0 + j, row1 - 1) - row0) * count * pq;
          cpu::dot_tile(dy_rows, cp.k * pq, col_rows, pq, count, pq, tile);
          for (int64_t i = 0; i < std::min(kRowsA, kg - k0); ++i)
            for (int64_t j = 0; j < std::min(kRowsB, row1 - j0); ++j)
              sum[static_cast<size_t>((j0 + j - row0) * kg + k0 + i)] += tile[i * kRowsB + j];
        }
      }
    }
    for (int64_t row = row0; row < row1; ++row)
      for (int64_t k = 0; k < kg; ++k)
        dw_g[k * rows + row] = static_cast<float>(sum[static_cast<size_t>((row - row0) * kg + k)]);
  });
}

// dx for one group by GEMM and col2im, chunk by chunk of images so the column matrix stays
// near 16 MiB: dcols = W_gᵀ · dY_g, then col2im adds them onto dx.
inline void conv_input_gradient_by_col2im(const Tensor<float>& weight, const Tensor<float>& grad_y,
                                          const Conv2dParams& cp, int64_t g, Tensor<float>& dx) {
  const int64_t kg = cp.k_per_group(), rows = cp.c_per_group() * cp.r * cp.s, pq = cp.p * cp.q;
  const int64_t chunk = std::clamp<int64_t>((int64_t(4) << 20) / std::max<int64_t>(rows * pq, 1), 1,
                                            std::max<int64_t>(cp.n, 1));
  std::vector<float> dcols(static_cast<size_t>(rows * chunk * pq));
  std::vector<float> dy(static_cast<size_t>(kg * chunk * pq));
  // W_gᵀ read in place: element (row, k) is weight[(g·K/G + k) · rows + row].
  const cpu::PackedMatrixA w_t(rows, kg, weight.data() + g * kg * rows, 1, rows);
  for (int64_t n0 = 0; n0 < cp.n; n0 += chunk) {
    const int64_t count = std::min(chunk, cp.n - n0), width = count * pq;
    // dY_g as [K/G, B·P·Q].
    for (int64_t k = 0; k < kg; ++k)
      for (int64_t b = 0; b < count; ++b)
        std::copy_n(grad_y.data() + ((n0 + b) * cp.k + g * kg + k) * pq, pq,
                    dy.data() + k * width + b * pq);
    cpu::gemm_packed_a(w_t, width, dy.data(), width, 1, dcols.data(), width, {});
    conv_col2im(dcols.data(), cp, g, n0, count, dx);
  }
}

}  // namespace detail

// Float gradients through the packed GEMM for NCHW tensors; other layouts use the reference.
inline Conv2dGradients<float> conv2d_backward(const Tensor<float>& x, const Tensor<float>& weight,
                                              const Tensor<float>& grad_y, const Conv2dAttrs& attrs,
                                              bool has_bias) {
  if (x.layout() != Layout::nchw || grad_y.layout() != Layout::nchw)
    return conv2d_backward_reference(x, weight, grad_y, attrs, has_bias);
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  FOVEA_CHECK(grad_y.shape() == cp.output_shape(), "conv2d backward: gradient ", grad_y.shape(),
              " should have the output's shape ", cp.output_shape());
  const int64_t pq = cp.p * cp.q;
  const bool input_by_conv = detail::input_gradient_is_a_conv(cp);
  Conv2dGradients<float> out{input_by_conv ? detail::conv_input_gradient_as_conv(weight, grad_y, cp)
                                           : Tensor<float>(x.shape()),
                             Tensor<float>(weight.shape()), Tensor<float>()};
  const int64_t weights_per_group = cp.k_per_group() * cp.c_per_group() * cp.r * cp.s;
  for (int64_t g = 0; g < cp.groups(); ++g) {
    detail::conv_weight_gradient(x, grad_y, cp, g, out.weight.data() + g * weights_per_group);
    if (!input_by_conv) detail::conv_input_gradient_by_col2im(weight, grad_y, cp, g, out.input);
  }
  if (has_bias) {
    out.bias = Tensor<float>(Shape{cp.k});
    for (int64_t k = 0; k < cp.k; ++k) {
      double sum = 0;
      for (int64_t n = 0; n < cp.n; ++n) {
        const float* plane = grad_y.data() + (n * cp.k + k) * pq;
        for (int64_t i = 0; i < pq; ++i)
          sum += plane[i];
      }
      out.bias(k) = static_cast<float>(sum);
    }
  }
  return out;
}

}  // namespace fovea
