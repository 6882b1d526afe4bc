"""Occlusion augmentation (R5): Cutout and Random Erasing. Both copy the image first."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _rng
from .base import Transform, _array

__all__ = ["Cutout", "RandomErasing"]


class Cutout(Transform):
    """Zero (``fill``) ``n_holes`` squares of side ``length`` (DeVries & Taylor, 2017).

    Each hole's centre (cy, cx) is uniform over the pixels; the square
    [cy − length//2, cy + length//2) × [cx − length//2, cx + length//2) is clipped to the image,
    so holes at the border are smaller. All channels are cut.
    """

    def __init__(self, n_holes: int = 1, length: int = 8, fill: float = 0.0) -> None:
        if n_holes < 0 or length < 0:
            raise ValueError(f"n_holes and length must be >= 0, got {n_holes}, {length}")
        self.n_holes = int(n_holes)
        self.length = int(length)
        self.fill = fill

    def boxes(self, h: int, w: int) -> list[tuple[int, int, int, int]]:
        """(y1, y2, x1, x2) per hole."""
        g = _rng.generator()
        out = []
        half = self.length // 2
        for _ in range(self.n_holes):
            cy, cx = int(g.integers(0, h)), int(g.integers(0, w))
            out.append((max(cy - half, 0), min(cy + half, h), max(cx - half, 0),
                        min(cx + half, w)))
        return out

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x).copy()
        for y1, y2, x1, x2 in self.boxes(*a.shape[-2:]):
            a[..., y1:y2, x1:x2] = self.fill
        return a


class RandomErasing(Transform):
    """With probability ``p``, erase one random rectangle (Zhong et al., 2017; torchvision).

    Up to 10 tries: area fraction s ~ U(scale), aspect r = exp(U(log ratio)),
    h = round(√(s·H·W·r)), w = round(√(s·H·W/r)); accepted if h < H and w < W, at a uniform
    position. ``value``: a number, one per channel, or "random" (standard normal noise per
    pixel). No accepted box: the image is returned unchanged.
    """

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3),
                 value: float | Sequence[float] | str = 0.0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"scale and ratio must be (min, max), got {scale}, {ratio}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"value must be a number, a sequence or 'random', got {value!r}")
        self.p = float(p)
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.value = value

    def params(self, h: int, w: int) -> tuple[int, int, int, int] | None:
        """(top, left, box_h, box_w), or None when no box fitted."""
        g = _rng.generator()
        area = h * w
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            erase = area * g.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(g.uniform(log_lo, log_hi))
            bh = int(round(math.sqrt(erase * aspect)))
            bw = int(round(math.sqrt(erase / aspect)))
            if bh < h and bw < w:
                return int(g.integers(0, h - bh + 1)), int(g.integers(0, w - bw + 1)), bh, bw
        return None

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        if _rng.generator().random() >= self.p:
            return a
        box = self.params(*a.shape[-2:])
        if box is None:
            return a
        top, left, bh, bw = box
        a = a.copy()
        region = a[..., top:top + bh, left:left + bw]
        if isinstance(self.value, str):
            region[...] = _rng.generator().standard_normal(region.shape)
        elif isinstance(self.value, (int, float)):
            region[...] = self.value
        else:
            v = np.asarray(self.value, dtype=a.dtype)
            region[...] = v.reshape(-1, 1, 1)
        return a
