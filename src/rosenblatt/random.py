"""One source of randomness: ``manual_seed(s)`` makes every random op reproducible.

Every random draw in rosenblatt (``randn``, initialisers, dropout masks, shuffling) takes its
numbers from ``generator()``, a NumPy ``Generator`` (PCG64) — or CuPy's for CUDA tensors — so one
seed fixes them all. Streams differ from PyTorch's: the same seed gives other numbers there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend

_seed: int | None = None
_rng = np.random.default_rng()
_cuda_rng: Any = None


def manual_seed(seed: int) -> None:
    """Seed every random op (CPU and, when present, CUDA)."""
    global _seed, _rng, _cuda_rng
    _seed = int(seed)
    _rng = np.random.default_rng(_seed)
    _cuda_rng = None  # re-created from the seed on first CUDA use


def initial_seed() -> int | None:
    """The last seed given to ``manual_seed`` (None if never seeded)."""
    return _seed


def generator(device: str = "cpu") -> Any:
    """The random generator for ``device``: NumPy's on the CPU, CuPy's on CUDA."""
    global _cuda_rng
    if device == "cpu":
        return _rng
    if _cuda_rng is None:
        cp = backend.cupy_module()
        assert cp is not None
        _cuda_rng = cp.random.default_rng(_seed)
    return _cuda_rng


def get_rng_state() -> dict:
    """The CPU generator's state as plain JSON-compatible data (for checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by ``get_rng_state``."""
    _rng.bit_generator.state = state
