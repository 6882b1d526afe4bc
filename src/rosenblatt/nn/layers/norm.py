"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``,
``InstanceNorm1d/2d``. Defaults (eps, momentum, init, buffers, state_dict keys) are PyTorch's,
so results and checkpoints compare one to one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import functional as RF
from ...tensor import Tensor
from .. import init
from ..functional import layers as FL
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
]


class _NormBase(Module):
    """Per-channel parameters and running statistics shared by batch and instance norm.

    Parameters weight γ (C,) = 1 and bias β (C,) = 0 when ``affine`` (β only with the keyword
    ``bias=True``, PyTorch 2.13's option); buffers
    ``running_mean`` (C,) = 0, ``running_var`` (C,) = 1 and ``num_batches_tracked`` (int64,
    scalar) when ``track_running_stats``: PyTorch's names, order and initial values.
    """

    _shape_text = "(N, C, *)"
    _batched_ndims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, np.float32))
            self.register_parameter("bias", Parameter(np.zeros(c, np.float32)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(c, np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(c, np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """running_mean ← 0, running_var ← 1, num_batches_tracked ← 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Running statistics reset, γ ← 1, β ← 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in self._batched_ndims or x.shape[1] != self.num_features:
            expected = self._shape_text.replace("C", str(self.num_features))
            raise ValueError(
                f"{type(self).__name__}({self.num_features}): expected input of shape "
                f"{expected}, got {x.shape}"
            )

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats,
                "bias": self.bias is not None or not self.affine}


class _BatchNorm(_NormBase):
    """Batch normalisation (Ioffe & Szegedy, 2015), per channel over the batch and spatial dims:

        y = (x − μ)/√(var + eps) · γ + β

    Training: μ and the biased var of the batch normalise; the running statistics move by
    r ← (1 − momentum)·r + momentum·statistic, with the *unbiased* variance, and
    num_batches_tracked counts the batches. ``momentum=None`` makes them a cumulative average
    (momentum = 1/num_batches_tracked). Eval: running_mean and running_var normalise (or the
    batch statistics, when ``track_running_stats=False``).

    ``layer(x, relu=True)`` is ``relu(layer(x))`` fused, which saves memory in training: the
    ReLU's mask and output are recomputed from x̂ instead of kept, also for a convolution that
    reads the output (the model zoo's conv → BN → ReLU blocks call it so).
    """

    def forward(self, x: Tensor, *, relu: bool = False) -> Tensor:
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return FL.batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
            relu=relu,
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) (per feature, over the batch) or (N, C, L) (also over L)."""

    _shape_text = "(N, C) or (N, C, L)"
    _batched_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W): per channel, over N, H and W."""

    _shape_text = "(N, C, H, W)"
    _batched_ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W): per channel, over N, D, H and W."""

    _shape_text = "(N, C, D, H, W)"
    _batched_ndims = (5,)


class _InstanceNorm(_NormBase):
    """Instance normalisation (Ulyanov et al., 2016): each (sample, channel) normalised over
    its spatial dims, y = (x − μ_nc)/√(var_nc + eps) · γ + β.

    PyTorch's defaults: ``affine=False``, ``track_running_stats=False``. When tracking, the
    running statistics follow the batch average of the per-instance statistics and normalise
    in eval (num_batches_tracked is kept for state_dict compatibility but, as in PyTorch, not
    counted; ``momentum=None`` acts as 0). An unbatched input (C, *) is accepted too.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        unbatched = x.ndim == self._batched_ndims[0] - 1
        if unbatched:
            x = RF.unsqueeze(x, 0)
        self._check_input(x)
        y = FL.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return RF.squeeze(y, 0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) (or (C, L)): per sample and channel, over L."""

    _shape_text = "(N, C, L)"
    _batched_ndims = (3,)


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) (or (C, H, W)): per sample and channel, over H, W."""

    _shape_text = "(N, C, H, W)"
    _batched_ndims = (4,)


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016) over the trailing dims ``normalized_shape`` of
    each sample: x (*, *normalized_shape) → y of the same shape,

        y = (x − μ)/√(var + eps) ⊙ γ + β,   μ, var (biased) over the normalised dims

    γ = 1, β = 0 of shape ``normalized_shape`` when ``elementwise_affine`` (β only when
    ``bias``). Same in training and eval.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, np.float32))
            b = Parameter(np.zeros(self.normalized_shape, np.float32)) if bias else None
            self.register_parameter("bias", b)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"{type(self).__name__}({self.normalized_shape}): expected input of shape "
                f"(*, {dims}), got {x.shape}"
            )
        return FL.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")

    def get_config(self) -> dict[str, Any]:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine,
                "bias": self.bias is not None or not self.elementwise_affine}


class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018): the C channels of x (N, C, *) split into
    ``num_groups`` groups; each (sample, group) is normalised over its C/G channels and all
    spatial positions, then γ, β (C,) (= 1, 0) scale and shift each channel. G = 1 is layer norm
    over (C, *), G = C instance norm. Same in training and eval; works for any batch size.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = float(eps)
        self.affine = bool(affine)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, np.float32))
            b = Parameter(np.zeros(self.num_channels, np.float32)) if bias else None
            self.register_parameter("bias", b)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}): expected input of shape "
                f"(N, {self.num_channels}, *), got {x.shape}"
            )
        return FL.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")

    def get_config(self) -> dict[str, Any]:
        return {"num_groups": self.num_groups, "num_channels": self.num_channels,
                "eps": self.eps, "affine": self.affine,
                "bias": self.bias is not None or not self.affine}
