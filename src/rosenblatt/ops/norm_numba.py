"""Batch norm in training mode as compiled loops (numba): the formulas of ``ops/norm.py``'s
``BatchNorm`` with fewer passes over memory. Imported only through ``ops.jit`` (numba is
optional; importing this module without it raises ImportError).

x is viewed as (N, C, S) and each kernel runs a range of channels [c0, c1) (the caller gives the
chunks to threads). Per channel, with M = N·S:

    forward:  μ = Σx/M;  var = Σ(x − μ)²/M  (two reads);  x̂ = (x − μ)/σ, y = γx̂ + β  (one
              read, two writes)                          NumPy: about 6 reads and 4 writes
    backward: Σdy, Σdy·x̂  (one read of each);  dx = k(dy − x̂·Σdy·x̂/M − Σdy/M), k = γ/σ
              (one more read of each, one write)         NumPy: about 7 reads and 4 writes

Sums run along each contiguous row of S elements in the array's dtype (LLVM vectorises them)
and are added up over the N rows in float64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FLAGS = {"contract", "reassoc", "nsz", "arcp"}  # FMA and reordered sums; NaNs still propagate
_serial = njit(cache=True, fastmath=_FLAGS, nogil=True)


@_serial
def batch_norm_forward(x, weight, bias, eps, x_hat_only, x_hat, y, mean, var, c0, c1):
    """For channels c0 ≤ c < c1 of x (N, C, S): mean[c], var[c] (biased, float64), x_hat and
    y = weight·x_hat + bias written into (N, C, S) arrays; weight/bias (C,) (ones/zeros when
    the layer has none). With ``x_hat_only`` y is not written: the caller makes it from x_hat
    (``batch_norm_relu_output`` for a fused ReLU, which recompute reuses: the same bits)."""
    n, _, s = x.shape
    m = n * s
    zero = np.zeros(1, x.dtype)[0]
    cast = np.empty(2, x.dtype)  # float64 scalars → x's dtype (so the row loops stay in it)
    for c in range(c0, c1):
        total = 0.0
        for i in range(n):
            row = x[i, c]
            r = zero
            for k in range(s):
                r += row[k]
            total += r
        mu = total / m
        cast[0] = mu
        mu_x = cast[0]
        total = 0.0
        for i in range(n):
            row = x[i, c]
            r = zero
            for k in range(s):
                d = row[k] - mu_x
                r += d * d
            total += r
        mean[c] = mu
        var[c] = total / m
        cast[1] = 1.0 / np.sqrt(total / m + eps)
        inv = cast[1]
        g, b = weight[c], bias[c]
        for i in range(n):
            row, xh, out = x[i, c], x_hat[i, c], y[i, c]
            if x_hat_only:
                for k in range(s):
                    xh[k] = (row[k] - mu_x) * inv
            else:
                for k in range(s):
                    v = (row[k] - mu_x) * inv
                    xh[k] = v
                    out[k] = g * v + b


@_serial
def _pre_relu(gamma, x_hat_k, beta):
    """z = γ·x̂ + β, the one expression the output and the backward's mask are made from."""
    return gamma * x_hat_k + beta


@_serial
def batch_norm_relu_output(x_hat, weight, bias, y, c0, c1):
    """y = max(weight·x_hat + bias, 0) (NaN kept) for channels c0 ≤ c < c1 of (N, C, S)
    arrays: the forward's output with ``relu``, and the same bits when recomputed."""
    n, _, s = x_hat.shape
    zero = np.zeros(1, x_hat.dtype)[0]
    for c in range(c0, c1):
        g, b = weight[c], bias[c]
        for i in range(n):
            xh, out = x_hat[i, c], y[i, c]
            for k in range(s):
                z = _pre_relu(g, xh[k], b)
                out[k] = zero if z <= zero else z


@_serial
def batch_norm_backward(dy, x_hat, scale, dx, sum_dy, sum_dy_xhat, need_x, c0, c1):
    """For channels c0 ≤ c < c1: sum_dy[c] = Σ dy, sum_dy_xhat[c] = Σ dy·x̂ (float64) and, with
    ``need_x``, dx = scale[c]·(dy − x̂·Σdy·x̂/M − Σdy/M) (scale = γ/σ); (N, C, S) arrays."""
    _backward(dy, x_hat, scale, scale, scale, False, dx, sum_dy, sum_dy_xhat, need_x, c0, c1)


@_serial
def batch_norm_relu_backward(dy, x_hat, scale, weight, bias, dx, sum_dy, sum_dy_xhat, need_x,
                             c0, c1):
    """``batch_norm_backward`` after a fused ReLU: dy is first zeroed where the forward's
    weight·x̂ + bias was not > 0 (recomputed from x̂, the same expression)."""
    _backward(dy, x_hat, scale, weight, bias, True, dx, sum_dy, sum_dy_xhat, need_x, c0, c1)


@_serial
def _backward(dy, x_hat, scale, weight, bias, relu, dx, sum_dy, sum_dy_xhat, need_x, c0, c1):
    """The body of both backward kernels; dy counts only where w·x̂ + b > 0 when ``relu``."""
    n, _, s = dy.shape
    m = n * s
    zero = np.zeros(1, dy.dtype)[0]
    cast = np.empty(3, dy.dtype)
    for c in range(c0, c1):
        t1 = 0.0
        t2 = 0.0
        gamma, beta = weight[c], bias[c]  # read only with relu
        for i in range(n):
            g, xh = dy[i, c], x_hat[i, c]
            r1 = zero
            r2 = zero
            if relu:
                for k in range(s):
                    gk = g[k] if _pre_relu(gamma, xh[k], beta) > zero else zero
                    r1 += gk
                    r2 += gk * xh[k]
            else:
                for k in range(s):
                    r1 += g[k]
                    r2 += g[k] * xh[k]
            t1 += r1
            t2 += r2
        sum_dy[c] = t1
        sum_dy_xhat[c] = t2
        if need_x:
            cast[0] = scale[c]
            cast[1] = scale[c] * t2 / m
            cast[2] = scale[c] * t1 / m
            k_c, a, b = cast[0], cast[1], cast[2]  # dx = k·dy − a·x̂ − b
            for i in range(n):
                g, xh, out = dy[i, c], x_hat[i, c], dx[i, c]
                if relu:
                    for k in range(s):
                        gk = g[k] if _pre_relu(gamma, xh[k], beta) > zero else zero
                        out[k] = k_c * gk - a * xh[k] - b
                else:
                    for k in range(s):
                        out[k] = k_c * g[k] - a * xh[k] - b
