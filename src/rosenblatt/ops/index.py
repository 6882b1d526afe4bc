"""Indexing: ``x[index]`` (basic and advanced) and ``gather``. Their backward scatters ``dy`` into
zeros with ``add.at`` semantics, so an element picked twice receives both gradients."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module

_BASIC = (int, slice, type(None), type(Ellipsis))


def index_arrays(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays, and lists (or tuples nested in a tuple
    index) by integer/bool arrays."""
    from ..tensor import Tensor

    def convert(part: Any) -> Any:
        if isinstance(part, Tensor):
            return part.data
        if isinstance(part, (list, tuple)):  # a tuple here sits inside a tuple index
            import numpy as np

            array = np.asarray(part)
            if array.size == 0 and array.dtype.kind == "f":  # x[[]]: an empty integer index
                array = array.astype(np.int64)
            return array
        return part

    if isinstance(index, tuple):
        return tuple(convert(p) for p in index)
    return convert(index)


def is_basic(index: Any) -> bool:
    """True when ``index`` only holds ints, slices, None and Ellipsis (a view, no repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, _BASIC) and not isinstance(p, bool) for p in parts)


def _as_int(part: Any) -> Any:
    """A 0-d integer array (or NumPy integer) as a Python int: PyTorch treats it as an int."""
    if getattr(part, "ndim", None) == 0 and getattr(part, "dtype", None) is not None \
            and part.dtype.kind in "iu":
        return int(part)
    return part


def split_index(index: Any) -> tuple[Any, Any]:
    """``index`` as ``(basic, advanced)``, applied one after the other; either may be None.

    PyTorch applies the integers of an index first (as selections) and only then the integer
    arrays and masks, so an integer never takes part in advanced-index broadcasting:
    ``x[1, :, [0, 2]]`` has shape ``(x.shape[1], 2)`` where NumPy gives ``(2, x.shape[1])``.
    When an index mixes integers with arrays it is split in two: ``basic`` keeps the integers,
    slices, None and Ellipsis (arrays become full slices), ``advanced`` holds the arrays for what
    is left (integers dropped, everything else a full slice)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(_as_int(p) for p in parts)
    if all(isinstance(p, _BASIC) and not isinstance(p, bool) for p in parts):
        return parts, None
    has_int = any(isinstance(p, int) and not isinstance(p, bool) for p in parts)
    has_bool_scalar = any(isinstance(p, bool) or getattr(p, "ndim", 1) == 0 for p in parts)
    if not has_int or has_bool_scalar:  # NumPy and PyTorch agree here
        return None, parts
    basic, advanced = [], []
    for p in parts:
        if isinstance(p, int):
            basic.append(p)
        elif p is None or isinstance(p, slice):
            basic.append(p)
            advanced.append(slice(None))
        elif p is Ellipsis:
            basic.append(p)
            advanced.append(p)
        else:  # an integer array, or a mask spanning p.ndim dims
            basic.extend([slice(None)] * (p.ndim if p.dtype.kind == "b" else 1))
            advanced.append(p)
    return tuple(basic), tuple(advanced)


class GetItem(Function):
    """y = x[index];  dx = zeros like x with dy added at the indexed places
    (``dx[index] += dy``, repeated indices accumulate).

    Integers in the index select first, as in PyTorch (see ``split_index``), so
    ``x[i, :, idx]`` is ``x[i][:, idx]``."""

    def forward(self, x: Any, index: Any = None) -> Any:
        self.basic, self.advanced = split_index(index)
        self.in_shape = x.shape
        y = x if self.basic is None else x[self.basic]
        return y if self.advanced is None else y[self.advanced]

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        dx = xp.zeros(self.in_shape, dtype=dy.dtype)
        if self.advanced is None:
            dx[self.basic] = dy
        else:  # dx[basic] keeps an array's full slice, so it is a view: add.at writes into dx
            xp.add.at(dx if self.basic is None else dx[self.basic], self.advanced, dy)
        return dx


class Gather(Function):
    """PyTorch's gather along ``dim``: y[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1).

    ``index`` has x's number of dims and is no larger than x on the other dims; its entries lie
    in [0, x.shape[dim]). A 0-d x acts as one of shape (1,), as in PyTorch.
    dx = zeros like x, with dy added at the gathered places (scatter-add).
    """

    def forward(self, x: Any, index: Any = None, dim: int = 0) -> Any:
        xp = get_array_module(x)
        if index.ndim != x.ndim:
            raise ValueError(
                f"gather: index must have as many dims as the input ({x.ndim}), got {index.ndim}"
            )
        if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
            raise IndexError(f"gather: dim {dim} out of range for an input with {x.ndim} dims")
        self.in_shape, out_shape = x.shape, index.shape
        if x.ndim == 0:
            x, index = x.reshape(1), index.reshape(1)
        dim = dim % x.ndim
        if index.size and (index.min() < 0 or index.max() >= x.shape[dim]):
            bad = index.min() if index.min() < 0 else index.max()
            raise IndexError(
                f"gather: index {int(bad)} is out of bounds for dim {dim} with size {x.shape[dim]}"
            )
        for d in range(x.ndim):
            if d != dim and index.shape[d] > x.shape[d]:
                raise ValueError(
                    f"gather: index shape {tuple(index.shape)} is larger than input shape "
                    f"{tuple(x.shape)} on dim {d}"
                )
        grid = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)])
        grid[dim] = index
        self.grid = tuple(grid)
        return x[self.grid].reshape(out_shape)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        if len(self.in_shape) == 0:  # a 0-d x: index is 0, so dx is dy
            return dy.reshape(())
        dx = xp.zeros(self.in_shape, dtype=dy.dtype)
        xp.add.at(dx, self.grid, dy)
        return dx
