"""Losses as modules: ``loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, y)``.

Each module holds only its options; ``forward(input, target)`` calls the function of the same
name in ``rosenblatt.nn.functional`` (whose docstring has the formula and the shapes). The
argument order is PyTorch's, prediction first. ``get_config()`` returns the constructor arguments
(class weights as lists), so ``type(loss).from_config(loss.get_config())`` rebuilds the loss.

``get_loss("categorical_crossentropy")`` gives a loss by its Keras name (see ``LOSSES``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "MSELoss",
    "L1Loss",
    "MAELoss",
    "HuberLoss",
    "SmoothL1Loss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "HingeLoss",
    "MultiMarginLoss",
    "KLDivLoss",
    "LOSSES",
    "get_loss",
]


class _Loss(Module):
    """Base of the loss modules: checks ``reduction``; errors from the function are re-raised
    with the module's name in front (``MSELoss (mse_loss): input shape …``)."""

    function_name = ""
    reductions: tuple[str, ...] = ("none", "mean", "sum")

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in self.reductions:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of "
                f"{', '.join(map(repr, self.reductions))}, got {reduction!r}"
            )
        self.reduction = reduction

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValueError as err:
            message = str(err)
            prefix = self.function_name + ": "
            if self.function_name and message.startswith(prefix):
                message = message[len(prefix):]
                raise ValueError(f"{type(self).__name__} ({self.function_name}): {message}") \
                    from None
            raise

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction}

    def extra_repr(self) -> str:
        parts = []
        for key, value in self.get_config().items():
            if isinstance(value, list):  # class weights: rounded, possibly nested
                value = np.round(np.asarray(value, dtype=np.float64), 4).tolist()
            parts.append(f"{key}={value!r}")
        return ", ".join(parts)


def _buffer(module: Module, name: str, value: Any) -> None:
    """Register an optional constant (class weights, pos_weight) as a buffer, as PyTorch."""
    if value is None:
        module.register_buffer(name, None)
        return
    t = value.detach() if isinstance(value, Tensor) else Tensor(value)
    if t.dtype.kind != "f":  # [1, 2, 3] → float32, as a weight should be
        t = Tensor(t.data, dtype=np.float32)
    module.register_buffer(name, t)


def _as_list(t: Tensor | None) -> list | None:
    return None if t is None else t.tolist()


# ------------------------------------------------------------------ regression


class MSELoss(_Loss):
    """Mean squared error (ŷ − y)², reduced. The notes' L = ½ Σ (Y − Y′)² is
    ``0.5 * MSELoss(reduction='sum')(Y, Y′)``; the default 'mean' is the empirical loss."""

    function_name = "mse_loss"

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |ŷ − y|, reduced (``MAELoss`` is the same class)."""

    function_name = "l1_loss"

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


MAELoss = L1Loss


class HuberLoss(_Loss):
    """Huber loss: ½ d² where |d| < δ, else δ (|d| − ½ δ), d = ŷ − y."""

    function_name = "huber_loss"

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "delta": self.delta}


class SmoothL1Loss(_Loss):
    """Smooth L1: ½ d² / β where |d| < β, else |d| − ½ β (= Huber / β)."""

    function_name = "smooth_l1_loss"

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = float(beta)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "beta": self.beta}


# ------------------------------------------------------------------ binary classification


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (after a sigmoid); ``weight`` broadcasts."""

    function_name = "binary_cross_entropy"

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        _buffer(self, "weight", weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"weight": _as_list(self.weight), "reduction": self.reduction}


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, stable for any |x|; ``pos_weight`` (one per class, the
    last axis) weighs the positive examples."""

    function_name = "binary_cross_entropy_with_logits"

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        _buffer(self, "weight", weight)
        _buffer(self, "pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction,
            pos_weight=self.pos_weight,
        )

    def get_config(self) -> dict[str, Any]:
        return {"weight": _as_list(self.weight), "reduction": self.reduction,
                "pos_weight": _as_list(self.pos_weight)}


# ------------------------------------------------------------------ multi-class classification


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C, d1, …) against class indices or probabilities,
    with class weights, ``ignore_index`` and label smoothing, as PyTorch's."""

    function_name = "cross_entropy"

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        _buffer(self, "weight", weight)
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {"weight": _as_list(self.weight), "ignore_index": self.ignore_index,
                "reduction": self.reduction, "label_smoothing": self.label_smoothing}


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, input holding log-probabilities."""

    function_name = "nll_loss"

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        _buffer(self, "weight", weight)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"weight": _as_list(self.weight), "ignore_index": self.ignore_index,
                "reduction": self.reduction}


class CategoricalCrossentropy(_Loss):
    """Keras' categorical cross-entropy −Σ_c t_c ln p_c: one-hot/probability targets, input
    probabilities (a softmax's output) unless ``from_logits=True``."""

    function_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.categorical_crossentropy(input, target, from_logits=self.from_logits,
                                          label_smoothing=self.label_smoothing,
                                          reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "reduction": self.reduction}


class SparseCategoricalCrossentropy(_Loss):
    """Keras' sparse categorical cross-entropy −ln p_y: class-index targets, input
    probabilities unless ``from_logits=True``."""

    function_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.sparse_categorical_crossentropy(input, target, from_logits=self.from_logits,
                                                 ignore_index=self.ignore_index,
                                                 reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "ignore_index": self.ignore_index,
                "reduction": self.reduction}


class KLDivLoss(_Loss):
    """KL(t ‖ p) with input log p, as PyTorch's; 'batchmean' divides by the batch size."""

    function_name = "kl_div"
    reductions = ("none", "mean", "sum", "batchmean")

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = bool(log_target)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "log_target": self.log_target}


