"""Functions that make tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``eye``,
``randn``, ``rand``, ``randint`` and their ``*_like`` forms. Floats default to float32."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend, random
from .tensor import DEFAULT_DTYPE, Tensor


def tensor(
    data: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (as ``torch.tensor``)."""
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.get_array_module(data)
    copied = xp.array(data, copy=True) if hasattr(data, "shape") else data
    return Tensor(copied, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (as ``torch.from_numpy``)."""
    return Tensor(array)


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)


def _make(fill: Any, shape: tuple, dtype: Any, device: str | None, requires_grad: bool) -> Tensor:
    dev = backend.normalize_device(device)
    data = fill(backend.xp_for(dev), _shape(shape), np.dtype(dtype or DEFAULT_DTYPE))
    return Tensor(data, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return _make(lambda xp, s, d: xp.zeros(s, d), shape, dtype, device, requires_grad)


def ones(*shape: Any, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _make(lambda xp, s, d: xp.ones(s, d), shape, dtype, device, requires_grad)


def empty(*shape: Any, dtype: Any = None, device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor."""
    return _make(lambda xp, s, d: xp.empty(s, d), shape, dtype, device, requires_grad)


def full(shape: Sequence[int], fill_value: float, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    return _make(lambda xp, s, d: xp.full(s, fill_value, d), (shape,), dtype, device,
                 requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: str | None = None,
        requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix."""
    return _make(lambda xp, s, d: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Values start, start+step, … below end. int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else DEFAULT_DTYPE
    return _make(lambda xp, s, d: xp.arange(start, end, step, dtype=d), (), dtype, device,
                 requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: str | None = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    return _make(lambda xp, s, d: xp.linspace(start, end, steps, dtype=d), (), dtype, device,
                 requires_grad)


def randn(*shape: Any, dtype: Any = None, device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """Samples of the standard normal distribution N(0, 1)."""
    def fill(xp: Any, s: tuple, d: np.dtype) -> Any:
        return random.generator(_dev(device)).standard_normal(s).astype(d)
    return _make(fill, shape, dtype, device, requires_grad)


def rand(*shape: Any, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    def fill(xp: Any, s: tuple, d: np.dtype) -> Any:
        return random.generator(_dev(device)).random(s).astype(d)
    return _make(fill, shape, dtype, device, requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), dtype: Any = np.int64,
            device: str | None = None) -> Tensor:
    """Integers drawn uniformly from [low, high) (from [0, low) when high is None)."""
    if high is None:
        low, high = 0, low
    def fill(xp: Any, s: tuple, d: np.dtype) -> Any:
        return random.generator(_dev(device)).integers(low, high, s).astype(d)
    return _make(fill, (size,), dtype, device, False)


def randperm(n: int, device: str | None = None) -> Tensor:
    """A random permutation of 0 … n−1 (int64)."""
    perm = random.generator(_dev(device)).permutation(n).astype(np.int64)
    return Tensor(perm, device=device)


def _dev(device: str | None) -> str:
    return backend.normalize_device(device)


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with x's shape, dtype and device."""
    return zeros(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with x's shape, dtype and device."""
    return ones(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def full_like(x: Tensor, fill_value: float, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` with x's shape, dtype and device."""
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=x.device,
                requires_grad=requires_grad)


def randn_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """N(0, 1) samples with x's shape, dtype and device."""
    return randn(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def rand_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """U[0, 1) samples with x's shape, dtype and device."""
    return rand(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)
