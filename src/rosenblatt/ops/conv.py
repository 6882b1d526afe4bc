"""Convolution ops: 2-D convolution and its transpose, by im2col + one GEMM (Chainer's recipe),
channels-last inside the kernel.

The API is PyTorch's NCHW: x (N, C, H, W), W (C_out, C_in/groups, k_h, k_w). Inside, the input
is one padded NHWC copy ``x_pad`` (N, H_p, W_p, C_in) and the weights a matrix
``W_mat`` (k_h·k_w·C_in, C_out), so that

    cols = im2col(x_pad)      (N·H_o·W_o, k_h·k_w·C_in)   one copy of an ``as_strided`` window view
    y    = cols @ W_mat + b   (N·H_o·W_o, C_out)          already the NHWC output: one GEMM

and the result keeps the memory layout of x, as PyTorch's memory formats do: for a
channels-last x (a conv or pooling output, or any x with one channel) it is an NCHW-shaped *view*
of the NHWC result, no transpose copied, and the next conv or pooling reads it for free; for an
NCHW x (e.g. from batch norm, which works in NCHW) one transposing copy makes it NCHW, so the
elementwise ops that follow see operands of one layout. dx follows x's layout the same way.
Backward (dy in the same (N·H_o·W_o, C_out) layout):

    db     = Σ_rows dy                                      (folded column sums)
    dW_mat = colsᵀ @ dy                                     one GEMM, cols recomputed from x_pad
    dx_pad = col2im(dy @ W_kᵀ):  for each kernel offset k = (i, j), one GEMM gives the slab
             dy @ W_kᵀ (N·H_o·W_o, C_in), added into the window of x_pad it came from

Only ``x_pad`` (the size of x) is kept for backward, not ``cols`` (k_h·k_w times larger); set
``KEEP_IM2COL = True`` to keep cols instead (faster backward, much more memory). cols is built
for a few images at a time (``CHUNK_BYTES``, 16 MB): the transient stays bounded, and glibc
reuses such blocks instead of mapping (and page-faulting) a fresh 75 MB matrix on every call.

Output size per spatial dim (n input, f kernel, p padding per side, s stride, d dilation):

    n_o = ⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1      (the notes' ⌊(n + 2p − f)/s⌋ + 1 when d = 1)

Groups split C_in and C_out into ``groups`` blocks; block g of the output sees only block g of
the input. Then cols is (groups, N·H_o·W_o, k_h·k_w·C_in/groups) and the GEMMs are batched.

With numba installed, ``Conv2d`` runs most layers by direct convolution instead
(``conv_direct.wanted`` decides per layer shape; ``ops/conv_numba.py`` has the kernels): the same
three products with no im2col matrix and no padded or transposed copy, x itself kept for
backward. ``ops.jit.use_numba(False)`` or ``ROSENBLATT_NUMBA=0`` keeps everything on the NumPy
path below; CuPy arrays always take it.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module
from . import conv_direct
from .norm import channel_sum, fold_sum

KEEP_IM2COL = False  # keep the im2col matrix for backward instead of x (memory ↔ time)
CHUNK_BYTES = 16 << 20  # im2col is built for a few images at a time, at most this many bytes


def batch_chunks(n: int, bytes_per_image: int) -> list[tuple[int, int]]:
    """(start, stop) image ranges whose im2col block stays under ``CHUNK_BYTES``: the transient
    matrix is bounded (peak memory), and blocks of ≤ 32 MB are reused from glibc's heap instead
    of being mapped afresh, and page-faulted, on every call."""
    step = max(1, min(n, CHUNK_BYTES // max(1, bytes_per_image)))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


# ----------------------------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------------------------


def conv_out_size(n: int, f: int, s: int, p_total: int, d: int = 1) -> int:
    """⌊(n + p_total − d(f − 1) − 1)/s⌋ + 1, p_total the padding of both sides together
    (2p when symmetric). May be ≤ 0: the caller reports a window that does not fit."""
    return (n + p_total - d * (f - 1) - 1) // s + 1


def window_error(
    who: str, size: tuple, kernel: tuple, stride: tuple, padding: Any, dilation: tuple
) -> ValueError:
    """The error for a kernel window that does not fit in the (padded) input."""
    dil = f", dilation={dilation}" if any(d != 1 for d in dilation) else ""
    return ValueError(
        f"{who}: the kernel window does not fit in the input: input size {size}, "
        f"kernel_size={kernel}, stride={stride}, padding={padding}{dil} give an output size of "
        "⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1 ≤ 0; use a smaller kernel or more padding"
    )


def pad_nhwc(x: Any, pads: tuple[int, int, int, int], value: float = 0.0) -> Any:
    """x (N, C, H, W), any memory layout → a C-contiguous NHWC copy (N, H + pt + pb,
    W + pl + pr, C), the border filled with ``value``. No copy when there is no padding and
    x already sits in NHWC memory."""
    xp = get_array_module(x)
    pt, pb, pl, pr = pads
    xt = x.transpose(0, 2, 3, 1)  # (N, H, W, C) view
    if not (pt or pb or pl or pr):
        return xp.ascontiguousarray(xt)
    n, h, w, c = xt.shape
    out = xp.empty((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    out[:, :pt] = value
    out[:, pt + h :] = value
    out[:, pt : pt + h, :pl] = value
    out[:, pt : pt + h, pl + w :] = value
    out[:, pt : pt + h, pl : pl + w] = xt
    return out


def windows(x_pad: Any, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ho: int,
            wo: int) -> Any:
    """The sliding windows of x_pad (N, H_p, W_p, C) as a view (N, H_o, W_o, k_h, k_w, C):
    element [n, a, b, i, j, c] is x_pad[n, a·s_h + i·d_h, b·s_w + j·d_w, c]. No copy."""
    xp = get_array_module(x_pad)
    n, _, _, c = x_pad.shape
    s_n, s_h, s_w, s_c = x_pad.strides
    return xp.lib.stride_tricks.as_strided(
        x_pad, (n, ho, wo, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c)
    )


def offset_view(x_pad: Any, i: int, j: int, geo: tuple) -> Any:
    """The (N, H_o, W_o, C) view of x_pad that kernel offset (i, j) multiplies."""
    kh, kw, sh, sw, dh, dw, ho, wo, _ = geo
    return x_pad[:, i * dh : i * dh + sh * (ho - 1) + 1 : sh,
                 j * dw : j * dw + sw * (wo - 1) + 1 : sw]


# ----------------------------------------------------------------------------------------------
# the three kernels: im2col + GEMM, weight gradient, col2im
# ----------------------------------------------------------------------------------------------


def weight_matrix(W: Any, groups: int) -> Any:
    """W (C_out, C_in/g, k_h, k_w) → W_mat (k_h·k_w·C_in, C_out) for g = 1, else
    (g, k_h·k_w·C_in/g, C_out/g): the row order (i, j, c) of the im2col columns."""
    co, cig, kh, kw = W.shape
    if groups == 1:
        return W.transpose(2, 3, 1, 0).reshape(kh * kw * cig, co)  # (k_h·k_w·C_in, C_out)
    w5 = W.reshape(groups, co // groups, cig, kh, kw)  # (g, C_out/g, C_in/g, k_h, k_w)
    return w5.transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cig, co // groups)


def weight_from_matrix(dW_mat: Any, shape: tuple) -> Any:
    """The inverse of ``weight_matrix``: back to (C_out, C_in/g, k_h, k_w), contiguous."""
    xp = get_array_module(dW_mat)
    co, cig, kh, kw = shape
    if dW_mat.ndim == 2:
        w4 = dW_mat.reshape(kh, kw, cig, co)  # (k_h, k_w, C_in, C_out)
        return xp.ascontiguousarray(w4.transpose(3, 2, 0, 1))
    g = dW_mat.shape[0]
    w5 = dW_mat.reshape(g, kh, kw, cig, co // g)  # (g, k_h, k_w, C_in/g, C_out/g)
    return xp.ascontiguousarray(w5.transpose(0, 4, 3, 1, 2)).reshape(shape)


def im2col(x_pad: Any, geo: tuple) -> Any:
    """x_pad (N, H_p, W_p, C) → cols (N·H_o·W_o, k_h·k_w·C) for one group, or
    (g, N·H_o·W_o, k_h·k_w·C/g) for g groups: one copy of the window view.

    One input channel (a first layer on grey images): one contiguous slab copy per kernel offset
    into colsᵀ (k_h·k_w, N·H_o·W_o), returned transposed (BLAS reads it as it is); copying
    the 6-d view would move runs of only k_w elements."""
    xp = get_array_module(x_pad)
    kh, kw, sh, sw, dh, dw, ho, wo, g = geo
    n, _, _, c = x_pad.shape
    m = n * ho * wo
    if c == 1 and g == 1:
        cols_t = xp.empty((kh * kw, n, ho, wo), dtype=x_pad.dtype)
        for i in range(kh):
            for j in range(kw):
                cols_t[i * kw + j] = offset_view(x_pad, i, j, geo)[..., 0]
        return cols_t.reshape(kh * kw, m).T  # (N·H_o·W_o, k_h·k_w), a transposed view
    win = windows(x_pad, kh, kw, sh, sw, dh, dw, ho, wo)  # (N, H_o, W_o, k_h, k_w, C)
    if g == 1:
        return win.reshape(m, kh * kw * c)  # one copy: (N·H_o·W_o, k_h·k_w·C)
    win7 = win.reshape(n, ho, wo, kh, kw, g, c // g)  # (N, H_o, W_o, k_h, k_w, g, C/g)
    return win7.transpose(5, 0, 1, 2, 3, 4, 6).reshape(g, m, kh * kw * (c // g))  # one copy


def gemm(cols: Any, W_mat: Any) -> Any:
    """cols @ W_mat → (N·H_o·W_o, C_out); grouped: (g, M, K) @ (g, K, C_out/g) → (M, C_out)."""
    if W_mat.ndim == 2:
        return cols @ W_mat
    g, m = cols.shape[0], cols.shape[1]
    y = cols @ W_mat  # (g, M, C_out/g)
    return y.transpose(1, 0, 2).reshape(m, g * W_mat.shape[2])  # (M, C_out), one copy


def weight_grad(cols: Any, dy_mat: Any, groups: int) -> Any:
    """dW_mat = colsᵀ @ dy (k_h·k_w·C_in, C_out), or per group (g, K, C_out/g)."""
    if groups == 1:
        return cols.T @ dy_mat
    m, co = dy_mat.shape
    dy_g = dy_mat.reshape(m, groups, co // groups).transpose(1, 0, 2)  # (g, M, C_out/g) view
    return cols.transpose(0, 2, 1) @ dy_g


def col2im(dy_mat: Any, W: Any, geo: tuple, x_pad_shape: tuple, out: Any = None) -> Any:
    """dx_pad (N, H_p, W_p, C_in) from dy (N·H_o·W_o, C_out): for every kernel offset (i, j) one
    GEMM dy @ W[:, :, i, j] gives the slab (N·H_o·W_o, C_in) that offset contributed, and one
    contiguous add puts it back into the window of dx_pad it came from. The slab buffer is
    reused (``matmul(out=)``), so the k_h·k_w slabs cost one allocation. ``out``: a zeroed
    array of ``x_pad_shape`` to accumulate into."""
    xp = get_array_module(dy_mat)
    kh, kw, sh, sw, dh, dw, ho, wo, g = geo
    n, hp, wp, c = x_pad_shape
    m, co = dy_mat.shape
    dx_pad = xp.zeros(x_pad_shape, dtype=dy_mat.dtype) if out is None else out
    slab = xp.empty((m, c), dtype=dy_mat.dtype)
    slab4 = slab.reshape(n, ho, wo, c)  # (N, H_o, W_o, C_in) view of the slab
    if g == 1:
        w_t = xp.ascontiguousarray(W.transpose(2, 3, 0, 1))  # (k_h, k_w, C_out, C_in)
        for i in range(kh):
            for j in range(kw):
                xp.matmul(dy_mat, w_t[i, j], out=slab)
                dst = offset_view(dx_pad, i, j, geo)
                dst += slab4
        return dx_pad
    cog, cig = co // g, c // g
    dy_g = dy_mat.reshape(m, g, cog).transpose(1, 0, 2)  # (g, M, C_out/g) view
    w6 = W.reshape(g, cog, cig, kh, kw)  # (g, C_out/g, C_in/g, k_h, k_w)
    w_t = xp.ascontiguousarray(w6.transpose(3, 4, 0, 1, 2))  # (k_h, k_w, g, C_out/g, C_in/g)
    slab_g = slab.reshape(m, g, cig).transpose(1, 0, 2)  # (g, M, C_in/g) view of the slab
    for i in range(kh):
        for j in range(kw):
            xp.matmul(dy_g, w_t[i, j], out=slab_g)
            dst = offset_view(dx_pad, i, j, geo)
            dst += slab4
    return dx_pad


def add_bias(y: Any, b: Any) -> None:
    """y (M, C) += b (C,) in place. With few channels the rows are folded f at a time,
    (M, C) → (M/f, f·C) += b tiled f times, so the inner loops are f·C long, not C."""
    xp = get_array_module(y)
    m, c = y.shape
    f = 1
    while c * f < 512 and m % (2 * f) == 0:
        f *= 2
    if f == 1:
        y += b
    else:
        y.reshape(m // f, f * c)[...] += xp.tile(b, f)  # (M/f, f·C) view


def nhwc_matrix(dy: Any) -> Any:
    """dy (N, C, H, W), any layout → the contiguous (N·H·W, C) matrix of its NHWC order (free
    when dy already sits in NHWC memory)."""
    xp = get_array_module(dy)
    n, c, h, w = dy.shape
    return xp.ascontiguousarray(dy.transpose(0, 2, 3, 1)).reshape(n * h * w, c)  # (N·H·W, C)


def is_channels_last(x: Any) -> bool:
    """Whether x (N, C, H, W) sits in NHWC memory (true for C = 1 too: both layouts agree)."""
    return bool(x.transpose(0, 2, 3, 1).flags.c_contiguous)


def as_nchw(y_mat: Any, n: int, h: int, w: int, channels_last: bool = True) -> Any:
    """(N·H·W, C) → (N, C, H, W): a view of the NHWC memory (``channels_last``), else one
    transposing copy into NCHW memory."""
    y = y_mat.reshape(n, h, w, y_mat.shape[1]).transpose(0, 3, 1, 2)  # (N, H, W, C) → NCHW
    return y if channels_last else get_array_module(y).ascontiguousarray(y)


# ----------------------------------------------------------------------------------------------
# the ops
# ----------------------------------------------------------------------------------------------


class Conv2d(Function):
    """2-D cross-correlation (PyTorch's conv2d): x (N, C_in, H, W), W (C_out, C_in/g, k_h, k_w),
    b (C_out,) or absent → y (N, C_out, H_o, W_o),

        y[n, o, a, b] = b[o] + Σ_{c, i, j} x_pad[n, c, a·s_h + i·d_h, b·s_w + j·d_w] · W[o, c, i, j]

    (c over the input channels of o's group), H_o = ⌊(H + p_t + p_b − d_h(k_h − 1) − 1)/s_h⌋ + 1
    and likewise W_o. ``padding`` is (top, bottom, left, right) zeros.

    Backward with dy (N, C_out, H_o, W_o):  db = Σ_{n,a,b} dy;  dW = colsᵀ dy (one GEMM);
    dx = col2im(dy W_matᵀ), cropped to the unpadded input. See the module docstring for layouts.
    When ``conv_direct.wanted`` says so (numba), forward and backward are the direct kernels
    instead (``backward_direct``), from x itself.
    """

    def forward(self, x: Any, W: Any, b: Any = None, stride: tuple = (1, 1),
                padding: tuple = (0, 0, 0, 0), dilation: tuple = (1, 1), groups: int = 1) -> Any:
        n, c, h, w = x.shape
        co, _, kh, kw = W.shape
        sh, sw = stride
        dh, dw = dilation
        pt, pb, pl, pr = padding
        ho = conv_out_size(h, kh, sh, pt + pb, dh)
        wo = conv_out_size(w, kw, sw, pl + pr, dw)
        if ho <= 0 or wo <= 0:
            raise window_error("conv2d", (h, w), (kh, kw), stride, padding, dilation)
        geo = (kh, kw, sh, sw, dh, dw, ho, wo, groups)
        self.geo, self.padding, self.in_shape = geo, padding, x.shape
        self.direct = conv_direct.wanted(x, W, (ho, wo), groups)
        if self.direct:  # numba: no padded copy, no im2col; x itself is kept (or recomputed)
            self.options = (stride, padding, dilation, groups)
            self.recomputable = conv_direct.cheap_to_recompute(W)
            self.save_for_backward(self.keep_input(0, x), W, b)
            return conv_direct.conv2d_forward(x, W, b, (ho, wo), stride, padding, dilation,
                                              groups)
        x_pad = pad_nhwc(x, padding)  # (N, H_p, W_p, C_in)
        W_mat = weight_matrix(W, groups)
        if KEEP_IM2COL:
            cols = im2col(x_pad, geo)
            y = gemm(cols, W_mat)  # (N·H_o·W_o, C_out)
        else:
            cols = None
            xp = get_array_module(x)
            per = ho * wo  # output rows per image
            y = xp.empty((n * per, co), dtype=x.dtype)  # (N·H_o·W_o, C_out)
            for a, z in batch_chunks(n, per * kh * kw * c * x.dtype.itemsize):
                y[a * per : z * per] = gemm(im2col(x_pad[a:z], geo), W_mat)
        if b is not None:
            add_bias(y, b)
        self.channels_last = is_channels_last(x)
        self.save_for_backward(cols, x_pad, W)
        return as_nchw(y, n, ho, wo, self.channels_last)

    def backward(self, dy: Any) -> Any:
        if self.direct:
            return self.backward_direct(dy)
        cols, x_pad, W = self.saved_tensors
        xp = get_array_module(dy)
        geo = self.geo
        g, per = geo[8], geo[6] * geo[7]  # groups, output rows per image
        n = x_pad.shape[0]
        dy_mat = nhwc_matrix(dy)  # (N·H_o·W_o, C_out)
        dx = dW = db = None
        if len(self.parents) > 2 and self.parents[2] is not None:
            db = fold_sum(dy_mat)
        need_x, need_w = self.parents[0] is not None, self.parents[1] is not None
        dx_pad = xp.zeros(x_pad.shape, dtype=dy.dtype) if need_x else None
        dW_mat = None
        k_bytes = per * geo[0] * geo[1] * x_pad.shape[3] * x_pad.dtype.itemsize
        for a, z in batch_chunks(n, k_bytes):  # a few images at a time: bounded transients
            dy_c = dy_mat[a * per : z * per]  # (rows of images a…z, C_out)
            if need_w:
                if cols is None:
                    cols_c = im2col(x_pad[a:z], geo)
                else:
                    cols_c = cols[a * per : z * per] if g == 1 else cols[:, a * per : z * per]
                part = weight_grad(cols_c, dy_c, g)
                dW_mat = part if dW_mat is None else dW_mat + part
                del cols_c
            if need_x:
                col2im(dy_c, W, geo, (z - a,) + x_pad.shape[1:], out=dx_pad[a:z])
        if need_w:
            dW = weight_from_matrix(dW_mat, W.shape)
        if need_x:
            h, w = self.in_shape[2:]
            pt, _, pl, _ = self.padding
            dx = dx_pad[:, pt : pt + h, pl : pl + w].transpose(0, 3, 1, 2)  # NCHW view
            if not self.channels_last:
                dx = xp.ascontiguousarray(dx)  # x's own layout
        return (dx, dW, db)[: len(self.parents)]

    def recompute_output(self) -> Any:
        """y again from the kept x, W and b (direct path, ``conv_direct.cheap_to_recompute``):
        the same kernel on the same arrays, so the same bits."""
        x, W, b = self.saved_tensors
        return conv_direct.conv2d_forward(self.kept(x), W, b, self.geo[6:8], *self.options)

    def backward_direct(self, dy: Any) -> Any:
        """The same three gradients by the numba kernels (``conv_direct``), from x itself."""
        x, W, _ = self.saved_tensors
        need_x, need_w = self.parents[0] is not None, self.parents[1] is not None
        x = self.kept(x)
        dx, dW = conv_direct.conv2d_backward(x, W, dy, *self.options, need_x, need_w)
        db = None
        if len(self.parents) > 2 and self.parents[2] is not None:
            db = bias_grad(dy)
        return (dx, dW, db)[: len(self.parents)]


def bias_grad(dy: Any) -> Any:
    """db = Σ_{n, a, b} dy[n, :, a, b] for dy (N, C, H, W) in NCHW or NHWC memory."""
    if is_channels_last(dy):
        return fold_sum(nhwc_matrix(dy))  # (N·H·W, C) view, summed over rows
    n, c = dy.shape[:2]
    return channel_sum(get_array_module(dy).ascontiguousarray(dy).reshape(n, c, -1))


class ConvTranspose2d(Function):
    """Transposed 2-D convolution (PyTorch's conv_transpose2d): the gradient of conv2d with
    respect to its input, used as a layer. x (N, C_in, H, W), W (C_in, C_out/g, k_h, k_w),
    b (C_out,) → y (N, C_out, H_o, W_o) with

        H_o = (H − 1)·s_h − 2p_h + d_h(k_h − 1) + output_padding_h + 1

    Forward: every input pixel scatters x[n, :, a, b] @ W[:, :, i, j] to
    y_pad[n, :, a·s_h + i·d_h, b·s_w + j·d_w] (col2im of one GEMM per kernel offset), then p is
    cropped from each side (output_padding extends the bottom/right). Backward: dx is conv2d of
    dy (padded by p) with the same W, dW = im2col(dy_pad)ᵀ x, db = Σ dy.
    """

    def forward(self, x: Any, W: Any, b: Any = None, stride: tuple = (1, 1),
                padding: tuple = (0, 0), output_padding: tuple = (0, 0),
                dilation: tuple = (1, 1), groups: int = 1) -> Any:
        n, ci, h, w = x.shape
        _, cog, kh, kw = W.shape
        co = cog * groups
        sh, sw = stride
        dh, dw = dilation
        ph, pw = padding
        hp = (h - 1) * sh + dh * (kh - 1) + 1 + output_padding[0]
        wp = (w - 1) * sw + dw * (kw - 1) + 1 + output_padding[1]
        ho, wo = hp - 2 * ph, wp - 2 * pw
        if ho <= 0 or wo <= 0:
            raise ValueError(
                f"conv_transpose2d: output size ({ho}, {wo}) is not positive for input size "
                f"{(h, w)}, kernel_size={(kh, kw)}, stride={stride}, padding={padding}, "
                f"output_padding={output_padding}, dilation={dilation}"
            )
        geo = (kh, kw, sh, sw, dh, dw, h, w, groups)  # x plays the conv output
        x_mat = nhwc_matrix(x)  # (N·H·W, C_in)
        y_pad = col2im(x_mat, W, geo, (n, hp, wp, co))  # (N, H_p, W_p, C_out)
        y = y_pad[:, ph : ph + ho, pw : pw + wo]  # (N, H_o, W_o, C_out) view
        if b is not None:
            y = y + b
        self.geo, self.padding = geo, padding
        self.channels_last = is_channels_last(x)
        self.save_for_backward(x_mat, W)
        y = y.transpose(0, 3, 1, 2)  # NCHW view of NHWC memory
        return y if self.channels_last else get_array_module(y).ascontiguousarray(y)

    def backward(self, dy: Any) -> Any:
        x_mat, W = self.saved_tensors
        geo = self.geo
        ph, pw = self.padding
        n, h, w = dy.shape[0], geo[6], geo[7]
        dy_pad = pad_nhwc(dy, (ph, ph, pw, pw))  # (N, H_p, W_p, C_out)
        dx = dW = db = None
        if len(self.parents) > 2 and self.parents[2] is not None:
            db = fold_sum(nhwc_matrix(dy))
        need_x, need_w = self.parents[0] is not None, self.parents[1] is not None
        if need_x or need_w:
            cols = im2col(dy_pad, geo)  # windows of dy_pad at the H × W input positions
            if need_w:
                dW = weight_from_matrix(weight_grad(cols, x_mat, geo[8]), W.shape)
            if need_x:
                dx = as_nchw(gemm(cols, weight_matrix(W, geo[8])), n, h, w, self.channels_last)
        return (dx, dW, db)[: len(self.parents)]
