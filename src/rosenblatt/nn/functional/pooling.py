"""Pooling, resampling and other spatial ops as functions, PyTorch's names and semantics:
``max_pool1d/2d``, ``avg_pool1d/2d``, ``sum_pool2d`` (the notes' sum pooling), ``lp_pool1d/2d``,
``adaptive_avg_pool2d``, ``adaptive_max_pool2d``, ``global_avg_pool2d``,
``fractional_max_pool2d``, ``local_response_norm``, ``interpolate`` (alias ``upsample``) and
``stochastic_depth`` (torchvision's).

Max and average pooling, adaptive and fractional max pooling and the separable resampling behind
adaptive average pooling and interpolation are hand-written ops (``rosenblatt.ops.pool``);
LP pooling, local response norm and stochastic depth are composed from primitives, as PyTorch
composes them, so their gradients need no code of their own.

Pooling output size per spatial dim (n, kernel f, padding p, stride s — default s = f —,
dilation d): ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1, or with ``ceil_mode`` rounded up (a last window
that would start in the right padding is dropped). A window that does not fit raises an error
naming the op, the input size, kernel, stride and padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import functional as RF
from ...backend import get_array_module
from ...ops import pool as P
from ...ops.elementwise import Mul
from ...random import generator
from ...tensor import Tensor
from .conv import ntuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "sum_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "global_avg_pool2d",
    "fractional_max_pool2d",
    "local_response_norm",
    "interpolate",
    "upsample",
    "stochastic_depth",
    "pool_output_size",
]

IntOrPair = int | Sequence[int]


def pool_output_size(n: int, kernel_size: int, stride: int | None = None, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a pooling window along one dim (stride defaults to the kernel size):
    ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1, ⌈·⌉ with ``ceil_mode`` (as PyTorch)."""
    s = kernel_size if stride is None else stride
    return P.pool_out_size(n, kernel_size, s, padding, dilation, ceil_mode)


