"""The UCI hand-written digits, shipped inside the package: 1,797 8×8 images of 10 classes.

The data (Alpaydin & Kaynak, 1998, UCI Machine Learning Repository, CC BY 4.0,
https://doi.org/10.24432/C50P49; see ``DIGITS_LICENSE.txt`` next to this file) is the set that
scikit-learn's ``load_digits`` returns, stored as ``digits.npz`` (uint8 pixel counts 0..16 and
uint8 labels; no pickle). It needs no download, so tests and examples can always train on it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from ._base import ImageArrayDataset

__all__ = ["load_digits", "Digits", "DIGITS_CLASSES"]

DIGITS_CLASSES = [str(d) for d in range(10)]

_cache: dict[str, np.ndarray] = {}


def _raw() -> tuple[np.ndarray, np.ndarray]:
    if not _cache:
        with resources.files(__package__).joinpath("digits.npz").open("rb") as f:
            with np.load(f, allow_pickle=False) as z:
                for key in ("images", "labels"):
                    a = z[key]
                    a.setflags(write=False)  # shared by every Digits: read-only
                    _cache[key] = a
    return _cache["images"], _cache["labels"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (1797, 1, 8, 8) in [0, 1] (pixel count / 16), labels int64 (1797,))."""
    images, labels = _raw()
    return (images[:, None].astype(np.float32) / np.float32(16.0),
            labels.astype(np.int64))


class Digits(ImageArrayDataset):
    """The bundled digits as a dataset: samples ``(image float32 (1, 8, 8), label int64)``.

    ``data`` holds the uint8 pixel counts (N, 8, 8), ``targets`` the labels; ``transform`` and
    ``target_transform`` are applied per sample. The set has no official train/test split: use
    ``rosenblatt.data.stratified_split`` or ``train_val_test_split``.
    """

    def __init__(self, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        images, labels = _raw()
        super().__init__(images, labels, scale=16.0, transform=transform,
                         target_transform=target_transform)
        self.classes = list(DIGITS_CLASSES)
