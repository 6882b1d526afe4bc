"""Colour augmentation (R4): brightness, contrast and saturation jitter, torchvision's formulas.

All take CHW (or NCHW) float images with values in [0, 1] and clip the result to [0, 1]; apply
them before ``Normalize``. Each is a blend ``clip(f·x + (1 − f)·z, 0, 1)`` of the image with a
reference z, so f = 1 leaves the image as it is, f = 0 gives z, f > 1 extrapolates away from z.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _rng
from .base import Transform, _array

__all__ = ["ColorJitter", "rgb_to_grayscale", "adjust_brightness", "adjust_contrast",
           "adjust_saturation"]

_LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601-2 weights, as torchvision and Pillow


def _float(x: Any) -> np.ndarray:
    a = _array(x)
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def _blend(x: np.ndarray, z: Any, f: float) -> np.ndarray:
    ft = x.dtype.type
    return np.clip(ft(f) * x + ft(1.0 - f) * z, 0.0, 1.0).astype(x.dtype, copy=False)


def rgb_to_grayscale(x: Any) -> np.ndarray:
    """Luma L = 0.2989·R + 0.587·G + 0.114·B, keeping a channel axis of 1: (…, 1, H, W)."""
    a = _float(x)
    if a.shape[-3] == 1:
        return a.copy()
    if a.shape[-3] != 3:
        raise ValueError(f"grayscale needs 1 or 3 channels, got {a.shape[-3]}")
    ft = a.dtype.type
    r, g, b = a[..., 0:1, :, :], a[..., 1:2, :, :], a[..., 2:3, :, :]
    return ft(_LUMA[0]) * r + ft(_LUMA[1]) * g + ft(_LUMA[2]) * b


def adjust_brightness(x: Any, f: float) -> np.ndarray:
    """``clip(f·x, 0, 1)``: the blend with a black image."""
    a = _float(x)
    return _blend(a, 0.0, f)


def adjust_contrast(x: Any, f: float) -> np.ndarray:
    """``clip(f·x + (1 − f)·μ, 0, 1)``, μ the mean grey level (luma) of each image."""
    a = _float(x)
    mean = rgb_to_grayscale(a).mean(axis=(-3, -2, -1), keepdims=True)
    return _blend(a, mean, f)


def adjust_saturation(x: Any, f: float) -> np.ndarray:
    """``clip(f·x + (1 − f)·L, 0, 1)``, L the per-pixel luma; one-channel images are returned
    unchanged (they have no saturation)."""
    a = _float(x)
    if a.shape[-3] == 1:
        return a.copy()
    return _blend(a, rgb_to_grayscale(a), f)


def _factor_range(v: float | Sequence[float] | None, name: str) -> tuple[float, float] | None:
    """v → [max(0, 1 − v), 1 + v]; a (min, max) pair kept; None or (1, 1) → no change."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
        lo, hi = max(0.0, 1.0 - float(v)), 1.0 + float(v)
    else:
        lo, hi = (float(t) for t in v)
        if not 0.0 <= lo <= hi:
            raise ValueError(f"{name} range must be (min, max) with 0 <= min <= max, got {v}")
    return None if lo == hi == 1.0 else (lo, hi)


class ColorJitter(Transform):
    """Random brightness, contrast and saturation, applied in a random order.

    Each given factor f is drawn from U(max(0, 1 − v), 1 + v) for a number v, or U(lo, hi) for
    a pair; then, in a random permutation (torchvision's ``ColorJitter`` without hue):

        brightness  x ← clip(f_b·x, 0, 1)
        contrast    x ← clip(f_c·x + (1 − f_c)·mean(luma(x)), 0, 1)
        saturation  x ← clip(f_s·x + (1 − f_s)·luma(x), 0, 1),  luma = 0.2989 R + 0.587 G + 0.114 B

    Factors of exactly 1 leave a [0, 1] image unchanged.
    """

    def __init__(self, brightness: float | Sequence[float] | None = None,
                 contrast: float | Sequence[float] | None = None,
                 saturation: float | Sequence[float] | None = None) -> None:
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")
        self.saturation = _factor_range(saturation, "saturation")

    def params(self) -> tuple[np.ndarray, list[float | None]]:
        """(order of the three operations, factors (None where not jittered))."""
        g = _rng.generator()
        order = g.permutation(3)
        factors = [None if r is None else float(g.uniform(r[0], r[1]))
                   for r in (self.brightness, self.contrast, self.saturation)]
        return order, factors

    def __call__(self, x: Any) -> np.ndarray:
        a = _float(x)
        order, factors = self.params()
        ops = (adjust_brightness, adjust_contrast, adjust_saturation)
        for k in order:
            f = factors[k]
            if f is not None:
                a = ops[k](a, f)
        return a
