"""The tensor ops as functions: ``rosenblatt.exp(x)``, ``rosenblatt.matmul(a, b)``, …

Each wrapper names the op's ``Function`` (whose docstring holds the forward and backward
formulas) or composes primitives, in which case it needs no backward of its own. Arguments
follow PyTorch: ``dim``/``keepdim`` for reductions, ``F.pad``'s order for padding.
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from .ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Sqrt,
    Sub,
    ToDevice,
    Where,
)
from .ops.index import Gather, GetItem, index_arrays
from .ops.linalg import MatMul
from .ops.reduce import AMax, AMin, LogSumExp, Mean, Std, Sum, normalize_axis
from .ops.shape import Concatenate, Expand, Flip, Pad, Permute, Reshape, Stack
from .tensor import Tensor

TensorLike = Any  # a Tensor, an array or a Python number

# ------------------------------------------------------------------ elementwise


def add(a: TensorLike, b: TensorLike) -> Tensor:
    """a + b (broadcasting)."""
    return Add.apply(a, b)


def sub(a: TensorLike, b: TensorLike) -> Tensor:
    """a − b (broadcasting)."""
    return Sub.apply(a, b)


def mul(a: TensorLike, b: TensorLike) -> Tensor:
    """a · b elementwise (broadcasting)."""
    return Mul.apply(a, b)


def div(a: TensorLike, b: TensorLike) -> Tensor:
    """a / b elementwise (broadcasting)."""
    return Div.apply(a, b)


def neg(x: Tensor) -> Tensor:
    """−x."""
    return Neg.apply(x)


def pow(a: TensorLike, b: TensorLike) -> Tensor:
    """aᵇ elementwise; either may be a number."""
    return Pow.apply(a, b)


def exp(x: Tensor) -> Tensor:
    """eˣ."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm ln x."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """√x."""
    return Sqrt.apply(x)