def _as_4d(x: Any, dims: int, who: str) -> tuple[Tensor, int]:
    """x as (N, C, H, W) (a 1-D input (N, C, L) becomes (N, C, 1, L); an unbatched one gets
    N = 1) and the number of dims to drop again at the end."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    added = 0
    if x.ndim == dims + 1:
        x, added = RF.unsqueeze(x, 0), 1
    if x.ndim != dims + 2:
        shape = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ValueError(f"{who}: expected input of shape {shape} (or without N), got {x.shape}")
    if dims == 1:
        x = RF.unsqueeze(x, 2)  # (N, C, 1, L)
    return x, added


def _restore(y: Tensor, dims: int, added: int) -> Tensor:
    if dims == 1:
        y = RF.squeeze(y, 2)  # (N, C, L_o)
    return RF.squeeze(y, 0) if added else y


def _restore_array(a: Any, dims: int, added: int) -> Any:
    if dims == 1:
        a = a[:, :, 0]
    return a[0] if added else a


def _window_args(who: str, dims: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any = 1) -> tuple[tuple, tuple, tuple, tuple]:
    """kernel, stride (default = kernel), padding, dilation as 2-tuples (1-D: a height-1
    window), checked as PyTorch: positive sizes, padding at most half the (dilated) kernel."""
    k = ntuple(kernel_size, dims, "kernel_size", who)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else ntuple(stride, dims, "stride", who)
    p = ntuple(padding, dims, "padding", who)
    d = ntuple(dilation, dims, "dilation", who)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ValueError(f"{who}: kernel_size, stride and dilation must be positive, got "
                         f"kernel_size={k}, stride={s}, dilation={d}")
    for f, pad, dil in zip(k, p, d, strict=True):
        if pad < 0 or pad > (dil * (f - 1) + 1) // 2:
            raise ValueError(f"{who}: padding should be at most half of the effective kernel "
                             f"size, got padding={p} for kernel_size={k}")
    if dims == 1:
        return (1,) + k, (1,) + s, (0,) + p, (1,) + d
    return k, s, p, d


# ------------------------------------------------------------------ max pooling


def _max_pool(x: Any, dims: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, return_indices: bool) -> Any:
    who = f"max_pool{dims}d"
    x4, added = _as_4d(x, dims, who)
    k, s, p, d = _window_args(who, dims, kernel_size, stride, padding, dilation)
    box: list | None = [] if return_indices else None
    y = P.MaxPool2d.apply(x4, kernel=k, stride=s, padding=p, dilation=d,
                          ceil_mode=bool(ceil_mode), indices_out=box)
    y = _restore(y, dims, added)
    if return_indices:
        assert box is not None
        return y, Tensor(_restore_array(box[0], dims, added))
    return y


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """2-D max pooling: y[n, c, a, b] = max over the window x_pad[n, c, a·s_h + i·d_h,
    b·s_w + j·d_w], 0 ≤ i < k_h, 0 ≤ j < k_w, padding with −∞. dx: dy goes to the max (the first
    on ties). ``return_indices`` also returns the flat positions h·W + w of the maxima (int64).
    Input (N, C, H, W) or (C, H, W). See ``ops.pool.MaxPool2d``."""
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """1-D max pooling over the last dim of (N, C, L) or (C, L): y[n, c, a] =
    max_i x_pad[n, c, a·s + i·d]; L_o = ⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1."""
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ------------------------------------------------------------------ average, sum and LP pooling


def _avg_pool(x: Any, dims: int, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, divisor_override: float | None, who: str) -> Tensor:
    x4, added = _as_4d(x, dims, who)
    k, s, p, _ = _window_args(who, dims, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{who}: divisor_override must be non-zero")
    y = P.AvgPool2d.apply(x4, kernel=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                          count_include_pad=bool(count_include_pad),
                          divisor_override=divisor_override)
    return _restore(y, dims, added)


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling: y = (1/D) Σ_window x_pad (zero padding); dx = dy/D on every element
    of the window. D = k_h·k_w for a full window; at the borders PyTorch's rule: the window
    clipped to the padded input (``count_include_pad=True``) or to the input; or
    ``divisor_override``."""
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool2d")


