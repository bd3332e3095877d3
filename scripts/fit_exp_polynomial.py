#!/usr/bin/python3
"""Fits the polynomial behind the CPU kernels' vector exp (include/fovea/cpu/simd.hpp,
detail::exp_reduced): e^r ~ 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3) on |r| <= ln 2 / 2, for the
least maximum relative error. Lawson's algorithm: weighted least squares, each point's weight
grown by its error until the errors level out (a minimax fit). Prints the coefficients as floats
and the maximum relative error, exact and with float32 arithmetic in Horner's order.

Usage: /usr/bin/python3 scripts/fit_exp_polynomial.py   (needs numpy: apt-get install python3-numpy)
"""
import numpy as np

HALF_LN2 = np.log(2) / 2

# Chebyshev points crowd the ends of the interval, where a minimax error peaks.
r = np.cos(np.linspace(0, np.pi, 4001)) * HALF_LN2
r = r[np.abs(r) > 1e-6]  # the fit is of (e^r - 1 - r) / r^2, undefined at 0
target = (np.exp(r) - 1 - r) / r**2
basis = np.vstack([r**k for k in range(4)]).T
# An error d in the fitted part is an error r^2 d / e^r relative to e^r.
to_relative = r**2 / np.exp(r)

weights = np.ones_like(r)
for _ in range(200):
    scale = np.sqrt(weights) * to_relative
    coefs, *_ = np.linalg.lstsq(basis * scale[:, None], target * scale, rcond=None)
    error = np.abs((basis @ coefs - target) * to_relative)
    weights *= error
    weights /= weights.sum()

c32 = [np.float32(c) for c in coefs]
for k, c in enumerate(c32, start=2):
    print(f"c{k} = {c:.8e}f")
print(f"max relative error, exact arithmetic: {error.max():.3g}")

grid = np.linspace(-HALF_LN2, HALF_LN2, 200001).astype(np.float32)
p = c32[3]
for c in (c32[2], c32[1], c32[0], np.float32(1), np.float32(1)):
    p = p * grid + c
exact = np.exp(grid.astype(np.float64))
print(f"max relative error, float32 Horner: {np.max(np.abs(p - exact) / exact):.3g}")
