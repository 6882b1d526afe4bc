"""Reverse-mode automatic differentiation: grad mode, the ``Function`` base and the backward walk.

The graph is built while the forward pass runs (define-by-run). Every op is a ``Function``: its
``forward`` computes the output array from input arrays, and its ``backward`` turns ``dy``, the
gradient of the loss with respect to the output, into one gradient per input (the chain rule,
``dx = dy · ∂y/∂x``). Everything that is the same for every op lives here, once:

* **un-broadcasting**: an op may return ``dx`` with the broadcast shape of its output; the walk
  sums it back to the input's shape (summing over the axes that broadcasting added or stretched);
* **accumulation**: when a tensor feeds several ops, the gradients from each are added;
* **the topological walk**: iterative (no recursion), so a 100,000-op chain backpropagates;
* **freeing the graph**: after a backward pass each node drops its saved arrays and its links,
  unless ``retain_graph=True``; a second pass through a freed node raises a clear error.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as _np

if TYPE_CHECKING:
    from .tensor import Tensor

# ----------------------------------------------------------------------------------------------
# grad mode
# ----------------------------------------------------------------------------------------------

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether ops record the graph (True unless inside ``no_grad``)."""
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that switches graph recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = _grad_enabled

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


class no_grad(set_grad_enabled):
    """Ops inside ``with no_grad():`` build no graph (inference, optimiser steps)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Switch graph recording back on inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)


# ----------------------------------------------------------------------------------------------
# Function: one node of the graph
# ----------------------------------------------------------------------------------------------

_FREED = object()


class Function:
    """Base class of every differentiable op.

    A subclass writes ``forward(self, *arrays, **options) -> array`` and, right below it,
    ``backward(self, dy) -> dx`` (one array, or a tuple with one entry per input; ``None`` for an
    input that needs no gradient). Arrays that backward needs are kept with
    ``self.save_for_backward(...)`` and read back from ``self.saved_tensors``; plain options
    (an axis, a slope) may be kept as attributes. ``dx`` may have the broadcast shape of ``y``:
    the walk reduces it to the input's shape.

    Call an op with ``MyOp.apply(*inputs, **options)``; inputs may be Tensors or constants.

    **Recomputed inputs.** An op whose output is cheap to recompute from arrays it keeps for its
    own backward anyway (batch norm fused with ReLU keeps x̂, and y = max(γx̂ + β, 0)) sets
    ``self.recomputable = True`` in forward and defines ``recompute_output()``. An op that needs
    an input for backward keeps ``self.keep_input(i, array)`` instead of the array and reads it
    back with ``self.kept(...)``: when input i came from a recomputable op, what is kept is that
    op, and the input's array is freed after the forward pass. Otherwise the array is kept, and
    the op that made it hears so (``output_kept``): one that saved something derivable from its
    output may keep the shared output instead (ReLU drops its mask: it is y > 0).
    """

    __slots__ = ("parents", "out_shape", "out_dtype", "_saved", "retained", "__dict__")

    recomputable = False  # set True (per instance, in forward) by ops with recompute_output()

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep ``arrays`` for backward; they are dropped when the graph is freed."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is _FREED:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time, "
                "but its saved arrays were freed after the first backward. Pass "
                "retain_graph=True to the first .backward() to keep them."
            )
        return saved

    def keep_input(self, i: int, array: Any) -> Any:
        """What backward should keep of input ``i`` (whose array is ``array``): the op that made
        it when that op can recompute it (``recomputable``), else the array itself."""
        node = self.recomputable_input(i)
        if node is not None:
            return node
        if isinstance(self.parents[i], Function):
            self.parents[i].output_kept(array)
        return array

    def recomputable_input(self, i: int) -> Function | None:
        """The op that made input ``i`` when it can recompute it (``recomputable``), else None."""
        node = self.parents[i]
        return node if getattr(node, "recomputable", False) else None

    def output_kept(self, array: Any) -> None:
        """Hears from a later op's ``keep_input`` that this op's output ``array`` is kept for
        backward anyway; an op that can rebuild what it saved from it may keep it instead."""

    @staticmethod
    def kept(item: Any) -> Any:
        """The array behind what ``keep_input`` returned: recomputed now, or as it was kept."""
        return item.recompute_output() if isinstance(item, Function) else item

    def recompute_output(self) -> Any:  # pragma: no cover - abstract
        """The output array of forward again, from what this op saved (``recomputable`` ops)."""
        raise NotImplementedError

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """One flag per input: does that input want a gradient?"""
        return tuple(p is not None for p in self.parents)

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dy: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and, when grad mode is on and some input
        requires grad, link the output into the graph."""
        fn = cls()
        fn._saved = ()
        fn.retained = None
        args = []
        parents = []
        record = False
        device = None
        for x in inputs:  # one pass: the arrays for forward and the graph links for backward
            if isinstance(x, Tensor):
                args.append(x.data)
                if x.requires_grad:
                    record = True
                    node = x._node
                    parents.append(x if node is None else node)
                else:
                    parents.append(None)
                if _multi_device:
                    device = _check_device(cls, x, device)
            else:
                if isinstance(x, _np.generic):  # NumPy scalars act as Python numbers: they must
                    x = x.item()  # not promote float32 to float64
                args.append(x)
                parents.append(None)
        fn.parents = tuple(parents)  # forward may read them (``keep_input``)
        try:
            out = fn.forward(*args, **kwargs)
        except ValueError as err:
            shapes = ", ".join(str(tuple(a.shape)) for a in args if hasattr(a, "shape"))
            raise ValueError(f"{cls.__name__}: {err} (input shapes: {shapes})") from None
        if isinstance(out, _np.generic):  # NumPy returns scalars from full reductions
            out = _np.asarray(out)
        result = Tensor.__new__(Tensor)
        result.data = out
        result.grad = None
        result._retains_grad = False
        if record and _grad_enabled:
            fn.out_shape = out.shape
            fn.out_dtype = out.dtype
            result.requires_grad = True
            result._node = fn
        else:
            result.requires_grad = False
            result._node = None
        return result


