"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Parameters, state_dict keys, defaults and initialisation are PyTorch's, so checkpoints move
between the two: weight (C_out, C_in/groups, *kernel) (transposed: (C_in, C_out/groups,
*kernel)) and bias (C_out,), both drawn from U(−1/√fan_in, 1/√fan_in)
(``init.kaiming_uniform_(W, a=√5)`` for the weight), fan_in = weight.shape[1]·Πkernel.
A conv layer with 10 filters of 3×3 over 3 channels has 10·(3·3·3 + 1) = 280 parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor
from .. import init
from ..functional import conv as FC
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

IntOrTuple = int | Sequence[int]


def named_error(layer: Module, err: ValueError, op: str) -> ValueError:
    """``err`` from functional op ``op``, reworded to name the layer (its repr) instead."""
    msg = str(err)
    key = op.replace("_", "").lower()
    while True:  # drop "max_pool2d: " and the autograd Function's "MaxPool2d: " in front
        head, sep, rest = msg.partition(": ")
        if not (sep and head.replace("_", "").lower() == key):
            return ValueError(f"{layer!r}: {msg}")
        msg = rest


class _ConvNd(Module):
    """Shared by every conv layer: arguments as PyTorch stores them, parameters, init, repr."""

    _dims = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: IntOrTuple | str = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: IntOrTuple = 0,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self._dims
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is supported, got "
                                      f"{padding_mode!r}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = FC.ntuple(kernel_size, n, "kernel_size", name)
        self.stride = FC.ntuple(stride, n, "stride", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding: tuple[int, ...] | str = padding
        else:
            self.padding = FC.ntuple(padding, n, "padding", name)
        self.dilation = FC.ntuple(dilation, n, "dilation", name)
        self.output_padding = FC.ntuple(output_padding, n, "output_padding", name)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, np.float32))
        b = Parameter(np.empty((self.out_channels,), np.float32)) if bias else None
        self.register_parameter("bias", b)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ← kaiming_uniform_(a=√5) = U(−1/√fan_in, 1/√fan_in), and
        b ~ U(−1/√fan_in, 1/√fan_in), fan_in = weight.shape[1]·Πkernel."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x: Tensor) -> None:
        n = self._dims
        spatial = ("L",) if n == 1 else ("H", "W")
        if x.ndim not in (n + 1, n + 2) or x.shape[-n - 1] != self.in_channels:
            expected = ", ".join(("N", str(self.in_channels), *spatial))
            raise ValueError(f"{self!r}: expected input of shape ({expected}), got {x.shape}")

    def extra_repr(self) -> str:
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
        }
        if self._transposed:
            config["output_padding"] = list(self.output_padding)
        return config


class Conv2d(_ConvNd):
    """2-D convolution layer: x (N, C_in, H, W) → y (N, C_out, H_o, W_o),

        y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]       (⋆: 2-D cross-correlation)

    H_o = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 (the notes' ⌊(n + 2p − f)/s⌋ + 1). ``padding`` may be
    an int, a pair, "same" or "valid". See ``nn.functional.conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            return FC.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                             self.dilation, self.groups)
        except ValueError as err:
            raise named_error(self, err, "conv2d") from None


class Conv1d(_ConvNd):
    """1-D convolution layer: x (N, C_in, L) → y (N, C_out, L_o),
    y[n, o, a] = b[o] + Σ_{c, i} W[o, c, i]·x_pad[n, c, a·s + i·d],
    L_o = ⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1. See ``nn.functional.conv1d``."""

    _dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            return FC.conv1d(x, self.weight, self.bias, self.stride, self.padding,
                             self.dilation, self.groups)
        except ValueError as err:
            raise named_error(self, err, "conv1d") from None


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution ("deconvolution"): x (N, C_in, H, W) → (N, C_out, H_o, W_o),
    H_o = (H − 1)s − 2p + d(k − 1) + output_padding + 1; weight (C_in, C_out/groups, k_h, k_w).
    The gradient of a Conv2d with respect to its input; upsamples by the stride."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                 groups: int = 1, bias: bool = True, dilation: IntOrTuple = 1,
                 padding_mode: str = "zeros") -> None:
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            return FC.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                       self.output_padding, self.groups, self.dilation)
        except ValueError as err:
            raise named_error(self, err, "conv_transpose2d") from None


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution: x (N, C_in, L) → (N, C_out, L_o),
    L_o = (L − 1)s − 2p + d(k − 1) + output_padding + 1; weight (C_in, C_out/groups, k)."""

    _dims = 1

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        try:
            return FC.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                       self.output_padding, self.groups, self.dilation)
        except ValueError as err:
            raise named_error(self, err, "conv_transpose1d") from None
