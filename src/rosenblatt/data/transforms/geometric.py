"""Geometric augmentation (R4): flips, crops, scales, affine warps and lens distortion.

All act on the last two axes (H, W) of a CHW image (or an HW map, or an NCHW batch that then
gets one set of random parameters); the deterministic work is in ``functional``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _rng
from . import functional as F
from .base import Transform, _array

__all__ = ["RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "CenterCrop", "Resize",
           "RandomResize", "RandomResizedCrop", "RandomAffine", "RandomRotation",
           "LensDistortion"]


class RandomHorizontalFlip(Transform):
    """Mirror left ↔ right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        return F.hflip(a) if _rng.generator().random() < self.p else a


class RandomVerticalFlip(Transform):
    """Mirror top ↔ bottom with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        return F.vflip(a) if _rng.generator().random() < self.p else a


class RandomCrop(Transform):
    """A random (h, w) window, after optional ``padding`` (the CIFAR recipe: 32, padding=4).

    ``padding``: p, (left/right, top/bottom) or (left, top, right, bottom); ``padding_mode``:
    constant (``fill``), edge, reflect, symmetric; ``pad_if_needed`` pads an image smaller than
    the crop. The window's top-left corner is uniform: top ∈ {0, …, H − h}, left ∈ {0, …, W − w}.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0.0,
                 padding_mode: str = "constant") -> None:
        self.size = F.as_size(size)
        self.padding = padding
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = fill
        self.padding_mode = padding_mode

    def params(self, h: int, w: int) -> tuple[int, int]:
        """(top, left) for an H×W (already padded) image."""
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(f"RandomCrop {self.size} is bigger than the {h}x{w} image; use "
                             "padding or pad_if_needed=True")
        g = _rng.generator()
        return int(g.integers(0, h - th + 1)), int(g.integers(0, w - tw + 1))

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        if self.padding is not None:
            a = F.pad(a, self.padding, self.padding_mode, self.fill)
        th, tw = self.size
        h, w = a.shape[-2:]
        if self.pad_if_needed and (h < th or w < tw):
            dw, dh = max(tw - w, 0), max(th - h, 0)
            a = F.pad(a, (dw, dh), self.padding_mode, self.fill)
            h, w = a.shape[-2:]
        top, left = self.params(h, w)
        return F.crop(a, top, left, th, tw)


