"""Datasets: anything with ``__len__`` and ``__getitem__(i)`` returning one sample.

A sample is usually a tuple ``(x, y)`` of NumPy arrays (or numbers). A dataset may also offer
``get_batch(index)`` — ``index`` an integer array or a slice — returning the *collated* batch
``default_collate([self[i] for i in index])`` in one step; ``DataLoader`` uses it (with the
default collate) so that a batch of a ``TensorDataset`` costs one fancy index per array instead
of a Python loop over samples.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..tensor import Tensor

__all__ = ["Dataset", "SizedDataset", "TensorDataset", "Subset", "ConcatDataset",
           "TransformDataset", "default_collate"]


@runtime_checkable
class SizedDataset(Protocol):
    """The dataset protocol: a length and integer indexing."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class Dataset:
    """Base class for map-style datasets (optional: any object with the protocol works).

    Subclasses define ``__len__`` and ``__getitem__``; ``a + b`` concatenates two datasets.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Any) -> ConcatDataset:
        return ConcatDataset([self, other])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)})"


def _as_numpy(a: Any) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.data
    if hasattr(a, "get") and not isinstance(a, np.ndarray):  # a CuPy array
        a = a.get()
    return np.asarray(a)


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into one batch of NumPy arrays.

    Arrays (and rosenblatt Tensors) of equal shape → ``np.stack`` (N, …), dtype kept; Python
    floats → float32 (the default float), ints → int64, bools → bool; tuples → a tuple of
    collated fields, lists → a list, dicts → a dict by key; strings and other objects → a list.
    The result is NumPy, what ``fit`` consumes (it moves batches to the model's device).
    """
    if len(samples) == 0:
        raise ValueError("default_collate: no samples")
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, list):
        return [default_collate([s[k] for s in samples]) for k in range(len(first))]
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(samples, dtype=bool)
    if isinstance(first, int) and not isinstance(first, bool):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, float):
        return np.asarray(samples, dtype=np.float32)
    if isinstance(first, (np.ndarray, np.generic, Tensor)) or hasattr(first, "__array__"):
        arrays = [_as_numpy(s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}; "
                             "resize/crop them to one size or pass a collate_fn")
        return np.stack(arrays)
    return list(samples)


class TensorDataset(Dataset):
    """Samples ``(a[i], b[i], …)`` from arrays (or Tensors) with the same first dimension.

    ``get_batch`` indexes every array once per batch (the DataLoader's fast path).
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(_as_numpy(a) for a in arrays)
        sizes = [len(a) for a in self.arrays]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"TensorDataset: arrays must have the same first dimension, got "
                             f"{sizes}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, index: Any) -> tuple[np.ndarray, ...]:
        """``(a[index], b[index], …)``: the collated batch, one fancy index per array."""
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, index: Any) -> Any:
        parent = getattr(self.dataset, "get_batch", None)
        if parent is not None:
            return parent(self.indices[index])
        return default_collate([self.dataset[int(i)] for i in self.indices[index]])

    @property
    def targets(self) -> np.ndarray | None:
        """The parent's ``targets`` at ``indices``, when the parent has them."""
        t = getattr(self.dataset, "targets", None)
        return None if t is None else np.asarray(t)[self.indices]

    def __repr__(self) -> str:
        return f"Subset({type(self.dataset).__name__}, n={len(self)})"


class ConcatDataset(Dataset):
    """Datasets one after the other: index ``i`` runs through the first, then the second, …"""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for ConcatDataset of {len(self)}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][index - start]

    def __repr__(self) -> str:
        return f"ConcatDataset({len(self.datasets)} datasets, n={len(self)})"


class TransformDataset(Dataset):
    """``dataset`` with ``transform`` applied to each sample's x and ``target_transform`` to y.

    Samples must be ``(x, y, …)`` tuples. Use it to augment a ``TensorDataset``::

        train = TransformDataset(TensorDataset(x, y), transform=RandomCrop(32, padding=4))
    """

    def __init__(self, dataset: Any, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.dataset = dataset
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        sample = self.dataset[index]
        x, y, *rest = sample
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return (x, y, *rest)

    @property
    def targets(self) -> Any:
        return getattr(self.dataset, "targets", None)

    def __repr__(self) -> str:
        return f"TransformDataset({self.dataset!r}, transform={self.transform!r})"