def abs(x: Tensor) -> Tensor:
    """|x|."""
    return Abs.apply(x)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """min(max(x, min), max); either bound may be None. Also called ``clamp``."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, lo=_scalar(min), hi=_scalar(max))


clamp = clip


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise max(a, b); ties split the gradient evenly."""
    return Maximum.apply(a, b)


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise min(a, b); ties split the gradient evenly."""
    return Minimum.apply(a, b)


def where(condition: TensorLike, a: TensorLike, b: TensorLike) -> Tensor:
    """a where ``condition`` is true, else b (all three broadcast)."""
    if isinstance(condition, Tensor):
        cond = condition.data
    else:  # a NumPy/CuPy array stays where it is; lists and bools become NumPy arrays
        cond = condition if hasattr(condition, "shape") else np.asarray(condition)
    return Where.apply(cond, a, b)


def cast(x: Tensor, dtype: Any) -> Tensor:
    """x converted to ``dtype`` (differentiable)."""
    return Cast.apply(x, dtype=np.dtype(dtype))


def to_device(x: Tensor, device: str) -> Tensor:
    """x copied to ``device`` ("cpu" or "cuda"), differentiable."""
    return ToDevice.apply(x, device=device)


def _compare(a: TensorLike, b: TensorLike, op: Any) -> Tensor:
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    return Tensor._wrap(op(a, b))


def lt(a: TensorLike, b: TensorLike) -> Tensor:
    """a < b as a bool tensor (no gradient)."""
    return _compare(a, b, np.less)


def le(a: TensorLike, b: TensorLike) -> Tensor:
    """a ≤ b as a bool tensor (no gradient)."""
    return _compare(a, b, np.less_equal)


def gt(a: TensorLike, b: TensorLike) -> Tensor:
    """a > b as a bool tensor (no gradient)."""
    return _compare(a, b, np.greater)


def ge(a: TensorLike, b: TensorLike) -> Tensor:
    """a ≥ b as a bool tensor (no gradient)."""
    return _compare(a, b, np.greater_equal)


def eq(a: TensorLike, b: TensorLike) -> Tensor:
    """a = b as a bool tensor (no gradient)."""
    return _compare(a, b, np.equal)


def ne(a: TensorLike, b: TensorLike) -> Tensor:
    """a ≠ b as a bool tensor (no gradient)."""
    return _compare(a, b, np.not_equal)


# ------------------------------------------------------------------ matmul


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """a @ b: matrix product over the last two axes, batch axes broadcast (NumPy's rules)."""
    return MatMul.apply(a, b)


# ------------------------------------------------------------------ reductions

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Σ over ``dim`` (all dims when None)."""
    return Sum.apply(x, axis=dim, keepdims=keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Arithmetic mean over ``dim``."""
    return Mean.apply(x, axis=dim, keepdims=keepdim)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (one or several dims); ties share the gradient evenly."""
    return AMax.apply(x, axis=dim, keepdims=keepdim)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; ties share the gradient evenly."""
    return AMin.apply(x, axis=dim, keepdims=keepdim)


def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """As ``torch.max``: the overall maximum when ``dim`` is None, else ``(values, indices)``
    along ``dim``, the gradient going to the returned index."""
    if dim is None:
        return amax(x)
    if x.ndim == 0:  # dim is 0 or −1; the value itself, at index 0
        return MaxResult(amax(x, dim), argmax(x, dim))
    indices = argmax(x, dim, keepdim=True)
    values = gather(x, dim, indices)
    if not keepdim:
        values, indices = squeeze(values, dim), squeeze(indices, dim)
    return MaxResult(values, indices)


def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """As ``torch.min``: the overall minimum, or ``(values, indices)`` along ``dim``."""
    if dim is None:
        return amin(x)
    if x.ndim == 0:  # dim is 0 or −1; the value itself, at index 0
        return MaxResult(amin(x, dim), argmin(x, dim))
    indices = argmin(x, dim, keepdim=True)
    values = gather(x, dim, indices)
    if not keepdim:
        values, indices = squeeze(values, dim), squeeze(indices, dim)
    return MaxResult(values, indices)


def var(x: Tensor, dim: Any = None, keepdim: bool = False, *, correction: int = 1) -> Tensor:
    """Variance Σ(x − x̄)² / (n − correction); correction=1 is the unbiased estimate (PyTorch's
    default), 0 the population variance. Composed from primitives."""
    axes = normalize_axis(dim, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    centred = x - mean(x, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim) / builtins.max(n - correction, 0)


def std(x: Tensor, dim: Any = None, keepdim: bool = False, *, correction: int = 1) -> Tensor:
    """Standard deviation √var (its gradient is 0 where it is 0, as in PyTorch)."""
    return Std.apply(x, axis=dim, keepdims=keepdim, correction=correction)


def logsumexp(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """ln Σ exp(x) over ``dim``, computed stably."""
    return LogSumExp.apply(x, axis=dim, keepdims=keepdim)


def argmax(x: TensorLike, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (over the flattened tensor when ``dim`` is None); int64, no grad."""
    return _arg_reduce(x, dim, keepdim, "argmax")


def argmin(x: TensorLike, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum; int64, no grad."""
    return _arg_reduce(x, dim, keepdim, "argmin")


def _arg_reduce(x: TensorLike, dim: int | None, keepdim: bool, name: str) -> Tensor:
    data = x.data if isinstance(x, Tensor) else x
    if data.ndim == 0:  # as in PyTorch, dim may be 0 or −1, and the only index is 0
        normalize_axis(dim, 0)
        return Tensor._wrap(getattr(data.reshape(1), name)().astype(np.int64))
    return Tensor._wrap(getattr(data, name)(axis=dim, keepdims=keepdim).astype(np.int64))


# ------------------------------------------------------------------ shape


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    """The same elements in a new shape (one entry may be −1)."""
    return Reshape.apply(x, shape=tuple(shape))


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    """Reorder the axes: output axis i is input axis dims[i]."""
    return Permute.apply(x, dims=tuple(dims))


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes."""
    order = list(range(x.ndim))
    order[dim0], order[dim1] = order[dim1], order[dim0]
    return permute(x, order)


def expand(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Broadcast x to ``shape`` without copying (−1 keeps a dim)."""
    return Expand.apply(x, shape=tuple(shape))


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or those in ``dim``; others in ``dim`` are left alone)."""
    axes = normalize_axis(dim, x.ndim)
    return reshape(x, [n for i, n in enumerate(x.shape) if not (i in axes and n == 1)])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (−1 appends)."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {x.ndim} dims")
    dim = dim % (x.ndim + 1)
    shape = list(x.shape)
    shape.insert(dim, 1)
    return reshape(x, shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim…end_dim into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    for d in (start_dim, end_dim):
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"flatten: dim {d} out of range for a tensor with {x.ndim} dims")
    start, end = start_dim % x.ndim, end_dim % x.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:start] + (_prod(x.shape[start : end + 1]),) + x.shape[end + 1 :])


def cat(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim. Also called ``concatenate``."""
    if len(tensors) == 0:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return Concatenate.apply(*tensors, axis=dim)


concatenate = cat


def stack(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    if len(tensors) == 0:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return Stack.apply(*tensors, axis=dim)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> list[Tensor]:
    """As ``torch.split``: chunks of ``split_size`` along ``dim`` (the last may be smaller), or
    chunks of the given sizes (which must add up to the dim's length)."""
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.any(size < 0 for size in sizes):
            raise ValueError(f"split: sections {sizes} must not be negative")
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to dim {dim}'s size {n}")
    out, start = [], 0
    lead = (slice(None),) * (dim % x.ndim)
    for size in sizes:
        out.append(getitem(x, lead + (slice(start, start + size),)))
        start += size
    return out


def pad(x: Tensor, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding as ``torch.nn.functional.pad``: (left, right) for the last dim first;
    negative amounts crop."""
    return Pad.apply(x, pad=tuple(pad), value=value)


def flip(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    axes = (dims,) if isinstance(dims, int) else tuple(dims)
    return Flip.apply(x, axes=axes)


# ------------------------------------------------------------------ indexing


def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index]: ints, slices, None, Ellipsis, integer arrays and boolean masks (Tensors or
    arrays). Repeated integer indices accumulate their gradients."""
    return GetItem.apply(x, index=index_arrays(index))


def gather(x: Tensor, dim: int, index: TensorLike) -> Tensor:
    """``torch.gather``: out[i][j] = x[i][index[i][j]] for dim = 1 (and likewise for others)."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    return Gather.apply(x, index=idx, dim=dim)


# ------------------------------------------------------------------ helpers

def _scalar(v: Any) -> Any:
    """NumPy scalars act as Python numbers (they must not promote float32 to float64)."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def _prod(shape: Sequence[int]) -> int:
    out = 1
    for n in shape:
        out *= n
    return out
