"""Optimiser updates as compiled loops (numba): the formulas of ``optim/sgd.py``'s ``SGD`` and
``optim/adam.py``'s ``Adam`` (so ``AdamW``) in one pass over each parameter instead of 4 (SGD)
or 13 (Adam) ufunc passes. Imported only through ``ops.jit`` (numba is optional; importing
this module without it raises ImportError).

The arrays are 1-D C-contiguous views of a parameter θ, its gradient ∇ and its state, all of
one dtype; the caller casts the scalars to that dtype, so every operation runs in it, as NumPy's
ufuncs run with Python-float operands. Per element, in the NumPy path's order, with g the
gradient term (g = ∇, −∇ with maximize; wd·θ + ∇ or wd·θ − ∇ with coupled weight decay):

    SGD:   V = g (first step of the torch form) or μ·V + keep·g   (keep = 1 − dampening;
           1 − μ for the ema form);  s = μ·V + g with nesterov, else V;  θ = θ − lr·s
           one pass: reads θ, ∇, V; writes θ, V      NumPy: 6 reads and 4 writes

    Adam:  θ = θ·shrink (decoupled decay, AdamW: shrink = 1 − lr·wd);
           m = m + w·(g − m) (w < 0.5) or g − (1 − w)·(g − m)   (torch.lerp's two forms, w = 1 − β₁)
           v = β₂·v + ((1 − β₂)·g)·g;   u = max(u_max, v) with amsgrad (u_max = u), else u = v
           θ = θ + ((−step_size)·m) / (√u / bc₂ + eps)
           one pass: reads θ, ∇, m, v (u_max); writes θ, m, v (u_max)
           NumPy: 19 reads and 13 writes (without weight decay or amsgrad)

Every product, sum, quotient and square root is rounded to the dtype as NumPy's ufuncs round
it, in the same order, and nothing is contracted into a fused multiply-add (no fastmath), so the
results are bit for bit the NumPy paths' (a product by 1 is exact, so keep = 1 needs no branch).
The loops run over ``range(size)``, which LLVM vectorises.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# No fastmath (no FMA, no reordering); error_model="numpy": x/0 gives inf or NaN as in NumPy
# instead of raising (Python's check per division would also keep the loops from vectorising).
_serial = njit(cache=True, nogil=True, error_model="numpy")


@_serial
def _grad_term(theta_i, grad_i, weight_decay, maximize):
    """g = ±∇ (−∇ with maximize), plus wd·θ with coupled weight decay: wd·θ ± ∇, rounded as
    NumPy's ``theta * wd`` then ``+``/``−`` round it."""
    if weight_decay != 0:
        if maximize:
            return theta_i * weight_decay - grad_i
        return theta_i * weight_decay + grad_i
    return -grad_i if maximize else grad_i


@_serial
def sgd_momentum(theta, grad, buf, lr, momentum, keep, weight_decay, maximize, nesterov,
                 first):
    """θ and V in place: g = ±∇ (+ wd·θ); V = g (``first``) or μ·V + keep·g;
    θ = θ − lr·(μ·V + g if nesterov else V)."""
    for i in range(theta.size):
        g = _grad_term(theta[i], grad[i], weight_decay, maximize)
        if first:
            v = g
        else:
            v = buf[i] * momentum + g * keep
        buf[i] = v
        if nesterov:
            v = v * momentum + g
        theta[i] = theta[i] - v * lr


@_serial
def sgd_plain(theta, grad, lr, weight_decay, maximize):
    """θ in place, without momentum: g = ±∇ (+ wd·θ); θ = θ − lr·g."""
    for i in range(theta.size):
        g = _grad_term(theta[i], grad[i], weight_decay, maximize)
        theta[i] = theta[i] - g * lr


@_serial
def adam(theta, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, shrink, weight_decay, maximize,
         lerp_weight, lerp_small, lerp_rest, beta2, one_minus_beta2, amsgrad, neg_step_size,
         bias_correction2_sqrt, eps):
    """θ, m, v (and u_max with amsgrad) in place: θ = θ·shrink (when shrink ≠ 1); g = ±∇
    (+ wd·θ); m = lerp(m, g, w); v = β₂·v + ((1 − β₂)·g)·g; u = max(u_max, v) or v;
    θ = θ + ((−step_size)·m) / (√u / bc₂ + eps). ``lerp_small``: w < 0.5 (then m + w·(g − m),
    else g − (1 − w)·(g − m), ``lerp_rest`` = 1 − w)."""
    for i in range(theta.size):
        x = theta[i]
        if shrink != 1:
            x = x * shrink
        g = _grad_term(x, grad[i], weight_decay, maximize)
        m = exp_avg[i]
        d = g - m
        if lerp_small:
            m = m + d * lerp_weight
        else:
            m = g - d * lerp_rest
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + (g * one_minus_beta2) * g
        exp_avg_sq[i] = v
        if amsgrad:
            u = max_exp_avg_sq[i]
            if v > u or v != v:  # np.maximum: the larger, NaN if either is NaN
                u = v
            max_exp_avg_sq[i] = u
            v = u
        denom = np.sqrt(v) / bias_correction2_sqrt + eps
        theta[i] = x + (m * neg_step_size) / denom
