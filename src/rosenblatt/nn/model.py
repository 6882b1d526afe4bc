"""The Functional API (Keras style): ``Model(inputs, outputs)`` and the merge layers.

    x = nn.Input((4,))
    h = nn.Linear(4, 8)(x)
    y = nn.Linear(8, 4)(h) + x             # a skip connection: an Add() node
    model = nn.Model(x, y)                 # a Module: parameters(), state_dict(), train() …
    out = model(rb.randn(16, 4))

``Model`` finds the layer calls (nodes) between its inputs and outputs, registers each distinct
layer once as a child (so a shared layer shares its parameters), named as Keras does
(``"linear"``, ``"linear_1"``, … or the layer's ``name`` attribute when it has one), and its
``forward`` replays the nodes in topological order — a loop, no recursion. ``get_config()`` /
``from_config()`` store and rebuild the architecture (see ``serialization.py`` for JSON).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

from .. import functional as F
from ..tensor import Tensor
from . import symbolic
from .module import Module
from .serialization import layer_from_config, lookup, model_from_json, model_to_json, replay
from .summary import ModelSummary, summary
from .symbolic import Input, Node, SymbolicTensor

__all__ = [
    "Input",
    "SymbolicTensor",
    "Model",
    "Functional",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Concatenate",
    "MatMul",
    "summary",
    "ModelSummary",
    "model_to_json",
    "model_from_json",
]


# ---------------------------------------------------------------------------------------------
# merge layers
# ---------------------------------------------------------------------------------------------


class _Merge(Module):
    """Base of the merge layers: called on several tensors, ``layer(a, b, …)`` or
    ``layer([a, b, …])``, real or symbolic."""

    min_inputs = 1
    max_inputs: int | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if symbolic.is_symbolic_call(args):
            return symbolic.call_symbolic(self, *args, **kwargs)
        return self.forward(*args, **kwargs)

    def forward(self, *xs: Any) -> Tensor:
        if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
            xs = tuple(xs[0])
        n = len(xs)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = str(self.min_inputs) if self.min_inputs == self.max_inputs \
                else f"at least {self.min_inputs}"
            raise ValueError(f"{type(self).__name__} takes {want} inputs, got {n}")
        return self.merge([x if isinstance(x, Tensor) else Tensor(x) for x in xs])

    def merge(self, xs: list[Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class Add(_Merge):
    """y = x₁ + x₂ + … (shapes broadcast). ``a + b`` on symbolic tensors makes one."""

    def merge(self, xs: list[Tensor]) -> Tensor:
        return functools.reduce(operator.add, xs)


class Subtract(_Merge):
    """y = x₁ − x₂ (exactly two inputs). ``a - b`` on symbolic tensors makes one."""

    min_inputs = max_inputs = 2

    def merge(self, xs: list[Tensor]) -> Tensor:
        return xs[0] - xs[1]


class Multiply(_Merge):
    """y = x₁ · x₂ · … elementwise. ``a * b`` on symbolic tensors makes one."""

    def merge(self, xs: list[Tensor]) -> Tensor:
        return functools.reduce(operator.mul, xs)


class Average(_Merge):
    """y = (x₁ + … + xₙ) / n elementwise."""

    def merge(self, xs: list[Tensor]) -> Tensor:
        return functools.reduce(operator.add, xs) / float(len(xs))


class MatMul(_Merge):
    """y = x₁ @ x₂ (matrix product over the last two dims, batch dims broadcast; exactly two
    inputs). ``a @ b`` on symbolic tensors makes one."""

    min_inputs = max_inputs = 2

    def merge(self, xs: list[Tensor]) -> Tensor:
        return F.matmul(xs[0], xs[1])


class Concatenate(_Merge):
    """y = [x₁, x₂, …] joined along ``dim`` (Keras' ``axis``; default the last, the features).
    All other dims must agree."""

    def __init__(self, dim: int = -1, *, axis: int | None = None) -> None:
        super().__init__()
        self.dim = int(dim if axis is None else axis)

    def merge(self, xs: list[Tensor]) -> Tensor:
        return F.cat(xs, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


class Model(Module):
    """A model defined by its symbolic inputs and outputs (Keras' Functional API).

    ``Model(inputs, outputs, name=None)``: ``inputs`` are ``Input`` tensors, ``outputs``
    symbolic tensors computed from them; each may be one tensor or a list. Calling the model
    takes one tensor per input (``model(x)``, ``model(a, b)``, ``model([a, b])`` or a dict by
    Input name) and returns one tensor, or a list when ``outputs`` was a list. Inputs are
    checked against the ``Input`` shapes (``None`` matches any size). A Model is itself a layer:
    call it on symbolic tensors to nest it in a larger model. ``Functional`` is an alias.
    """

    def __init__(self, inputs: SymbolicTensor | Sequence[SymbolicTensor],
                 outputs: SymbolicTensor | Sequence[SymbolicTensor],
                 name: str | None = None) -> None:
        super().__init__()
        in_list, single_in = _as_list(inputs, "inputs")
        out_list, single_out = _as_list(outputs, "outputs")
        for t in in_list:
            if not t.is_input:
                raise ValueError(
                    f"Model: inputs must be made by Input(), but {t.name!r} is the output of a "
                    f"{type(t.node.layer).__name__} layer"
                )
        names = [t.name for t in in_list]
        if len({id(t) for t in in_list}) != len(in_list) or len(set(names)) != len(names):
            raise ValueError(f"Model: the inputs must be distinct Inputs with distinct names, "
                             f"got {names}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Model: name must be a string or None, got {name!r}")
        self.name = name
        self.inputs = in_list
        self.outputs = out_list
        self._single_input = single_in
        self._single_output = single_out
        self._nodes = _collect_nodes(in_list, out_list, self._label())
        self._layer_names = self._register_layers()

    # ------------------------------------------------------------------ graph
    def _register_layers(self) -> dict[int, str]:
        """Add each distinct layer as a child, in the order of its first call."""
        layers: list[Module] = []
        seen: set[int] = set()
        for node in self._nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        taken = {t.name for t in self.inputs}
        names: dict[int, str] = {}
        for layer in layers:
            given = getattr(layer, "name", None)
            if isinstance(given, str) and given:
                if given in taken:
                    raise ValueError(
                        f"{self._label()}: the name {given!r} is used twice (by two layers, or "
                        "by a layer and an Input); names in a model must be unique"
                    )
                if not self._usable(given):
                    raise ValueError(
                        f"{self._label()}: a layer cannot be named {given!r}: it contains '.' or "
                        "is an attribute of Model"
                    )
                taken.add(given)
                names[id(layer)] = given
        counters: dict[str, int] = {}
        for layer in layers:
            if id(layer) in names:
                continue
            base = symbolic.snake_case(type(layer).__name__)
            k = counters.get(base, 0)
            candidate = base if k == 0 else f"{base}_{k}"
            while candidate in taken or not self._usable(candidate):
                k += 1
                candidate = f"{base}_{k}"
            counters[base] = k + 1
            taken.add(candidate)
            names[id(layer)] = candidate
        for layer in layers:
            self.add_module(names[id(layer)], layer)
        return names

    def _usable(self, name: str) -> bool:
        return "." not in name and not hasattr(self, name)

    def _label(self) -> str:
        return f"Model {self.name!r}" if self.__dict__.get("name") else "Model"

    @property
    def layers(self) -> list[Module]:
        """The distinct layers, in the order of their first call."""
        return list(self.children())

    def get_layer(self, name: str) -> Module:
        """The layer registered under ``name``."""
        layer = self._modules.get(name)
        if layer is None:
            raise KeyError(f"{self._label()} has no layer {name!r}; it has {list(self._modules)}")
        return layer

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if symbolic.is_symbolic_call(args):
            return symbolic.call_symbolic(self, *args, **kwargs)
        return self.forward(*args, **kwargs)

    def forward(self, *xs: Any) -> Any:
        xs = self._arrange(xs)
        values: dict[int, Any] = {}
        for spec, x in zip(self.inputs, xs, strict=True):
            x = x if isinstance(x, Tensor) else Tensor(x)
            self._check_input(spec, x)
            values[id(spec)] = x
        for node in self._nodes:
            outs = node.run([values[id(t)] for t in node.inputs])
            for t, v in zip(node.outputs, outs, strict=True):
                values[id(t)] = v
        results = [values[id(t)] for t in self.outputs]
        return results[0] if self._single_output else results

    def _arrange(self, xs: tuple) -> tuple:
        n = len(self.inputs)
        if len(xs) == 1 and isinstance(xs[0], dict):
            given = xs[0]
            missing = [t.name for t in self.inputs if t.name not in given]
            extra = [k for k in given if k not in {t.name for t in self.inputs}]
            if missing or extra:
                raise ValueError(f"{self._label()}: inputs by name: missing {missing}, "
                                 f"unexpected {extra}")
            return tuple(given[t.name] for t in self.inputs)
        if len(xs) == 1 and isinstance(xs[0], (list, tuple)) and len(xs[0]) == n \
                and (n > 1 or isinstance(xs[0][0], Tensor)):
            xs = tuple(xs[0])
        if len(xs) != n:
            names = [t.name for t in self.inputs]
            raise ValueError(f"{self._label()} expects {n} input(s) {names}, got {len(xs)}")
        return xs

    def _check_input(self, spec: SymbolicTensor, x: Tensor) -> None:
        ok = x.ndim == spec.ndim and all(
            d is None or d == n for d, n in zip(spec.shape, x.shape, strict=True))
        if not ok:
            raise ValueError(
                f"{self._label()}: input {spec.name!r} expected shape {spec.shape}, "
                f"but received an input of shape {x.shape}"
            )

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The architecture as JSON-compatible data: the inputs (name, shape without the batch
        dim, dtype), each layer once (class name, child name, ``get_config()`` and its inbound
        nodes — for each call, the tensors it took as ``[layer name, node index, tensor
        index]``, an Input being ``[input name, 0, 0]``) and the outputs, likewise."""
        node_index: dict[int, int] = {}
        calls: dict[int, int] = {}
        for node in self._nodes:
            k = calls.get(id(node.layer), 0)
            node_index[id(node)] = k
            calls[id(node.layer)] = k + 1

        def ref(t: SymbolicTensor) -> list[Any]:
            if t.node is None:
                return [t.name, 0, 0]
            return [self._layer_names[id(t.node.layer)], node_index[id(t.node)], t.index]

        entries: dict[int, dict[str, Any]] = {}
        for node in self._nodes:
            layer = node.layer
            entry = entries.get(id(layer))
            if entry is None:
                lname = self._layer_names[id(layer)]
                try:
                    config = layer.get_config()
                except NotImplementedError as err:
                    raise NotImplementedError(
                        f"{self._label()}.get_config(): layer {lname!r} "
                        f"({type(layer).__name__}) does not define get_config(); give it one "
                        "returning its constructor arguments"
                    ) from err
                entry = {"class_name": type(layer).__name__, "name": lname, "config": config,
                         "inbound_nodes": []}
                entries[id(layer)] = entry
            entry["inbound_nodes"].append({"call": node.call_style,
                                           "args": [ref(t) for t in node.inputs],
                                           "kwargs": dict(node.kwargs)})
        return {
            "name": self.name,
            "inputs": [{"name": t.name, "shape": list(t.shape[1:]), "dtype": str(t.dtype)}
                       for t in self.inputs],
            "layers": list(entries.values()),
            "outputs": [ref(t) for t in self.outputs],
            "single_input": self._single_input,
            "single_output": self._single_output,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild the architecture described by ``get_config()`` (fresh weights)."""
        tensors: dict[tuple, SymbolicTensor] = {}
        inputs = []
        for spec in config["inputs"]:
            t = Input(tuple(spec["shape"]), dtype=spec.get("dtype", "float32"),
                      name=spec["name"])
            tensors[(spec["name"], 0, 0)] = t
            inputs.append(t)
        entries = config["layers"]
        layers = []
        for entry in entries:
            layer = layer_from_config(entry)
            if "name" not in entry["config"]:  # a Model keeps its name in its own config
                try:
                    layer.name = entry["name"]
                except AttributeError:  # a read-only ``name``: the automatic name applies
                    pass
            layers.append(layer)
        replay(entries, layers, tensors)
        outputs = [lookup(tensors, ref) for ref in config["outputs"]]
        return cls(inputs[0] if config.get("single_input") else inputs,
                   outputs[0] if config.get("single_output") else outputs,
                   name=config.get("name"))

    # ------------------------------------------------------------------ conveniences
    def summary(self, input_shape: Any = None, **kwargs: Any) -> ModelSummary:
        """``nn.summary(self, …)``: input shapes default to the Inputs'."""
        return summary(self, input_shape, **kwargs)

    def to_json(self, indent: int | None = None) -> str:
        """``nn.model_to_json(self)``."""
        return model_to_json(self, indent=indent)

    def extra_repr(self) -> str:
        return f"name={self.name!r}" if self.name else ""


Functional = Model


def _as_list(value: Any, what: str) -> tuple[list[SymbolicTensor], bool]:
    single = isinstance(value, SymbolicTensor)
    items = [value] if single else list(value) if isinstance(value, (list, tuple)) else None
    if not items or not all(isinstance(t, SymbolicTensor) for t in items):
        raise TypeError(f"Model: {what} must be a SymbolicTensor or a non-empty list of them "
                        f"(made with Input() and layer calls), got {value!r}")
    return items, single


def _collect_nodes(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor],
                   label: str) -> list[Node]:
    """The nodes the outputs depend on, in topological (creation) order; an iterative walk
    back from the outputs that stops at the given inputs."""
    given = {id(t) for t in inputs}
    nodes: dict[int, Node] = {}
    missing: dict[int, SymbolicTensor] = {}
    seen: set[int] = set()
    stack = list(outputs)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if id(t) in given:
            continue
        if t.node is None:
            missing[id(t)] = t
            continue
        if id(t.node) not in nodes:
            nodes[id(t.node)] = t.node
            stack.extend(t.node.inputs)
    if missing:
        found = ", ".join(f"{t.name!r} (shape {t.shape})" for t in missing.values())
        raise ValueError(
            f"{label}: the outputs depend on Input {found}, which is not among the model's "
            f"inputs {[t.name for t in inputs]}; add it to `inputs`"
        )
    return sorted(nodes.values(), key=lambda n: n.order)