class CenterCrop(Transform):
    """The central (h, w) window (``functional.center_crop``)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = F.as_size(size)

    def __call__(self, x: Any) -> np.ndarray:
        return F.center_crop(_array(x), self.size)


class Resize(Transform):
    """Resize: an int sets the shorter side (keeping the aspect ratio), (h, w) both sides.

    Bilinear as PyTorch's ``interpolate(align_corners=False, antialias=False)`` — see
    ``functional.resize``; "nearest" available. Resizing to the same size is the identity.
    """

    def __init__(self, size: int | Sequence[int], interpolation: str = "bilinear",
                 max_size: int | None = None) -> None:
        if not isinstance(size, int) and len(size) == 1:
            size = int(size[0])  # [s]: the shorter side, as torchvision
        self.size = size if isinstance(size, int) else F.as_size(size)
        self.interpolation = interpolation
        self.max_size = max_size

    def __call__(self, x: Any) -> np.ndarray:
        return F.resize(_array(x), self.size, self.interpolation, self.max_size)


class RandomResize(Transform):
    """Scale augmentation (ResNet): shorter side L drawn uniformly from {min_size, …, max_size}
    (e.g. 256…480), then bilinear resize; follow with ``RandomCrop(224)``."""

    def __init__(self, min_size: int, max_size: int, interpolation: str = "bilinear") -> None:
        if not 0 < min_size <= max_size:
            raise ValueError(f"need 0 < min_size <= max_size, got {min_size}, {max_size}")
        self.min_size = int(min_size)
        self.max_size = int(max_size)
        self.interpolation = interpolation

    def __call__(self, x: Any) -> np.ndarray:
        side = int(_rng.generator().integers(self.min_size, self.max_size + 1))
        return F.resize(_array(x), side, self.interpolation)


class RandomResizedCrop(Transform):
    """A random box of random area and aspect ratio, resized to ``size`` (Inception / torchvision).

    Up to 10 tries: area fraction s ~ U(scale), aspect r = exp(U(log ratio)), box
    w = round(√(s·H·W·r)), h = round(√(s·H·W/r)); accepted if it fits, at a uniform position.
    Otherwise a centred box with the aspect ratio clamped to ``ratio`` (torchvision's fallback).
    """

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: str = "bilinear") -> None:
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"scale and ratio must be (min, max), got {scale}, {ratio}")
        self.size = F.as_size(size)
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.interpolation = interpolation

    def params(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(top, left, box_h, box_w)."""
        g = _rng.generator()
        area = h * w
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = area * g.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(g.uniform(log_lo, log_hi))
            bw = int(round(math.sqrt(target * aspect)))
            bh = int(round(math.sqrt(target / aspect)))
            if 0 < bw <= w and 0 < bh <= h:
                return int(g.integers(0, h - bh + 1)), int(g.integers(0, w - bw + 1)), bh, bw
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            bw, bh = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            bh, bw = h, int(round(h * self.ratio[1]))
        else:
            bw, bh = w, h
        return (h - bh) // 2, (w - bw) // 2, bh, bw

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        top, left, bh, bw = self.params(*a.shape[-2:])
        return F.resized_crop(a, top, left, bh, bw, self.size, self.interpolation)


def _range(v: float | Sequence[float] | None, name: str, centre: float = 0.0
           ) -> tuple[float, float] | None:
    if v is None:
        return None
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError(f"{name} must be >= 0 when a single number, got {v}")
        return centre - float(v), centre + float(v)
    lo, hi = (float(t) for t in v)
    if lo > hi:
        raise ValueError(f"{name} must be (min, max), got {v}")
    return lo, hi


class RandomAffine(Transform):
    """Random rotation, translation, scaling and shear in one warp (torchvision's parameters).

    ``degrees`` d → angle ~ U(−d, d) (or a (min, max) pair), clockwise; ``translate`` (a, b) →
    tx = round(U(−a·W, a·W)), ty = round(U(−b·H, b·H)) pixels; ``scale`` (lo, hi) → U(lo, hi);
    ``shear`` s → x-shear U(−s, s) degrees, (a, b) → U(a, b), (a, b, c, d) → x in (a, b) and
    y in (c, d). The output reads the input through the inverse map
    (``functional.affine_matrix``) with bilinear sampling; pixels from outside read ``fill``.
    With all parameters at identity values the output equals the input.
    """

    def __init__(self, degrees: float | Sequence[float] = 0.0,
                 translate: Sequence[float] | None = None,
                 scale: Sequence[float] | None = None,
                 shear: float | Sequence[float] | None = None, fill: float = 0.0,
                 interpolation: str = "bilinear") -> None:
        self.degrees = _range(degrees, "degrees")
        if translate is not None and not all(0.0 <= t <= 1.0 for t in translate):
            raise ValueError(f"translate fractions must be in [0, 1], got {translate}")
        self.translate = None if translate is None else tuple(float(t) for t in translate)
        self.scale = None if scale is None else tuple(float(s) for s in scale)
        if self.scale is not None and not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale must be (min, max) with 0 < min <= max, got {scale}")
        self.shear: tuple[float, ...] | None = None
        if shear is not None:
            if isinstance(shear, (int, float)) or len(shear) == 2:
                self.shear = _range(shear, "shear")
            elif len(shear) == 4:
                self.shear = tuple(float(s) for s in shear)
            else:
                raise ValueError(f"shear must be a number or 2 or 4 numbers, got {shear}")
        self.fill = fill
        self.interpolation = interpolation

    def params(self, h: int, w: int) -> tuple[float, tuple[float, float], float,
                                               tuple[float, float]]:
        """(angle, (tx, ty), scale, (shear_x, shear_y))."""
        g = _rng.generator()
        angle = float(g.uniform(*self.degrees)) if self.degrees else 0.0
        tx = ty = 0.0
        if self.translate is not None:
            mx, my = self.translate[0] * w, self.translate[1] * h
            tx, ty = float(round(g.uniform(-mx, mx))), float(round(g.uniform(-my, my)))
        s = float(g.uniform(*self.scale)) if self.scale is not None else 1.0
        shx = shy = 0.0
        if self.shear is not None:
            shx = float(g.uniform(self.shear[0], self.shear[1]))
            if len(self.shear) == 4:
                shy = float(g.uniform(self.shear[2], self.shear[3]))
        return angle, (tx, ty), s, (shx, shy)

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        angle, translate, s, shear = self.params(*a.shape[-2:])
        m = F.affine_matrix(angle, translate, s, shear)
        return F.warp_affine(a, m, self.fill, self.interpolation)


class RandomRotation(RandomAffine):
    """Rotation by U(−degrees, degrees) (clockwise) about the centre: ``RandomAffine(degrees)``."""

    def __init__(self, degrees: float | Sequence[float], fill: float = 0.0,
                 interpolation: str = "bilinear") -> None:
        super().__init__(degrees, fill=fill, interpolation=interpolation)


class LensDistortion(Transform):
    """Radial lens distortion: the output reads the input at p·(1 + k1·r² + k2·r⁴) (r from the
    centre, in half-diagonals; see ``functional.lens_distort``). k1 > 0 barrel, k1 < 0
    pincushion. Each of ``k1``, ``k2`` is a number or a (min, max) range drawn per call."""

    def __init__(self, k1: float | Sequence[float] = (-0.2, 0.2),
                 k2: float | Sequence[float] = 0.0, fill: float = 0.0,
                 interpolation: str = "bilinear") -> None:
        self.k1 = k1 if isinstance(k1, (int, float)) else tuple(float(k) for k in k1)
        self.k2 = k2 if isinstance(k2, (int, float)) else tuple(float(k) for k in k2)
        self.fill = fill
        self.interpolation = interpolation

    def params(self) -> tuple[float, float]:
        g = _rng.generator()
        k = [float(v) if isinstance(v, (int, float)) else float(g.uniform(*v))
             for v in (self.k1, self.k2)]
        return k[0], k[1]

    def __call__(self, x: Any) -> np.ndarray:
        k1, k2 = self.params()
        return F.lens_distort(_array(x), k1, k2, self.fill, self.interpolation)
