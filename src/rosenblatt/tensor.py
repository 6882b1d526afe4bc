"""``Tensor``: an array of the active backend plus what autograd needs to know about it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import autograd, backend
from .autograd import run_backward

DEFAULT_DTYPE = np.float32
_FLOAT_KINDS = "f"


def _as_array(data: Any, dtype: Any = None, device: str | None = None) -> Any:
    """Turn ``data`` into an array on ``device`` without copying when it can.

    Python floats become float32 (the default dtype), Python ints int64, bools bool; NumPy and
    CuPy arrays keep their dtype unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    dev = backend.normalize_device(device) if device is not None else backend.device_of(data)
    if backend.device_of(data) == "cpu":
        from_python = not isinstance(data, (np.ndarray, np.generic))
        data = np.asarray(data, dtype=dtype)
        if dtype is None and from_python and data.dtype == np.float64:
            data = data.astype(DEFAULT_DTYPE)
    elif dtype is not None:
        data = data.astype(dtype, copy=False)
    return backend.move(data, dev)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``. ``data`` may be a nested list,
    a number, a NumPy/CuPy array or another Tensor. Floats default to float32.

    Attributes: ``data`` (the array), ``grad`` (an array of the same shape, filled by
    ``backward()`` for leaves that require grad), ``requires_grad``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        device: str | None = None,
    ) -> None:
        self.data = _as_array(data, dtype, device)
        self.grad: Any = None
        self._node: autograd.Function | None = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)
        if backend.device_of(self.data) == "cuda":
            autograd._multi_device = True

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (and for every tensor that needs no grad)."""
        return self._node is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        """The op that produced this tensor, or None for a leaf."""
        return self._node

    @property
    def T(self) -> Tensor:
        return F.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    def size(self, dim: int | None = None) -> Any:
        """The shape (PyTorch's ``size()``), or the length of one dimension."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as wanting a gradient (only floating-point tensors can)."""
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "requires_grad_(False) is only allowed on leaf tensors; use .detach() instead"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is ∂L/∂self; it may be omitted only for a one-element tensor (then 1).
        The graph is freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no grad_fn; make sure "
                "some input has requires_grad=True and the graph was built outside no_grad()"
            )
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for scalar outputs, but "
                    f"this tensor has shape {self.shape}; pass grad= of that shape, or reduce "
                    "it first (e.g. .sum() or .mean())"
                )
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad)
            if tuple(grad.shape) != self.shape:
                raise RuntimeError(
                    f"backward(): grad has shape {tuple(grad.shape)} but the tensor has shape "
                    f"{self.shape}"
                )
            grad = grad.astype(self.data.dtype, copy=False)
        with autograd.no_grad():
            run_backward(self, grad, retain_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if self._node is not None and not self._retains_grad:
            autograd.retain(self._node, self)
            self._retains_grad = True

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory)."""
        return Tensor._wrap(self.data)

    def detach_(self) -> Tensor:
        self._node = None
        self.requires_grad = False
        return self

    # ------------------------------------------------------------------ conversion
    @staticmethod
    def _wrap(array: Any) -> Tensor:
        """A leaf around ``array`` with no copy and no checks (internal fast path)."""
        t = Tensor.__new__(Tensor)
        t.data = array
        t.grad = None
        t.requires_grad = False
        t._node = None
        t._retains_grad = False
        return t

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU)."""
        if self.requires_grad:
            raise RuntimeError(
                "can't call numpy() on a tensor that requires grad: use .detach().numpy()"
            )
        return backend.to_numpy(self.data)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors convert, this has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return backend.to_numpy(self.data).tolist()

    def to(self, device_or_dtype: Any = None, dtype: Any = None) -> Tensor:
        """``to("cuda")``, ``to("cpu")``, ``to(np.float64)`` or ``to("cuda", np.float16)``.
        Differentiable; returns ``self`` when nothing changes."""
        out = self
        if isinstance(device_or_dtype, str) and not _is_dtype_name(device_or_dtype):
            dev = backend.normalize_device(device_or_dtype)
            if dev != self.device:
                out = F.to_device(out, dev)
        elif device_or_dtype is not None:
            dtype = device_or_dtype
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = F.cast(out, np.dtype(dtype))
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def astype(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.data), separator=", ", precision=4)
        extras = []
        if self.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device={self.device!r}")
        if self._node is not None:
            extras.append(f"grad_fn=<{type(self._node).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = backend.to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype)

    # ------------------------------------------------------------------ in-place (no graph)
    def _check_inplace(self) -> None:
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(
                "a tensor that requires grad is being modified in place while grad mode is on; "
                "wrap the update in `with rosenblatt.no_grad():`"
            )

    def zero_(self) -> Tensor:
        self._check_inplace()
        self.data[...] = 0
        return self

    def fill_(self, value: float) -> Tensor:
        self._check_inplace()
        self.data[...] = value
        return self

    def copy_(self, src: Any) -> Tensor:
        self._check_inplace()
        self.data[...] = src.data if isinstance(src, Tensor) else src
        return self

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        self._check_inplace()
        o = other.data if isinstance(other, Tensor) else other
        self.data += o if alpha == 1.0 else alpha * o
        return self

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        self._check_inplace()
        self.data *= other.data if isinstance(other, Tensor) else other
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace()
        if self._node is not None and autograd.is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that is part of a graph")
        self.data[F.index_arrays(index)] = value.data if isinstance(value, Tensor) else value

    # ------------------------------------------------------------------ operators
    def __add__(self, o: Any) -> Tensor:
        return F.add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return F.add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return F.sub(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return F.sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return F.mul(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return F.mul(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return F.div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return F.div(o, self)

    def __pow__(self, o: Any) -> Tensor:
        return F.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return F.pow(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return F.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return F.matmul(o, self)

    def __neg__(self) -> Tensor:
        return F.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return F.abs(self)

    def __lt__(self, o: Any) -> Tensor:
        return F.lt(self, o)

    def __le__(self, o: Any) -> Tensor:
        return F.le(self, o)

    def __gt__(self, o: Any) -> Tensor:
        return F.gt(self, o)

    def __ge__(self, o: Any) -> Tensor:
        return F.ge(self, o)

    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]
        return F.eq(self, o)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]
        return F.ne(self, o)

    __hash__ = object.__hash__

    def __getitem__(self, index: Any) -> Tensor:
        return F.getitem(self, index)

    # ------------------------------------------------------------------ methods (see functional)
    def exp(self) -> Tensor:
        return F.exp(self)

    def log(self) -> Tensor:
        return F.log(self)

    def sqrt(self) -> Tensor:
        return F.sqrt(self)

    def abs(self) -> Tensor:
        return F.abs(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return F.clip(self, min, max)

    clamp = clip

    def maximum(self, other: Any) -> Tensor:
        return F.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return F.minimum(self, other)

    def matmul(self, other: Any) -> Tensor:
        return F.matmul(self, other)

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.sum(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.mean(self, dim, keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return F.max(self, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return F.min(self, dim, keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.amin(self, dim, keepdim)

    def var(self, dim: Any = None, keepdim: bool = False, *, correction: int = 1) -> Tensor:
        return F.var(self, dim, keepdim, correction=correction)

    def std(self, dim: Any = None, keepdim: bool = False, *, correction: int = 1) -> Tensor:
        return F.std(self, dim, keepdim, correction=correction)

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.logsumexp(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return F.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return F.argmin(self, dim, keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        return F.reshape(self, _shape_args(shape))

    view = reshape

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        return F.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        return F.permute(self, _shape_args(dims))

    def expand(self, *shape: Any) -> Tensor:
        return F.expand(self, _shape_args(shape))

    def squeeze(self, dim: Any = None) -> Tensor:
        return F.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return F.unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return F.flatten(self, start_dim, end_dim)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> list[Tensor]:
        return F.split(self, split_size_or_sections, dim)

    def gather(self, dim: int, index: Any) -> Tensor:
        return F.gather(self, dim, index)

    def flip(self, dims: Any) -> Tensor:
        return F.flip(self, dims)

    def where(self, condition: Any, other: Any) -> Tensor:
        return F.where(condition, self, other)


def _shape_args(args: tuple) -> tuple:
    """Accept both ``reshape(2, 3)`` and ``reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], Sequence):
        return tuple(args[0])
    return tuple(args)


def _is_dtype_name(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


from . import functional as F  # noqa: E402  (functional needs Tensor; imported last)
