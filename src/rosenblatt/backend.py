"""The one place that chooses the array module.

Every op body is written against ``xp``, the module of its input arrays: NumPy for arrays on the
CPU, CuPy for arrays on a CUDA device. NumPy is always there; CuPy is imported only when a CUDA
tensor is asked for, so the CPU path never pays for it.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_cupy: types.ModuleType | None = None
_cupy_tried = False


def cupy_module() -> types.ModuleType | None:
    """CuPy if it is installed and a CUDA device answers, else None (tried once)."""
    global _cupy, _cupy_tried
    if not _cupy_tried:
        _cupy_tried = True
        try:
            import cupy  # type: ignore[import-not-found]

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # ImportError, or CuPy present without a working driver
            _cupy = None
    return _cupy


def cuda_is_available() -> bool:
    """True when CuPy is installed and can see a CUDA device."""
    return cupy_module() is not None


def normalize_device(device: str | None) -> str:
    """``None``/"cpu" → "cpu"; "cuda"/"cuda:0"/"gpu" → "cuda". Unknown names raise ValueError."""
    if device is None:
        return "cpu"
    name = str(device).lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "gpu") or name.startswith("cuda:"):
        if not cuda_is_available():
            raise RuntimeError(
                f"device={device!r} was asked for, but CuPy is not installed or sees no CUDA "
                "device. Install the GPU extra (pip install 'rosenblatt[cuda]') on a machine "
                "with an NVIDIA GPU, or use device='cpu'."
            )
        return "cuda"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def get_array_module(array: Any) -> types.ModuleType:
    """The module (numpy or cupy) that owns ``array``: Chainer's ``xp``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array: Any) -> str:
    """"cuda" for a CuPy array, "cpu" for anything else."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return "cuda"
    return "cpu"


def xp_for(device: str) -> types.ModuleType:
    """The array module for a normalised device name."""
    if device == "cuda":
        cp = cupy_module()
        assert cp is not None  # normalize_device has already checked
        return cp
    return np


def move(array: Any, device: str) -> Any:
    """Copy ``array`` to ``device`` ("cpu" or "cuda"); a no-op when it is already there."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return xp_for("cuda").asarray(array)


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array with the same values (copied off the GPU when needed)."""
    if device_of(array) == "cuda":
        return array.get()
    return np.asarray(array)
