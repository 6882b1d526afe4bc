"""Fully connected and shape layers: ``Linear`` (alias ``Dense``)."""

from __future__ import annotations

import math
from typing import Any

from ...ops.linalg import Linear as LinearOp
from ...random import generator
from ...tensor import Tensor
from ..module import Module
from ..parameter import Parameter

__all__ = ["Linear", "Dense"]


class Linear(Module):
    """Fully connected layer y = x Wᵀ + b (the notes' zˡ = Wˡaˡ⁻¹ + bˡ), x of shape (…, in).

    W has shape (out_features, in_features) and b (out_features,), as in PyTorch, and both start
    from PyTorch's default U(−1/√in, 1/√in) (Kaiming-uniform with a = √5), so the same seed
    strategy gives the same distribution. ``Dense`` is the same layer under Keras' name.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(_uniform((self.out_features, self.in_features), self.in_features))
        b = Parameter(_uniform((self.out_features,), self.in_features)) if bias else None
        self.register_parameter("bias", b)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (..., {self.in_features}), got {x.shape}"
            )
        if self.bias is None:
            return LinearOp.apply(x, self.weight)
        return LinearOp.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None}


Dense = Linear


def _uniform(shape: tuple[int, ...], fan_in: int) -> Any:
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return generator().uniform(-bound, bound, shape).astype("float32")