# ------------------------------------------------------------------ margins


class HingeLoss(_Loss):
    """Binary hinge loss max(0, 1 − y ŷ) (squared with ``squared=True``), targets ±1: the linear
    SVM that scores each class in R-CNN."""

    function_name = "hinge_loss"

    def __init__(self, squared: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.squared = bool(squared)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.hinge_loss(input, target, squared=self.squared, reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"squared": self.squared, "reduction": self.reduction}


class MultiMarginLoss(_Loss):
    """Multi-class hinge loss (1/C) Σ_{c≠y} w_y max(0, margin − x_y + x_c)ᵖ, as PyTorch's."""

    function_name = "multi_margin_loss"

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p}")
        self.p = int(p)
        self.margin = float(margin)
        _buffer(self, "weight", weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p, "margin": self.margin, "weight": _as_list(self.weight),
                "reduction": self.reduction}


# ------------------------------------------------------------------ Keras-style names

# name → (class, default constructor arguments). Keras' names first; ``get_loss`` also accepts
# the class names ("CrossEntropyLoss"), in any case.
LOSSES: dict[str, tuple[type[_Loss], dict[str, Any]]] = {
    "mse": (MSELoss, {}),
    "mean_squared_error": (MSELoss, {}),
    "mae": (L1Loss, {}),
    "mean_absolute_error": (L1Loss, {}),
    "l1": (L1Loss, {}),
    "huber": (HuberLoss, {}),
    "smooth_l1": (SmoothL1Loss, {}),
    "binary_crossentropy": (BCELoss, {}),
    "bce": (BCELoss, {}),
    "binary_crossentropy_from_logits": (BCEWithLogitsLoss, {}),
    "bce_with_logits": (BCEWithLogitsLoss, {}),
    "categorical_crossentropy": (CategoricalCrossentropy, {}),
    "sparse_categorical_crossentropy": (SparseCategoricalCrossentropy, {}),
    "cross_entropy": (CrossEntropyLoss, {}),
    "nll": (NLLLoss, {}),
    "hinge": (HingeLoss, {}),
    "squared_hinge": (HingeLoss, {"squared": True}),
    "multi_margin": (MultiMarginLoss, {}),
    "kld": (KLDivLoss, {"reduction": "batchmean"}),
    "kl_divergence": (KLDivLoss, {"reduction": "batchmean"}),
    "kullback_leibler_divergence": (KLDivLoss, {"reduction": "batchmean"}),
}


def get_loss(identifier: Any, **kwargs: Any) -> Any:
    """A loss module from a name, Keras-style: ``get_loss("mse")``, ``get_loss("huber",
    delta=2.0)``. A loss class is instantiated with ``kwargs``; a loss module or any other
    callable is returned unchanged.

    Names (case-insensitive): those in ``LOSSES`` and the class names. As in Keras, the
    probability losses take probabilities by default: "binary_crossentropy" (BCELoss) after a
    sigmoid, "categorical_crossentropy" (one-hot targets) and "sparse_categorical_crossentropy"
    (class indices) after a softmax (pass ``from_logits=True`` for raw scores); "kld" is
    PyTorch's KLDivLoss (input log-probabilities) with 'batchmean'. Calls take
    ``(prediction, target)``, PyTorch's order.

    Raises ValueError for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, type) and issubclass(identifier, Module):
        return identifier(**kwargs)
    if not isinstance(identifier, str):
        if callable(identifier):
            if kwargs:
                raise ValueError("get_loss: options are only accepted with a loss name")
            return identifier
        raise ValueError(f"get_loss: expected a loss name or a callable, got {identifier!r}")
    key = identifier.strip().lower()
    if key in LOSSES:
        cls, defaults = LOSSES[key]
        return cls(**{**defaults, **kwargs})
    classes = {name.lower(): globals()[name] for name in __all__
               if isinstance(globals()[name], type)}
    if key in classes:
        return classes[key](**kwargs)
    valid = sorted(LOSSES) + sorted({c.__name__ for c in classes.values()})
    raise ValueError(
        f"get_loss: unknown loss {identifier!r}; valid names are: {', '.join(valid)}"
    )
