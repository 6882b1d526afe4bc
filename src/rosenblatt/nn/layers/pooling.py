"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``SumPool2d``, ``LPPool2d``,
``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``, ``GlobalAvgPool2d``, ``FractionalMaxPool2d``.

Arguments, defaults (stride = kernel_size) and reprs are PyTorch's. None has parameters. Output
size per dim: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 (⌈·⌉ with ceil_mode); a window that does not fit
raises an error naming the layer, the input size, kernel, stride and padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...tensor import Tensor
from ..functional import pooling as FP
from ..module import Module
from .conv import named_error

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "SumPool2d",
    "LPPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "GlobalAvgPool2d",
    "FractionalMaxPool2d",
]

IntOrTuple = int | Sequence[int]


def _plain(v: Any) -> Any:
    """A JSON-friendly copy of an int-or-tuple argument (tuples become lists)."""
    return list(v) if isinstance(v, tuple) else v


def _keep(v: Any) -> Any:
    """An int-or-tuple argument as PyTorch stores it (a list, e.g. from JSON, as a tuple)."""
    return tuple(v) if isinstance(v, list) else v


class _Pool(Module):
    """Input check shared by the pooling layers: (N, C, *spatial) or (C, *spatial)."""

    _dims = 2

    def _check_input(self, x: Tensor) -> None:
        n = self._dims
        if x.ndim not in (n + 1, n + 2):
            spatial = "L" if n == 1 else "H, W"
            raise ValueError(f"{self!r}: expected input of shape (N, C, {spatial}) or "
                             f"(C, {spatial}), got {x.shape}")


class _MaxPoolNd(_Pool):
    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, dilation: IntOrTuple = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = _keep(kernel_size)
        self.stride = _keep(stride if stride is not None else kernel_size)
        self.padding = _keep(padding)
        self.dilation = _keep(dilation)
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: Tensor) -> Any:
        self._check_input(x)
        fn = FP.max_pool1d if self._dims == 1 else FP.max_pool2d
        try:
            return fn(x, self.kernel_size, self.stride, self.padding, self.dilation,
                      self.ceil_mode, self.return_indices)
        except ValueError as err:
            raise named_error(self, err, f"max_pool{self._dims}d") from None

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def get_config(self) -> dict[str, Any]:
        return {"kernel_size": _plain(self.kernel_size), "stride": _plain(self.stride),
                "padding": _plain(self.padding), "dilation": _plain(self.dilation),
                "return_indices": self.return_indices, "ceil_mode": self.ceil_mode}


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling: each output is the maximum of a k_h × k_w window of its channel
    (padding with −∞); the gradient goes to the max. Stride defaults to the kernel size
    (non-overlapping windows: 2×2 halves H and W). See ``nn.functional.max_pool2d``."""


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over the last dim of (N, C, L). See ``nn.functional.max_pool1d``."""

    _dims = 1


class _AvgPoolNd(_Pool):
    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = _keep(kernel_size)
        self.stride = _keep(stride if stride is not None else kernel_size)
        self.padding = _keep(padding)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            if self._dims == 1:
                return FP.avg_pool1d(x, self.kernel_size, self.stride, self.padding,
                                     self.ceil_mode, self.count_include_pad)
            return FP.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                 self.count_include_pad, self.divisor_override)
        except ValueError as err:
            raise named_error(self, err, f"avg_pool{self._dims}d") from None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def get_config(self) -> dict[str, Any]:
        config = {"kernel_size": _plain(self.kernel_size), "stride": _plain(self.stride),
                  "padding": _plain(self.padding), "ceil_mode": self.ceil_mode,
                  "count_include_pad": self.count_include_pad}
        if self._dims == 2:
            config["divisor_override"] = self.divisor_override
        return config


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling: each output is the mean of a k_h × k_w window (zero padding; the
    divisor at the borders follows ``count_include_pad``, as PyTorch). Stride defaults to the
    kernel size. See ``nn.functional.avg_pool2d``."""


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over the last dim of (N, C, L). See ``nn.functional.avg_pool1d``."""

    _dims = 1

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(_single(kernel_size), _single(stride if stride is not None
                                                       else kernel_size),
                         _single(padding), ceil_mode, count_include_pad)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("kernel_size", "stride", "padding"):
            config[key] = config[key][0]
        return config


def _single(v: Any) -> tuple[int]:
    return (int(v),) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


class SumPool2d(_Pool):
    """Sum pooling (the notes' "sum pooling"): each output is the sum of a k_h × k_w window,
    = average pooling × k_h·k_w. Stride defaults to the kernel size."""

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = _keep(kernel_size)
        self.stride = _keep(stride if stride is not None else kernel_size)
        self.padding = _keep(padding)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            return FP.sum_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        except ValueError as err:
            raise named_error(self, err, "sum_pool2d") from None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def get_config(self) -> dict[str, Any]:
        return {"kernel_size": _plain(self.kernel_size), "stride": _plain(self.stride),
                "padding": _plain(self.padding), "ceil_mode": self.ceil_mode}


