"""The running values of an epoch: batch losses kept as 0-d arrays and averaged once, metrics,
and ``BatchLogs``, the lazy mapping that batch hooks receive."""

from __future__ import annotations

import math
from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from .. import backend
from .compile import CompiledModel

__all__ = ["EpochTracker", "LazyTracker", "BatchLogs"]


class EpochTracker:
    """The losses of an epoch's batches (0-d arrays, one list per loss key) and its metrics.

    Means are weighted by batch size and computed lazily: each batch value is read from the
    device at most once, when somebody asks for the running mean or at the end of the epoch
    (then all unread values in one transfer).
    """

    def __init__(self, loss_keys: list[str], metrics: list[tuple[str, int, Any]]) -> None:
        self.loss_keys = loss_keys
        self.metrics = metrics
        self.values: list[list[Any]] = [[] for _ in loss_keys]
        self.sizes: list[int] = []
        self._sums = [0.0] * len(loss_keys)
        self._count = 0
        self._done = 0
        for _, _, m in metrics:
            m.reset()

    def add(self, values: tuple[Any, ...], n: int) -> None:
        for store, v in zip(self.values, values, strict=True):
            store.append(v)
        self.sizes.append(n)

    def _catch_up(self) -> None:
        """Fold the batches added since the last read into the sums: one host transfer."""
        start, stop = self._done, len(self.sizes)
        if start == stop:
            return
        if stop - start == 1:  # the common case of a per-batch reader
            n = self.sizes[start]
            for j, store in enumerate(self.values):
                self._sums[j] += float(store[start]) * n
        else:
            sizes = np.asarray(self.sizes[start:stop], dtype=np.float64)
            for j, store in enumerate(self.values):
                chunk = store[start:stop]
                xp = backend.get_array_module(chunk[0])
                batch_values = backend.to_numpy(xp.stack(chunk)).astype(np.float64)
                self._sums[j] += float(batch_values @ sizes)
        self._count += sum(self.sizes[start:stop])
        self._done = stop

    def keys(self) -> list[str]:
        return self.loss_keys + [key for key, _, _ in self.metrics]

    def value(self, key: str) -> float:
        if key in self.loss_keys:
            self._catch_up()
            j = self.loss_keys.index(key)
            return self._sums[j] / self._count if self._count else math.nan
        for k, _, m in self.metrics:
            if k == key:
                return _to_float(m.result())
        raise KeyError(key)

    def results(self) -> dict[str, Any]:
        return {key: self.value(key) for key in self.keys()}


def _to_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):  # a per-class array (average=None metrics)
        return value


class BatchLogs(MutableMapping):
    """The logs given to batch hooks: a mapping whose values (running means over the epoch so
    far, as Keras) are computed only when read. ``num_samples`` is the batch size. Keys set by
    a callback are kept for the other callbacks of the same batch."""

    __slots__ = ("_tracker", "num_samples", "_extra")

    def __init__(self, tracker: EpochTracker, num_samples: int) -> None:
        self._tracker = tracker
        self.num_samples = num_samples
        self._extra: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._extra:
            return self._extra[key]
        return self._tracker.value(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        del self._extra[key]

    def __iter__(self) -> Iterator[str]:
        keys = self._tracker.keys()
        return iter(keys + [k for k in self._extra if k not in keys])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def __repr__(self) -> str:
        return f"BatchLogs({dict(self)})"


class LazyTracker(EpochTracker):
    """A tracker for the first epoch of a model whose outputs are bound by its first forward
    pass: it takes its keys from the compiled model at the first ``add``."""

    def __init__(self, compiled: CompiledModel) -> None:
        self._compiled = compiled
        super().__init__([], [])
        self._bound = False

    def add(self, values: tuple[Any, ...], n: int) -> None:
        if not self._bound:
            super().__init__(self._compiled.loss_keys(), self._compiled.metric_entries())
            self._bound = True
        super().add(values, n)