def avg_pool1d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over the last dim of (N, C, L): y[n, c, a] = (1/D) Σ_i x_pad[a·s + i]."""
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     "avg_pool1d")


def sum_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, ceil_mode: bool = False) -> Tensor:
    """Sum pooling (the notes' "sum pooling"): y = Σ_window x_pad, i.e. average pooling times
    the window area k_h·k_w (``avg_pool2d`` with ``divisor_override=1``); dx = dy on every
    element of the window."""
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, True, 1, "sum_pool2d")


def _lp_pool(x: Tensor, dims: int, norm_type: float, kernel_size: Any, stride: Any,
             ceil_mode: bool) -> Tensor:
    who = f"lp_pool{dims}d"
    k = ntuple(kernel_size, dims, "kernel_size", who)
    area = math.prod(k)
    if float(norm_type) == 0:
        raise ValueError(f"{who}: norm_type must be non-zero")
    avg = _avg_pool(x ** norm_type, dims, k, stride, 0, ceil_mode, True, None, who)
    return (_sign_relu_abs(avg) * area) ** (1.0 / norm_type)


def _sign_relu_abs(t: Tensor) -> Tensor:
    """sign(t)·relu(|t|), PyTorch's guard in lp_pool (equal to t; it only shapes the gradient:
    0 where t = 0)."""
    sign = np.sign(t.data)
    return Mul.apply(RF.maximum(RF.abs(t), 0.0), sign)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: IntOrPair,
              stride: IntOrPair | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average (LP) pooling: y = (Σ_window x^p)^(1/p), no padding. p = 1 is sum pooling,
    p → ∞ max pooling. Composed as PyTorch: (sign(a)·relu(|a|)·k_h·k_w)^(1/p), a = avg_pool(x^p).
    """
    return _lp_pool(input, 2, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: int | None = None,
              ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling: y = (Σ_window x^p)^(1/p) over the last dim of (N, C, L)."""
    return _lp_pool(input, 1, norm_type, kernel_size, stride, ceil_mode)


# ------------------------------------------------------------------ adaptive and global pooling


def _adaptive_size(output_size: Any, h: int, w: int, who: str) -> tuple[int, int]:
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size, output_size)
    if len(output_size) != 2:
        raise ValueError(f"{who}: output_size must be an int or a pair, got {output_size!r}")
    ho = h if output_size[0] is None else int(output_size[0])
    wo = w if output_size[1] is None else int(output_size[1])
    if ho <= 0 or wo <= 0:
        raise ValueError(f"{who}: output_size must be positive, got {output_size!r}")
    return ho, wo


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Adaptive average pooling to a fixed (H_o, W_o): output (a, b) averages the bin
    [⌊a·H/H_o⌋, ⌈(a + 1)·H/H_o⌉) × [⌊b·W/W_o⌋, ⌈(b + 1)·W/W_o⌉) (PyTorch's bins; they may
    overlap). ``None`` in output_size keeps that dim. Computed as A_h · x · A_wᵀ with averaging
    matrices (``ops.pool.Resample2d``); (1, 1) is the global average."""
    who = "adaptive_avg_pool2d"
    x, added = _as_4d(input, 2, who)
    h, w = x.shape[2:]
    ho, wo = _adaptive_size(output_size, h, w, who)
    if (ho, wo) == (1, 1):
        y = RF.mean(x, dim=(2, 3), keepdim=True)
    else:
        xp = get_array_module(x.data)
        A_h = xp.asarray(P.adaptive_avg_matrix(h, ho, x.dtype))
        A_w = xp.asarray(P.adaptive_avg_matrix(w, wo, x.dtype))
        y = P.Resample2d.apply(x, A_h=A_h, A_w=A_w)
    return RF.squeeze(y, 0) if added else y


def adaptive_max_pool2d(input: Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Any:
    """Adaptive max pooling: the maximum over each of PyTorch's adaptive bins (see
    ``adaptive_avg_pool2d``); dx: dy to the argmax. ``return_indices`` also returns the flat
    positions h·W + w (int64)."""
    who = "adaptive_max_pool2d"
    x, added = _as_4d(input, 2, who)
    h, w = x.shape[2:]
    ho, wo = _adaptive_size(output_size, h, w, who)
    xp = get_array_module(x.data)
    R = xp.asarray(P.adaptive_max_indices(h, ho))[None, None]  # (1, 1, H_o, L_h)
    K = xp.asarray(P.adaptive_max_indices(w, wo))[None, None]  # (1, 1, W_o, L_w)
    box: list = []
    y = P.GatherMax2d.apply(x, R=R, K=K, indices_out=box)
    y = RF.squeeze(y, 0) if added else y
    if return_indices:
        return y, Tensor(box[0][0] if added else box[0])
    return y


def global_avg_pool2d(input: Tensor, keepdim: bool = False) -> Tensor:
    """Global average pooling: the mean of each channel over H and W, (N, C, H, W) → (N, C)
    (or (N, C, 1, 1) with ``keepdim``, = ``adaptive_avg_pool2d(x, 1)``)."""
    if input.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected input of shape (N, C, H, W), got "
                         f"{input.shape}")
    return RF.mean(input, dim=(2, 3), keepdim=keepdim)


def fractional_max_pool2d(input: Tensor, kernel_size: IntOrPair,
                          output_size: IntOrPair | None = None,
                          output_ratio: float | Sequence[float] | None = None,
                          return_indices: bool = False, _random_samples: Any = None) -> Any:
    """Fractional max pooling (Graham, 2014): k_h × k_w max windows at pseudo-random starts,
    so the output can be any size between the input and input − kernel + 1.

    For each (n, c) plane two samples u ∈ [0, 1) (``_random_samples`` (N, C, 2): u[..., 0] for
    the width, u[..., 1] for the height; drawn from ``rosenblatt.random.generator()`` when not
    given) set the window starts, as PyTorch: with α = (n − k)/(n_o − 1),
    start_a = ⌊(a + u)α⌋ − ⌊uα⌋ for a < n_o − 1 and n − k for the last. Given the same samples the
    result equals PyTorch's. ``output_ratio`` r gives n_o = ⌊n·r⌋.
    """
    who = "fractional_max_pool2d"
    x, added = _as_4d(input, 2, who)
    n, c, h, w = x.shape
    kh, kw = ntuple(kernel_size, 2, "kernel_size", who)
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{who}: requires specifying either an output_size or an "
                             "output_ratio")
        rh, rw = (output_ratio, output_ratio) if isinstance(output_ratio, (int, float)) \
            else tuple(output_ratio)
        if not (0 < rh < 1 and 0 < rw < 1):
            raise ValueError(f"{who}: output_ratio must be between 0 and 1, got {output_ratio}")
        ho, wo = int(h * rh), int(w * rw)
    else:
        ho, wo = ntuple(output_size, 2, "output_size", who)
    if ho + kh - 1 > h or wo + kw - 1 > w or ho < 1 or wo < 1:
        raise ValueError(
            f"{who}: output size ({ho}, {wo}) with kernel_size ({kh}, {kw}) does not fit the "
            f"input size ({h}, {w}): need output + kernel − 1 ≤ input"
        )
    if _random_samples is None:
        u = generator(x.device).random((n, c, 2)).astype(x.dtype)
    else:
        u = _random_samples.data if isinstance(_random_samples, Tensor) else _random_samples
        u = np.asarray(u, dtype=x.dtype)
        if u.shape != (n, c, 2):
            raise ValueError(f"{who}: _random_samples must have shape ({n}, {c}, 2), got "
                             f"{u.shape}")
    xp = get_array_module(x.data)
    starts_w = P.fractional_intervals(u[..., 0], w, wo, kw)  # (N, C, W_o)
    starts_h = P.fractional_intervals(u[..., 1], h, ho, kh)  # (N, C, H_o)
    R = xp.asarray(starts_h[..., None] + np.arange(kh))  # (N, C, H_o, k_h)
    K = xp.asarray(starts_w[..., None] + np.arange(kw))  # (N, C, W_o, k_w)
    box: list = []
    y = P.GatherMax2d.apply(x, R=R, K=K, indices_out=box)
    y = RF.squeeze(y, 0) if added else y
    if return_indices:
        return y, Tensor(box[0][0] if added else box[0])
    return y