class LPPool2d(_Pool):
    """Power-average pooling: y = (Σ_window x^p)^(1/p) (p = ``norm_type``; 1 is sum pooling,
    ∞ max pooling). See ``nn.functional.lp_pool2d``."""

    def __init__(self, norm_type: float, kernel_size: IntOrTuple,
                 stride: IntOrTuple | None = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = _keep(kernel_size)
        self.stride = _keep(stride)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            return FP.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)
        except ValueError as err:
            raise named_error(self, err, "lp_pool2d") from None

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")

    def get_config(self) -> dict[str, Any]:
        return {"norm_type": self.norm_type, "kernel_size": _plain(self.kernel_size),
                "stride": _plain(self.stride), "ceil_mode": self.ceil_mode}


class AdaptiveAvgPool2d(_Pool):
    """Adaptive average pooling to a fixed output size (H_o, W_o), whatever the input size:
    PyTorch's bins [⌊a·H/H_o⌋, ⌈(a + 1)·H/H_o⌉). ``AdaptiveAvgPool2d(1)`` is global average
    pooling keeping (N, C, 1, 1). None in output_size keeps that input dim."""

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = _keep(output_size)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return FP.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict[str, Any]:
        return {"output_size": _plain(self.output_size)}


class AdaptiveMaxPool2d(_Pool):
    """Adaptive max pooling to a fixed output size (PyTorch's bins); ``return_indices`` also
    returns the flat positions of the maxima."""

    def __init__(self, output_size: int | Sequence[int | None],
                 return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = _keep(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, x: Tensor) -> Any:
        self._check_input(x)
        return FP.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict[str, Any]:
        return {"output_size": _plain(self.output_size), "return_indices": self.return_indices}


class GlobalAvgPool2d(_Pool):
    """Global average pooling (Lin et al., Network in Network): the mean of each channel,
    (N, C, H, W) → (N, C), or (N, C, 1, 1) with ``keepdim=True`` (Keras'
    GlobalAveragePooling2D; PyTorch writes ``AdaptiveAvgPool2d(1)`` + ``Flatten``)."""

    def __init__(self, keepdim: bool = False) -> None:
        super().__init__()
        self.keepdim = bool(keepdim)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"{self!r}: expected input of shape (N, C, H, W), got {x.shape}")
        return FP.global_avg_pool2d(x, self.keepdim)

    def extra_repr(self) -> str:
        return f"keepdim={self.keepdim}" if self.keepdim else ""

    def get_config(self) -> dict[str, Any]:
        return {"keepdim": self.keepdim}


class FractionalMaxPool2d(_Pool):
    """Fractional max pooling (Graham, 2014): k × k max windows at pseudo-random starts, one
    draw per (sample, channel) and forward pass, giving any output size between
    input − k + 1 and the input (``output_size``) or ⌊input·ratio⌋ (``output_ratio``).
    Draws come from ``rosenblatt.random.generator()``. See ``nn.functional.fractional_max_pool2d``.
    """

    def __init__(self, kernel_size: IntOrTuple, output_size: IntOrTuple | None = None,
                 output_ratio: float | Sequence[float] | None = None,
                 return_indices: bool = False, _random_samples: Any = None) -> None:
        super().__init__()
        if (output_size is None) == (output_ratio is None):
            raise ValueError("FractionalMaxPool2d requires specifying either an output size, or "
                             "a pooling ratio (exactly one of them)")
        ratios = (output_ratio, output_ratio) if isinstance(output_ratio, (int, float)) \
            else output_ratio
        if ratios is not None and not all(0 < r < 1 for r in ratios):
            raise ValueError(f"FractionalMaxPool2d: output_ratio must be between 0 and 1, got "
                             f"{output_ratio}")
        self.kernel_size = _keep(kernel_size)
        self.output_size = _keep(output_size)
        self.output_ratio = _keep(output_ratio)
        self.return_indices = bool(return_indices)
        self._random_samples = _random_samples

    def forward(self, x: Tensor) -> Any:
        self._check_input(x)
        try:
            return FP.fractional_max_pool2d(x, self.kernel_size, self.output_size,
                                            self.output_ratio, self.return_indices,
                                            self._random_samples)
        except ValueError as err:
            raise named_error(self, err, "fractional_max_pool2d") from None

    def extra_repr(self) -> str:
        size = (f"output_size={self.output_size}" if self.output_size is not None
                else f"output_ratio={self.output_ratio}")
        return f"kernel_size={self.kernel_size}, {size}"

    def get_config(self) -> dict[str, Any]:
        return {"kernel_size": _plain(self.kernel_size), "output_size": _plain(self.output_size),
                "output_ratio": _plain(self.output_ratio), "return_indices": self.return_indices}
