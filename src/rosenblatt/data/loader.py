"""``DataLoader``: a dataset cut into batches, shuffled every epoch, optionally prefetched.

Batches are NumPy arrays (``default_collate``), what ``model.fit(loader)`` consumes: a loader is
an iterable of ``(x, y)`` batches with a ``len``, iterated afresh every epoch.

Randomness: every epoch draws, from the loader's generator (``seed=``/``generator=``, else
``rosenblatt.random.generator()`` at the start of the epoch, so ``rb.manual_seed`` fixes it),
first the permutation (when shuffling) and then one integer that seeds the epoch's generator for
the random transforms (see ``rosenblatt.data._rng``). So a seeded run gives the same batches with
``prefetch=0`` or ``prefetch=4``, and ``fit(resume_from=…)`` (which restores rosenblatt's RNG
state) continues with the very batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _rng
from .dataset import default_collate

__all__ = ["DataLoader"]

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    Args:
        dataset: any object with ``__len__`` and ``__getitem__`` (see ``rosenblatt.data``).
        batch_size: samples per batch; the last batch is shorter unless ``drop_last``.
        shuffle: a new random order every epoch.
        drop_last: drop the last, incomplete batch.
        collate_fn: list of samples → batch (default ``default_collate``: NumPy arrays). With the
            default, a dataset's ``get_batch(index)`` is used when it has one (``TensorDataset``:
            one fancy index per array per batch; a slice, i.e. views, without shuffling).
        batch_transform: called on every collated batch (``Mixup``, ``CutMix``): a tuple batch
            ``(x, y)`` is passed as ``batch_transform(x, y)``.
        seed, generator: the loader's own random stream (a seed, or a ``numpy`` Generator);
            default ``rosenblatt.random.generator()``.
        prefetch: 0 makes each batch when it is asked for; N > 0 makes up to N batches ahead in
            one background thread (a ``queue.Queue``). NumPy releases the GIL in copies and most
            array maths, so loading overlaps the training step. Errors in the thread are raised
            in the caller; stopping early (``break``) stops the thread.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable[[list[Any]], Any] | None = None,
                 batch_transform: Callable[..., Any] | None = None, seed: int | None = None,
                 generator: np.random.Generator | None = None, prefetch: int = 0) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(prefetch) < 0:
            raise ValueError(f"prefetch must be >= 0, got {prefetch}")
        if seed is not None and generator is not None:
            raise ValueError("pass either seed= or generator=, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.batch_transform = batch_transform
        self.prefetch = int(prefetch)
        self.seed = seed
        self._generator = generator if generator is not None else (
            None if seed is None else np.random.default_rng(int(seed)))

    # ------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _generator_now(self) -> np.random.Generator:
        return self._generator if self._generator is not None else _rng.generator()

    # ------------------------------------------------------------------ one epoch
    def _plan(self) -> tuple[list[Any], np.random.Generator]:
        """The epoch's batch indices (slices or index arrays) and its transform generator."""
        n = len(self.dataset)
        g = self._generator_now()
        order = g.permutation(n) if self.shuffle else None
        epoch_rng = np.random.default_rng(int(g.integers(0, 2**63 - 1)))
        plan: list[Any] = []
        for b in range(len(self)):
            start = b * self.batch_size
            stop = min(start + self.batch_size, n)
            plan.append(slice(start, stop) if order is None else order[start:stop])
        return plan, epoch_rng

    def _make_batch(self, index: Any) -> Any:
        get_batch = getattr(self.dataset, "get_batch", None)
        if self.collate_fn is None and get_batch is not None:
            batch = get_batch(index)
        else:
            if isinstance(index, slice):
                index = range(index.start, index.stop)
            samples = [self.dataset[int(i)] for i in index]
            batch = (self.collate_fn or default_collate)(samples)
        if self.batch_transform is not None:
            batch = self.batch_transform(*batch) if isinstance(batch, tuple) \
                else self.batch_transform(batch)
        return batch

    def __iter__(self) -> Iterator[Any]:
        plan, epoch_rng = self._plan()
        if self.prefetch == 0:
            return self._serial(plan, epoch_rng)
        return self._prefetched(plan, epoch_rng)

    def _serial(self, plan: list[Any], epoch_rng: np.random.Generator) -> Iterator[Any]:
        for index in plan:
            with _rng.use_generator(epoch_rng):  # only while this batch is made
                batch = self._make_batch(index)
            yield batch

    def _prefetched(self, plan: list[Any], epoch_rng: np.random.Generator) -> Iterator[Any]:
        q: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            with _rng.use_generator(epoch_rng):
                try:
                    for index in plan:
                        if not put(self._make_batch(index)):
                            return
                except BaseException as e:  # handed to the consumer, raised there
                    put(_Failure(e))
                    return
            put(_DONE)

        thread = threading.Thread(target=work, name="rosenblatt-DataLoader", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            thread.join()

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, prefetch={self.prefetch})")
