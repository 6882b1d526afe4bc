"""Symbolic tensors for the Functional API: ``Input(shape)``, layers called on them, ``Model``.

``Input((4,))`` stands for a batch of data that does not exist yet: a ``SymbolicTensor`` of
shape ``(None, 4)`` (the batch size is unknown). Calling any Module on symbolic tensors
(``Module.__call__`` routes here) records a ``Node`` — the layer, its input tensors, its output
tensors — and returns new symbolic tensors. Their shapes come from running the layer once on a
dummy batch (zeros, batch size 2) in eval mode under ``no_grad``; every module's training flag is
restored afterwards, so the probe leaves no trace (no running statistics, no graph). ``Model``
(in ``model.py``) then finds the nodes between its inputs and outputs and replays them.

Python operators on symbolic tensors build merge-layer nodes: ``a + b`` is ``Add()(a, b)``,
``a - b`` ``Subtract()``, ``a * b`` ``Multiply()``, ``a @ b`` ``MatMul()``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor

if TYPE_CHECKING:
    from .module import Module

_node_order = itertools.count()  # creation order of nodes: always a topological order
_input_names: set[str] = set()  # names handed out to Inputs so far (auto names skip them)

PROBE_BATCH = 2  # batch size of the dummy batch a layer runs on to infer its output shape


class SymbolicTensor:
    """A placeholder for data that will flow through a Functional model.

    ``shape`` has ``None`` for the batch dim (and for any dim whose size is left open),
    ``dtype`` is a NumPy dtype, ``node`` the ``Node`` that produced it (``None`` for an
    ``Input``) and ``index`` which of that node's outputs it is.
    """

    __slots__ = ("shape", "dtype", "name", "node", "index")

    def __init__(self, shape: tuple[int | None, ...], dtype: Any, name: str,
                 node: Node | None = None, index: int = 0) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_input(self) -> bool:
        """True for a tensor made by ``Input`` (no layer produced it)."""
        return self.node is None

    def __repr__(self) -> str:
        return f"<SymbolicTensor {self.name!r} shape={self.shape} dtype={self.dtype}>"

    # ------------------------------------------------------------------ operators → merge layers
    def __add__(self, other: Any) -> SymbolicTensor:
        return _merge("Add", "+", self, other)

    def __sub__(self, other: Any) -> SymbolicTensor:
        return _merge("Subtract", "-", self, other)

    def __mul__(self, other: Any) -> SymbolicTensor:
        return _merge("Multiply", "*", self, other)

    def __matmul__(self, other: Any) -> SymbolicTensor:
        return _merge("MatMul", "@", self, other)

    def __radd__(self, other: Any) -> SymbolicTensor:
        return _merge("Add", "+", other, self)

    def __rsub__(self, other: Any) -> SymbolicTensor:
        return _merge("Subtract", "-", other, self)

    def __rmul__(self, other: Any) -> SymbolicTensor:
        return _merge("Multiply", "*", other, self)

    def __rmatmul__(self, other: Any) -> SymbolicTensor:
        return _merge("MatMul", "@", other, self)

    def __bool__(self) -> bool:
        raise TypeError(
            "a SymbolicTensor has no value yet: it cannot be used in `if` or `and`/`or`; "
            "build the model, then call it on data"
        )


def _merge(layer_name: str, symbol: str, a: Any, b: Any) -> SymbolicTensor:
    if not (isinstance(a, SymbolicTensor) and isinstance(b, SymbolicTensor)):
        other = b if isinstance(a, SymbolicTensor) else a
        raise TypeError(
            f"unsupported operand for {symbol} on a SymbolicTensor: {type(other).__name__}. "
            f"Both sides must be symbolic tensors (they become a {layer_name}() layer); "
            "wrap constants in a layer"
        )
    from . import model  # the merge layers are Modules: model.py, imported late (no cycle)

    return getattr(model, layer_name)()(a, b)


class Node:
    """One call of ``layer`` on symbolic tensors: ``outputs = layer(inputs)``.

    ``call_style`` says how the inputs were passed: ``"args"`` (``layer(a, b)``), ``"list"``
    (``layer([a, b])``) or ``"tuple"``; ``kwargs`` are the constant keyword arguments;
    ``single_output`` whether the layer returned one tensor (else a list or tuple of them).
    ``order`` is the creation counter: a node is always created after the nodes it depends on.
    """

    __slots__ = ("layer", "inputs", "outputs", "call_style", "kwargs", "single_output", "order")

    def __init__(self, layer: Module, inputs: list[SymbolicTensor], call_style: str,
                 kwargs: dict[str, Any]) -> None:
        self.layer = layer
        self.inputs = inputs
        self.outputs: list[SymbolicTensor] = []
        self.call_style = call_style
        self.kwargs = kwargs
        self.single_output = True
        self.order = next(_node_order)

    def call(self, values: Sequence[Any]) -> Any:
        """Call the layer on real values, passed the way the symbolic call passed them."""
        if self.call_style == "list":
            return self.layer(list(values), **self.kwargs)
        if self.call_style == "tuple":
            return self.layer(tuple(values), **self.kwargs)
        return self.layer(*values, **self.kwargs)

    def run(self, values: Sequence[Any]) -> list[Any]:
        """The layer's outputs on real values, as a list (one entry per symbolic output)."""
        out = self.call(values)
        if self.single_output:
            return [out]
        out = list(out)
        if len(out) != len(self.outputs):
            raise RuntimeError(
                f"{type(self.layer).__name__} returned {len(out)} outputs, but "
                f"{len(self.outputs)} when the model was built"
            )
        return out


