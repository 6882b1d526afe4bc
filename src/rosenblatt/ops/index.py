"""Indexing: ``x[index]`` (basic and advanced) and ``gather``. Their backward scatters ``dy`` into
zeros with ``add.at`` semantics, so an element picked twice receives both gradients."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module

_BASIC = (int, slice, type(None), type(Ellipsis))


def index_arrays(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays and lists by integer/bool arrays."""
    from ..tensor import Tensor

    def convert(part: Any) -> Any:
        if isinstance(part, Tensor):
            return part.data
        if isinstance(part, list):
            import numpy as np

            return np.asarray(part)
        return part

    if isinstance(index, tuple):
        return tuple(convert(p) for p in index)
    return convert(index)


def is_basic(index: Any) -> bool:
    """True when ``index`` only holds ints, slices, None and Ellipsis (a view, no repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, _BASIC) and not isinstance(p, bool) for p in parts)


class GetItem(Function):
    """y = x[index];  dx = zeros like x with dy added at the indexed places
    (``dx[index] += dy``, repeated indices accumulate)."""

    def forward(self, x: Any, index: Any = None) -> Any:
        self.index = index
        self.in_shape = x.shape
        return x[index]

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        dx = xp.zeros(self.in_shape, dtype=dy.dtype)
        if is_basic(self.index):
            dx[self.index] = dy
        else:
            xp.add.at(dx, self.index, dy)
        return dx


class Gather(Function):
    """PyTorch's gather along ``dim``: y[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1).

    ``index`` has x's number of dims and is no larger than x on the other dims.
    dx = zeros like x, with dy added at the gathered places (scatter-add).
    """

    def forward(self, x: Any, index: Any = None, dim: int = 0) -> Any:
        xp = get_array_module(x)
        if index.ndim != x.ndim:
            raise ValueError(
                f"gather: index must have as many dims as the input ({x.ndim}), got {index.ndim}"
            )
        dim = dim % x.ndim
        for d in range(x.ndim):
            if d != dim and index.shape[d] > x.shape[d]:
                raise ValueError(
                    f"gather: index shape {tuple(index.shape)} is larger than input shape "
                    f"{tuple(x.shape)} on dim {d}"
                )
        grid = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)])
        grid[dim] = index
        self.grid = tuple(grid)
        self.in_shape = x.shape
        return x[self.grid]

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        dx = xp.zeros(self.in_shape, dtype=dy.dtype)
        xp.add.at(dx, self.grid, dy)
        return dx
