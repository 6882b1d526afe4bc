"""The elementwise part of one RNN / LSTM / GRU time step as one compiled loop (numba).

``ops/rnn.py`` runs each time step as one BLAS GEMM (the recurrent product h Wₕₕᵀ forward,
dA Wₕₕ backward) plus the gate arithmetic. In NumPy that arithmetic is 10–20 ufunc calls per
step, each a pass over memory and a microsecond or more of call overhead; here it is ONE call
that reads every input once and writes every output once, the loop vectorised by LLVM. The
GEMMs stay with NumPy's BLAS. The formulas are those of the ops' docstrings in ``ops/rnn.py``;
the arrays and their layouts are the ops' own (each kernel's docstring lists them), and every
kernel works on the first n rows, the sequences still running.

Activations. float32 uses its own tanh, a rational function evaluated in float32 (LLVM
vectorises it; ``math.tanh`` and ``math.exp`` are scalar libm calls, 18 and 4 ns an element):

    tanh(x) ≈ x·P(x²)/Q(x²) for |x| ≤ 9 (clamped there; tanh(9) rounds to 1 in float32),
    σ(x) = ½ + ½·tanh(x/2),

P and Q of degree 4, fitted for this (a least-squares fit with Lawson reweighting towards
minimax) to relative error 2·10⁻⁸ in exact arithmetic; evaluated in float32 the error is at most
3.6·10⁻⁷ (about 6 ulp; checked on every float32 in [0, 9.5]; NumPy's tanh: 1.4 ulp), and σ's about
2·10⁻⁷. float64 uses ``math.tanh`` and σ(x) = 1/(1 + e⁻ˣ), exact to rounding, so
``gradcheck`` sees the true function.

Which path runs. numba is optional and imported on first use, not with the package (it costs
~0.2 s): ``kernels()`` compiles (or loads from the disk cache, ``cache=True``; the first process
compiles, about a second per kernel and dtype) and returns the kernels, or None when numba is
missing or switched off, by ``ROSENBLATT_NUMBA=0`` (or false, no, off) in the environment or by
``use_numba(False)``. The functions below are the kernels' plain-Python source; only the
compiled ones are fast. The ops call them for NumPy arrays only (CuPy takes the array-call
path in ``ops/rnn.py``).
"""

from __future__ import annotations

import math
import os
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import jit

__all__ = ["available", "enabled", "kernels", "use_numba"]

KERNELS = ("rnn_forward_step", "rnn_backward_step", "lstm_forward_step", "lstm_backward_step",
           "gru_forward_step", "gru_backward_step")
_OFF = ("0", "false", "no", "off")
_enabled = os.environ.get("ROSENBLATT_NUMBA", "").strip().lower() not in _OFF
_compiled: Any = None  # the compiled kernels once built; False when numba is missing
_lock = threading.Lock()  # builds them once, whichever thread asks first


def available() -> bool:
    """Whether numba can be imported (the first call imports it and builds the kernels)."""
    return _load() is not None


def enabled() -> bool:
    """Whether the ops use the compiled kernels (for NumPy arrays)."""
    return _on() and _load() is not None


def kernels() -> Any:
    """The compiled kernels (attributes named as the functions here), or None when numba is
    missing or switched off."""
    return _load() if _on() else None


def _on() -> bool:
    """This module's switch, and the package-wide one: ``ops.jit.use_numba(False)`` turns
    every compiled kernel off, these included."""
    return _enabled and jit.mode() is not False


def use_numba(flag: bool) -> bool:
    """Turn the compiled kernels on or off (tests run both paths); returns the previous setting.
    Turning them on without numba raises ``RuntimeError``."""
    global _enabled
    if flag and _load() is None:
        raise RuntimeError("use_numba(True): numba is not installed (pip install numba)")
    previous, _enabled = _enabled, bool(flag)
    return previous


def _load() -> Any:
    """Import numba, teach it the typed activations, compile the kernels; once."""
    global _compiled
    if _compiled is not None:
        return _compiled or None
    with _lock:
        if _compiled is not None:
            return _compiled or None
        try:
            import numba
            from numba.extending import overload
        except ImportError:
            _compiled = False
        else:

            def is_float32(x: Any) -> bool:
                return isinstance(x, numba.types.Float) and x.bitwidth == 32

            @overload(_tanh)
            def tanh_typed(x: Any) -> Any:  # the argument as the implementations name it
                return _tanh32 if is_float32(x) else _tanh64

            @overload(_sigmoid)
            def sigmoid_typed(x: Any) -> Any:
                return _sigmoid32 if is_float32(x) else _sigmoid64

            # NumPy's float semantics (no ZeroDivisionError checks, which stop vectorisation),
            # FMA contraction allowed, compiled code cached on disk
            jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
            _compiled = SimpleNamespace(**{name: jit(globals()[name]) for name in KERNELS})
    return _compiled or None


