"""``summary(model, input_shape)``: a table of layers, output shapes and parameter counts.

As Keras' ``model.summary()`` (and ``torchsummary``): a dummy batch runs through the model once
(eval mode, ``no_grad``, training flags restored afterwards). To see every layer's output shape
without hooks, the ``forward`` of each leaf module (and of any module that owns parameters
directly) is wrapped for the duration of that one call and restored afterwards, even on error.

Parameter counts follow the notes: a layer of 10 filters of 3×3×3 has 10·(3·3·3 + 1) = 280
parameters, whatever the image size; a ``Linear(27, 10)`` has 27·10 + 10 = 280 as well. A
parameter shared by two layers (or a layer called twice) is counted once. Non-trainable
parameters are the frozen ones (``requires_grad=False``); buffers (running statistics) are
state, not parameters, as in PyTorch, and are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tensor import Tensor
from .module import Module
from .symbolic import PROBE_BATCH, SymbolicTensor, dummy, module_device, probing, snake_case


@dataclass
class ModelSummary:
    """What ``summary`` found: ``rows`` (one dict per layer call, in call order, with keys
    ``name``, ``class_name``, ``output_shape``, ``params``, ``trainable``), the totals and the
    printed ``text``. ``str(summary)`` is the table."""

    rows: list[dict[str, Any]]
    total: int
    trainable: int
    non_trainable: int
    text: str = field(repr=False, default="")

    @property
    def totals(self) -> dict[str, int]:
        return {"total": self.total, "trainable": self.trainable,
                "non_trainable": self.non_trainable}

    def __str__(self) -> str:
        return self.text


def summary(
    model: Module,
    input_shape: Any = None,
    batch_size: int | None = None,
    dtype: Any = "float32",
    print_fn: Callable[[str], Any] | None = print,
) -> ModelSummary:
    """Print (with ``print_fn``; ``None`` prints nothing) and return a summary of ``model``.

    ``input_shape`` is the shape of one sample, without the batch dim — ``(3, 32, 32)`` — or a
    list of such shapes for a model with several inputs. A Functional ``Model`` may leave it
    out: its ``Input`` shapes (and dtypes) are used. The dummy batch has ``batch_size`` samples
    (2 when it is ``None`` or not positive); output shapes show the batch dim as ``None`` (or as
    ``batch_size`` when it is given, so ``-1`` prints as in ``torchsummary``).
    """
    shapes, dtypes = _input_specs(model, input_shape, dtype)
    run_batch = batch_size if batch_size is not None and batch_size > 0 else PROBE_BATCH
    shown_batch = batch_size
    device = module_device(model)
    inputs = [dummy((None,) + s, dt, run_batch, 1, device)
              for s, dt in zip(shapes, dtypes, strict=True)]

    names = _row_names(model)
    rows: list[dict[str, Any]] = []
    counted: set[int] = set()
    saved: list[tuple[Module, bool, Any]] = []
    try:
        for name, m in names:
            saved.append((m, "forward" in m.__dict__, m.__dict__.get("forward")))
            traced = _traced(name, m, m.forward, rows, counted, run_batch, shown_batch)
            object.__setattr__(m, "forward", traced)
        with probing(model), np.errstate(all="ignore"):
            model(*inputs)
    finally:
        for m, had_own, own in reversed(saved):
            if had_own:
                object.__setattr__(m, "forward", own)
            else:
                m.__dict__.pop("forward", None)

    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    result = ModelSummary(rows, total, trainable, total - trainable)
    result.text = _table(model, result)
    if print_fn is not None:
        print_fn(result.text)
    return result


def _input_specs(model: Module, input_shape: Any, dtype: Any) -> tuple[list[tuple], list[Any]]:
    specs = getattr(model, "inputs", None)
    functional = isinstance(specs, list) and len(specs) > 0 \
        and all(isinstance(s, SymbolicTensor) for s in specs)
    if input_shape is None:
        if not functional:
            raise ValueError(
                f"summary: input_shape is required for a {type(model).__name__}: the shape of "
                "one sample without the batch dim, e.g. summary(model, (3, 32, 32))"
            )
        shapes = [tuple(s.shape[1:]) for s in specs]
        if any(d is None for s in shapes for d in s):
            raise ValueError(
                f"summary: the model's inputs have open dims {[s.shape for s in specs]}; pass "
                "input_shape with a size for each"
            )
        return shapes, [s.dtype for s in specs]
    if isinstance(input_shape, (int, np.integer)):
        shapes = [(int(input_shape),)]
    elif all(isinstance(d, (int, np.integer)) for d in input_shape):
        shapes = [tuple(int(d) for d in input_shape)]
    else:
        shapes = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(d) for d in s)
                  for s in input_shape]
    if functional and len(specs) == len(shapes):
        return shapes, [s.dtype for s in specs]
    return shapes, [np.dtype(dtype)] * len(shapes)


def _row_names(model: Module) -> list[tuple[str, Module]]:
    """The modules that get a row: leaves, and modules that own parameters directly."""
    out = []
    for name, m in model.named_modules():
        is_leaf = not any(True for _ in m.named_children())
        owns = any(p is not None for p in m._parameters.values())
        if is_leaf or owns:
            if not name:
                own_name = getattr(m, "name", None)
                name = own_name if isinstance(own_name, str) else snake_case(type(m).__name__)
            out.append((name, m))
    return out


def _traced(name: str, module: Module, forward: Callable, rows: list, counted: set[int],
            run_batch: int, shown_batch: int | None) -> Callable:
    def traced_forward(*args: Any, **kwargs: Any) -> Any:
        params = [p for p in module._parameters.values() if p is not None and id(p) not in counted]
        counted.update(id(p) for p in params)
        row = {"name": name, "class_name": type(module).__name__, "output_shape": None,
               "params": sum(p.numel() for p in params),
               "trainable": sum(p.numel() for p in params if p.requires_grad)}
        rows.append(row)  # before the call: a parent's row comes before its children's
        out = forward(*args, **kwargs)
        row["output_shape"] = _shape_of(out, run_batch, shown_batch)
        return out

    return traced_forward


def _shape_of(out: Any, run_batch: int, shown_batch: int | None) -> Any:
    if isinstance(out, Tensor):
        shape = out.shape
        if shape and shape[0] == run_batch:
            return (shown_batch,) + shape[1:]
        return shape
    if isinstance(out, (list, tuple)):
        return [_shape_of(o, run_batch, shown_batch) for o in out]
    return type(out).__name__


def _table(model: Module, s: ModelSummary) -> str:
    cells = [(f"{r['name']} ({r['class_name']})", _fmt_shape(r["output_shape"]),
              f"{r['params']:,}") for r in s.rows]
    head = ("Layer (type)", "Output Shape", "Param #")
    w0 = max([len(head[0])] + [len(c[0]) for c in cells]) + 2
    w1 = max([len(head[1])] + [len(c[1]) for c in cells]) + 2
    w2 = max([len(head[2])] + [len(c[2]) for c in cells])
    width = w0 + w1 + w2
    name = getattr(model, "name", None)
    title = name if isinstance(name, str) else type(model).__name__
    lines = [f'Model: "{title}"', "-" * width,
             f"{head[0]:<{w0}}{head[1]:<{w1}}{head[2]:>{w2}}", "=" * width]
    lines += [f"{a:<{w0}}{b:<{w1}}{c:>{w2}}" for a, b, c in cells]
    lines += ["=" * width,
              f"Total params: {s.total:,}",
              f"Trainable params: {s.trainable:,}",
              f"Non-trainable params: {s.non_trainable:,}",
              "-" * width]
    return "\n".join(lines)


def _fmt_shape(shape: Any) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt_shape(x) for x in shape) + "]"
    if isinstance(shape, tuple):
        return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)
