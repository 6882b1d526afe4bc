"""Convolutions as functions, PyTorch's names, arguments and semantics: ``conv1d``, ``conv2d``,
``conv_transpose1d``, ``conv_transpose2d``.

The work is done by the hand-written ops of ``rosenblatt.ops.conv`` (im2col + one GEMM,
channels-last inside; see there for the formulas and layouts); the 1-D versions are the 2-D ops
on a height-1 image. Output size per spatial dim, n input, f kernel, p padding, s stride,
d dilation:

    conv:            n_o = ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1      (⌊(n + 2p − f)/s⌋ + 1 for d = 1)
    transposed conv: n_o = (n − 1)s − 2p + d(f − 1) + output_padding + 1

``padding`` is an int, a tuple (one per spatial dim), ``"valid"`` (no padding) or ``"same"``
(stride 1 only: d(f − 1) zeros in all, the extra one at the end when odd, as PyTorch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import functional as RF
from ...ops.conv import Conv2d as Conv2dOp
from ...ops.conv import ConvTranspose2d as ConvTranspose2dOp
from ...ops.conv import conv_out_size, window_error
from ...tensor import Tensor

__all__ = [
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_output_size",
    "conv_transpose_output_size",
]

IntOrPair = int | Sequence[int]


def ntuple(value: Any, n: int, name: str, who: str) -> tuple[int, ...]:
    """An int → (v,)·n; a sequence of n ints → a tuple; anything else a ValueError naming
    ``who`` and ``name``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        out = ()
    if len(out) != n:
        raise ValueError(f"{who}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return out


def conv_output_size(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution along one dim: ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1.

    >>> conv_output_size(227, 11, stride=4)   # AlexNet's first layer: 55 × 55 × 96
    55
    """
    return conv_out_size(n, kernel_size, stride, 2 * padding, dilation)


def conv_transpose_output_size(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution: (n − 1)s − 2p + d(f − 1) + output_padding + 1."""
    return (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def conv_padding(padding: Any, kernel: tuple, stride: tuple, dilation: tuple,
                 who: str) -> tuple[int, ...]:
    """``padding`` (int, tuple, "same", "valid") → (before, after) per spatial dim, flattened:
    (top, bottom, left, right) in 2-D, (left, right) in 1-D."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * n)
        if padding != "same":
            raise ValueError(f"{who}: padding must be 'same', 'valid', an int or a tuple, "
                             f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{who}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride})")
        out: list[int] = []
        for f, d in zip(kernel, dilation, strict=True):
            total = d * (f - 1)
            out += [total // 2, total - total // 2]
        return tuple(out)
    pads = ntuple(padding, n, "padding", who)
    if any(p < 0 for p in pads):
        raise ValueError(f"{who}: padding must be non-negative, got {padding!r}")
    return tuple(p for p in pads for _ in range(2))


def _check_conv(who: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: int,
                transposed: bool) -> None:
    c = x.shape[1]
    if groups < 1 or (c % groups) or (not transposed and weight.shape[0] % groups):
        raise ValueError(
            f"{who}: groups={groups} must be positive and divide the input channels ({c})"
            + ("" if transposed else f" and the output channels ({weight.shape[0]})")
        )
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if c != expected:
        raise ValueError(
            f"{who}: given groups={groups}, weight of size {weight.shape}, expected input "
            f"{x.shape} to have {expected} channels, but got {c} channels instead"
        )
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{who}: expected bias of shape ({out_channels},), got {bias.shape}")


def _batched(x: Tensor, dims: int, who: str) -> tuple[Tensor, bool]:
    """x with a batch dim (an unbatched input gets one, as PyTorch allows)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.ndim == dims + 1:
        return RF.unsqueeze(x, 0), True
    if x.ndim != dims + 2:
        shape = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ValueError(f"{who}: expected input of shape {shape} (or without N), got {x.shape}")
    return x, False


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in every framework): input (N, C_in, H, W) or
    (C_in, H, W), weight (C_out, C_in/groups, k_h, k_w), bias (C_out,) → (N, C_out, H_o, W_o),

        y[n, o, a, b] = b[o] + Σ_{c, i, j} x_pad[n, c, a·s_h + i·d_h, b·s_w + j·d_w] W[o, c, i, j]

    H_o = ⌊(H + 2p_h − d_h(k_h − 1) − 1)/s_h⌋ + 1 (likewise W_o). The result keeps x's memory
    layout (channels-last stays channels-last, as PyTorch's memory formats); the shape is always
    NCHW. See ``ops.conv.Conv2d``.
    """
    who = "conv2d"
    x, unbatched = _batched(input, 2, who)
    if weight.ndim != 4:
        raise ValueError(f"{who}: expected a weight of shape (C_out, C_in/groups, k_h, k_w), "
                         f"got {weight.shape}")
    _check_conv(who, x, weight, bias, groups, transposed=False)
    kernel = tuple(weight.shape[2:])
    s = ntuple(stride, 2, "stride", who)
    d = ntuple(dilation, 2, "dilation", who)
    if min(s) < 1 or min(d) < 1:
        raise ValueError(f"{who}: stride and dilation must be positive, got {s} and {d}")
    pads = conv_padding(padding, kernel, s, d, who)
    h, w = x.shape[2:]
    if (conv_out_size(h, kernel[0], s[0], pads[0] + pads[1], d[0]) <= 0
            or conv_out_size(w, kernel[1], s[1], pads[2] + pads[3], d[1]) <= 0):
        raise window_error(who, (h, w), kernel, s, padding, d)
    args = (x, weight) if bias is None else (x, weight, bias)
    y = Conv2dOp.apply(*args, stride=s, padding=pads, dilation=d, groups=int(groups))
    return RF.squeeze(y, 0) if unbatched else y


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution: input (N, C_in, L) or (C_in, L), weight (C_out, C_in/groups, k),
    bias (C_out,) → (N, C_out, L_o), y[n, o, a] = b[o] + Σ_{c, i} x_pad[n, c, a·s + i·d] W[o, c, i],
    L_o = ⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1. Runs as conv2d on a height-1 image."""
    who = "conv1d"
    x, unbatched = _batched(input, 1, who)
    if weight.ndim != 3:
        raise ValueError(f"{who}: expected a weight of shape (C_out, C_in/groups, k), "
                         f"got {weight.shape}")
    _check_conv(who, x, weight, bias, groups, transposed=False)
    k = weight.shape[2]
    s = ntuple(stride, 1, "stride", who)[0]
    d = ntuple(dilation, 1, "dilation", who)[0]
    pl, pr = conv_padding(padding, (k,), (s,), (d,), who)
    n = x.shape[2]
    if conv_out_size(n, k, s, pl + pr, d) <= 0:
        raise window_error(who, (n,), (k,), (s,), padding, (d,))
    args = (RF.unsqueeze(x, 2), RF.unsqueeze(weight, 2))  # (N, C, 1, L), (C_out, C_in/g, 1, k)
    if bias is not None:
        args += (bias,)
    y = Conv2dOp.apply(*args, stride=(1, s), padding=(0, 0, pl, pr), dilation=(1, d),
                       groups=int(groups))
    y = RF.squeeze(y, 2)  # (N, C_out, L_o)
    return RF.squeeze(y, 0) if unbatched else y


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:
    """Transposed 2-D convolution (the gradient of conv2d with respect to its input):
    input (N, C_in, H, W), weight (C_in, C_out/groups, k_h, k_w), bias (C_out,) →
    (N, C_out, H_o, W_o), H_o = (H − 1)s_h − 2p_h + d_h(k_h − 1) + output_padding_h + 1.
    PyTorch's argument order (groups before dilation). See ``ops.conv.ConvTranspose2d``."""
    who = "conv_transpose2d"
    x, unbatched = _batched(input, 2, who)
    if weight.ndim != 4:
        raise ValueError(f"{who}: expected a weight of shape (C_in, C_out/groups, k_h, k_w), "
                         f"got {weight.shape}")
    _check_conv(who, x, weight, bias, groups, transposed=True)
    s = ntuple(stride, 2, "stride", who)
    p = ntuple(padding, 2, "padding", who)
    op = ntuple(output_padding, 2, "output_padding", who)
    d = ntuple(dilation, 2, "dilation", who)
    for a in range(2):
        if op[a] >= max(s[a], d[a]) or op[a] < 0:
            raise ValueError(
                f"{who}: output_padding must be smaller than either stride or dilation, got "
                f"output_padding={op}, stride={s}, dilation={d}"
            )
    args = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose2dOp.apply(*args, stride=s, padding=p, output_padding=op, dilation=d,
                                groups=int(groups))
    return RF.squeeze(y, 0) if unbatched else y


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:
    """Transposed 1-D convolution: input (N, C_in, L), weight (C_in, C_out/groups, k) →
    (N, C_out, (L − 1)s − 2p + d(k − 1) + output_padding + 1); conv_transpose2d at height 1."""
    who = "conv_transpose1d"
    x, unbatched = _batched(input, 1, who)
    if weight.ndim != 3:
        raise ValueError(f"{who}: expected a weight of shape (C_in, C_out/groups, k), "
                         f"got {weight.shape}")
    one = lambda v, name: ntuple(v, 1, name, who)[0]  # noqa: E731
    y = conv_transpose2d(
        RF.unsqueeze(x, 2), RF.unsqueeze(weight, 2), bias,  # (N, C, 1, L), (C_in, ·, 1, k)
        stride=(1, one(stride, "stride")), padding=(0, one(padding, "padding")),
        output_padding=(0, one(output_padding, "output_padding")), groups=groups,
        dilation=(1, one(dilation, "dilation")),
    )
    y = RF.squeeze(y, 2)  # (N, C_out, L_o)
    return RF.squeeze(y, 0) if unbatched else y