# ----------------------------------------------------------------------------------------------
# scalar activations, typed by the element (``_load``): float32 → the rational tanh,
# float64 → libm
# ----------------------------------------------------------------------------------------------

# float32 constants keep float32 arithmetic in float32 (a Python float would promote it to
# float64) and are exact in float64. P(u) = Σ pₖ uᵏ, Q(u) = Σ qₖ uᵏ, p₀ = q₀ = 1.
ZERO, ONE, HALF, CLAMP = (np.float32(v) for v in (0.0, 1.0, 0.5, 9.0))
_P = tuple(np.float32(v) for v in (1.3381029665470123e-01, 3.495593089610338e-03,
                                   2.060915903712157e-05, 1.3354757300021447e-08))
_Q = tuple(np.float32(v) for v in (4.671434462070465e-01, 2.5877000764012337e-02,
                                   3.2856425968930125e-04, 7.776599773023918e-07))


def _tanh32(x: Any) -> Any:
    """tanh(x) ≈ x·P(x²)/Q(x²) on x clamped to [−9, 9], the result clamped to [−1, 1]."""
    p1, p2, p3, p4 = _P
    q1, q2, q3, q4 = _Q
    x = CLAMP if x > CLAMP else x
    x = -CLAMP if x < -CLAMP else x
    u = x * x
    p = (((p4 * u + p3) * u + p2) * u + p1) * u + ONE
    q = (((q4 * u + q3) * u + q2) * u + q1) * u + ONE
    y = x * p / q
    y = ONE if y > ONE else y
    return -ONE if y < -ONE else y


def _tanh(x: Any) -> Any:
    """tanh(x) of one element (float32: ``_tanh32``; float64: libm)."""
    return math.tanh(x)


def _sigmoid(x: Any) -> Any:
    """σ(x) of one element (float32: ½ + ½ tanh(x/2); float64: 1/(1 + e⁻ˣ))."""
    return 1.0 / (1.0 + math.exp(-x))


def _sigmoid32(x: Any) -> Any:
    return HALF + HALF * _tanh(HALF * x)


def _sigmoid64(x: Any) -> Any:
    return 1.0 / (1.0 + math.exp(-x))


def _tanh64(x: Any) -> Any:
    return math.tanh(x)


# ----------------------------------------------------------------------------------------------
# vanilla RNN
# ----------------------------------------------------------------------------------------------


def rnn_forward_step(bias: Any, relu: bool, a: Any, z: Any, y: Any) -> None:
    """y = φ(a + z + b), φ = tanh or ReLU; a the input part (n, H), z = h_{t−1} Wₕₕᵀ (n, H),
    b = bᵢₕ + bₕₕ (H,)."""
    n, H = y.shape
    if relu:
        for r in range(n):
            for j in range(H):
                v = a[r, j] + z[r, j] + bias[j]
                y[r, j] = v if v > ZERO else ZERO
    else:
        for r in range(n):
            for j in range(H):
                y[r, j] = _tanh(a[r, j] + z[r, j] + bias[j])


def rnn_backward_step(relu: bool, dy: Any, carry: Any, y: Any, da: Any) -> None:
    """dh = dY_t + carry;  dA_t = dh ⊙ φ'(a) = dh ⊙ (1 − h²) (tanh) or dh ⊙ [h > 0] (ReLU).
    All (n, H)."""
    n, H = y.shape
    if relu:
        for r in range(n):
            for j in range(H):
                dh = dy[r, j] + carry[r, j]
                da[r, j] = dh if y[r, j] > ZERO else ZERO
    else:
        for r in range(n):
            for j in range(H):
                h = y[r, j]
                da[r, j] = (dy[r, j] + carry[r, j]) * (ONE - h * h)


# ----------------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------------


