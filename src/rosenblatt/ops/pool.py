"""Pooling and resampling ops, forward and backward side by side: max, average (and sum),
adaptive max, fractional max, and separable linear resampling (adaptive average pooling and
nearest / bilinear interpolation).

Layout: x is (N, C, H, W) as in PyTorch, but every kernel here works on the NHWC *view*
``x.transpose(0, 2, 3, 1)`` and returns its output (and dx) in the memory order x already has, so
a channels-last tensor coming out of a convolution stays channels-last and an NCHW one stays NCHW.

Sliding windows (max and average pooling) never build a k_h·k_w-times larger copy: the op runs
over the k_h·k_w kernel offsets, each a strided view of the (padded) input of the output's size,
so the work is k_h·k_w passes over the output. Output size per spatial dim (n, kernel f,
padding p each side, stride s, dilation d):

    n_o = ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1        (⌈·⌉ with ceil_mode, as PyTorch: the last
                                                   window must start inside the input or the
                                                   left padding)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from .conv import conv_out_size, window_error

# ----------------------------------------------------------------------------------------------
# geometry and layout helpers
# ----------------------------------------------------------------------------------------------


def pool_out_size(n: int, f: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1, or with ``ceil_mode``
    ⌈·⌉ + 1 minus one when the last window would start past the input and left padding."""
    if not ceil_mode:
        return conv_out_size(n, f, s, 2 * p, d)
    out = -(-(n + 2 * p - d * (f - 1) - 1) // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def channels_last(x: Any) -> bool:
    """True when x (N, C, H, W) sits in NHWC memory (its NHWC view is C-contiguous)."""
    return bool(x.transpose(0, 2, 3, 1).flags.c_contiguous) and not x.flags.c_contiguous


def empty_nhwc(x: Any, n: int, h: int, w: int, c: int, dtype: Any = None) -> Any:
    """An uninitialised (N, H, W, C) view whose memory order matches x's (NHWC memory for a
    channels-last x, NCHW memory otherwise)."""
    xp = get_array_module(x)
    dtype = x.dtype if dtype is None else dtype
    if channels_last(x):
        return xp.empty((n, h, w, c), dtype=dtype)
    return xp.empty((n, c, h, w), dtype=dtype).transpose(0, 2, 3, 1)  # NHWC view of NCHW


def pad_view(x: Any, pads: tuple[int, int, int, int], value: float) -> Any:
    """The NHWC view of x padded by (top, bottom, left, right) with ``value``, in x's memory
    order (a view of x itself when there is nothing to pad)."""
    xt = x.transpose(0, 2, 3, 1)  # (N, H, W, C) view
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return xt
    n, h, w, c = xt.shape
    out = empty_nhwc(x, n, h + pt + pb, w + pl + pr, c)
    out[:, :pt] = value
    out[:, pt + h :] = value
    out[:, pt : pt + h, :pl] = value
    out[:, pt : pt + h, pl + w :] = value
    out[:, pt : pt + h, pl : pl + w] = xt
    return out


def offsets(kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int):
    """(k, slice_h, slice_w) for every kernel offset k = i·k_w + j: the rows and columns of the
    padded input that offset (i, j) reads for the H_o × W_o outputs."""
    for i in range(kh):
        for j in range(kw):
            yield (i * kw + j, slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                   slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def _geometry(who: str, x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
              ceil_mode: bool) -> tuple:
    """(H_o, W_o, pads) of a pooling window, pads = (top, bottom, left, right) with the extra
    bottom/right rows that ceil_mode's last window may need. Raises when nothing fits."""
    _, _, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    ho = pool_out_size(h, kh, sh, ph, dh, ceil_mode)
    wo = pool_out_size(w, kw, sw, pw, dw, ceil_mode)
    if ho <= 0 or wo <= 0:
        raise window_error(who, (h, w), kernel, stride, padding, dilation)
    pb = max(ph, (ho - 1) * sh + dh * (kh - 1) + 1 - h - ph)
    pr = max(pw, (wo - 1) * sw + dw * (kw - 1) + 1 - w - pw)
    return ho, wo, (ph, pb, pw, pr)


def _lowest(dtype: Any) -> Any:
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _index_dtype(k: int) -> Any:
    return np.uint8 if k <= 255 else np.int32


# ----------------------------------------------------------------------------------------------
# max pooling
# ----------------------------------------------------------------------------------------------


class MaxPool2d(Function):
    """Max pooling: y[n, c, a, b] = max_{i, j} x_pad[n, c, a·s_h + i·d_h, b·s_w + j·d_w]
    (padding with −∞). dx: dy goes to the position that held the max (the first one, in row-major
    window order, on ties, as PyTorch); windows that overlap add their gradients.

    Kept for backward: ``arg`` (N, H_o, W_o, C), the kernel offset of each max as one byte per
    output. With ``indices_out`` (a list), the flat position h·W + w of each max in its input
    plane (PyTorch's ``return_indices``) is appended to it as an int64 (N, C, H_o, W_o) array.
    The running max over the k_h·k_w offset views costs three passes per offset over the output
    (compare, max, record the offset); the common 2×2, stride-2 case is four offsets.
    """

    def forward(self, x: Any, kernel: tuple = (2, 2), stride: tuple = (2, 2),
                padding: tuple = (0, 0), dilation: tuple = (1, 1), ceil_mode: bool = False,
                indices_out: list | None = None) -> Any:
        xp = get_array_module(x)
        n, c, h, w = x.shape
        kh, kw = kernel
        sh, sw = stride
        dh, dw = dilation
        ho, wo, pads = _geometry("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode)
        self.tiled = (kh, kw) == (sh, sw) and (dh, dw) == (1, 1) and pads == (0,) * 4
        if self.tiled:  # windows tile the input: reshape instead of k_h·k_w strided views
            y, arg = _tiled_max(x, kh, kw, ho, wo)
            if not channels_last(x) and c > 1:  # keep x's NCHW layout
                y = xp.ascontiguousarray(y.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
        else:
            x_pad = pad_view(x, pads, _lowest(x.dtype))  # (N, H_p, W_p, C) view
            y = empty_nhwc(x, n, ho, wo, c)  # (N, H_o, W_o, C) view
            arg = xp.zeros((n, ho, wo, c), dtype=_index_dtype(kh * kw))
            greater = xp.empty((n, ho, wo, c), dtype=bool)
            for k, rows, cols in offsets(kh, kw, sh, sw, dh, dw, ho, wo):
                v = x_pad[:, rows, cols]
                if k == 0:
                    y[...] = v
                    continue
                xp.greater(v, y, out=greater)
                xp.maximum(y, v, out=y)
                xp.maximum(arg, greater.view(np.uint8) * arg.dtype.type(k), out=arg)  # k grows
        self.geo = (kh, kw, sh, sw, dh, dw, ho, wo)
        self.pads, self.in_shape = pads, x.shape
        self.channels_last = channels_last(x) or c == 1
        self.save_for_backward(arg)
        if indices_out is not None:
            i, j = arg // kw, arg % kw
            rows = xp.arange(ho).reshape(1, ho, 1, 1) * sh - pads[0] + i * dh  # (N, H_o, W_o, C)
            cols = xp.arange(wo).reshape(1, 1, wo, 1) * sw - pads[2] + j * dw
            indices_out.append((rows * w + cols).astype(np.int64).transpose(0, 3, 1, 2))
        return y.transpose(0, 3, 1, 2)  # NCHW view

    def backward(self, dy: Any) -> Any:
        (arg,) = self.saved_tensors
        if self.tiled:
            dx = _tiled_scatter(dy, arg, self.geo, self.in_shape)
            return dx if self.channels_last else get_array_module(dy).ascontiguousarray(dx)
        return _scatter_offsets(dy, arg, self.geo, self.pads, self.in_shape)


def _tiled_max(x: Any, kh: int, kw: int, ho: int, wo: int) -> tuple[Any, Any]:
    """Max and argmax over windows that tile x (stride = kernel, no padding), on contiguous
    blocks only: with x viewed as (N, H_o, k_h, W_o·k_w·C), the max over the k_h rows of each
    window runs along whole image rows; the running max is then transposed once to
    (k_w, N·H_o·W_o, C) so that the max over the window's columns compares contiguous blocks too
    (with few channels, ufuncs over C-long runs cost ~7× more per element). Ties keep the first
    (row-major) position, as PyTorch."""
    xp = get_array_module(x)
    n, c = x.shape[0], x.shape[1]
    m = n * ho * wo
    xt = x.transpose(0, 2, 3, 1)[:, : ho * kh, : wo * kw]  # (N, H_o·k_h, W_o·k_w, C) view
    x5 = xt.reshape(n, ho, kh, wo * kw * c)  # (N, H_o, k_h, W_o·k_w·C): a view in NHWC memory
    r = x5[:, :, 0].copy()  # (N, H_o, W_o·k_w·C): running max over the window rows
    row = xp.zeros(r.shape, dtype=np.uint8 if kh * kw <= 255 else np.int32)
    greater = xp.empty(r.shape, dtype=bool)
    for i in range(1, kh):  # offsets only grow, so "set where greater" is a max
        xp.greater(x5[:, :, i], r, out=greater)
        xp.maximum(r, x5[:, :, i], out=r)
        xp.maximum(row, greater.view(np.uint8) * row.dtype.type(i * kw), out=row)
    r_t = xp.ascontiguousarray(r.reshape(m, kw, c).transpose(1, 0, 2))  # (k_w, N·H_o·W_o, C)
    row_t = xp.ascontiguousarray(row.reshape(m, kw, c).transpose(1, 0, 2))
    y = r_t[0]  # (N·H_o·W_o, C): running max over the window columns
    arg = row_t[0]  # window offset i·k_w + j of the max
    greater = xp.empty(y.shape, dtype=bool)
    for j in range(1, kw):
        xp.greater(r_t[j], y, out=greater)
        xp.maximum(y, r_t[j], out=y)
        row_t[j] += j
        arg = xp.where(greater, row_t[j], arg)
    return y.reshape(n, ho, wo, c), arg.reshape(n, ho, wo, c)  # (N, H_o, W_o, C), NHWC memory


def _tiled_scatter(dy: Any, arg: Any, geo: tuple, in_shape: tuple) -> Any:
    """dx of ``_tiled_max``: for each window offset k = i·k_w + j the block
    where(arg = k, dy, 0) (contiguous), then one transposing copy from
    (k_h, k_w, N, H_o, W_o, C) into the NHWC image (N, H_o, k_h, W_o, k_w, C); rows/columns
    beyond the last window stay zero."""
    xp = get_array_module(dy)
    kh, kw, _, _, _, _, ho, wo = geo
    n, c, h, w = in_shape
    dyt = xp.ascontiguousarray(dy.transpose(0, 2, 3, 1))  # (N, H_o, W_o, C)
    blocks = xp.empty((kh, kw) + dyt.shape, dtype=dy.dtype)  # (k_h, k_w, N, H_o, W_o, C)
    hit = xp.empty(arg.shape, dtype=bool)
    for i in range(kh):
        for j in range(kw):
            xp.equal(arg, i * kw + j, out=hit)
            xp.multiply(dyt, hit, out=blocks[i, j])
    full = (ho * kh, wo * kw) == (h, w)
    dx = xp.empty((n, h, w, c), dtype=dy.dtype) if full else xp.zeros((n, h, w, c), dy.dtype)
    dst = dx[:, : ho * kh, : wo * kw].reshape(n, ho, kh, wo, kw, c) if full else None
    if dst is None:  # the covered part is not a reshapeable view: go through a buffer
        dst = xp.empty((n, ho, kh, wo, kw, c), dtype=dy.dtype)
    dst[...] = blocks.transpose(2, 3, 0, 4, 1, 5)  # (N, H_o, k_h, W_o, k_w, C)
    if not full:
        dx[:, : ho * kh, : wo * kw] = dst.reshape(n, ho * kh, wo * kw, c)
    return dx.transpose(0, 3, 1, 2)  # NCHW view of NHWC memory


def _scatter_offsets(dy: Any, arg: Any, geo: tuple, pads: tuple, in_shape: tuple) -> Any:
    """dx of a window max: dy[n, a, b, c] added at the offset arg[n, a, b, c] of its window."""
    xp = get_array_module(dy)
    kh, kw, sh, sw, dh, dw, ho, wo = geo
    n, c, h, w = in_shape
    pt, pb, pl, pr = pads
    dyt = dy.transpose(0, 2, 3, 1)  # (N, H_o, W_o, C) view
    dx_pad = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dy.dtype)
    disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1
    hit = xp.empty(arg.shape, dtype=bool)
    for k, rows, cols in offsets(kh, kw, sh, sw, dh, dw, ho, wo):
        xp.equal(arg, k, out=hit)
        if disjoint:  # every input position in at most one window: write, no add
            xp.copyto(dx_pad[:, rows, cols], dyt, where=hit)
        else:
            dst = dx_pad[:, rows, cols]
            dst += dyt * hit
    return dx_pad[:, pt : pt + h, pl : pl + w].transpose(0, 3, 1, 2)  # NCHW view


# ----------------------------------------------------------------------------------------------
# average and sum pooling
# ----------------------------------------------------------------------------------------------


def _window_counts(n: int, f: int, s: int, p: int, n_o: int, include_pad: bool) -> Any:
    """Per output position along one axis: how many elements its window averages, as PyTorch:
    the window [a·s − p, a·s − p + f) clipped to [−p, n + p) (count_include_pad) or to [0, n)."""
    start = np.arange(n_o) * s - p
    end = np.minimum(start + f, n + p)
    if not include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, n)
    return end - start


class AvgPool2d(Function):
    """Average pooling: y[n, c, a, b] = (1/D_ab) Σ_{i, j} x_pad[n, c, a·s_h + i, b·s_w + j],
    zero padding; dx = dy/D scattered back to every element of the window.

    D_ab is PyTorch's divisor: the window size clipped to the padded input (``count_include_pad``)
    or to the input alone, or ``divisor_override``. Sum pooling is ``divisor_override=1``.
    """

    def forward(self, x: Any, kernel: tuple = (2, 2), stride: tuple = (2, 2),
                padding: tuple = (0, 0), ceil_mode: bool = False, count_include_pad: bool = True,
                divisor_override: float | None = None) -> Any:
        xp = get_array_module(x)
        n, c, h, w = x.shape
        kh, kw = kernel
        sh, sw = stride
        ho, wo, pads = _geometry("avg_pool2d", x, kernel, stride, padding, (1, 1), ceil_mode)
        x_pad = pad_view(x, pads, 0)  # (N, H_p, W_p, C) view
        y = empty_nhwc(x, n, ho, wo, c)  # (N, H_o, W_o, C) view
        for k, rows, cols in offsets(kh, kw, sh, sw, 1, 1, ho, wo):
            if k == 0:
                y[...] = x_pad[:, rows, cols]
            else:
                y += x_pad[:, rows, cols]
        if divisor_override is not None:
            scale = xp.asarray(1.0 / divisor_override, dtype=x.dtype)
        else:
            dh_ = _window_counts(h, kh, sh, padding[0], ho, count_include_pad)
            dw_ = _window_counts(w, kw, sw, padding[1], wo, count_include_pad)
            counts = dh_[:, None] * dw_[None, :]  # (H_o, W_o)
            scale = xp.asarray((1.0 / counts)[None, :, :, None], dtype=x.dtype)
        y *= scale
        self.geo = (kh, kw, sh, sw, 1, 1, ho, wo)
        self.pads, self.in_shape, self.scale = pads, x.shape, scale
        return y.transpose(0, 3, 1, 2)  # NCHW view

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        kh, kw, sh, sw, _, _, ho, wo = self.geo
        n, c, h, w = self.in_shape
        pt, pb, pl, pr = self.pads
        g = dy.transpose(0, 2, 3, 1) * self.scale  # (N, H_o, W_o, C)
        dx_pad = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dy.dtype)
        disjoint = sh >= kh and sw >= kw
        for _, rows, cols in offsets(kh, kw, sh, sw, 1, 1, ho, wo):
            if disjoint:
                dx_pad[:, rows, cols] = g
            else:
                dst = dx_pad[:, rows, cols]
                dst += g
        return dx_pad[:, pt : pt + h, pl : pl + w].transpose(0, 3, 1, 2)  # NCHW view


# ----------------------------------------------------------------------------------------------
# separable linear resampling: adaptive average pooling, nearest and bilinear interpolation
# ----------------------------------------------------------------------------------------------


class Resample2d(Function):
    """y = A_h · x · A_wᵀ on every (n, c) plane, A_h (H_o, H) and A_w (W_o, W) fixed matrices:

        y[n, c, a, b] = Σ_{h, w} A_h[a, h] x[n, c, h, w] A_w[b, w],     dx = A_hᵀ · dy · A_w

    Any map that acts on rows and columns separately is one: adaptive average pooling (rows of
    A average a bin), nearest (one 1 per row) and bilinear interpolation (two weights per row).
    Two GEMMs each way (``tensordot``)."""

    def forward(self, x: Any, A_h: Any = None, A_w: Any = None) -> Any:
        xp = get_array_module(x)
        self.save_for_backward(A_h, A_w)
        t = xp.tensordot(x, A_w, axes=([3], [1]))  # (N, C, H, W_o)
        y = xp.tensordot(t, A_h, axes=([2], [1]))  # (N, C, W_o, H_o)
        return y.transpose(0, 1, 3, 2)  # (N, C, H_o, W_o) view

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        A_h, A_w = self.saved_tensors
        t = xp.tensordot(dy, A_h, axes=([2], [0]))  # (N, C, W_o, H)
        dx = xp.tensordot(t, A_w, axes=([2], [0]))  # (N, C, H, W)
        return dx


def adaptive_bins(n: int, n_o: int) -> tuple[Any, Any]:
    """PyTorch's adaptive pooling bins along one axis: bin a covers
    [⌊a·n/n_o⌋, ⌈(a + 1)·n/n_o⌉)."""
    a = np.arange(n_o)
    return (a * n) // n_o, -((-(a + 1) * n) // n_o)


def adaptive_avg_matrix(n: int, n_o: int, dtype: Any) -> Any:
    """(n_o, n) matrix whose row a averages bin a (1/len on the bin, 0 elsewhere)."""
    start, end = adaptive_bins(n, n_o)
    pos = np.arange(n)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


# ----------------------------------------------------------------------------------------------
# max over gathered windows: adaptive and fractional max pooling
# ----------------------------------------------------------------------------------------------


class GatherMax2d(Function):
    """Max over windows given by row and column index arrays (windows may differ per plane and
    may overlap):

        y[n, c, a, b] = max_{u, v} x[n, c, R[n, c, a, u], K[n, c, b, v]]

    R (·, ·, H_o, L_h) and K (·, ·, W_o, L_w) broadcast over (N, C); a window shorter than L
    repeats its last index (a repeat never changes a max). dx: dy added at the argmax (the first
    max in row-major window order, as PyTorch). With ``indices_out`` the flat positions h·W + w
    (int64, (N, C, H_o, W_o)) are appended to it. Used by adaptive and fractional max pooling."""

    def forward(self, x: Any, R: Any = None, K: Any = None,
                indices_out: list | None = None) -> Any:
        xp = get_array_module(x)
        n, c, h, w = x.shape
        ho, lh = R.shape[-2:]
        wo, lw = K.shape[-2:]
        nn_ = xp.arange(n).reshape(n, 1, 1, 1, 1, 1)
        cc = xp.arange(c).reshape(1, c, 1, 1, 1, 1)
        rows = R.reshape(R.shape[0], R.shape[1], ho, 1, lh, 1)  # (·, ·, H_o, 1, L_h, 1)
        cols = K.reshape(K.shape[0], K.shape[1], 1, wo, 1, lw)  # (·, ·, 1, W_o, 1, L_w)
        win = x[nn_, cc, rows, cols]  # (N, C, H_o, W_o, L_h, L_w)
        win = win.reshape(n, c, ho, wo, lh * lw)  # (N, C, H_o, W_o, L_h·L_w)
        arg = win.argmax(axis=4)[..., None]  # (N, C, H_o, W_o, 1)
        y = xp.take_along_axis(win, arg, axis=4)[..., 0]
        u, v = arg[..., 0] // lw, arg[..., 0] % lw
        r = xp.take_along_axis(xp.broadcast_to(R, (n, c, ho, lh)), u, axis=3)  # (N, C, H_o, W_o)
        k = _col_pick(xp, K, v, n, c, ho, wo, lw)  # (N, C, H_o, W_o)
        flat = (r * w + k).astype(np.int64)  # (N, C, H_o, W_o)
        self.save_for_backward(flat)
        self.in_shape = x.shape
        if indices_out is not None:
            indices_out.append(flat)
        return y

    def backward(self, dy: Any) -> Any:
        (flat,) = self.saved_tensors
        return scatter_planes(dy, flat, self.in_shape)


def _col_pick(xp: Any, K: Any, v: Any, n: int, c: int, ho: int, wo: int, lw: int) -> Any:
    """K[n, c, b, v[n, c, a, b]] for every (n, c, a, b)."""
    kb = xp.broadcast_to(K, (n, c, wo, lw))
    kb = xp.broadcast_to(kb[:, :, None], (n, c, ho, wo, lw))  # (N, C, H_o, W_o, L_w)
    return xp.take_along_axis(kb, v[..., None], axis=4)[..., 0]


def scatter_planes(dy: Any, flat: Any, in_shape: tuple) -> Any:
    """dx (N, C, H, W) with dy[n, c, a, b] added at position flat[n, c, a, b] of plane (n, c)."""
    xp = get_array_module(dy)
    n, c, h, w = in_shape
    plane = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    where = (flat + plane).reshape(-1)  # (N·C·H_o·W_o,) positions in dx's flat array
    dx = xp.bincount(where, weights=dy.reshape(-1), minlength=n * c * h * w)
    return dx.astype(dy.dtype, copy=False).reshape(in_shape)  # (N, C, H, W)


def adaptive_max_indices(n: int, n_o: int) -> Any:
    """(n_o, L) index array of PyTorch's adaptive bins, short bins padded with their last index."""
    start, end = adaptive_bins(n, n_o)
    length = int((end - start).max())
    idx = start[:, None] + np.arange(length)[None, :]
    return np.minimum(idx, (end - 1)[:, None])


def fractional_intervals(u: Any, n: int, n_o: int, f: int) -> Any:
    """Graham's pseudo-random pooling starts, exactly as PyTorch computes them: with
    α = (n − f)/(n_o − 1) in u's dtype, start_a = ⌊(a + u)·α⌋ − ⌊u·α⌋ for a < n_o − 1 and
    n − f for the last. u (…,) samples in [0, 1) → (…, n_o) int64."""
    dt = u.dtype.type
    out = np.empty(u.shape + (n_o,), dtype=np.int64)
    if n_o > 1:
        alpha = dt(n - f) / dt(n_o - 1)
        a = np.arange(n_o - 1).astype(u.dtype)
        first = ((a[None, :] + u.reshape(-1, 1)) * alpha).astype(np.int64)
        out.reshape(-1, n_o)[:, :-1] = first - (u.reshape(-1, 1) * alpha).astype(np.int64)
    out[..., n_o - 1] = n - f
    return out