def Input(shape: int | Sequence[int | None], dtype: Any = "float32",
          name: str | None = None) -> SymbolicTensor:
    """The entry point of a Functional model: a symbolic batch of shape ``(None, *shape)``.

    ``shape`` excludes the batch dim; an entry may be ``None`` for a size that varies (a
    sequence length). ``dtype`` is the dtype of the data the model will receive. ``name``
    defaults to ``"input"``, ``"input_1"``, … (unique in the process), and names the Input in
    error messages and in ``get_config()``.
    """
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if d is not None and (not isinstance(d, (int, np.integer)) or d < 0):
            raise ValueError(
                f"Input: shape entries must be non-negative ints or None, got shape {shape!r}"
            )
    if name is None:
        name = "input"
        k = 0
        while name in _input_names:
            k += 1
            name = f"input_{k}"
    elif not isinstance(name, str) or not name:
        raise ValueError(f"Input: name must be a non-empty string, got {name!r}")
    _input_names.add(name)
    return SymbolicTensor((None,) + tuple(None if d is None else int(d) for d in dims),
                          dtype, name)


def is_symbolic_call(args: Sequence[Any]) -> bool:
    """Whether a call's positional arguments are symbolic: ``f(a, …)`` or ``f([a, …])`` with
    ``a`` a SymbolicTensor."""
    if not args:
        return False
    first = args[0]
    if isinstance(first, SymbolicTensor):
        return True
    return isinstance(first, (list, tuple)) and len(first) > 0 \
        and isinstance(first[0], SymbolicTensor)


def call_symbolic(layer: Module, *args: Any, **kwargs: Any) -> Any:
    """Record ``layer(*args, **kwargs)`` on symbolic tensors as a ``Node`` and return its
    symbolic outputs (one SymbolicTensor, or a list/tuple as the layer returns).

    The inputs are symbolic tensors passed positionally (``layer(a, b)``) or as one list or
    tuple (``layer([a, b])``); keyword arguments must be constants.
    """
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        style = "list" if isinstance(args[0], list) else "tuple"
        inputs = list(args[0])
    else:
        style = "args"
        inputs = list(args)
    if not inputs or not all(isinstance(t, SymbolicTensor) for t in inputs):
        kinds = ", ".join(type(t).__name__ for t in inputs) or "nothing"
        raise TypeError(
            f"{type(layer).__name__}: a symbolic call takes SymbolicTensors only, passed as "
            f"positional arguments or as one list (got {kinds}); pass constants to the layer's "
            "constructor instead"
        )
    for key, value in kwargs.items():
        if _has_symbolic(value):
            raise TypeError(
                f"{type(layer).__name__}: symbolic tensors must be positional arguments, "
                f"got one as keyword {key!r}"
            )
    node = Node(layer, inputs, style, dict(kwargs))
    shapes, dtypes, single, container = _infer(node)
    base = snake_case(type(layer).__name__)
    node.single_output = single
    node.outputs = [
        SymbolicTensor(s, dt, f"{base}:{node.order}" + ("" if single else f"/{i}"), node, i)
        for i, (s, dt) in enumerate(zip(shapes, dtypes, strict=True))
    ]
    if single:
        return node.outputs[0]
    return container(node.outputs)