# ------------------------------------------------------------------ normalisation, resampling


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (AlexNet), as PyTorch:

        y[n, c] = x[n, c] / (k + α/size · Σ_{c′} x[n, c′]²)^β

    the sum over the ``size`` channels c − ⌊size/2⌋ … c + ⌈size/2⌉ − 1 (zeros beyond the ends).
    Composed from primitives. Input (N, C, *)."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected input of shape (N, C, *) with at "
                         f"least 3 dims, got {input.shape}")
    c = input.shape[1]
    sq = input * input
    pad = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = RF.pad(sq, pad)  # (N, C + size − 1, *)
    total = padded[:, 0:c]
    for t in range(1, size):
        total = total + padded[:, t : t + c]
    div = (total * (alpha / size) + k) ** beta
    return input / div


def _linear_matrix(n: int, n_o: int, mode: str, align_corners: bool | None,
                   scale: float | None, dtype: Any) -> Any:
    """(n_o, n) interpolation matrix along one dim, PyTorch's source indices and weights."""
    a = np.arange(n_o)
    A = np.zeros((n_o, n), dtype=dtype)
    if mode == "nearest":
        if n_o == n:
            src = a
        elif n_o == 2 * n:
            src = a >> 1
        else:
            f = np.float32(1.0 / scale) if scale else np.float32(n) / np.float32(n_o)
            src = np.minimum(np.floor(a.astype(np.float32) * f).astype(np.int64), n - 1)
        A[a, src] = 1
        return A
    dt = np.dtype(dtype).type
    if align_corners:
        f = dt(n - 1) / dt(n_o - 1) if n_o > 1 else dt(0)
        real = f * a.astype(dtype)
    else:
        f = dt(1.0 / scale) if scale else dt(n) / dt(n_o)
        real = np.maximum(f * (a.astype(dtype) + dt(0.5)) - dt(0.5), dt(0))
    i0 = np.minimum(real.astype(np.int64), n - 1)
    lam1 = np.clip(real - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = i0 + (i0 < n - 1)
    np.add.at(A, (a, i0), (1 - lam1).astype(dtype))
    np.add.at(A, (a, i1), lam1)
    return A


_MODES = {1: ("nearest", "linear"), 2: ("nearest", "bilinear")}


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) by ``size`` or ``scale_factor`` (output ⌊n·scale⌋), as
    PyTorch's ``F.interpolate``:

    * ``"nearest"``: y[a] = x[min(⌊a·n/n_o⌋, n − 1)] (⌊a/scale⌋ when scale_factor is given);
    * ``"linear"`` / ``"bilinear"``: y[a] = (1 − λ)·x[i] + λ·x[i + 1] per dim, with source
      position a·(n − 1)/(n_o − 1) (``align_corners=True``) or max((a + ½)·n/n_o − ½, 0).

    Both are separable linear maps, y = A_h x A_wᵀ, and run as ``ops.pool.Resample2d``;
    dx = A_hᵀ dy A_w.
    """
    if input.ndim not in (3, 4):
        raise ValueError(f"interpolate: expected input of shape (N, C, L) or (N, C, H, W), got "
                         f"{input.shape}")
    dims = input.ndim - 2
    if mode not in _MODES[dims]:
        raise ValueError(f"interpolate: mode {mode!r} is not supported for {dims}-D input "
                         f"(expected one of {_MODES[dims]})")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = input.shape[2:]
    scales: tuple = (None,) * dims
    if size is not None:
        out_sizes = ntuple(size, dims, "size", "interpolate")
    else:
        sf = (scale_factor,) * dims if isinstance(scale_factor, (int, float)) \
            else tuple(scale_factor)
        if len(sf) != dims:
            raise ValueError(f"interpolate: scale_factor must be a number or {dims} numbers, "
                             f"got {scale_factor!r}")
        scales = tuple(float(s) for s in sf)
        out_sizes = tuple(math.floor(n * s) for n, s in zip(in_sizes, scales, strict=True))
    if min(out_sizes) <= 0:
        raise ValueError(f"interpolate: output size {out_sizes} must be positive (input "
                         f"{in_sizes})")
    x, _ = _as_4d(input, dims, "interpolate")
    xp = get_array_module(x.data)
    if dims == 1:
        in_sizes, out_sizes, scales = (1,) + in_sizes, (1,) + out_sizes, (None,) + scales
    mats = [xp.asarray(_linear_matrix(n, n_o, mode, align_corners, s, x.dtype))
            for n, n_o, s in zip(in_sizes, out_sizes, scales, strict=True)]
    y = P.Resample2d.apply(x, A_h=mats[0], A_w=mats[1])
    return RF.squeeze(y, 2) if dims == 1 else y


upsample = interpolate


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """Stochastic depth (Huang et al., 2016), torchvision's ``ops.stochastic_depth``: drop the
    residual branch ``input`` with probability p, y = input · m/(1 − p), m ~ Bernoulli(1 − p),
    one m per sample (``mode="row"``) or one for the whole batch (``"batch"``). Identity when
    not training or p = 0; zeros when p = 1."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival = 1.0 - p
    shape = (input.shape[0],) + (1,) * (input.ndim - 1) if mode == "row" else (1,) * input.ndim
    keep = generator(input.device).random(shape) < survival
    noise = keep.astype(input.dtype)
    if survival > 0.0:
        noise /= survival
    return Mul.apply(input, get_array_module(input.data).asarray(noise))
