"""Recurrent ops: a whole sequence through one RNN / LSTM / GRU layer-direction is ONE node.

Backpropagation through time (BPTT) written by hand, forward and backward side by side. The
autograd core sees one ``Function`` per layer and direction, however long the sequence, so its
per-node cost is paid once; inside, every time step is one GEMM and one elementwise step on
arrays preallocated for all steps.

Layout and conventions (shared by the three ops)
    x (T, B, I) time-major; h0 (and c0) (B, H); weights as PyTorch's: W_ih (G·H, I),
    W_hh (G·H, H), b_ih, b_hh (G·H,) or None, with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or
    3 (GRU: gates r, z, n), the gates stacked in that order along the rows.

    The op returns ONE array Y: (T + 1, B, H) for RNN and GRU, (T + 2, B, H) for LSTM, with
    Y[:T] the outputs h_1 … h_T, Y[T] the final hidden state h_n and Y[T + 1] the final cell
    state c_n (LSTM). The caller slices it (``Y[:T]``, ``Y[T]``), so dY arrives in one piece.

    How the work is split
    * the input part of every gate for ALL steps is one GEMM before the loop:
      Gx = X Wᵢₕᵀ (+ b), X the (T·B, I) stack of inputs;
    * each step adds the recurrent part with one GEMM h_{t−1} Wₕₕᵀ (B, G·H), then applies the
      gate nonlinearities in ONE elementwise step (see "Two paths");
    * backward runs the steps in reverse carrying dh (and dc): per step one elementwise step
      for the pre-activation gradients dA_t (stored for all steps) and one GEMM for dh_{t−1};
      then the weight gradients are single GEMMs over the stacks:
      dWᵢₕ = Σₜ dA_tᵀ x_t = dAᵀ X,  dWₕₕ = Σₜ dA_tᵀ h_{t−1},  db = Σₜ,ₙ dA,  dX = dA Wᵢₕ.
    * every array for all steps is allocated once per call (and reused across calls, see
      ``_Workspace``); the per-step arrays are (B, G, H) views of the GEMMs' (B, G·H) rows and
      gate-major (G, B, H) blocks for the saved gates, so every (B, H) gate is contiguous.

    Two paths for the elementwise steps, with the same arguments and results:
    * compiled (``ops/rnn_numba.py``): one numba kernel per step that reads every input once
      and writes every output once, the bias added on the way (so Gx holds X Wᵢₕᵀ only). Used
      for NumPy arrays when numba is installed and not switched off (``ROSENBLATT_NUMBA=0``,
      ``rnn_numba.use_numba(False)``);
    * array calls (the ``_*_np`` step functions here): ~12 (forward) and ~16 (backward)
      in-place ufunc calls per LSTM step, each spelled ``xp.f(…, out=…)``; CuPy's path, and
      NumPy's without numba. Sigmoids are σ(a) = 1 / (1 + e⁻ᵃ) with the sign folded into the
      weights of the GEMMs (so the GEMM yields −a directly), and the LSTM's tanh gate
      tanh(a) = 2σ(2a) − 1 (factor −2 folded the same way): one ``exp`` over all gates, which
      costs about half of NumPy's float32 ``tanh``. Overflow of ``exp`` (→ inf → σ = 0) is
      exact and silenced.

Variable-length batches (``batch_sizes``)
    With the batch sorted by length, longest first, the sequences still running at step t are
    the first ``batch_sizes[t]`` rows (PyTorch's packed-sequence layout). Every step then works
    on those rows only: outputs past a sequence's end stay zero, and its final state is copied
    to Y[T] (and Y[T + 1]) at its last step. In backward, dh_n (dc_n) of a sequence enters the
    carried gradient at that sequence's last step, because the carry buffers start as dh_n
    (dc_n) and the rows of a sequence are only overwritten once it is running. Reversed
    directions reverse each sequence within its own length first (``ReversePadded``), so they
    start at each sequence's own last step. ``PermuteBatch`` sorts and unsorts the batch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from . import rnn_numba


class _Workspace:
    """Arrays handed out again once nothing but the workspace refers to them.

    The ops keep large arrays for every step (gates, cell states, gradient stacks). Allocated
    afresh on every call they cost page faults whenever the C allocator has handed the memory
    back to the system in between (measured: ~500 faults, a few ms, per training step of
    ``benchmarks/lstm.py`` when PyTorch allocates alongside). An array here is reused only when
    the workspace holds the ONLY reference to it: no graph has it saved, no output or view of it
    is alive. So reuse is invisible; ``retain_graph`` and outputs kept by the caller are safe.
    NumPy only (CuPy has its own memory pool). ``clear_workspace()`` releases everything.
    """

    def __init__(self, per_key: int = 8, max_bytes: int = 1 << 29) -> None:
        self.arrays: dict[tuple, list[Any]] = {}
        self.nbytes = 0
        self.per_key = per_key
        self.max_bytes = max_bytes
        self.free_refs = self._refs_in_scan([np.empty(1)])

    @staticmethod
    def _refs_in_scan(arrays: list[Any]) -> int:
        """The reference count an array held by nothing but ``arrays`` shows in the scan loop
        of ``get`` (measured, not assumed: interpreters count loop variables differently)."""
        for a in arrays:
            return sys.getrefcount(a)
        return 0

    def get(self, xp: Any, shape: tuple[int, ...], dtype: Any, zero: bool = False) -> Any:
        if xp is not np:
            return (xp.zeros if zero else xp.empty)(shape, dtype=dtype)
        key = (shape, np.dtype(dtype))
        arrays = self.arrays.setdefault(key, [])
        for a in arrays:
            if sys.getrefcount(a) == self.free_refs:
                if zero:
                    a.fill(0)
                return a
        new = (np.zeros if zero else np.empty)(shape, dtype=dtype)
        if len(arrays) < self.per_key and self.nbytes + new.nbytes <= self.max_bytes:
            arrays.append(new)
            self.nbytes += new.nbytes
        return new

    def clear(self) -> None:
        self.arrays.clear()
        self.nbytes = 0


_workspace = _Workspace()


def clear_workspace() -> None:
    """Drop the recurrent ops' reusable arrays (memory goes back to the allocator)."""
    _workspace.clear()


