"""Ops that move elements without changing them: reshape, permute, expand, squeeze, concatenate,
stack, pad, flip. The forward of most is a view; each backward moves ``dy`` back."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module


class Reshape(Function):
    """y = x with a new shape (same elements, C order);  dx = dy reshaped to x's shape."""

    def forward(self, x: Any, shape: tuple = ()) -> Any:
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, dy: Any) -> Any:
        return dy.reshape(self.in_shape)


class Permute(Function):
    """y = x with its axes reordered: y.shape[i] = x.shape[dims[i]];  dx = dy with the inverse
    permutation."""

    def forward(self, x: Any, dims: tuple = ()) -> Any:
        in_range = all(-x.ndim <= d < x.ndim for d in dims)
        if not in_range or sorted(d % x.ndim for d in dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {dims} is not a permutation of {x.ndim} axes")
        self.dims = tuple(d % x.ndim for d in dims)
        return x.transpose(self.dims)

    def backward(self, dy: Any) -> Any:
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return dy.transpose(inverse)


class Expand(Function):
    """y = x broadcast to ``shape`` (a view, nothing copied);  dx = dy summed back over the
    broadcast axes (done by the autograd core's un-broadcasting)."""

    def forward(self, x: Any, shape: tuple = ()) -> Any:
        xp = get_array_module(x)
        lead = len(shape) - x.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand {x.ndim} dims to the {len(shape)} of {shape}")
        if -1 in shape[:lead]:
            raise ValueError(f"expand: -1 is not allowed in a new leading dim, got {shape}")
        full = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        return xp.broadcast_to(x, full)

    def backward(self, dy: Any) -> Any:
        return dy


class Concatenate(Function):
    """y = [x₁, x₂, …] joined along ``axis``;  dxᵢ = the slice of dy that xᵢ filled."""

    def forward(self, *xs: Any, axis: int = 0) -> Any:
        xp = get_array_module(xs[0])
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return xp.concatenate(xs, axis=axis)

    def backward(self, dy: Any) -> Any:
        out = []
        start = 0
        index = [slice(None)] * dy.ndim
        for n in self.sizes:
            index[self.axis] = slice(start, start + n)
            out.append(dy[tuple(index)])
            start += n
        return tuple(out)


class Stack(Function):
    """y = [x₁, x₂, …] stacked along a new ``axis``;  dxᵢ = dy taken at index i of that axis."""

    def forward(self, *xs: Any, axis: int = 0) -> Any:
        xp = get_array_module(xs[0])
        self.axis = axis
        return xp.stack(xs, axis=axis)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        return tuple(xp.take(dy, i, axis=self.axis) for i in range(dy.shape[self.axis]))


class Pad(Function):
    """Constant padding in PyTorch's order: ``pad = (left, right)`` for the last axis, then
    ``(top, bottom)`` for the one before, … Negative amounts crop.  dx = the un-padded window of dy.
    """

    def forward(self, x: Any, pad: tuple = (), value: float = 0.0) -> Any:
        xp = get_array_module(x)
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(
                f"pad: needs pairs of amounts for at most {x.ndim} dims, got {tuple(pad)}"
            )
        out_shape = list(x.shape)
        src = [slice(None)] * x.ndim  # window of x that is kept
        dst = [slice(None)] * x.ndim  # where it lands in y
        for i in range(len(pad) // 2):
            axis = x.ndim - 1 - i
            lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
            n = x.shape[axis]
            out_shape[axis] = n + lo + hi
            if out_shape[axis] < 0:
                raise ValueError(f"pad: axis {axis} of size {n} cannot be cropped by {lo + hi}")
            # y[j] = x[j - lo] where 0 <= j - lo < n: x's kept window starts at max(-lo, 0) and
            # holds `kept` elements (none when the crop on one side reaches past the data)
            kept = max(n - max(-lo, 0) - max(-hi, 0), 0)
            src[axis] = slice(max(-lo, 0), max(-lo, 0) + kept)
            dst[axis] = slice(max(lo, 0), max(lo, 0) + kept)
        self.src, self.dst, self.in_shape = tuple(src), tuple(dst), x.shape
        y = xp.full(out_shape, value, dtype=x.dtype)
        y[self.dst] = x[self.src]
        return y

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        dx = xp.zeros(self.in_shape, dtype=dy.dtype)
        dx[self.src] = dy[self.dst]
        return dx


class Flip(Function):
    """y = x reversed along ``axes``;  dx = dy reversed along the same axes."""

    def forward(self, x: Any, axes: tuple = ()) -> Any:
        self.axes = axes
        return get_array_module(x).flip(x, axis=axes)

    def backward(self, dy: Any) -> Any:
        return get_array_module(dy).flip(dy, axis=self.axes)
