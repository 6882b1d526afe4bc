"""Spatial layers without weights: ``LocalResponseNorm``, ``Upsample`` and ``StochasticDepth``
(PyTorch's and torchvision's names, arguments and reprs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...tensor import Tensor
from ..functional import pooling as FP
from ..module import Module
from .conv import named_error

__all__ = ["LocalResponseNorm", "Upsample", "StochasticDepth"]


class LocalResponseNorm(Module):
    """Local response normalisation across channels (Krizhevsky et al., 2012):

        y[n, c] = x[n, c] / (k + α/size · Σ_{c′ near c} x[n, c′]²)^β

    over ``size`` neighbouring channels. Input (N, C, *). See
    ``nn.functional.local_response_norm``."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = int(size)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 3:
            raise ValueError(f"{self!r}: expected input of shape (N, C, *) with at least 3 dims, "
                             f"got {x.shape}")
        return FP.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def get_config(self) -> dict[str, Any]:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``, with ``mode``
    "nearest", "linear" (1-D) or "bilinear" (2-D) and ``align_corners`` as PyTorch. See
    ``nn.functional.interpolate``."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                 align_corners: bool | None = None) -> None:
        super().__init__()
        self.size = tuple(size) if isinstance(size, list) else size
        if isinstance(scale_factor, (int, float)):
            scale_factor = float(scale_factor)
        elif scale_factor is not None:
            scale_factor = tuple(float(s) for s in scale_factor)
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: Tensor) -> Tensor:
        try:
            return FP.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)
        except ValueError as err:
            raise named_error(self, err, "interpolate") from None

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"

    def get_config(self) -> dict[str, Any]:
        plain = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
        return {"size": plain(self.size), "scale_factor": plain(self.scale_factor),
                "mode": self.mode, "align_corners": self.align_corners}


class StochasticDepth(Module):
    """Stochastic depth (torchvision's ``StochasticDepth``): in training, drop the whole input
    (a residual branch) with probability p and scale survivors by 1/(1 − p), per sample
    (``mode="row"``) or for the whole batch (``"batch"``); identity in eval."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = float(p)
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        return FP.stochastic_depth(x, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, mode={self.mode})"

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p, "mode": self.mode}
