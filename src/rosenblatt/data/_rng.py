"""Where the data pipeline's random numbers come from.

Every random draw in ``rosenblatt.data`` (shuffling, splits, random transforms, mixup) calls
``generator()``. Outside a ``DataLoader`` that is ``rosenblatt.random.generator()``, so
``rb.manual_seed`` fixes it. Inside a loader, each epoch seeds its own NumPy generator from one
draw of the loader's generator and installs it, for the current thread only, while batches are
made: the batches are then the same whether they are made in the calling thread or in the
prefetch thread, and they never interleave with the model's own draws (dropout).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import random as rb_random

_local = threading.local()


def generator() -> np.random.Generator:
    """The generator in use on this thread: a loader's epoch generator, else rosenblatt's."""
    g = getattr(_local, "generator", None)
    return g if g is not None else rb_random.generator()


@contextmanager
def use_generator(g: np.random.Generator | None) -> Iterator[None]:
    """Make ``g`` this thread's data generator inside the block (None: rosenblatt's)."""
    previous = getattr(_local, "generator", None)
    _local.generator = g
    try:
        yield
    finally:
        _local.generator = previous


def resolve(generator_: Any = None, seed: int | None = None) -> np.random.Generator:
    """A NumPy generator from an explicit generator, a seed, or (neither) ``generator()``."""
    if generator_ is not None and seed is not None:
        raise ValueError("pass either generator= or seed=, not both")
    if generator_ is not None:
        if not isinstance(generator_, np.random.Generator):
            raise TypeError(f"generator must be a numpy.random.Generator, got "
                            f"{type(generator_).__name__}")
        return generator_
    if seed is not None:
        return np.random.default_rng(int(seed))
    return generator()
