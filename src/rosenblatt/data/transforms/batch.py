"""Batch-level augmentation (R5): Mixup and CutMix, mixing images *and* labels.

Both take a batch ``(x (N, C, H, W) or (N, …), y)`` — y class indices (N,) with ``num_classes``
given, or already soft labels (N, K) — and return ``(x', y')`` with y' float32 probabilities
(N, K), the targets ``cross_entropy`` accepts (``model.compile(loss="cross_entropy")`` then trains
on them). Use them as ``DataLoader(…, batch_transform=Mixup(0.2, num_classes=10))``.
The partner of sample i is sample π(i) for a random permutation π of the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _rng
from .base import Transform, _array

__all__ = ["Mixup", "CutMix", "one_hot"]


def one_hot(y: Any, num_classes: int, dtype: Any = np.float32) -> np.ndarray:
    """(N,) class indices → (N, num_classes) one-hot rows."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot needs integer class indices, got {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"class indices must be in [0, {num_classes}), got "
                         f"[{y.min()}, {y.max()}]")
    return np.eye(num_classes, dtype=dtype)[y]


class _BatchMix(Transform):
    def __init__(self, alpha: float = 1.0, num_classes: int | None = None) -> None:
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)
        self.num_classes = num_classes
        self.last_lambda: float | None = None
        self.last_permutation: np.ndarray | None = None

    def _soft(self, y: Any) -> np.ndarray:
        y = _array(y)
        if y.ndim == 2 and y.dtype.kind == "f":
            return y.astype(np.float32, copy=False)
        if self.num_classes is None:
            raise ValueError(f"{type(self).__name__}: class-index labels need num_classes=")
        return one_hot(y.reshape(-1), self.num_classes)

    def _draw(self, n: int) -> tuple[float, np.ndarray]:
        g = _rng.generator()
        lam = float(g.beta(self.alpha, self.alpha))
        perm = g.permutation(n)
        return lam, perm

    def __call__(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        if y is None:  # a (x, y) batch as one argument
            x, y = x
        return self.mix(_array(x), self._soft(y))

    def mix(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class Mixup(_BatchMix):
    """Mixup (Zhang et al., 2018): train on convex blends of pairs of samples.

        λ ~ Beta(α, α),   x'_i = λ·x_i + (1 − λ)·x_π(i),
        y'_i = λ·onehot(y_i) + (1 − λ)·onehot(y_π(i))

    e.g. λ = 0.4 blends 40 % of a cat with 60 % of a dog and labels it cat 0.4 / dog 0.6. One λ
    per batch; ``last_lambda`` and ``last_permutation`` record the draw. α ≈ 0.2–0.4 is usual.
    """

    def mix(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam, perm = self._draw(len(x))
        self.last_lambda, self.last_permutation = lam, perm
        xf = x if x.dtype.kind == "f" else x.astype(np.float32)
        ft = xf.dtype.type
        x_mix = ft(lam) * xf + ft(1.0 - lam) * xf[perm]
        y_mix = np.float32(lam) * y + np.float32(1.0 - lam) * y[perm]
        return x_mix, y_mix


class CutMix(_BatchMix):
    """CutMix (Yun et al., 2019): paste a box of the partner image; labels mixed by area.

        λ ~ Beta(α, α);  box of side ⌊W·√(1 − λ)⌋ × ⌊H·√(1 − λ)⌋ centred at a uniform pixel,
        clipped to the image;  x'_i = x_i outside the box, x_π(i) inside;
        λ' = 1 − box area/(H·W),   y'_i = λ'·onehot(y_i) + (1 − λ')·onehot(y_π(i))

    so each label's weight is exactly the share of the pixels it owns. ``last_lambda`` is λ',
    ``last_box`` the (y1, y2, x1, x2) box. Needs images (…, H, W).
    """

    def __init__(self, alpha: float = 1.0, num_classes: int | None = None) -> None:
        super().__init__(alpha, num_classes)
        self.last_box: tuple[int, int, int, int] | None = None

    def mix(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if x.ndim < 3:
            raise ValueError(f"CutMix needs images (N, …, H, W), got shape {x.shape}")
        lam, perm = self._draw(len(x))
        h, w = x.shape[-2:]
        g = _rng.generator()
        cut = np.sqrt(1.0 - lam)
        cut_w, cut_h = int(w * cut), int(h * cut)
        cx, cy = int(g.integers(0, w)), int(g.integers(0, h))
        x1, x2 = int(np.clip(cx - cut_w // 2, 0, w)), int(np.clip(cx + cut_w // 2, 0, w))
        y1, y2 = int(np.clip(cy - cut_h // 2, 0, h)), int(np.clip(cy + cut_h // 2, 0, h))
        out = x.copy()
        out[..., y1:y2, x1:x2] = x[perm, ..., y1:y2, x1:x2]
        lam_area = 1.0 - (x2 - x1) * (y2 - y1) / (w * h)
        self.last_lambda, self.last_permutation = lam_area, perm
        self.last_box = (y1, y2, x1, x2)
        y_mix = np.float32(lam_area) * y + np.float32(1.0 - lam_area) * y[perm]
        return out, y_mix