def lstm_forward_step(bias: Any, a: Any, z: Any, c_prev: Any, s: Any, c: Any, tc: Any,
                      h: Any) -> None:
    """One LSTM step. In: a (n, 4, H) the input part of the gates i, f, g, o, z = h_{t−1} Wₕₕᵀ
    (n, 4, H), bias = bᵢₕ + bₕₕ (4, H), c_prev (n, H). Out: s (4, n, H) the activated gates;
    c = f c_prev + i g, tc = tanh c and h = o tanh c (n, H)."""
    n, H = c.shape
    for r in range(n):
        for j in range(H):
            i = _sigmoid(a[r, 0, j] + z[r, 0, j] + bias[0, j])
            f = _sigmoid(a[r, 1, j] + z[r, 1, j] + bias[1, j])
            g = _tanh(a[r, 2, j] + z[r, 2, j] + bias[2, j])
            o = _sigmoid(a[r, 3, j] + z[r, 3, j] + bias[3, j])
            ct = f * c_prev[r, j] + i * g
            t = _tanh(ct)
            s[0, r, j] = i
            s[1, r, j] = f
            s[2, r, j] = g
            s[3, r, j] = o
            c[r, j] = ct
            tc[r, j] = t
            h[r, j] = o * t


def lstm_backward_step(dy: Any, carry: Any, s: Any, c_prev: Any, tc: Any, h: Any, dc: Any,
                       da: Any) -> None:
    """One LSTM step of BPTT. dh = dY_t + carry; dc ← dc + dh (o − h tanh c);
    da (n, 4, H) = [dc g i(1 − i), dc c_prev f(1 − f), dc i (1 − g²), dh tanh c o(1 − o)];
    then dc ← dc f (what flows to c_{t−1}). s (4, n, H) as the forward step wrote it."""
    n, H = dc.shape
    for r in range(n):
        for j in range(H):
            i = s[0, r, j]
            f = s[1, r, j]
            g = s[2, r, j]
            o = s[3, r, j]
            t = tc[r, j]
            dh = dy[r, j] + carry[r, j]
            d = dc[r, j] + dh * (o - h[r, j] * t)
            da[r, 0, j] = d * g * (i - i * i)
            da[r, 1, j] = d * c_prev[r, j] * (f - f * f)
            da[r, 2, j] = d * i * (ONE - g * g)
            da[r, 3, j] = dh * t * (o - o * o)
            dc[r, j] = d * f


# ----------------------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------------------


def gru_forward_step(bias: Any, b_hn: Any, a: Any, z: Any, h_prev: Any, s: Any, q: Any,
                     h: Any) -> None:
    """One GRU step. In: a (n, 3, H) the input part of r, z, n, z = h_{t−1} Wₕₕᵀ (n, 3, H),
    bias (3, H) = [bᵢᵣ + bₕᵣ, bᵢ_z + bₕ_z, bᵢₙ], b_hn = bₕₙ (H,), h_prev (n, H). Out: s (3, n, H)
    the gates r, z, n; q = h_{t−1} Wₕₙᵀ + bₕₙ and h = n + z (h_{t−1} − n) (n, H)."""
    n, H = h.shape
    for r in range(n):
        for j in range(H):
            rt = _sigmoid(a[r, 0, j] + z[r, 0, j] + bias[0, j])
            u = _sigmoid(a[r, 1, j] + z[r, 1, j] + bias[1, j])
            qt = z[r, 2, j] + b_hn[j]
            nt = _tanh(a[r, 2, j] + bias[2, j] + rt * qt)
            s[0, r, j] = rt
            s[1, r, j] = u
            s[2, r, j] = nt
            q[r, j] = qt
            h[r, j] = nt + u * (h_prev[r, j] - nt)


def gru_backward_step(dy: Any, carry: Any, extra: Any, s: Any, q: Any, h_prev: Any, dg: Any,
                      dn: Any) -> None:
    """One GRU step of BPTT. dh = dY_t + carry + extra (carry = dGₕ Wₕₕ of the later step,
    extra = its dh z); dn̂ = dh (1 − z)(1 − n²); dg (n, 3, H) = [dn̂ q r(1 − r),
    dh (h_{t−1} − n) z(1 − z), dn̂ r]; dn = dn̂ (n, H); then extra ← dh z."""
    n, H = dn.shape
    for r in range(n):
        for j in range(H):
            rt = s[0, r, j]
            u = s[1, r, j]
            nt = s[2, r, j]
            dh = dy[r, j] + carry[r, j] + extra[r, j]
            d = dh * (ONE - u) * (ONE - nt * nt)
            dg[r, 0, j] = d * q[r, j] * (rt - rt * rt)
            dg[r, 1, j] = dh * (h_prev[r, j] - nt) * (u - u * u)
            dg[r, 2, j] = d * rt
            dn[r, j] = d
            extra[r, j] = dh * u