# ---------------------------------------------------------------------------------------------
# shape inference by probing
# ---------------------------------------------------------------------------------------------


@contextmanager
def probing(module: Module) -> Iterator[None]:
    """Eval mode and ``no_grad`` for a dummy forward; every sub-module's training flag is
    restored afterwards, even when the forward raises."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with no_grad():
            yield
    finally:
        for m, flag in flags:
            object.__setattr__(m, "training", flag)


def dummy(shape: Sequence[int | None], dtype: Any, batch: int, fill: int,
          device: str = "cpu") -> Tensor:
    """Zeros of ``shape`` with the batch dim set to ``batch`` and other open dims to ``fill``."""
    dims = tuple(batch if i == 0 else (fill if d is None else d) for i, d in enumerate(shape))
    return Tensor(np.zeros(dims, dtype=np.dtype(dtype)), device=device)


def module_device(layer: Module) -> str:
    """The device of a module's first parameter (or buffer); "cpu" when it has none."""
    for t in layer.parameters():
        return t.device
    for t in layer.buffers():
        return t.device
    return "cpu"


def _probe(node: Node, batch: int) -> Any:
    device = module_device(node.layer)
    values = [dummy(t.shape, t.dtype, batch, batch, device) for t in node.inputs]
    layer = node.layer
    try:
        with probing(layer), np.errstate(all="ignore"):
            return node.call(values)
    except Exception as err:
        shapes = ", ".join(str(t.shape) for t in node.inputs)
        msg = (f"calling {type(layer).__name__} on symbolic input(s) of shape {shapes} "
               f"failed: {err}")
        try:
            new = type(err)(msg)
        except Exception:
            raise err from None
        raise new from err


def _infer(node: Node) -> tuple[list[tuple], list[Any], bool, type]:
    """Output shapes and dtypes of ``node`` from one dummy forward (two when some input dim
    other than the batch is open: the dims that change between the two become ``None``)."""
    variable = any(d is None for t in node.inputs for d in t.shape[1:])
    first = _as_outputs(node, _probe(node, PROBE_BATCH))
    single, container, outs = first
    if variable:
        _, _, outs2 = _as_outputs(node, _probe(node, PROBE_BATCH + 1))
        shapes = []
        for a, b in zip(outs, outs2, strict=True):
            if a.ndim != b.ndim:
                raise ValueError(
                    f"{type(node.layer).__name__}: the output rank depends on the input size "
                    f"({a.shape} vs {b.shape}); give the Input a fixed shape"
                )
            dims = zip(a.shape, b.shape, strict=True)
            shapes.append(tuple(None if m != n else m for m, n in dims))
    else:
        shapes = [(None,) + o.shape[1:] if o.ndim and o.shape[0] == PROBE_BATCH else o.shape
                  for o in outs]
    return shapes, [o.dtype for o in outs], single, container


def _as_outputs(node: Node, out: Any) -> tuple[bool, type, list[Tensor]]:
    if isinstance(out, Tensor):
        return True, list, [out]
    if isinstance(out, (list, tuple)) and out and all(isinstance(o, Tensor) for o in out):
        return False, (list if isinstance(out, list) else tuple), list(out)
    raise TypeError(
        f"{type(node.layer).__name__}: a layer used in the Functional API must return a Tensor "
        f"or a list/tuple of Tensors, got {type(out).__name__}"
    )


def _has_symbolic(value: Any) -> bool:
    if isinstance(value, SymbolicTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, SymbolicTensor) for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, SymbolicTensor) for v in value.values())
    return False


def snake_case(name: str) -> str:
    """Keras' layer naming: ``"Linear"`` → ``"linear"``, ``"BatchNorm1d"`` →
    ``"batch_norm1d"``, ``"Conv2D"`` → ``"conv2d"``, ``"ReLU"`` → ``"re_lu"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower().lstrip("_") or "layer"
