"""``Module``: the base class of every layer and model, with PyTorch's registration, traversal
and ``state_dict`` semantics."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from . import symbolic
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

# Every Module subclass by class name, so ``from_config`` can rebuild a layer from JSON.
REGISTRY: dict[str, type[Module]] = {}


class Module:
    """Base class of layers and models.

    Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; buffers (tensors that
    are state but not trained, e.g. BatchNorm's running mean) are registered with
    ``register_buffer``. ``state_dict()`` then names everything with dotted keys
    (``"features.0.weight"``), exactly as PyTorch does, so weights move between the two.

    Subclasses write ``__init__`` (create parameters and sub-modules) and ``forward``; call the
    module itself (``layer(x)``), which also works on the Functional API's symbolic inputs.
    """

    training: bool

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "regularizers", {})

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as parameter "
                    f"{name!r} (a Parameter or None is expected)"
                )
            params[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as buffer "
                    f"{name!r} (a Tensor or None is expected)"
                )
            self._buffers[name] = value
        elif name in self._modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as child "
                    f"module {name!r} (a Module or None is expected)"
                )
            self._modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        self._modules.pop(name, None)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an absent optional parameter) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        self._forget(name)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is module state but not a parameter (saved in the state_dict
        unless ``persistent=False``)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a child module under ``name``."""
        self._forget(name)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and symbolic.is_symbolic_call(args):
            return symbolic.call_symbolic(self, *args, **kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ traversal
    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two modules appears once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (mod_prefix + "." + name if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, b in module._buffers.items():
                if b is not None:
                    yield (mod_prefix + "." + name if mod_prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, each once (iterative walk)."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            kids = [(name + "." + k if name else k, m) for k, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self; returns self."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics) for every module."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Inference mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as PyTorch)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def regularization_loss(self) -> Tensor | float:
        """Σ penalty(parameter) over every regulariser attached to any sub-module (Keras'
        ``kernel_regularizer``); 0.0 when none is attached. The training loop adds it to the loss.
        """
        total: Tensor | float = 0.0
        for m in self.modules():
            for name, penalty in m.regularizers.items():
                param = getattr(m, name)
                if param is not None:
                    total = total + penalty(param)
        return total

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as PyTorch orders them (each
        module's own parameters, then its buffers, then its children). Tensors are detached
        (sharing memory) unless ``keep_vars``."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mod_prefix, module in self.named_modules(prefix=prefix):
            dot = mod_prefix + "." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy values into this module's parameters and buffers, in place.

        Values may be Tensors, NumPy arrays or anything ``np.asarray`` accepts (PyTorch tensors
        too). With ``strict=True`` (the default) missing keys, unexpected keys and shape
        mismatches all raise one error that lists them; shape mismatches always raise.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _to_array(state_dict[key])
            if tuple(value.shape) != target.shape:
                mismatched.append(
                    f"{key}: checkpoint has shape {tuple(value.shape)}, the model {target.shape}"
                )
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(
                f"error loading state_dict into {type(self).__name__}: " + " | ".join(problems)
            )
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    value = _to_array(state_dict[key])
                    xp = backend.get_array_module(target.data)
                    target.data[...] = xp.asarray(value, dtype=target.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, device_or_dtype: Any = None, dtype: Any = None) -> Module:
        """Move every parameter and buffer to a device and/or floating dtype, in place."""
        device = None
        if isinstance(device_or_dtype, str) and device_or_dtype.lower() in ("cpu", "cuda", "gpu") \
                or str(device_or_dtype).startswith("cuda:"):
            device = backend.normalize_device(device_or_dtype)
        elif device_or_dtype is not None:
            dtype = device_or_dtype
        for t in list(self.parameters()) + list(self.buffers()):
            data = t.data
            if device is not None:
                data = backend.move(data, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            t.data = data
            if t.grad is not None:
                t.grad = None
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        return self.to(np.float16)

    # ------------------------------------------------------------------ Keras-style training
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                **options: Any) -> Module:
        """Choose optimiser, loss and metrics for ``fit`` (Keras' ``model.compile``); names or
        objects. See ``rosenblatt.training.compile_model`` for every option."""
        from ..training import compile_model

        compile_model(self, optimizer=optimizer, loss=loss, metrics=metrics, **options)
        return self

    def fit(self, x: Any = None, y: Any = None, **options: Any) -> Any:
        """Train for ``epochs`` over ``x``/``y`` or a dataset; returns a ``History``.
        See ``rosenblatt.training.fit``."""
        from ..training import fit

        return fit(self, x, y, **options)

    def evaluate(self, x: Any = None, y: Any = None, **options: Any) -> Any:
        """Loss and metrics on ``x``/``y`` in eval mode. See ``rosenblatt.training.evaluate``."""
        from ..training import evaluate

        return evaluate(self, x, y, **options)

    def predict(self, x: Any, **options: Any) -> Any:
        """Outputs for ``x`` in eval mode, batch by batch, as NumPy arrays.
        See ``rosenblatt.training.predict``."""
        from ..training import predict

        return predict(self, x, **options)

    # ------------------------------------------------------------------ config and printing
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-compatible, so ``from_config`` rebuilds the layer."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        return cls(**config)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _to_array(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "shape") and hasattr(value, "dtype") and backend.device_of(value) == "cuda":
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor: read, never import
        value = value.detach().cpu().numpy()
    return np.asarray(value)
