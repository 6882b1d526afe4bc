"""Dropout layers: ``Dropout`` (drops activations) and ``DropConnect`` (drops weights)."""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from ..functional import layers as FL
from ..module import Module
from .linear import Linear

__all__ = ["Dropout", "DropConnect"]


def _check_p(layer: str, p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{layer}: dropout probability p must be in [0, 1], got {p}")
    return p


class Dropout(Module):
    """Inverted dropout (Srivastava et al., 2014): in training y = x · m / (1 − p) with
    m ~ Bernoulli(1 − p) drawn per element and per call; in eval y = x.

    Each unit is zeroed with probability p and the survivors are scaled by 1/(1 − p), so
    E[y] = x and nothing changes at inference. Any input shape. The mask comes from
    ``rosenblatt.random.generator()``: ``rb.manual_seed`` makes it reproducible.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p("Dropout", p)

    def forward(self, x: Tensor) -> Tensor:
        return FL.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}


class DropConnect(Linear):
    """A fully connected layer with DropConnect (Wan et al., 2013): in training
    y = x (W ⊙ M / (1 − p))ᵀ + b with M ~ Bernoulli(1 − p) of W's shape; in eval y = x Wᵀ + b.

    Design choice: a ``Linear`` subclass, ``DropConnect(in_features, out_features, p=0.5,
    bias=True, …)``, rather than a wrapper around a Linear layer, so its parameters are
    ``weight``/``bias`` with Linear's shapes, init and state_dict keys (a PyTorch ``nn.Linear``
    state dict loads into it) and it serialises through ``get_config`` like any layer.
    Weights, not activations, are dropped; the bias is kept. One mask is drawn per forward
    call and shared by the mini-batch (the paper draws one per example, which is far costlier).
    The kept weights are scaled by 1/(1 − p) (inverted, like ``Dropout``), so inference uses
    W unchanged rather than the paper's Gaussian moment matching.
    """

    def __init__(
        self, in_features: int, out_features: int, p: float = 0.5, bias: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, **kwargs)
        self.p = _check_p("DropConnect", p)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (..., {self.in_features}), got {x.shape}"
            )
        return FL.drop_connect(x, self.weight, self.bias, self.p, self.training)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}"

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["p"] = self.p
        return config
