"""Test-time augmentation (R4): fixed crops at several scales, predictions averaged.

The ResNet evaluation: resize the image so its shorter side is each of {224, 256, 384, 480,
640}, take 10 crops of 224×224 at every scale (4 corners + centre, and the same of the mirror
image), run the model on all 50 views and average the softmax outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd import no_grad
from ...tensor import Tensor
from . import functional as F
from .base import Transform, _array

__all__ = ["FiveCrop", "TenCrop", "MultiScaleCrops", "multi_scale_tta"]


class FiveCrop(Transform):
    """The 4 corner crops and the centre crop, stacked: (5, C, h, w) (torchvision's order)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = F.as_size(size)

    def __call__(self, x: Any) -> np.ndarray:
        return F.five_crop(_array(x), self.size)


class TenCrop(Transform):
    """``FiveCrop`` of the image and of its mirror image (horizontal unless
    ``vertical_flip``), stacked: (10, C, h, w)."""

    def __init__(self, size: int | Sequence[int], vertical_flip: bool = False) -> None:
        self.size = F.as_size(size)
        self.vertical_flip = bool(vertical_flip)

    def __call__(self, x: Any) -> np.ndarray:
        return F.ten_crop(_array(x), self.size, self.vertical_flip)


class MultiScaleCrops(Transform):
    """All test views of one CHW image: for each scale s (shorter side, bilinear resize) the
    centre crop (``crops=1``) or the five crops (``crops=5``), plus their mirror images when
    ``flip``; stacked as (len(scales)·crops·(1 + flip), C, crop, crop)."""

    def __init__(self, scales: Sequence[int] = (224, 256, 384, 480, 640),
                 crop_size: int | Sequence[int] = 224, crops: int = 5, flip: bool = True
                 ) -> None:
        if crops not in (1, 5):
            raise ValueError(f"crops must be 1 (centre) or 5 (corners + centre), got {crops}")
        self.scales = tuple(int(s) for s in scales)
        self.crop_size = F.as_size(crop_size)
        if min(self.scales) < max(self.crop_size):
            raise ValueError(f"every scale must be >= the crop size {self.crop_size}, got "
                             f"{self.scales}")
        self.crops = int(crops)
        self.flip = bool(flip)

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        views = []
        for s in self.scales:
            r = F.resize(a, s)
            if self.crops == 5:
                v = F.ten_crop(r, self.crop_size) if self.flip else F.five_crop(r, self.crop_size)
            else:
                c = F.center_crop(r, self.crop_size)[None]
                v = np.concatenate([c, F.hflip(c)]) if self.flip else c
            views.append(v)
        return np.concatenate(views)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _run(model: Any, views: np.ndarray) -> np.ndarray:
    device = None
    params = getattr(model, "parameters", None)
    if callable(params):
        first = next(iter(params()), None)
        device = getattr(first, "device", None)
    with no_grad():
        out = model(Tensor(views, device=device))
    return out.numpy() if isinstance(out, Tensor) else np.asarray(out)


def multi_scale_tta(model: Any, image: Any, scales: Sequence[int] = (224, 256, 384, 480, 640),
                    crop_size: int | Sequence[int] = 224, crops: int = 5, flip: bool = True,
                    average: str = "probs") -> np.ndarray:
    """Average the model's predictions over scales × crops (× flips).

        p(image) = 1/V · Σ_v softmax(model(view_v))     (``average="probs"``, the default)

    or the mean of the logits (``average="logits"``). ``image``: one CHW image → (K,), or an
    NCHW batch → (N, K). The model is called in eval mode without gradients on a rosenblatt
    Tensor of all the views of one image (on the device of its first parameter), and its mode
    is restored afterwards. With the defaults: 5 scales × 10 crops = 50 views (R4).
    """
    if average not in ("probs", "logits"):
        raise ValueError(f"average must be 'probs' or 'logits', got {average!r}")
    views_of = MultiScaleCrops(scales, crop_size, crops, flip)
    a = _array(image)
    batch = a if a.ndim == 4 else a[None]
    was_training = getattr(model, "training", None)
    if was_training is not None and hasattr(model, "eval"):
        model.eval()
    try:
        out = []
        for img in batch:
            z = _run(model, views_of(img)).astype(np.float32, copy=False)
            out.append((_softmax(z) if average == "probs" else z).mean(axis=0))
    finally:
        if was_training and hasattr(model, "train"):
            model.train(True)
    result = np.stack(out)
    return result if a.ndim == 4 else result[0]