# Set to True by the tensor module once a CUDA tensor exists; until then no device checks run.
_multi_device = False


def _check_device(cls: type, x: Tensor, device: str | None) -> str:
    d = x.device
    if device is not None and d != device:
        raise RuntimeError(
            f"{cls.__name__}: expected all tensors on the same device, but found one on "
            f"{device!r} and one on {d!r}. Move them with .to(device) first."
        )
    return d


# ----------------------------------------------------------------------------------------------
# the backward walk
# ----------------------------------------------------------------------------------------------


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting prepends axes and stretches size-1 axes; the gradient of that copy is the sum
    over the prepended axes and, with ``keepdims``, over the stretched ones.
    """
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != tuple(shape):  # e.g. a zero-size axis broadcast against 1
        grad = grad.reshape(shape)
    return grad


def _accumulate_leaf(leaf: Tensor, grad: Any, handed: set) -> None:
    """Add ``grad`` into ``leaf.grad``. A leaf's .grad is its own array: a view, or an array
    already handed to another leaf or the caller, is copied before it is stored."""
    if leaf.grad is None:
        if not grad.flags.owndata or id(grad) in handed:
            grad = grad.copy()
        handed.add(id(grad))
        leaf.grad = grad
    else:
        leaf.grad += grad


def _fit(grad: Any, shape: tuple, dtype: Any) -> Any:
    if grad.shape != shape:
        grad = unbroadcast(grad, shape)
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def run_backward(root: Tensor, grad: Any, retain_graph: bool = False) -> None:
    """Backpropagate ``grad`` (∂L/∂root) to every leaf that requires grad.

    Kahn's algorithm: count, for every node reachable from the root, how many of its consumers
    still have to send it a gradient; a node runs its backward once that count reaches zero, so it
    sees the sum of all gradients flowing into it. No recursion: the depth of the graph is free.
    """
    handed = {id(grad)}
    root_node = root._node
    if root_node is None:  # the root is itself a leaf
        _accumulate_leaf(root, _fit(grad, root.data.shape, root.data.dtype), handed)
        return

    pending = {id(root_node): 0}
    stack = [root_node]
    while stack:
        node = stack.pop()
        parents = node.parents
        if parents is None:
            raise RuntimeError(
                f"{type(node).__name__}: trying to backward through the graph a second time "
                "(it was freed after the first backward). Pass retain_graph=True to the first "
                ".backward() if you need to backpropagate through it again."
            )
        for p in parents:
            if p is None or isinstance(p, Tensor):
                continue
            key = id(p)
            if key in pending:
                pending[key] += 1
            else:
                pending[key] = 1
                stack.append(p)

    grads = {id(root_node): grad}
    ready = [root_node]
    while ready:
        node = ready.pop()
        dy = grads.pop(id(node), None)
        parents = node.parents
        if dy is not None:
            if node.retained is not None:
                _retain(node, dy)
            dxs = node.backward(dy)
            if type(dxs) is not tuple:
                dxs = (dxs,)
            if len(dxs) != len(parents):
                raise RuntimeError(
                    f"{type(node).__name__}.backward returned {len(dxs)} gradients for "
                    f"{len(parents)} inputs"
                )
        else:  # no gradient reached this node (every consumer sent None)
            dxs = (None,) * len(parents)
        for p, dx in zip(parents, dxs, strict=True):
            if p is None:
                continue
            if isinstance(p, Tensor):
                if dx is not None:
                    _accumulate_leaf(p, _fit(dx, p.data.shape, p.data.dtype), handed)
                continue
            key = id(p)
            if dx is not None:
                dx = _fit(dx, p.out_shape, p.out_dtype)
                prev = grads.get(key)
                grads[key] = dx if prev is None else prev + dx
            left = pending[key] - 1
            pending[key] = left
            if left == 0:
                ready.append(p)
        if not retain_graph:
            node.parents = None
            node._saved = _FREED


def _retain(node: Function, dy: Any) -> None:
    tensor = node.retained()
    if tensor is None:
        return
    tensor.grad = dy.copy() if tensor.grad is None else tensor.grad + dy


def retain(node: Function, tensor: Tensor) -> None:
    """Make ``node`` store the gradient of its output into ``tensor.grad`` (``retain_grad``)."""
    node.retained = weakref.ref(tensor)


from .tensor import Tensor  # noqa: E402  (the Tensor class needs Function; imported last)
