"""Direct 2-D convolution kernels compiled with numba: no im2col matrix, forward and both
backward products. Loaded through ``ops.jit`` (numba is optional; importing this module without
it raises ImportError); ``ops/conv_direct.py`` chooses when to run them and calls them.

The idea, for one input channel and stride 1: lay the zero-padded image out flat with a row
pitch W_q, so that output pixel (a, b) sits at p = a·W_q + b and kernel tap (i, j) reads the
buffer at p + i·W_q + j. Every tap is then a shift of one long contiguous vector, and the
convolution a sum of scaled shifted vectors:

    y_o[p] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_buf_c[p + off_ij]        p = a·W_q + b

(positions with b ≥ W_o are computed and discarded). Stride s and dilation d are folded in by
splitting the padded plane into s_h·s_w *phase planes* x_buf_{c,u,v}[r, q] = x_pad[c, r·s_h + u,
q·s_w + v]: tap (i, j) reads phase ((i·d_h) mod s_h, (j·d_w) mod s_w) at the stride-1 shift
off_ij = ⌊i·d_h/s_h⌋·W_q + ⌊j·d_w/s_w⌋. The two backward products use the same buffers:

    dW[o, c, i, j] = Σ_n Σ_p dy_o[p] · x_buf_c[p + off_ij]           (dot products)
    dx_buf_c[q]    = Σ_{o, i, j} W[o, c, i, j] · dy_o[q − off_ij]     (shifted sums, gathered)

with dy_o laid out in the same frame (zeros outside the H_o × W_o outputs, and before it), and
dx read back from dx_buf's phase planes. The frame (H_q, W_q, chosen by
``conv_direct.geometry``) shares padding between neighbours along a stride-1 axis: a tap that
runs past the right edge of a row reads the next row's left padding, so a row needs only
W + max(p_l, p_r) cells, and images follow each other with H + max(p_t, p_b) rows. Small images
go nb at a time into one buffer, so that every pass runs over ~2,000 positions.

Register blocking: two outputs × four taps per pass over p (``acc₀[p] += Σ_t w₀ₜ·s[oₜ+p]``,
``acc₁[p] += Σ_t w₁ₜ·s[oₜ+p]``): each source vector loaded feeds two outputs and each accumulator
is loaded and stored once per four multiply-adds; LLVM vectorises the loop over p (~75 GFLOP/s on
one Zen 3 core in float32). The sources are slices (``src[o : o + n][p]``, not ``src[o + p]``):
numba's wraparound of negative indices would otherwise keep the loop scalar. Each kernel runs
the images n0 ≤ n < n1 and releases the GIL; the caller runs chunks of the batch on threads and
sums the chunks' float64 weight gradients.

Layouts: x, dy, y and dx may be NCHW or channels-last (any strides): each image is copied into
the local buffers and written back element by element, so no transposed copy of the batch is
made. Compiled code is cached on disk (``cache=True``): the first call on a machine compiles
(seconds per kernel and dtype, see BENCHMARKS.md), later processes load it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FLAGS = {"contract", "reassoc", "nsz", "arcp"}  # FMA and reordered sums; NaNs still propagate
_serial = njit(cache=True, fastmath=_FLAGS, nogil=True)


@_serial
def _uses_phase(u, k, s, d):
    """Whether some tap i < k of dilation d falls on phase u of stride s: (i·d) mod s = u."""
    for i in range(k):
        if (i * d) % s == u:
            return True
    return False


@_serial
def _fill_phases(buf, x, n, m, geo):
    """Images n … n + m − 1 of x into buf (C, s_h, s_w, span), each phase plane holding the
    images one after another (H_q × W_q each) and then ``tail`` zeros:
    buf[c, u, v, k·H_q·W_q + r·W_q + q] = x[n + k, c, r·s_h + u − p_t, q·s_w + v − p_l], 0 where
    that is outside x. Phases no tap reads (a 1×1 kernel of stride 2 reads one of four) are
    skipped."""
    kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail = geo
    c_in, h, w = x.shape[1], x.shape[2], x.shape[3]
    plane = hq * wq
    span = nb * plane + tail
    for c in range(c_in):
        for u in range(sh):
            if not _uses_phase(u, kh, sh, dh):
                continue
            for v in range(sw):
                if not _uses_phase(v, kw, sw, dw):
                    continue
                q_lo = min(wq, max(0, (pl - v + sw - 1) // sw))  # first q with col ≥ 0
                q_hi = max(q_lo, min(wq, (w - 1 + pl - v) // sw + 1))  # past the last col < w
                base = ((c * sh + u) * sw + v) * span
                for k in range(m):
                    for r in range(hq):
                        row = r * sh + u - pt
                        dst = buf[base + k * plane + r * wq : base + k * plane + (r + 1) * wq]
                        if row < 0 or row >= h:
                            dst[:] = 0
                        else:
                            dst[:q_lo] = 0
                            for q in range(q_lo, q_hi):
                                dst[q] = x[n + k, c, row, q * sw + v - pl]
                            dst[q_hi:] = 0
                buf[base + m * plane : base + m * plane + tail] = 0


@_serial
def _extract_phase(dx, n, c, acc, u, v, geo):
    """dx[n, c, r·s_h + u − p_t, q·s_w + v − p_l] = acc[r·W_q + q] where that is inside x: the
    inverse of ``_fill_phases`` for one phase plane of one image."""
    kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail = geo
    h, w = dx.shape[2], dx.shape[3]
    q_lo = min(wq, max(0, (pl - v + sw - 1) // sw))
    q_hi = max(q_lo, min(wq, (w - 1 + pl - v) // sw + 1))
    for r in range(hq):
        row = r * sh + u - pt
        if 0 <= row < h:
            for q in range(q_lo, q_hi):
                dx[n, c, row, q * sw + v - pl] = acc[r * wq + q]


@_serial
def _covers(n, k, s, d, p, nq):
    """Whether every input position along one axis (n long, padded by p before) is read by
    some tap: each phase (i·d) mod s occurs and the phase planes (n_q long) reach the end."""
    if n - 1 + p >= nq * s:
        return False
    for u in range(s):
        if not _uses_phase(u, k, s, d):
            return False
    return True


@_serial
def _tap_offsets(c_g, geo):
    """Offset of tap (c, i, j), flat index (c·k_h + i)·k_w + j, in a group's phase planes:
    phase ((i·d_h) mod s_h, (j·d_w) mod s_w), shift (⌊i·d_h/s_h⌋, ⌊j·d_w/s_w⌋)."""
    kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail = geo
    span = nb * hq * wq + tail
    offs = np.empty(c_g * kh * kw, np.int64)
    for c in range(c_g):
        for i in range(kh):
            for j in range(kw):
                phase = (c * sh + (i * dh) % sh) * sw + (j * dw) % sw
                offs[(c * kh + i) * kw + j] = (phase * span + ((i * dh) // sh) * wq
                                               + (j * dw) // sw)
    return offs


@_serial
def conv_forward(x, W, b, y, groups, geo, n0, n1):
    """y[n, o, a, b] = b[o] + Σ_{c, i, j} W[o, c, i, j] x_pad[n, c, a·s_h + i·d_h, b·s_w + j·d_w]
    (c in o's group) for the images n0 ≤ n < n1, nb at a time, written into y (N, C_out, H_o,
    W_o). ``geo`` = (k_h, k_w, s_h, s_w, d_h, d_w, p_t, p_l, H_q, W_q, nb, tail)."""
    kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail = geo
    c_in = x.shape[1]
    c_out, c_g = W.shape[0], W.shape[1]
    ho, wo = y.shape[2], y.shape[3]
    plane = hq * wq
    span = nb * plane + tail
    c_og = c_out // groups
    taps = c_g * kh * kw
    offs = _tap_offsets(c_g, geo)
    buf = np.empty(c_in * sh * sw * span, x.dtype)  # nb images' phase planes
    acc = np.empty((2, nb * plane), y.dtype)
    ws = np.empty((2, taps), y.dtype)
    offs_g = np.empty(taps, np.int64)
    for n in range(n0, n1, nb):
        m = min(nb, n1 - n)
        length = (m - 1) * plane + (ho - 1) * wq + wo  # up to the last output pixel
        _fill_phases(buf, x, n, m, geo)
        for g in range(groups):
            shift = g * c_g * sh * sw * span
            for t in range(taps):
                offs_g[t] = offs[t] + shift
            for oo in range(0, c_og, 2):
                o = g * c_og + oo
                mo = min(2, c_og - oo)  # two outputs per pass, one at an odd end
                for e in range(mo):
                    for c in range(c_g):
                        for i in range(kh):
                            for j in range(kw):
                                ws[e, (c * kh + i) * kw + j] = W[o + e, c, i, j]
                    acc[e, :length] = b[o + e]
                if mo == 2:
                    _shifted_sum2(acc[0], acc[1], buf, offs_g, ws[0], ws[1], taps, length)
                else:
                    _shifted_sum(acc[0], buf, offs_g, ws[0], taps, length)
                for e in range(mo):
                    for k in range(m):
                        for a in range(ho):
                            row = acc[e, k * plane + a * wq : k * plane + a * wq + wo]
                            for q in range(wo):
                                y[n + k, o + e, a, q] = row[q]


@_serial
def conv_backward_input(dy, W, dx, groups, geo, n0, n1):
    """dx[n, c, h, w] = Σ_{o, i, j} W[o, c, i, j] dy[n, o, a, b] over the (a, b, i, j) with
    h = a·s_h + i·d_h − p_t, w = b·s_w + j·d_w − p_l, for the images n0 ≤ n < n1, nb at a time,
    written into dx (N, C_in, H, W)."""
    kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail = geo
    c_out, ho, wo = dy.shape[1], dy.shape[2], dy.shape[3]
    c_g = W.shape[1]
    c_in, h, w = dx.shape[1], dx.shape[2], dx.shape[3]
    plane = hq * wq
    lead = ((kh - 1) * dh // sh) * wq + (kw - 1) * dw // sw  # the largest tap offset
    frame = lead + nb * plane  # per output channel: lead zeros, then nb images of dy
    c_og = c_out // groups
    covered = _covers(h, kh, sh, dh, pt, hq) and _covers(w, kw, sw, dw, pl, wq)
    dyb = np.zeros(c_out * frame, dy.dtype)  # only the H_o × W_o data cells are ever written
    acc = np.empty((2, nb * plane), dx.dtype)
    ws = np.empty((2, c_og * kh * kw), dx.dtype)
    offs = np.empty(c_og * kh * kw, np.int64)
    for n in range(n0, n1, nb):
        m = min(nb, n1 - n)
        length = m * plane
        for o in range(c_out):
            for k in range(m):
                for a in range(ho):
                    row = dyb[o * frame + lead + k * plane + a * wq :]
                    for q in range(wo):
                        row[q] = dy[n + k, o, a, q]
        if not covered:  # some x positions get no gradient from any tap: zero them first
            for k in range(m):
                for c in range(c_in):
                    for hh in range(h):
                        for q in range(w):
                            dx[n + k, c, hh, q] = 0
        for g in range(groups):
            for cr in range(0, c_g, 2):
                mc = min(2, c_g - cr)  # two input channels per pass, one at an odd end
                for u in range(sh):
                    for v in range(sw):
                        t = 0  # gather the taps (o, i, j) whose phase is (u, v)
                        for oo in range(c_og):
                            o = g * c_og + oo
                            for i in range(kh):
                                if (i * dh) % sh != u:
                                    continue
                                for j in range(kw):
                                    if (j * dw) % sw != v:
                                        continue
                                    offs[t] = (o * frame + lead - ((i * dh) // sh) * wq
                                               - (j * dw) // sw)
                                    for e in range(mc):
                                        ws[e, t] = W[o, cr + e, i, j]
                                    t += 1
                        if t == 0:
                            continue
                        acc[:mc, :length] = 0
                        if mc == 2:
                            _shifted_sum2(acc[0], acc[1], dyb, offs, ws[0], ws[1], t, length)
                        else:
                            _shifted_sum(acc[0], dyb, offs, ws[0], t, length)
                        for e in range(mc):
                            for k in range(m):
                                _extract_phase(dx, n + k, g * c_g + cr + e,
                                               acc[e, k * plane : (k + 1) * plane], u, v, geo)


@_serial
def conv_backward_weight(x, dy, dW, groups, geo, n0, n1):
    """dW[o, (c, i, j)] += Σ_{n0 ≤ n < n1} Σ_{a, b} dy[n, o, a, b]
    x_pad[n, c', a·s_h + i·d_h, b·s_w + j·d_w] (c' = c of o's group); dW (C_out, C_in/g·k_h·k_w)
    float64, the sums over each block of nb images in dy's dtype."""
    kh, kw, sh, sw, dh, dw, pt, pl, hq, wq, nb, tail = geo
    c_in = x.shape[1]
    c_out, taps = dW.shape
    ho, wo = dy.shape[2], dy.shape[3]
    c_g = taps // (kh * kw)
    plane = hq * wq
    span = nb * plane + tail
    c_og = c_out // groups
    offs = _tap_offsets(c_g, geo)
    buf = np.empty(c_in * sh * sw * span, x.dtype)
    dyb = np.zeros(c_out * nb * plane, dy.dtype)  # the cells outside H_o × W_o stay zero
    zero = np.zeros(1, dy.dtype)[0]  # sums in dy's dtype (float32 sums vectorise 8 wide)
    last = taps - 1
    for n in range(n0, n1, nb):
        m = min(nb, n1 - n)
        length = (m - 1) * plane + (ho - 1) * wq + wo
        _fill_phases(buf, x, n, m, geo)
        for o in range(c_out):
            for k in range(m):
                for a in range(ho):
                    row = dyb[(o * nb + k) * plane + a * wq :]
                    for q in range(wo):
                        row[q] = dy[n + k, o, a, q]
        for g in range(groups):
            shift = g * c_g * sh * sw * span
            for oo in range(0, c_og, 2):  # two outputs × four taps per pass
                o0 = g * c_og + oo
                o1 = o0 + 1 if oo + 1 < c_og else o0  # an odd last output is summed twice
                d0 = dyb[o0 * nb * plane : o0 * nb * plane + length]
                d1 = dyb[o1 * nb * plane : o1 * nb * plane + length]
                for t in range(0, taps, 4):  # past the end, tap `last` is summed again
                    t1, t2, t3 = min(t + 1, last), min(t + 2, last), min(t + 3, last)
                    s0 = buf[offs[t] + shift : offs[t] + shift + length]
                    s1 = buf[offs[t1] + shift : offs[t1] + shift + length]
                    s2 = buf[offs[t2] + shift : offs[t2] + shift + length]
                    s3 = buf[offs[t3] + shift : offs[t3] + shift + length]
                    r00 = r01 = r02 = r03 = r10 = r11 = r12 = r13 = zero
                    for p in range(length):
                        x0, x1, x2, x3 = s0[p], s1[p], s2[p], s3[p]
                        e0, e1 = d0[p], d1[p]
                        r00 += e0 * x0
                        r01 += e0 * x1
                        r02 += e0 * x2
                        r03 += e0 * x3
                        r10 += e1 * x0
                        r11 += e1 * x1
                        r12 += e1 * x2
                        r13 += e1 * x3
                    sums = ((r00, r01, r02, r03), (r10, r11, r12, r13))
                    for e in range(2 if o1 != o0 else 1):
                        for f in range(min(4, taps - t)):
                            dW[o0 + e, t + f] += sums[e][f]


@_serial
def _shifted_sum(acc, src, offs, ws, t_count, length):
    """acc[p] += Σ_t ws[t] · src[offs[t] + p] for p < length, four taps per pass (the slices
    keep the index of the inner loop non-negative, so LLVM vectorises it)."""
    t = 0
    while t + 4 <= t_count:
        w0, w1, w2, w3 = ws[t], ws[t + 1], ws[t + 2], ws[t + 3]
        s0 = src[offs[t] : offs[t] + length]
        s1 = src[offs[t + 1] : offs[t + 1] + length]
        s2 = src[offs[t + 2] : offs[t + 2] + length]
        s3 = src[offs[t + 3] : offs[t + 3] + length]
        for p in range(length):
            acc[p] += w0 * s0[p] + w1 * s1[p] + w2 * s2[p] + w3 * s3[p]
        t += 4
    while t < t_count:
        w0 = ws[t]
        s0 = src[offs[t] : offs[t] + length]
        for p in range(length):
            acc[p] += w0 * s0[p]
        t += 1


@_serial
def _shifted_sum2(acc0, acc1, src, offs, ws0, ws1, t_count, length):
    """Two outputs that read the same taps: acc_k[p] += Σ_t ws_k[t] · src[offs[t] + p]; every
    source vector loaded once feeds both (~1.5× the multiply-adds per load of one output)."""
    t = 0
    while t + 4 <= t_count:
        w0, w1, w2, w3 = ws0[t], ws0[t + 1], ws0[t + 2], ws0[t + 3]
        v0, v1, v2, v3 = ws1[t], ws1[t + 1], ws1[t + 2], ws1[t + 3]
        s0 = src[offs[t] : offs[t] + length]
        s1 = src[offs[t + 1] : offs[t + 1] + length]
        s2 = src[offs[t + 2] : offs[t + 2] + length]
        s3 = src[offs[t + 3] : offs[t + 3] + length]
        for p in range(length):
            x0, x1, x2, x3 = s0[p], s1[p], s2[p], s3[p]
            acc0[p] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3
            acc1[p] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3
        t += 4
    while t < t_count:
        w0, v0 = ws0[t], ws1[t]
        s0 = src[offs[t] : offs[t] + length]
        for p in range(length):
            acc0[p] += w0 * s0[p]
            acc1[p] += v0 * s0[p]
        t += 1
