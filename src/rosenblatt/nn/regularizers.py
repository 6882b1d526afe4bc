"""Weight penalties (Keras' ``regularizers``): a callable ``param → scalar Tensor`` that the
training loop adds to the loss.

    L1(l1):        Ω(w) = l1 · Σ|w|              ∂Ω/∂w = l1 · sign(w)
    L2(l2):        Ω(w) = l2 · Σ w²              ∂Ω/∂w = 2 · l2 · w
    L1L2(l1, l2):  Ω(w) = l1 · Σ|w| + l2 · Σ w²  (elastic net; also called ``ElasticNet``)

L2 is Keras' definition, l2 · Σw², **without** the ½ of the textbook ½λ‖w‖². Its gradient
2·l2·w is what SGD's ``weight_decay=λ`` adds to the gradient (λ·w), so L2(l2) with plain SGD
equals weight decay λ = 2·l2 (and weight decay λ equals L2(λ/2)). With adaptive optimisers
(Adam) the two differ: the penalty's gradient is rescaled by the optimiser, decoupled weight
decay (AdamW) is not.

Attach a penalty to a parameter with ``add_regularizer(module, "weight", L2(1e-4))`` or the
layer's ``weight_regularizer=`` / ``bias_regularizer=`` arguments (Keras' ``kernel_regularizer``
is accepted too); ``model.regularization_loss()`` sums every attached penalty.
"""

from __future__ import annotations

from typing import Any

from .. import functional as RF
from ..tensor import Tensor

__all__ = [
    "Regularizer",
    "L1",
    "L2",
    "L1L2",
    "ElasticNet",
    "l1_penalty",
    "l2_penalty",
    "get_regularizer",
    "add_regularizer",
]


def l1_penalty(param: Tensor, l1: float = 0.01) -> Tensor:
    """l1 · Σ|w| (a scalar Tensor); gradient l1 · sign(w)."""
    return RF.sum(RF.abs(param)) * float(l1)


def l2_penalty(param: Tensor, l2: float = 0.01) -> Tensor:
    """l2 · Σ w² (Keras' L2, no ½; a scalar Tensor); gradient 2 · l2 · w."""
    return RF.sum(param * param) * float(l2)


class Regularizer:
    """Base class: ``reg(param)`` returns a scalar Tensor penalty; ``get_config()`` its
    arguments, so ``get_regularizer({"class_name": …, "config": …})`` rebuilds it."""

    def __call__(self, param: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """Ω(w) = l1 · Σ|w| (lasso: drives weights to exactly zero)."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = float(l1)

    def __call__(self, param: Tensor) -> Tensor:
        return l1_penalty(param, self.l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """Ω(w) = l2 · Σw² (ridge; Keras' convention without ½, gradient 2·l2·w)."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = float(l2)

    def __call__(self, param: Tensor) -> Tensor:
        return l2_penalty(param, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """Elastic net Ω(w) = l1 · Σ|w| + l2 · Σw² (Keras' defaults l1 = l2 = 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, param: Tensor) -> Tensor:
        if self.l1 and self.l2:
            return l1_penalty(param, self.l1) + l2_penalty(param, self.l2)
        if self.l1:
            return l1_penalty(param, self.l1)
        return l2_penalty(param, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


ElasticNet = L1L2

_BY_NAME: dict[str, Any] = {
    "l1": lambda: L1(),
    "l2": lambda: L2(),
    "l1_l2": lambda: L1L2(l1=0.01, l2=0.01),
    "l1l2": lambda: L1L2(l1=0.01, l2=0.01),
    "elastic_net": lambda: L1L2(l1=0.01, l2=0.01),
    "elasticnet": lambda: L1L2(l1=0.01, l2=0.01),
}
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "ElasticNet": L1L2}


def get_regularizer(identifier: Any) -> Any:
    """A regulariser from a name ("l1", "l2", "l1_l2"/"elastic_net": 0.01 each, as Keras'
    string shortcuts), a config dict ``{"class_name": "L2", "config": {"l2": 1e-4}}``, a
    ``Regularizer`` or any callable (returned as is), or None. Unknown names raise ValueError
    listing the known ones."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in _CLASSES:
            raise ValueError(
                f"unknown regularizer class {name!r}; known: {', '.join(sorted(_CLASSES))}"
            )
        return _CLASSES[name].from_config(dict(identifier.get("config", {})))
    key = str(identifier).lower()
    if key not in _BY_NAME:
        raise ValueError(
            f"unknown regularizer {identifier!r}; known names: {', '.join(sorted(_BY_NAME))}"
        )
    return _BY_NAME[key]()


def add_regularizer(module: Any, param_name: str, reg: Any) -> Any:
    """Attach penalty ``reg`` (a Regularizer, callable, name or config dict) to the parameter
    ``param_name`` of ``module`` (``module.regularizers[param_name] = reg``), so
    ``regularization_loss()`` of the module or any model containing it includes
    Ω(module.<param_name>). ``reg=None`` removes it. Returns the module."""
    if param_name not in module._parameters:
        raise ValueError(
            f"{type(module).__name__} has no parameter {param_name!r}; its parameters: "
            f"{', '.join(module._parameters) or 'none'}"
        )
    penalty = get_regularizer(reg)
    if penalty is None:
        module.regularizers.pop(param_name, None)
    else:
        module.regularizers[param_name] = penalty
    return module


def regularizer_config(reg: Any) -> Any:
    """``{"class_name", "config"}`` for a ``Regularizer`` (JSON-compatible), None for None;
    other callables cannot be serialised and raise TypeError."""
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    raise TypeError(
        f"cannot serialise regularizer {reg!r} into a config: use L1, L2 or L1L2 (or a "
        "Regularizer subclass registered in get_regularizer)"
    )
