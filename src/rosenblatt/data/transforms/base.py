"""The transform protocol, composition, and the conversions every pipeline starts with.

**Canonical format.** After ``ToTensor`` an image is a NumPy CHW float32 array with values in
[0, 1] (every image dataset in ``rosenblatt.data`` yields this directly). Geometric transforms
work on the last two axes and accept any float array; colour transforms expect values in [0, 1]
(apply them before ``Normalize``). A transform never modifies its input.

**Randomness.** A random transform draws its parameters from ``rosenblatt.data.generator()`` on
every call: ``rosenblatt.random.generator()`` (``rb.manual_seed``) or, inside a ``DataLoader``,
the loader's epoch generator seeded from it. Custom random transforms should do the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor
from .. import _rng

__all__ = ["Transform", "Compose", "Lambda", "RandomApply", "RandomChoice", "ToTensor",
           "Normalize", "MinMaxScale"]


class Transform:
    """Base class: ``__call__(x) -> x``; the repr lists the public attributes."""

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short(v)}" for k, v in vars(self).items()
                         if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return repr(v.tolist()) if v.size <= 8 else f"array{list(v.shape)}"
    return repr(v)


def _array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()
    return np.asarray(x)


class Compose(Transform):
    """Apply ``transforms`` in order: ``Compose([f, g])(x) = g(f(x))``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda(Transform):
    """Wrap a function as a transform."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, x: Any) -> Any:
        return self.fn(x)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.fn, '__name__', repr(self.fn))})"


class RandomApply(Transform):
    """Apply the ``transforms`` (in order) with probability ``p``, else return ``x``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]], p: float = 0.5) -> None:
        self.transforms = list(transforms)
        self.p = float(p)

    def __call__(self, x: Any) -> Any:
        if _rng.generator().random() >= self.p:
            return x
        for t in self.transforms:
            x = t(x)
        return x


class RandomChoice(Transform):
    """Apply one of ``transforms``, picked at random (with probabilities ``p``, default equal)."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]],
                 p: Sequence[float] | None = None) -> None:
        self.transforms = list(transforms)
        self.p = None if p is None else [float(v) / sum(p) for v in p]

    def __call__(self, x: Any) -> Any:
        k = int(_rng.generator().choice(len(self.transforms), p=self.p))
        return self.transforms[k](x)


class ToTensor(Transform):
    """HWC (or HW) image → CHW float32: unsigned integers are divided by their maximum
    (uint8: x/255, so values land in [0, 1]), bools become 0/1, floats are kept as they are.

    Accepts NumPy arrays, rosenblatt Tensors and Pillow images. Despite the (torchvision) name it
    returns a NumPy array, the batch currency of ``DataLoader`` and ``fit``.
    """

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"ToTensor expects an (H, W, C) or (H, W) image, got shape "
                             f"{a.shape}")
        chw = a.transpose(2, 0, 1)
        if a.dtype.kind == "u":
            return chw.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
        return np.ascontiguousarray(chw, dtype=np.float32)

    def __repr__(self) -> str:
        return "ToTensor()"


def _per_channel(v: Any, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


class Normalize(Transform):
    """Standardise each channel: ``out[c] = (x[c] − mean[c]) / std[c]`` (a z-score).

    ``mean``/``std`` are per channel (length C) or one number for all; the input is (C, H, W)
    or (N, C, H, W), float. ``Normalize.from_data(images)`` measures them on a training set.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = _per_channel(mean, "mean")
        self.std = _per_channel(std, "std")
        if np.any(self.std <= 0):
            raise ValueError(f"std must be positive, got {self.std.tolist()}")

    @classmethod
    def from_data(cls, images: Any) -> Normalize:
        """Per-channel mean and (population) std over (N, C, H, W) ``images``."""
        a = np.asarray(images, dtype=np.float64)
        axes = (0, 2, 3) if a.ndim == 4 else (1, 2)
        return cls(a.mean(axis=axes), a.std(axis=axes))

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        c = a.shape[-3] if a.ndim >= 3 else 1
        if self.mean.size not in (1, c) or self.std.size not in (1, c):
            raise ValueError(f"Normalize: {self.mean.size} means / {self.std.size} stds for an "
                             f"image with {c} channels")
        dtype = a.dtype if a.dtype.kind == "f" else np.float32
        mean = self.mean.astype(dtype)[:, None, None]
        std = self.std.astype(dtype)[:, None, None]
        return (a.astype(dtype, copy=False) - mean) / std


class MinMaxScale(Transform):
    """Rescale to ``feature_range`` (lo, hi): ``out = lo + (x − min)·(hi − lo)/(max − min)``.

    ``data_min``/``data_max`` (numbers, or per channel) fix min and max, e.g. measured on the
    training set with ``MinMaxScale.from_data``; left None they are each sample's own minimum
    and maximum (a constant sample maps to lo).
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0),
                 data_min: float | Sequence[float] | None = None,
                 data_max: float | Sequence[float] | None = None) -> None:
        lo, hi = (float(v) for v in feature_range)
        if not hi > lo:
            raise ValueError(f"feature_range must be (lo, hi) with hi > lo, got {feature_range}")
        if (data_min is None) != (data_max is None):
            raise ValueError("give both data_min and data_max, or neither")
        self.feature_range = (lo, hi)
        self.data_min = None if data_min is None else _per_channel(data_min, "data_min")
        self.data_max = None if data_max is None else _per_channel(data_max, "data_max")

    @classmethod
    def from_data(cls, images: Any, feature_range: tuple[float, float] = (0.0, 1.0),
                  per_channel: bool = False) -> MinMaxScale:
        """Min and max measured on (N, C, H, W) ``images`` (per channel or overall)."""
        a = np.asarray(images)
        if per_channel:
            axes = (0, 2, 3) if a.ndim == 4 else (1, 2)
            return cls(feature_range, a.min(axis=axes), a.max(axis=axes))
        return cls(feature_range, float(a.min()), float(a.max()))

    def __call__(self, x: Any) -> np.ndarray:
        a = _array(x)
        dtype = a.dtype if a.dtype.kind == "f" else np.float32
        a = a.astype(dtype, copy=False)
        lo, hi = self.feature_range
        if self.data_min is None or self.data_max is None:
            mn, mx = a.min(), a.max()
        else:
            shape = (-1, 1, 1) if self.data_min.size > 1 else (1,)
            mn = self.data_min.astype(dtype).reshape(shape)
            mx = self.data_max.astype(dtype).reshape(shape)
        span = np.where(mx > mn, mx - mn, 1).astype(dtype)
        return (lo + (a - mn) * ((hi - lo) / span)).astype(dtype, copy=False)
