"""Reductions over axes. ``axis`` is None (all axes), an int or a tuple; negative axes count
from the end. A reduction's backward spreads ``dy`` back over the reduced axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"dimension {a} is out of range for a tensor with {ndim} dims")
        a %= max(ndim, 1)
        if a in out:
            raise ValueError(f"dim {a} appears multiple times in the list of dims")
        out.append(a)
    if ndim == 0:  # a 0-d tensor takes dim 0 or −1 (as in PyTorch) but has no axis to reduce
        return ()
    return tuple(sorted(out))


def keepdims_shape(shape: tuple, axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with every reduced axis set to 1: the shape of ``dy`` with keepdims."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _drop_axes(y: Any, axes: tuple[int, ...]) -> Any:
    """``y``, computed with keepdims, without its reduced axes."""
    return y.reshape([n for i, n in enumerate(y.shape) if i not in axes])


class Sum(Function):
    """y = Σ_axes x;  dx = dy broadcast back over the reduced axes."""

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.axes = normalize_axis(axis, x.ndim)
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        return xp.broadcast_to(dy.reshape(keepdims_shape(self.in_shape, self.axes)), self.in_shape)


class Mean(Function):
    """y = (1/n) Σ_axes x, n = number of reduced elements;  dx = dy / n broadcast back."""

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.axes = normalize_axis(axis, x.ndim)
        self.in_shape = x.shape
        return x.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        n = 1
        for a in self.axes:
            n *= self.in_shape[a]
        dy = dy.reshape(keepdims_shape(self.in_shape, self.axes)) / max(n, 1)
        return xp.broadcast_to(dy, self.in_shape)


class AMax(Function):
    """y = max over axes;  dx = dy / k at each of the k elements equal to the maximum, else 0
    (ties share the gradient evenly, as in PyTorch's amax)."""

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.axes = normalize_axis(axis, x.ndim)
        y = x.max(axis=self.axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if keepdims else _drop_axes(y, self.axes)

    def backward(self, dy: Any) -> Any:
        x, y = self.saved_tensors
        return _share_among_ties(x, y, dy, self.axes)


class AMin(Function):
    """y = min over axes;  dx = dy / k at each of the k elements equal to the minimum, else 0."""

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.axes = normalize_axis(axis, x.ndim)
        y = x.min(axis=self.axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if keepdims else _drop_axes(y, self.axes)

    def backward(self, dy: Any) -> Any:
        x, y = self.saved_tensors
        return _share_among_ties(x, y, dy, self.axes)


def _share_among_ties(x: Any, y: Any, dy: Any, axes: tuple[int, ...]) -> Any:
    hit = x == y
    count = hit.sum(axis=axes, keepdims=True)
    return hit * (dy.reshape(y.shape) / count).astype(dy.dtype, copy=False)


class LogSumExp(Function):
    """y = m + ln Σ exp(x − m), m = max x (stable for any x);
    dx = dy · exp(x − y) = dy · softmax(x)."""

    def forward(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        xp = get_array_module(x)
        self.axes = normalize_axis(axis, x.ndim)
        m = x.max(axis=self.axes, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # an empty or all −inf slice: ln 0 = −inf
            y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        self.save_for_backward(x, y)
        return y if keepdims else _drop_axes(y, self.axes)

    def backward(self, dy: Any) -> Any:
        x, y = self.saved_tensors
        xp = get_array_module(x)
        return dy.reshape(y.shape) * xp.exp(x - y)


class Std(Function):
    """y = √(Σ_axes (x − x̄)² / d), d = max(n − correction, 0), n = number of reduced elements;
    dx = dy · (x − x̄) / (d · y), and 0 where y = 0 (as in PyTorch, rather than the 0 · ∞ = nan
    that composing √ with the variance would give for a constant slice)."""

    def forward(
        self, x: Any, axis: Any = None, keepdims: bool = False, correction: int = 1
    ) -> Any:
        xp = get_array_module(x)
        self.axes = normalize_axis(axis, x.ndim)
        n = 1
        for a in self.axes:
            n *= x.shape[a]
        self.denom = max(n - correction, 0)
        centred = x - x.mean(axis=self.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = xp.sqrt((centred * centred).sum(axis=self.axes, keepdims=True) / self.denom)
        self.save_for_backward(centred, y)
        return y if keepdims else _drop_axes(y, self.axes)

    def backward(self, dy: Any) -> Any:
        centred, y = self.saved_tensors
        xp = get_array_module(dy)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = dy.reshape(y.shape) / (self.denom * y)
        return centred * xp.where(y == 0, 0, scale)