def _buffer(xp: Any, shape: tuple[int, ...], dtype: Any, zero: bool = False) -> Any:
    """An uninitialised (or, with ``zero``, zeroed) array from the workspace."""
    return _workspace.get(xp, shape, dtype, zero)


def _errstate() -> Any:
    """exp(−a) may overflow to inf for very negative pre-activations; σ = 1/(1 + inf) = 0 is
    then exact, so the warning is noise."""
    return np.errstate(over="ignore")


def _input_gates(xp: Any, x: Any, W_ih: Any, bias: Any, scale: Any) -> tuple[Any, Any]:
    """X = x as (T·B, I) and Gx = X (Wᵢₕᵀ·scale) + bias·scale (T·B, G·H): the input part of every
    gate at every step, one GEMM (``scale`` None: no scaling)."""
    T, B, _ = x.shape
    X = x.reshape(T * B, -1)
    W = W_ih.T if scale is None else W_ih.T * scale
    Gx = xp.matmul(X, W, out=_buffer(xp, (T * B, W_ih.shape[0]), x.dtype))
    if bias is not None:
        xp.add(Gx, bias if scale is None else bias * scale, out=Gx)
    return X, Gx


def _kernels(xp: Any) -> Any:
    """The compiled step kernels (``ops/rnn_numba.py``) for NumPy arrays when numba is there and
    enabled; None otherwise (CuPy, no numba, or switched off): the steps then run as array calls."""
    return rnn_numba.kernels() if xp is np else None


