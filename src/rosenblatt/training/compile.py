"""``compile_model``: choose the optimiser, losses, metrics and training options of a model.

The result is a ``CompiledModel`` stored on the model as ``model._compiled``; ``fit``,
``evaluate`` and ``predict`` read it, and ``fit`` records its progress there (epoch, step,
history) so a checkpoint written mid-run knows where the run stands.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .amp import LossScaler

__all__ = ["CompiledModel", "compile_model", "OPTIMIZER_DEFAULT_LR", "get_optimizer"]

#: Learning rates of the optimisers named in ``compile`` (Keras 3's defaults; the optimiser's
#: other options keep the rosenblatt/PyTorch defaults of its class).
OPTIMIZER_DEFAULT_LR: dict[str, tuple[str, float]] = {
    "sgd": ("SGD", 0.01),
    "adam": ("Adam", 1e-3),
    "rmsprop": ("RMSprop", 1e-3),
    "adagrad": ("Adagrad", 1e-3),
    "adadelta": ("Adadelta", 1e-3),
    "adamw": ("AdamW", 1e-3),
    "nadam": ("NAdam", 1e-3),
}


@dataclass
class CompiledModel:
    """What ``compile`` chose, plus the progress of the current/last ``fit``.

    ``losses``, ``loss_weights`` and ``metrics`` have one entry per output once the number of
    outputs is known (a Functional ``Model`` knows it at compile time; any other module at its
    first forward pass).
    """

    optimizer: Any
    loss_spec: Any
    metrics_spec: Any
    loss_weights_spec: Any
    output_names: list[str] | None
    mixed_precision: bool = False
    grad_accumulation_steps: int = 1
    clip_norm: float | None = None
    clip_value: float | None = None
    scaler: LossScaler | None = None
    losses: list[Callable[..., Any]] | None = None
    loss_weights: list[float] | None = None
    metrics: list[list[Any]] | None = None
    single_output: bool = True
    has_metrics: bool = False
    # progress of fit (the last completed epoch, batches processed, history so far)
    epoch: int = -1
    global_step: int = 0
    history: dict[str, Any] = field(default_factory=lambda: {"history": {}, "epoch": []})
    callbacks: Any = None  # the CallbackList of the running fit

    # ------------------------------------------------------------------ outputs
    def bind_outputs(self, n_outputs: int, single: bool) -> None:
        """Resolve the per-output losses, weights and metrics for ``n_outputs`` outputs."""
        if self.losses is not None:
            if len(self.losses) != n_outputs:
                raise ValueError(f"the model returned {n_outputs} output(s), but was compiled "
                                 f"for {len(self.losses)}")
            return
        self.single_output = single
        if self.output_names is None or len(self.output_names) != n_outputs:
            self.output_names = ["output"] if single else [f"output_{i}"
                                                          for i in range(n_outputs)]
        names = self.output_names
        self.losses = _per_output(self.loss_spec, names, "loss", _make_loss)
        if any(fn is None for fn in self.losses):
            missing = [n for n, fn in zip(names, self.losses, strict=True) if fn is None]
            raise ValueError(f"compile: no loss for output(s) {missing}; give one per output")
        weights = self.loss_weights_spec
        if weights is None:
            self.loss_weights = [1.0] * n_outputs
        else:
            resolved = _per_output(weights, names, "loss_weights", float, broadcast=False)
            self.loss_weights = [1.0 if w is None else w for w in resolved]
        self.metrics = _resolve_metrics(self.metrics_spec, names)
        self.has_metrics = any(self.metrics)

    def loss_keys(self) -> list[str]:
        """Log keys of the losses: ``loss`` and, for several outputs, ``<output>_loss``."""
        if self.single_output:
            return ["loss"]
        return ["loss"] + [f"{name}_loss" for name in self.output_names or []]

    def metric_entries(self) -> list[tuple[str, int, Any]]:
        """``(log key, output index, Metric)`` for every metric."""
        out = []
        for i, ms in enumerate(self.metrics or []):
            for m in ms:
                key = m.name if self.single_output else f"{self.output_names[i]}_{m.name}"
                out.append((key, i, m))
        return out


# ----------------------------------------------------------------------------------------------
# compile
# ----------------------------------------------------------------------------------------------


def compile_model(model: Any, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                  loss_weights: Sequence[float] | Mapping[str, float] | None = None,
                  mixed_precision: bool = False, grad_accumulation_steps: int = 1,
                  clip_norm: float | None = None, clip_value: float | None = None,
                  loss_scale: float = 65536.0) -> CompiledModel:
    """Configure ``model`` for ``fit``/``evaluate`` (Keras' ``model.compile``).

    Args:
        model: any Module (a Functional ``Model`` with several inputs/outputs included).
        optimizer: an optimiser instance (built on ``model.parameters()``), or a name —
            "sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamw", "nadam" — built with
            Keras' default learning rate (``OPTIMIZER_DEFAULT_LR``: 0.01 for SGD, 0.001 for
            the others) and the class's other defaults.
        loss: a name (``nn.get_loss``), a loss Module or class, or any callable
            ``loss(prediction, target) -> scalar Tensor``; for several outputs a list (one per
            output), a dict by output name, or one loss used for every output.
        metrics: names (``rosenblatt.metrics.get_metric``), ``Metric`` objects or functions
            ``f(y_pred, y_true) -> number`` (averaged over samples); for several outputs a flat
            list (a fresh copy for every output), a list of lists, or a dict by output name.
        loss_weights: for several outputs, a list or dict of weights: the training loss is
            Σ wᵢ·lossᵢ (+ the regularisation penalty).
        mixed_precision: float16 compute with float32 master weights and dynamic loss scaling
            (see ``rosenblatt.training.amp``).
        grad_accumulation_steps: k > 1 averages the gradients of k consecutive batches
            (the loss is scaled by 1/k) and steps the optimiser once per k batches.
        clip_norm: clip the global gradient norm to this before each step
            (``nn.utils.clip_grad_norm_``).
        clip_value: clip every gradient element to ±this (``nn.utils.clip_grad_value_``).
        loss_scale: the initial dynamic loss scale (mixed precision only).

    Output names (for dict specs and the ``<output>_loss`` logs) are the names of the layers
    that produce a Functional model's outputs; ``output_0``, ``output_1``, … otherwise.
    Returns the ``CompiledModel`` (also stored as ``model._compiled``).
    """
    if int(grad_accumulation_steps) < 1:
        raise ValueError(f"compile: grad_accumulation_steps must be >= 1, "
                         f"got {grad_accumulation_steps}")
    for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if value is not None and not float(value) > 0:
            raise ValueError(f"compile: {name} must be positive, got {value}")
    compiled = CompiledModel(
        optimizer=get_optimizer(optimizer, model),
        loss_spec=loss,
        metrics_spec=metrics,
        loss_weights_spec=loss_weights,
        output_names=_output_names(model),
        mixed_precision=bool(mixed_precision),
        grad_accumulation_steps=int(grad_accumulation_steps),
        clip_norm=None if clip_norm is None else float(clip_norm),
        clip_value=None if clip_value is None else float(clip_value),
        scaler=LossScaler(init_scale=loss_scale) if mixed_precision else None,
    )
    outputs = getattr(model, "outputs", None)
    if loss is not None and isinstance(outputs, list) and outputs \
            and hasattr(model, "_single_output"):
        compiled.bind_outputs(len(outputs), bool(model._single_output))
    elif loss is not None and isinstance(loss, (list, tuple)) and len(loss) > 1:
        compiled.bind_outputs(len(loss), False)
    object.__setattr__(model, "_compiled", compiled)
    return compiled


def get_optimizer(identifier: Any, model: Any) -> Any:
    """An optimiser instance: ``identifier`` itself, or one built by name on the model's
    parameters with Keras' default learning rate."""
    if not isinstance(identifier, str):
        if not (hasattr(identifier, "step") and hasattr(identifier, "param_groups")):
            raise TypeError(f"compile: optimizer must be a name or an optimizer instance, "
                            f"got {identifier!r}")
        return identifier
    key = identifier.strip().lower()
    if key not in OPTIMIZER_DEFAULT_LR:
        raise ValueError(f"compile: unknown optimizer {identifier!r}; valid names are: "
                         f"{', '.join(OPTIMIZER_DEFAULT_LR)} (or pass an optimizer instance)")
    from .. import optim

    class_name, lr = OPTIMIZER_DEFAULT_LR[key]
    classes = {name.lower(): getattr(optim, name) for name in dir(optim)
               if isinstance(getattr(optim, name), type)}
    cls = classes.get(class_name.lower())
    if cls is None:
        raise ValueError(f"compile: rosenblatt.optim has no {class_name}")
    return cls(list(model.parameters()), lr=lr)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _output_names(model: Any) -> list[str] | None:
    """Names of a Functional model's outputs: the producing layers' names (made unique)."""
    outputs = getattr(model, "outputs", None)
    layer_names = getattr(model, "_layer_names", None)
    if not isinstance(outputs, list) or layer_names is None:
        return None
    names: list[str] = []
    for t in outputs:
        node = getattr(t, "node", None)
        name = layer_names.get(id(node.layer)) if node is not None else getattr(t, "name", None)
        name = name or f"output_{len(names)}"
        base, k = name, 1
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def _per_output(spec: Any, names: list[str], what: str, make: Callable[[Any], Any],
                broadcast: bool = True) -> list[Any]:
    """One value per output from a single value, a list or a dict by output name."""
    n = len(names)
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: {what} names unknown output(s) {unknown}; the outputs "
                             f"are {names}")
        return [make(spec[name]) if name in spec else None for name in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != n:
            raise ValueError(f"compile: {what} has {len(spec)} entries but the model has {n} "
                             f"output(s) {names}")
        return [make(s) for s in spec]
    if spec is None:
        return [None] * n
    if not broadcast and n > 1:
        raise ValueError(f"compile: {what} must be a list or dict for a model with {n} outputs")
    return [make(spec) for _ in names]  # a name gives a fresh loss per output


def _make_loss(identifier: Any) -> Callable[..., Any]:
    from ..nn.losses import get_loss

    return get_loss(identifier)


class FunctionMetric:
    """A metric from a plain function ``f(y_pred, y_true) -> number``: its sample-weighted
    mean over the batches of an epoch (named after the function)."""

    def __init__(self, fn: Callable[[Any, Any], Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "metric")
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, y_pred: Any, y_true: Any) -> None:
        n = len(y_true) if hasattr(y_true, "__len__") else 1
        self.total += float(self.fn(y_pred, y_true)) * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return f"FunctionMetric(name={self.name!r})"


def _is_metric(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("update", "result", "reset", "name"))


def _make_metric(identifier: Any, fresh: bool) -> Any:
    if _is_metric(identifier):
        return copy.deepcopy(identifier) if fresh else identifier
    if isinstance(identifier, str):
        from ..metrics import get_metric

        return get_metric(identifier)
    if callable(identifier):
        return FunctionMetric(identifier)
    raise TypeError(f"compile: a metric must be a name, a Metric or a function, "
                    f"got {identifier!r}")


def _resolve_metrics(spec: Any, names: list[str]) -> list[list[Any]]:
    n = len(names)
    if spec is None:
        return [[] for _ in names]
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: metrics names unknown output(s) {unknown}; the outputs "
                             f"are {names}")
        out = []
        for name in names:
            entry = spec.get(name, [])
            entry = entry if isinstance(entry, (list, tuple)) else [entry]
            out.append([_make_metric(m, fresh=False) for m in entry])
        return out
    if not isinstance(spec, (list, tuple)):
        spec = [spec]
    if n > 1 and len(spec) == n and all(isinstance(s, (list, tuple)) for s in spec):
        return [[_make_metric(m, fresh=False) for m in s] for s in spec]
    return [[_make_metric(m, fresh=i > 0) for m in spec] for i in range(n)]
