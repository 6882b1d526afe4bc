"""The direct convolution path: when to use the numba kernels of ``conv_numba``, and how to call
them on a batch (threads over chunks of images, outputs in x's memory layout).

numba is optional (``ops/jit.py`` holds the switch): without it, with ``ROSENBLATT_NUMBA=0``, or
after ``use_numba(False)`` every convolution takes the NumPy im2col + GEMM path of ``ops.conv``,
and CuPy arrays always do.

Which layers go direct (``use_numba(None)``, the default) follows measurements on a 2-core Zen 3
(batch 128, float32, forward + backward through the op): the direct kernels win by 2–3× where
the im2col matrix is large and the GEMM thin (ResNet-20's 16-channel 32×32 layers: 27 against
62 ms; LeNet's first layer 2.4 against 7.4 ms); with more channels the isolated GEMM catches up
and passes them (64 channels at 8×8, K = 576: GEMM 1.18× faster; 128 channels: 1.31×; 256:
1.74×). Inside a ResNet-20 step the direct path still won up to K = 576 (no padded NHWC copy,
no transposes back to NCHW): 402 ms a step with every layer direct against 527 with the GEMM
from K > 150 (fastest of 10 interleaved steps). Hence direct up to K = ``DIRECT_MAX_K`` on
outputs of at least ``DIRECT_MIN_PIXELS``; ``use_numba(True)`` sends every supported
convolution to numba (the tests do, to cover both paths).

Threads: the kernels release the GIL; a batch is cut into ``jit.threads()`` contiguous chunks of
images, each writing its own slice of y or dx, or its own float64 partial dW.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import jit
from .jit import available, use_numba  # noqa: F401 - the switch, re-exported for callers

DIRECT_MAX_K = 600  # direct up to K = C_in/g·k_h·k_w = 600 (64 channels × 3×3, measured) ...
DIRECT_MIN_PIXELS = 64  # ... on outputs of at least 8×8 (smaller frames waste more padding)
RECOMPUTE_MAX_K = 32  # outputs of direct convolutions with K ≤ 32 are recomputed, not kept


def cheap_to_recompute(W: Any) -> bool:
    """Whether a later op should recompute this direct convolution's output instead of keeping
    something of its size (batch norm's x̂): K = C_in/g·k_h·k_w ≤ ``RECOMPUTE_MAX_K``, i.e. at
    most 2K = 64 flops an element against 4 bytes an element held until backward (ResNet's stem
    and 1×1 shortcuts, depthwise layers: ~1 ms each in a ResNet-20 step, 15 MB less held)."""
    _, cg, kh, kw = W.shape
    return cg * kh * kw <= RECOMPUTE_MAX_K


def prefers_direct(c_per_group: int, kh: int, kw: int, out_pixels: int, groups: int) -> bool:
    """The per-shape choice (measured, see the module docstring): direct when the GEMM's inner
    dimension K = C_in/g·k_h·k_w is at most ``DIRECT_MAX_K`` and the output has at least
    ``DIRECT_MIN_PIXELS`` pixels (or the convolution is grouped)."""
    if c_per_group * kh * kw > DIRECT_MAX_K:
        return False
    return out_pixels >= DIRECT_MIN_PIXELS or groups > 1


def wanted(x: Any, W: Any, out_hw: tuple[int, int], groups: int) -> bool:
    """Whether this convolution should run direct: NumPy float32/float64 arrays (numba has no
    float16 arithmetic), numba available, and the mode or the per-shape rule says so."""
    mode = jit.mode()
    if mode is False or not jit.supports(x) or x.ndim != 4:
        return False
    if x.dtype != W.dtype or jit.kernels("conv_numba") is None:
        return False
    if mode:
        return True
    _, cg, kh, kw = W.shape
    return prefers_direct(cg, kh, kw, out_hw[0] * out_hw[1], groups)


BLOCK_LENGTH = 2048  # flat positions per pass over the taps: a few images when they are small
BLOCK_BYTES = 256 << 10  # the phase planes of one block stay in a core's L2


def geometry(x: Any, W: Any, out_hw: tuple, stride: tuple, padding: tuple, dilation: tuple,
             n_chunk: int) -> tuple:
    """The kernels' ``geo`` = (k_h, k_w, s_h, s_w, d_h, d_w, p_t, p_l, H_q, W_q, nb, tail).

    H_q × W_q is one image's frame in a phase plane. Along an axis of stride 1, consecutive rows
    (and images) share their zero padding: the frame is H + max(p_t, p_b) rows of
    W + max(p_l, p_r) (a 3×3 "same" layer on 8×8 images: 9×9, not 10×10), since a tap that runs
    off the right edge of a row lands in the left padding of the next. With a larger stride,
    H_q = H_o + ⌊(k_h − 1)d_h/s_h⌋. nb images go into one block (``BLOCK_LENGTH``,
    ``BLOCK_BYTES``), followed by ``tail`` zeros that the last image's taps may read."""
    _, c, h, w = x.shape
    kh, kw = W.shape[2:]
    ho, wo = out_hw
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = stride, dilation, padding
    ii, jj = (kh - 1) * dh // sh, (kw - 1) * dw // sw  # the largest tap shifts
    hq = max(ho, h + max(pt, pb)) if sh == 1 else ho + ii
    wq = max(wo, w + max(pl, pr)) if sw == 1 else wo + jj
    plane = hq * wq
    per_image = c * sh * sw * plane * x.dtype.itemsize
    nb = max(1, min(n_chunk, BLOCK_LENGTH // plane, BLOCK_BYTES // per_image))
    tail = max(0, (ho - 1 + ii) * wq + wo + jj - plane)
    return (kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail)


def _empty_like_layout(x: Any, shape: tuple[int, int, int, int]) -> Any:
    """An uninitialised NCHW-shaped array in x's memory layout (NHWC memory when x sits in
    NHWC memory)."""
    n, c, h, w = shape
    if x.transpose(0, 2, 3, 1).flags.c_contiguous:
        return np.empty((n, h, w, c), dtype=x.dtype).transpose(0, 3, 1, 2)
    return np.empty(shape, dtype=x.dtype)


def conv2d_forward(x: Any, W: Any, b: Any, out_hw: tuple[int, int], stride: tuple,
                   padding: tuple, dilation: tuple, groups: int) -> Any:
    """y (N, C_out, H_o, W_o) in x's memory layout; padding (top, bottom, left, right)."""
    kern = jit.kernels("conv_numba")
    n, co = x.shape[0], W.shape[0]
    y = _empty_like_layout(x, (n, co) + tuple(out_hw))
    W = np.ascontiguousarray(W)
    b = np.zeros(co, dtype=x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    chunks = jit.chunks(n)
    geo = geometry(x, W, out_hw, stride, padding, dilation, chunks[0][1])

    def run(i: int, n0: int, n1: int) -> None:
        kern.conv_forward(x, W, b, y, groups, geo, n0, n1)

    jit.parallel(run, chunks)
    return y


def conv2d_backward(x: Any, W: Any, dy: Any, stride: tuple, padding: tuple, dilation: tuple,
                    groups: int, need_x: bool, need_w: bool) -> tuple[Any, Any]:
    """(dx, dW): dx (N, C_in, H, W) in x's memory layout, dW like W; None where not needed."""
    kern = jit.kernels("conv_numba")
    n = x.shape[0]
    W = np.ascontiguousarray(W)
    chunks = jit.chunks(n)
    geo = geometry(x, W, dy.shape[2:], stride, padding, dilation, chunks[0][1])
    dx = dW = None
    if need_x:
        dx = _empty_like_layout(x, x.shape)

        def input_grad(i: int, n0: int, n1: int) -> None:
            kern.conv_backward_input(dy, W, dx, groups, geo, n0, n1)

        jit.parallel(input_grad, chunks)
    if need_w:
        parts = np.zeros((len(chunks), W.shape[0], W[0].size))  # float64, one per chunk

        def weight_grad(i: int, n0: int, n1: int) -> None:
            kern.conv_backward_weight(x, dy, parts[i], groups, geo, n0, n1)

        jit.parallel(weight_grad, chunks)
        dW = parts.sum(axis=0).astype(W.dtype).reshape(W.shape)
    return dx, dW