def _bias(xp: Any, bias: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """The summed bias as the kernels take it: contiguous, in ``shape``, zeros when None."""
    if bias is None:
        return xp.zeros(shape, dtype=dtype)
    return xp.ascontiguousarray(bias.reshape(shape), dtype=dtype)


def _is_zero(xp: Any, h0: Any) -> bool:
    """Whether the initial state is all zeros (the layers' default when none is given)."""
    return not bool(xp.any(h0))


def _recurrent_gemm(xp: Any, h: Any, WhT: Any, Z: Any, zero: bool) -> None:
    """Z = h Wₕₕᵀ, one GEMM; with ``zero`` (h = 0, the first step from a zero state) Z = 0."""
    if zero:
        Z.fill(0)
    else:
        xp.matmul(h, WhT, out=Z)


def _check_shapes(name: str, x: Any, h0: Any, W_ih: Any, W_hh: Any, gates: int) -> int:
    if x.ndim != 3:
        raise ValueError(f"{name}: expected a time-major input (T, B, I), got shape {x.shape}")
    H = W_hh.shape[1]
    if W_hh.shape != (gates * H, H) or W_ih.shape != (gates * H, x.shape[2]):
        raise ValueError(
            f"{name}: weights of shape {W_ih.shape} and {W_hh.shape} do not fit input size "
            f"{x.shape[2]} and {gates} gates of hidden size {H}"
        )
    if h0.shape != (x.shape[1], H):
        raise ValueError(f"{name}: expected h0 of shape {(x.shape[1], H)}, got {h0.shape}")
    return H


def _steps(T: int, batch_sizes: Sequence[int] | None, B: int) -> list[tuple[int, int, int]]:
    """(t, n_t, n_{t+1}) for every step that has rows to run: n_t rows run at step t and rows
    n_{t+1}..n_t − 1 end there (n_T = 0)."""
    if batch_sizes is None:
        return [(t, B, B if t + 1 < T else 0) for t in range(T)]
    sizes = [int(n) for n in batch_sizes] + [0]
    return [(t, sizes[t], sizes[t + 1]) for t in range(T) if sizes[t] > 0]


def _gates(S: Any, t: int, n: int) -> Any:
    """The saved gates of the first n rows at step t as one contiguous gate-major (G, n, H)
    block: the front of S[t] (with n < B, S[t, :, :n] would be strided, and the kernels get
    slower on strided arrays). Forward writes it, backward reads it, with the same n."""
    _, G, _, H = S.shape
    return S[t].reshape(-1)[: G * n * H].reshape(G, n, H)


def _start_rows(Y: Any, T: int, batch_sizes: Sequence[int] | None, states: Sequence[Any]) -> None:
    """Sequences of length 0 never run: their final states (Y[T], Y[T + 1]) are the initial
    ones."""
    if batch_sizes is None:
        return
    n0 = int(batch_sizes[0]) if T else 0
    for j, s in enumerate(states):
        Y[T + j, n0:] = s[n0:]


def _stack(xp: Any, shape: tuple[int, ...], dtype: Any,
           batch_sizes: Sequence[int] | None) -> Any:
    """An array for all steps: uninitialised for full batches, zeroed with variable lengths so
    that the rows past a sequence's end (never written) hold zeros: zero outputs and zero
    gradients."""
    return _buffer(xp, shape, dtype, zero=batch_sizes is not None)


def _weight_grads(xp: Any, dA: Any, X: Any, h0: Any, W_ih: Any, Y: Any,
                  need: Sequence[bool]) -> tuple[Any, Any, Any, Any]:
    """dX, dWᵢₕ, dWₕₕ and db from the stacked pre-activation gradients dA (T, B, G·H), each one
    GEMM over all steps, computed where ``need`` (four flags, in that order) asks:

        dX = dA Wᵢₕ,  dWᵢₕ = dAᵀ X,  dWₕₕ = Σₜ dA_tᵀ h_{t−1} (h_{−1} = h0, then Y[t − 1]),
        db = Σₜ,ₙ dA.

    Rows past a sequence's end have dA = 0 and Y = 0, so they add nothing."""
    T, _, G = dA.shape
    dA2 = dA.reshape(-1, G)
    dX = xp.matmul(dA2, W_ih).reshape(T, -1, W_ih.shape[1]) if need[0] else None
    dW_ih = xp.matmul(dA2.T, X) if need[1] else None
    dW_hh = None
    if need[2]:
        dW_hh = xp.matmul(dA[0].T, h0)
        if T > 1:
            Hprev = Y[: T - 1].reshape(-1, Y.shape[2])
            xp.add(dW_hh, xp.matmul(dA[1:].reshape(-1, G).T, Hprev), out=dW_hh)
    db = xp.matmul(xp.ones(dA2.shape[0], dtype=dA2.dtype), dA2) if need[3] else None  # a GEMV
    return dX, dW_ih, dW_hh, db


def _needs(fn: Function, first: int) -> tuple[bool, bool, bool, bool]:
    """(x, Wᵢₕ, Wₕₕ, biases) gradient flags; ``first`` is the index of Wᵢₕ among the inputs."""
    need = fn.needs_input_grad
    bias = any(need[first + 2 :])
    return need[0], need[first], need[first + 1], bias


# ----------------------------------------------------------------------------------------------
# vanilla RNN
# ----------------------------------------------------------------------------------------------


def _rnn_forward_np(xp: Any, relu: bool, a: Any, z: Any, y: Any) -> None:
    """y = φ(a + z) in array calls, the bias already in a (``rnn_numba.rnn_forward_step``)."""
    xp.add(a, z, out=y)
    if relu:
        xp.maximum(y, 0, out=y)
    else:
        xp.tanh(y, out=y)


def _rnn_backward_np(xp: Any, dh: Any, relu: bool, dy: Any, carry: Any, y: Any,
                     da: Any) -> None:
    """dA_t = (dY_t + carry) ⊙ φ'(a) in array calls; ``dh`` is a (B, H) scratch array."""
    dh = dh[: y.shape[0]]
    xp.add(dy, carry, out=dh)
    if relu:  # φ'(a) = [h > 0]
        xp.multiply(dh, y > 0, out=da)
    else:  # φ'(a) = 1 − h²
        xp.multiply(y, y, out=da)
        xp.subtract(1.0, da, out=da)
        xp.multiply(da, dh, out=da)


class RNNSequence(Function):
    """Elman RNN over a whole sequence:  h_t = φ(x_t Wᵢₕᵀ + bᵢₕ + h_{t−1} Wₕₕᵀ + bₕₕ),
    φ = tanh or ReLU (``nonlinearity``).

    BPTT, carrying dh from the last step to the first (dh = dh_n at the last step):
        dh_t ← dY_t + dh_t,   dA_t = dh_t ⊙ φ'(a_t)  (1 − h_t² for tanh, [h_t > 0] for ReLU),
        dh_{t−1} = dA_t Wₕₕ;  then dWᵢₕ = dAᵀX, dWₕₕ = Σ dA_tᵀ h_{t−1}, dbᵢₕ = dbₕₕ = Σ dA,
        dX = dA Wᵢₕ, dh0 = dh_{−1}.
    Output (T + 1, B, H): the outputs, then h_n.
    """

    def forward(self, x: Any, h0: Any, W_ih: Any, W_hh: Any, b_ih: Any = None, b_hh: Any = None,
                nonlinearity: str = "tanh", batch_sizes: Sequence[int] | None = None) -> Any:
        xp = get_array_module(x)
        H = _check_shapes("RNN", x, h0, W_ih, W_hh, 1)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        T, B, _ = x.shape
        relu = nonlinearity == "relu"
        bias = None if b_ih is None else b_ih + b_hh
        kern = _kernels(xp)
        if kern:  # the bias goes in with each step
            step = partial(kern.rnn_forward_step, _bias(xp, bias, (H,), x.dtype), relu)
            bias = None
        else:
            step = partial(_rnn_forward_np, xp, relu)
        X, A = _input_gates(xp, x, W_ih, bias, None)
        A = A.reshape(T, B, H)
        Y = _stack(xp, (T + 1, B, H), x.dtype, batch_sizes)
        _start_rows(Y, T, batch_sizes, (h0,))
        WhT = W_hh.T
        Z = _buffer(xp, (B, H), x.dtype)
        h, zero_h0 = h0, _is_zero(xp, h0)
        for t, n, n_next in _steps(T, batch_sizes, B):
            _recurrent_gemm(xp, h[:n], WhT, Z[:n], t == 0 and zero_h0)
            step(A[t, :n], Z[:n], Y[t, :n])
            if n_next < n:  # rows n_next..n−1 end here: their final state
                Y[T, n_next:n] = Y[t, n_next:n]
            h = Y[t]
        self.nonlinearity = nonlinearity
        self.batch_sizes = batch_sizes
        self.save_for_backward(X, h0, W_ih, W_hh, Y)
        return Y

    def backward(self, dY: Any) -> Any:
        X, h0, W_ih, W_hh, Y = self.saved_tensors
        xp = get_array_module(dY)
        T = Y.shape[0] - 1
        B, H = h0.shape
        relu = self.nonlinearity == "relu"
        kern = _kernels(xp)
        if kern:
            dY = np.ascontiguousarray(dY)
            step = partial(kern.rnn_backward_step, relu)
        else:
            step = partial(_rnn_backward_np, xp, _buffer(xp, (B, H), dY.dtype), relu)
        dA = _stack(xp, (T, B, H), dY.dtype, self.batch_sizes)
        carry = xp.copy(dY[T])  # dh flowing into h_t from later steps; starts as dh_n
        need_h0 = self.parents[1] is not None
        for t, n, _ in reversed(_steps(T, self.batch_sizes, B)):
            da = dA[t, :n]
            step(dY[t, :n], carry[:n], Y[t, :n], da)
            if t or need_h0:  # dh_{t−1}; at t = 0 that is dh0, computed only if asked for
                xp.matmul(da, W_hh, out=carry[:n])
        dX, dW_ih, dW_hh, db = _weight_grads(xp, dA, X, h0, W_ih, Y, _needs(self, 2))
        return dX, carry if need_h0 else None, dW_ih, dW_hh, db, db


# ----------------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------------


def _lstm_signs(H: int, dtype: Any, xp: Any) -> Any:
    """Folded into the gate columns for the array-call path: −1 for i, f, o
    (σ(a) = 1/(1 + e^(−a))) and −2 for g (tanh(a) = 2σ(2a) − 1)."""
    k = xp.full(4 * H, -1.0, dtype=dtype)
    k[2 * H : 3 * H] = -2.0
    return k


def _lstm_forward_np(xp: Any, a: Any, z: Any, c_prev: Any, s: Any, c: Any, tc: Any,
                     h: Any) -> None:
    """One LSTM step in array calls (``rnn_numba.lstm_forward_step`` compiled), on the
    sign-folded pre-activations a + z = [−aᵢ, −a_f, −2a_g, −aₒ] (``_lstm_signs``, bias included)
    given as (n, 4, H), into gate-major s (4, n, H); a is overwritten, h is scratch for i ⊙ g
    before it gets o ⊙ tanh c."""
    xp.add(a, z, out=a)
    xp.exp(a, out=a)  # e^(−a)
    xp.add(a, 1.0, out=a)
    xp.divide(1.0, a.transpose(1, 0, 2), out=s)  # σ(a) for i, f, o; σ(2a_g) for g
    i, f, g, o = s
    xp.multiply(g, 2.0, out=g)
    xp.subtract(g, 1.0, out=g)  # tanh(a_g) = 2σ(2a_g) − 1
    xp.multiply(f, c_prev, out=c)
    xp.multiply(i, g, out=h)
    xp.add(c, h, out=c)
    xp.tanh(c, out=tc)
    xp.multiply(o, tc, out=h)


def _lstm_backward_np(xp: Any, scratch: Sequence[Any], dy: Any, carry: Any, s: Any,
                      c_prev: Any, tc: Any, h: Any, dc: Any, da: Any) -> None:
    """One LSTM step of BPTT in array calls (``rnn_numba.lstm_backward_step`` compiled);
    s gate-major (4, n, H), da (n, 4, H); ``scratch``: two (B, H) and two (4, B, H) arrays."""
    n = dc.shape[0]
    dh, tm, m, d = scratch[0][:n], scratch[1][:n], scratch[2][:, :n], scratch[3][:, :n]
    i, f, g, o = s
    xp.add(dy, carry, out=dh)
    # dc += dh ⊙ (o − h ⊙ tanh c)
    xp.multiply(h, tc, out=tm)
    xp.subtract(o, tm, out=tm)
    xp.multiply(tm, dh, out=tm)
    xp.add(dc, tm, out=dc)
    # ∂L/∂i, ∂L/∂f, ∂L/∂g, ∂L/∂o ...
    xp.multiply(dc, g, out=m[0])
    xp.multiply(dc, c_prev, out=m[1])
    xp.multiply(dc, i, out=m[2])
    xp.multiply(dh, tc, out=m[3])
    # ... times s(1 − s) for i, f, o and 1 − g² for g
    xp.multiply(s, s, out=d)
    xp.subtract(s[:2], d[:2], out=d[:2])
    xp.subtract(o, d[3], out=d[3])
    xp.subtract(1.0, d[2], out=d[2])
    xp.multiply(m, d, out=da.transpose(1, 0, 2))
    xp.multiply(dc, f, out=dc)


class LSTMSequence(Function):
    """LSTM over a whole sequence (Hochreiter & Schmidhuber; PyTorch's gate order i, f, g, o):

        [a_i, a_f, a_g, a_o] = x_t Wᵢₕᵀ + bᵢₕ + h_{t−1} Wₕₕᵀ + bₕₕ
        i = σ(a_i)  input gate,   f = σ(a_f)  forget gate,   g = tanh(a_g)  candidate,
        o = σ(a_o)  output gate
        c_t = f ⊙ c_{t−1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)

    BPTT, carrying dh and dc backwards (dh = dh_n, dc = dc_n at the last step):
        dh_t ← dY_t + dh_t
        dc_t ← dc_t + dh_t ⊙ o ⊙ (1 − tanh² c_t)        (o (1 − tanh² c) = o − h_t ⊙ tanh c_t)
        dA_t = [dc_t ⊙ g ⊙ i(1 − i),  dc_t ⊙ c_{t−1} ⊙ f(1 − f),  dc_t ⊙ i ⊙ (1 − g²),
                dh_t ⊙ tanh c_t ⊙ o(1 − o)]
        dh_{t−1} = dA_t Wₕₕ,   dc_{t−1} = dc_t ⊙ f
    then dWᵢₕ = dAᵀX, dWₕₕ = Σ dA_tᵀ h_{t−1}, dbᵢₕ = dbₕₕ = Σ dA, dX = dA Wᵢₕ.

    Layout: the GEMMs work on (B, 4H) rows (one GEMM per step each way), the gate arithmetic
    (one compiled kernel, or ~12 and ~16 array calls) on (B, 4, H) views of them; the activated
    gates are kept for backward gate-major, (T, 4, B, H) (every (B, H) gate contiguous), with
    c_t and tanh c_t (T, B, H). Output (T + 2, B, H): the outputs, h_n, c_n.
    """

    def forward(self, x: Any, h0: Any, c0: Any, W_ih: Any, W_hh: Any, b_ih: Any = None,
                b_hh: Any = None, batch_sizes: Sequence[int] | None = None) -> Any:
        xp = get_array_module(x)
        H = _check_shapes("LSTM", x, h0, W_ih, W_hh, 4)
        if c0.shape != h0.shape:
            raise ValueError(f"LSTM: expected c0 of shape {h0.shape}, got {c0.shape}")
        T, B, _ = x.shape
        dt = x.dtype
        bias = None if b_ih is None else b_ih + b_hh
        kern = _kernels(xp)
        if kern:  # plain pre-activations, the bias added in each step
            k, WhT, c0 = None, W_hh.T, np.ascontiguousarray(c0)
            step = partial(kern.lstm_forward_step, _bias(xp, bias, (4, H), dt))
            bias = None
        else:  # −a, −2a_g (``_lstm_signs``)
            k = _lstm_signs(H, dt, xp)
            WhT, step = W_hh.T * k, partial(_lstm_forward_np, xp)
        X, Gx = _input_gates(xp, x, W_ih, bias, k)
        Gx = Gx.reshape(T, B, 4, H)
        Y = _stack(xp, (T + 2, B, H), dt, batch_sizes)
        _start_rows(Y, T, batch_sizes, (h0, c0))
        S = _buffer(xp, (T, 4, B, H), dt)  # activated gates i, f, g, o
        C = _buffer(xp, (T, B, H), dt)
        TC = _buffer(xp, (T, B, H), dt)
        Z = _buffer(xp, (B, 4 * H), dt)
        Z3 = Z.reshape(B, 4, H)
        h, c, zero_h0 = h0, c0, _is_zero(xp, h0)
        with _errstate():
            for t, n, n_next in _steps(T, batch_sizes, B):
                _recurrent_gemm(xp, h[:n], WhT, Z[:n], t == 0 and zero_h0)
                step(Gx[t, :n], Z3[:n], c[:n], _gates(S, t, n), C[t, :n], TC[t, :n], Y[t, :n])
                if n_next < n:  # rows n_next..n−1 end here: their final states
                    Y[T, n_next:n] = Y[t, n_next:n]
                    Y[T + 1, n_next:n] = C[t, n_next:n]
                h, c = Y[t], C[t]
        self.batch_sizes = batch_sizes
        self.save_for_backward(X, h0, c0, W_ih, W_hh, S, C, TC, Y)
        return Y

    def backward(self, dY: Any) -> Any:
        X, h0, c0, W_ih, W_hh, S, C, TC, Y = self.saved_tensors
        xp = get_array_module(dY)
        T = Y.shape[0] - 2
        B, H = h0.shape
        dt = dY.dtype
        kern = _kernels(xp)
        if kern:
            dY = np.ascontiguousarray(dY)
            step = kern.lstm_backward_step
        else:
            scratch = [_buffer(xp, shape, dt) for shape in ((B, H), (B, H), (4, B, H), (4, B, H))]
            step = partial(_lstm_backward_np, xp, scratch)
        dA = _stack(xp, (T, B, 4 * H), dt, self.batch_sizes)
        dA3 = dA.reshape(T, B, 4, H)
        carry = xp.copy(dY[T])  # dh into h_t from later steps; starts as dh_n
        dc = xp.copy(dY[T + 1])  # dc into c_t from later steps; starts as dc_n
        need_h0 = self.needs_input_grad[1]
        for t, n, _ in reversed(_steps(T, self.batch_sizes, B)):
            c_prev = c0[:n] if t == 0 else C[t - 1, :n]
            s = _gates(S, t, n)
            step(dY[t, :n], carry[:n], s, c_prev, TC[t, :n], Y[t, :n], dc[:n], dA3[t, :n])
            if t or need_h0:  # dh_{t−1}; at t = 0 that is dh0, computed only if asked for
                xp.matmul(dA[t, :n], W_hh, out=carry[:n])
        dX, dW_ih, dW_hh, db = _weight_grads(xp, dA, X, h0, W_ih, Y, _needs(self, 3))
        need = self.needs_input_grad
        return (dX, carry if need[1] else None, dc if need[2] else None, dW_ih, dW_hh, db, db)


# ----------------------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------------------


def _gru_forward_np(xp: Any, tmp: Any, b_hn: Any, a: Any, z: Any, h_prev: Any, s: Any, q: Any,
                    h: Any) -> None:
    """One GRU step in array calls (``rnn_numba.gru_forward_step`` compiled); a, z (n, 3, H)
    with the r and z columns sign-folded (−a) and the input biases in a; s gate-major
    (3, n, H); ``tmp`` a (B, H) scratch array."""
    tm = tmp[: h.shape[0]]
    ag, zg = a.transpose(1, 0, 2), z.transpose(1, 0, 2)
    r, u, nn = s
    rz = s[:2]
    xp.add(ag[:2], zg[:2], out=rz)
    xp.exp(rz, out=rz)
    xp.add(rz, 1.0, out=rz)
    xp.divide(1.0, rz, out=rz)  # r, z
    xp.add(zg[2], b_hn, out=q)
    xp.multiply(r, q, out=tm)
    xp.add(ag[2], tm, out=nn)
    xp.tanh(nn, out=nn)  # n
    xp.subtract(h_prev, nn, out=tm)
    xp.multiply(tm, u, out=tm)
    xp.add(nn, tm, out=h)  # h = n + z (h_prev − n)


def _gru_backward_np(xp: Any, scratch: Sequence[Any], dy: Any, carry: Any, extra: Any, s: Any,
                     q: Any, h_prev: Any, dg: Any, dn: Any) -> None:
    """One GRU step of BPTT in array calls (``rnn_numba.gru_backward_step`` compiled); s
    gate-major (3, n, H), dg (n, 3, H); ``scratch``: three (B, H) arrays."""
    n = dn.shape[0]
    dh, u, v = (a[:n] for a in scratch)
    r, z, nn = s
    dgm = dg.transpose(1, 0, 2)
    xp.add(dy, carry, out=dh)
    xp.add(dh, extra, out=dh)
    # dn̂ = dh (1 − z)(1 − n²)
    xp.multiply(nn, nn, out=u)
    xp.subtract(1.0, u, out=u)
    xp.subtract(1.0, z, out=v)
    xp.multiply(u, v, out=u)
    xp.multiply(u, dh, out=dn)
    xp.multiply(dn, r, out=dgm[2])
    # dâ_r = dn̂ q r (1 − r)
    xp.subtract(1.0, r, out=u)
    xp.multiply(u, r, out=u)
    xp.multiply(u, q, out=u)
    xp.multiply(u, dn, out=dgm[0])
    # dâ_z = dh (h_prev − n) z (1 − z)
    xp.subtract(h_prev, nn, out=u)
    xp.multiply(v, z, out=v)
    xp.multiply(u, v, out=u)
    xp.multiply(u, dh, out=dgm[1])
    xp.multiply(dh, z, out=extra)


class GRUSequence(Function):
    """GRU over a whole sequence (Cho et al.; PyTorch's gate order r, z, n and its n-gate):

        r = σ(x Wᵢᵣᵀ + bᵢᵣ + h_{t−1} Wₕᵣᵀ + bₕᵣ)       reset gate
        z = σ(x Wᵢ_zᵀ + bᵢ_z + h_{t−1} Wₕ_zᵀ + bₕ_z)     update gate
        n = tanh(x Wᵢₙᵀ + bᵢₙ + r ⊙ (h_{t−1} Wₕₙᵀ + bₕₙ))  candidate (r applied after the GEMM)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}  =  n + z ⊙ (h_{t−1} − n)

    BPTT, with q = h_{t−1} Wₕₙᵀ + bₕₙ saved per step and dh carried backwards (dh_n first):
        dh_t ← dY_t + dh_t
        dn̂ = dh_t ⊙ (1 − z) ⊙ (1 − n²)                 (gradient of n's pre-activation)
        dâ_r = dn̂ ⊙ q ⊙ r(1 − r),   dâ_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        dGₕ = [dâ_r, dâ_z, dn̂ ⊙ r],  dGₓ = [dâ_r, dâ_z, dn̂]
        dh_{t−1} = dGₕ Wₕₕ + dh_t ⊙ z
    then dWₕₕ = Σ dGₕᵀ h_{t−1}, dbₕₕ = Σ dGₕ, dWᵢₕ = dGₓᵀX, dbᵢₕ = Σ dGₓ, dX = dGₓ Wᵢₕ.
    The two terms of dh_{t−1} are carried apart (``carry`` = dGₕ Wₕₕ, ``extra`` = dh_t ⊙ z)
    and summed by the next step. The activated gates are kept gate-major, (T, 3, B, H).
    Output (T + 1, B, H): the outputs, then h_n.
    """

    def forward(self, x: Any, h0: Any, W_ih: Any, W_hh: Any, b_ih: Any = None, b_hh: Any = None,
                batch_sizes: Sequence[int] | None = None) -> Any:
        xp = get_array_module(x)
        H = _check_shapes("GRU", x, h0, W_ih, W_hh, 3)
        T, B, _ = x.shape
        dt = x.dtype
        bias = None
        if b_ih is not None:  # the recurrent biases of r and z join the input ones
            bias = xp.concatenate([b_ih[: 2 * H] + b_hh[: 2 * H], b_ih[2 * H :]])
        b_hn = xp.zeros(H, dtype=dt) if b_hh is None else xp.ascontiguousarray(b_hh[2 * H :])
        kern = _kernels(xp)
        if kern:  # plain pre-activations, the biases added in each step
            k, WhT, h0 = None, W_hh.T, np.ascontiguousarray(h0)
            step = partial(kern.gru_forward_step, _bias(xp, bias, (3, H), dt), b_hn)
            bias = None
        else:  # −1 on r and z: the GEMMs give −a for σ
            k = xp.full(3 * H, -1.0, dtype=dt)
            k[2 * H :] = 1.0
            WhT = W_hh.T * k
            step = partial(_gru_forward_np, xp, _buffer(xp, (B, H), dt), b_hn)
        X, Gx = _input_gates(xp, x, W_ih, bias, k)
        Gx = Gx.reshape(T, B, 3, H)
        Y = _stack(xp, (T + 1, B, H), dt, batch_sizes)
        _start_rows(Y, T, batch_sizes, (h0,))
        S = _buffer(xp, (T, 3, B, H), dt)  # r, z, n
        Q = _buffer(xp, (T, B, H), dt)  # h_{t−1} Wₕₙᵀ + bₕₙ
        Z = _buffer(xp, (B, 3 * H), dt)
        Z3 = Z.reshape(B, 3, H)
        h, zero_h0 = h0, _is_zero(xp, h0)
        with _errstate():
            for t, n, n_next in _steps(T, batch_sizes, B):
                _recurrent_gemm(xp, h[:n], WhT, Z[:n], t == 0 and zero_h0)
                step(Gx[t, :n], Z3[:n], h[:n], _gates(S, t, n), Q[t, :n], Y[t, :n])
                if n_next < n:
                    Y[T, n_next:n] = Y[t, n_next:n]
                h = Y[t]
        self.batch_sizes = batch_sizes
        self.save_for_backward(X, h0, W_ih, W_hh, S, Q, Y)
        return Y

    def backward(self, dY: Any) -> Any:
        X, h0, W_ih, W_hh, S, Q, Y = self.saved_tensors
        xp = get_array_module(dY)
        T = Y.shape[0] - 1
        B, H = h0.shape
        dt = dY.dtype
        kern = _kernels(xp)
        if kern:
            dY = np.ascontiguousarray(dY)
            step = kern.gru_backward_step
        else:
            step = partial(_gru_backward_np, xp, [_buffer(xp, (B, H), dt) for _ in range(3)])
        dGh = _stack(xp, (T, B, 3 * H), dt, self.batch_sizes)
        dG3 = dGh.reshape(T, B, 3, H)
        dN = _stack(xp, (T, B, H), dt, self.batch_sizes)  # dn̂: the input part of the n gate
        carry = xp.copy(dY[T])  # dGₕ Wₕₕ of the later step; starts as dh_n
        extra = _buffer(xp, (B, H), dt, zero=True)  # dh ⊙ z of the later step
        need_h0 = self.parents[1] is not None
        for t, n, _ in reversed(_steps(T, self.batch_sizes, B)):
            h_prev = h0[:n] if t == 0 else Y[t - 1, :n]
            s = _gates(S, t, n)
            step(dY[t, :n], carry[:n], extra[:n], s, Q[t, :n], h_prev, dG3[t, :n], dN[t, :n])
            if t or need_h0:  # dh_{t−1}; at t = 0 that is dh0, computed only if asked for
                xp.matmul(dGh[t, :n], W_hh, out=carry[:n])
        xp.add(carry, extra, out=carry)  # dh0
        need_x, need_wih, need_whh, need_b = _needs(self, 2)
        # dGₓ = [dâ_r, dâ_z | dn̂]: the r, z columns of dGₕ and dN, as two GEMMs each
        dGh2, dN2 = dGh.reshape(-1, 3 * H), dN.reshape(-1, H)
        dRZ2 = dGh2[:, : 2 * H]
        dX = dW_ih = db_ih = None
        if need_x:
            dX = xp.matmul(dRZ2, W_ih[: 2 * H])
            xp.add(dX, xp.matmul(dN2, W_ih[2 * H :]), out=dX)
            dX = dX.reshape(T, B, -1)
        if need_wih:
            dW_ih = xp.concatenate([xp.matmul(dRZ2.T, X), xp.matmul(dN2.T, X)])
        _, _, dW_hh, db_hh = _weight_grads(xp, dGh, X, h0, W_ih, Y,
                                           (False, False, need_whh, need_b))
        if db_hh is not None:
            ones = xp.ones(dN2.shape[0], dtype=dt)
            db_ih = xp.concatenate([db_hh[: 2 * H], xp.matmul(ones, dN2)])
        return dX, carry if need_h0 else None, dW_ih, dW_hh, db_ih, db_hh


# ----------------------------------------------------------------------------------------------
# batch bookkeeping for variable lengths
# ----------------------------------------------------------------------------------------------


class PermuteBatch(Function):
    """y = x with the entries of ``axis`` reordered: y[…, j, …] = x[…, perm[j], …];
    dx = dy reordered by the inverse permutation."""

    def forward(self, x: Any, perm: Any = None, axis: int = 1) -> Any:
        xp = get_array_module(x)
        self.axis = axis
        self.inverse = np.argsort(perm)
        return xp.take(x, xp.asarray(perm), axis=axis)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        return xp.take(dy, xp.asarray(self.inverse), axis=self.axis)


def reverse_padded_index(lengths: Any, T: int) -> Any:
    """(T, B) time indices that reverse each sequence within its length: len_b − 1 − t for
    t < len_b, t itself past the end (padding stays where it is). The map is its own inverse."""
    t = np.arange(T)[:, None]
    lengths = np.asarray(lengths)[None, :]
    return np.where(t < lengths, lengths - 1 - t, t)


class ReversePadded(Function):
    """Reverse every sequence of a time-major (T, B, …) batch within its own length:
    y[t, b] = x[len_b − 1 − t, b] for t < len_b, else x[t, b]. A permutation that is its own
    inverse, so dx = the same reversal of dy."""

    def forward(self, x: Any, lengths: Any = None) -> Any:
        xp = get_array_module(x)
        idx = reverse_padded_index(lengths, x.shape[0])
        self.index = (xp.asarray(idx), xp.arange(x.shape[1])[None, :])
        return x[self.index]

    def backward(self, dy: Any) -> Any:
        return dy[self.index]
