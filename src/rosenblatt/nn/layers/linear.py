"""Fully connected, look-up and shape layers: ``Linear`` (alias ``Dense``), ``Embedding``,
``Identity``, ``Flatten``, ``Unflatten``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import functional as RF
from ...tensor import Tensor
from .. import init
from ..functional import layers as FL
from ..module import Module
from ..parameter import Parameter
from ..regularizers import add_regularizer, regularizer_config

__all__ = ["Linear", "Dense", "Embedding", "Identity", "Flatten", "Unflatten"]


class Linear(Module):
    """Fully connected layer y = x Wᵀ + b (the notes' zˡ = Wˡaˡ⁻¹ + bˡ).

    Shapes: x (…, in_features) → y (…, out_features); W (out_features, in_features) and
    b (out_features,), as in PyTorch, so state dicts move between the two.

    Init (PyTorch's default): W ← ``init.kaiming_uniform_(W, a=√5)``, i.e. U(−1/√in, 1/√in),
    and b ~ U(−1/√in, 1/√in). ``weight_initializer``/``bias_initializer`` (a name for
    ``init.get_initializer``, e.g. "glorot_uniform", "zeros") replace them; Keras' names
    ``kernel_initializer``/``kernel_regularizer`` are accepted for the weight.

    ``weight_regularizer``/``bias_regularizer`` (a ``Regularizer``, a name such as "l2" or a
    config dict) attach penalties that ``regularization_loss()`` sums.

    ``Dense`` is the same layer under Keras' name.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        weight_initializer: str | None = None,
        bias_initializer: str | None = None,
        weight_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_initializer: str | None = None,
        kernel_regularizer: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        weight_initializer = _alias(weight_initializer, kernel_initializer, "initializer")
        weight_regularizer = _alias(weight_regularizer, kernel_regularizer, "regularizer")
        self._init_names = (weight_initializer, bias_initializer)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), np.float32))
        b = Parameter(np.empty((self.out_features,), np.float32)) if bias else None
        self.register_parameter("bias", b)
        self.reset_parameters()
        if weight_regularizer is not None:
            add_regularizer(self, "weight", weight_regularizer)
        if bias_regularizer is not None and bias:
            add_regularizer(self, "bias", bias_regularizer)

    def reset_parameters(self) -> None:
        """Re-draw W and b from their initialisers (PyTorch's defaults unless named)."""
        weight_init, bias_init = self._init_names
        if weight_init is None:
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        else:
            init.get_initializer(weight_init)(self.weight)
        if self.bias is not None:
            if bias_init is None:
                bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
                init.uniform_(self.bias, -bound, bound)
            else:
                init.get_initializer(bias_init)(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (..., {self.in_features}), got {x.shape}"
            )
        return FL.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"in_features": self.in_features,
                                  "out_features": self.out_features,
                                  "bias": self.bias is not None}
        config.update(_init_and_reg_config(self))
        return config


Dense = Linear


def _alias(value: Any, keras_value: Any, what: str) -> Any:
    if keras_value is not None:
        if value is not None:
            raise TypeError(f"give weight_{what} or kernel_{what}, not both")
        return keras_value
    return value


def _init_and_reg_config(layer: Any) -> dict[str, Any]:
    """The initialiser names and regulariser configs of a Linear-like layer, those not None."""
    out: dict[str, Any] = {}
    weight_init, bias_init = layer._init_names
    if weight_init is not None:
        out["weight_initializer"] = weight_init
    if bias_init is not None:
        out["bias_initializer"] = bias_init
    for name in ("weight", "bias"):
        if name in layer.regularizers:
            out[name + "_regularizer"] = regularizer_config(layer.regularizers[name])
    return out


class Embedding(Module):
    """Look-up table: y = W[indices]; indices any integer shape (…) → y (…, embedding_dim).

    W (num_embeddings, embedding_dim) starts from N(0, 1) as in PyTorch. Row ``padding_idx``
    (if given; negative counts from the end) starts at zero and gets no gradient, so it stays
    a fixed "no token" vector. Repeated indices accumulate their gradients.
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None
    ) -> None:
        super().__init__()
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                    f"({self.num_embeddings})"
                )
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), np.float32))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W ~ N(0, 1), the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices: Any) -> Tensor:
        idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{self!r}: expected integer indices, got dtype {idx.dtype}")
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= self.num_embeddings):
            bad = int(idx.max()) if int(idx.max()) >= self.num_embeddings else int(idx.min())
            raise IndexError(
                f"{self!r}: index {bad} is out of range [0, {self.num_embeddings})"
            )
        return FL.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"

    def get_config(self) -> dict[str, Any]:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "padding_idx": self.padding_idx}


class Identity(Module):
    """y = x. Accepts (and ignores) any constructor arguments, as PyTorch's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x

    def get_config(self) -> dict[str, Any]:
        return {}


class Flatten(Module):
    """Merge dims start_dim…end_dim into one: (N, C, H, W) → (N, C·H·W) with the defaults
    start_dim=1, end_dim=−1 (the batch dim is kept)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        return RF.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def get_config(self) -> dict[str, Any]:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 784) → (N, 1, 28, 28) with dim=1,
    unflattened_size=(1, 28, 28). One entry may be −1."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        d = self.dim % x.ndim
        shape = x.shape[:d] + self.unflattened_size + x.shape[d + 1 :]
        try:
            return RF.reshape(x, shape)
        except ValueError:
            raise ValueError(
                f"{self!r}: cannot split dim {self.dim} of size {x.shape[d]} into "
                f"{self.unflattened_size} (input shape {x.shape})"
            ) from None

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}
