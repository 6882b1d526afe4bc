"""Recurrent ops: a whole sequence through one RNN / LSTM / GRU layer-direction is ONE node.

Backpropagation through time (BPTT) written by hand, forward and backward side by side. The
autograd core sees one ``Function`` per layer and direction, however long the sequence, so its
per-node cost is paid once; inside, every step is a handful of in-place NumPy calls on arrays
preallocated for all steps.

Layout and conventions (shared by the three ops)
    x (T, B, I) time-major; h0 (and c0) (B, H); weights as PyTorch's: W_ih (G·H, I),
    W_hh (G·H, H), b_ih, b_hh (G·H,) or None, with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or
    3 (GRU: gates r, z, n), the gates stacked in that order along the rows.

    The op returns ONE array Y: (T + 1, B, H) for RNN and GRU, (T + 2, B, H) for LSTM, with
    Y[:T] the outputs h_1 … h_T, Y[T] the final hidden state h_n and Y[T + 1] the final cell
    state c_n (LSTM). The caller slices it (``Y[:T]``, ``Y[T]``), so dY arrives in one piece.

    How the work is split
    * the input part of every gate for ALL steps is one GEMM before the loop:
      Gx = X Wᵢₕᵀ + b, X the (T·B, I) stack of inputs;
    * each step adds the recurrent part with one GEMM h_{t−1} Wₕₕᵀ (B, G·H) and applies the
      gate nonlinearities in place. The GEMMs work on (B, G·H) rows; the gate arithmetic on
      gate-major (G, B, H) views and buffers, so that every (B, H) gate is contiguous (a strided
      gate slice costs NumPy about twice as much per call);
    * backward runs the steps in reverse carrying dh (and dc), storing the pre-activation
      gradients dA_t of every step; then the weight gradients are single GEMMs over the stacks:
      dWᵢₕ = Σₜ dA_tᵀ x_t = dAᵀ X,  dWₕₕ = Σₜ dA_tᵀ h_{t−1},  db = Σₜ,ₙ dA,  dX = dA Wᵢₕ.
    * every array for all steps is allocated once per call; inside the loops each NumPy call is
      spelled ``xp.f(…, out=…)`` (no temporaries, no operators), so the calls per step are
      exactly the lines of the loop (``benchmarks/lstm.py`` counts them).

    Sigmoids are computed as σ(a) = 1 / (1 + e⁻ᵃ) with the sign folded into the weights of the
    GEMMs (so the GEMM yields −a directly), and the LSTM's tanh gate as tanh(a) = 2σ(2a) − 1
    (factor −2 folded the same way): one ``exp`` over all gates, which costs about half of
    NumPy's float32 ``tanh``. Overflow of ``exp`` (→ inf → σ = 0) is exact and silenced.

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
from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module


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
    gate at every step, one GEMM."""
    T, B, _ = x.shape
    X = x.reshape(T * B, -1)
    Gx = xp.matmul(X, W_ih.T * scale, out=_buffer(xp, (T * B, W_ih.shape[0]), x.dtype))
    if bias is not None:
        xp.add(Gx, bias * scale, out=Gx)
    return X, Gx


def _gate_major(a: Any, G: int) -> Any:
    """A (…, B, G·H) array viewed as (…, G, B, H): gate k of every row is ``view[..., k, :, :]``
    (a strided view, nothing copied)."""
    *lead, B, GH = a.shape
    n = len(lead)
    order = (*range(n), n + 1, n, n + 2)
    return a.reshape(*lead, B, G, GH // G).transpose(order)


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
        X, A = _input_gates(xp, x, W_ih, None if b_ih is None else b_ih + b_hh, 1.0)
        A = A.reshape(T, B, H)
        Y = _stack(xp, (T + 1, B, H), x.dtype, batch_sizes)
        _start_rows(Y, T, batch_sizes, (h0,))
        WhT = W_hh.T
        Z = _buffer(xp, (B, H), x.dtype)
        tanh = nonlinearity == "tanh"
        h = h0
        for t, n, n_next in _steps(T, batch_sizes, B):
            y = Y[t, :n]
            xp.matmul(h[:n], WhT, out=Z[:n])
            xp.add(A[t, :n], Z[:n], out=y)
            if tanh:
                xp.tanh(y, out=y)
            else:
                xp.maximum(y, 0, out=y)
            if n_next < n:  # rows n_next..n−1 end here: their final state
                Y[T, n_next:n] = y[n_next:]
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
        dA = _stack(xp, (T, B, H), dY.dtype, self.batch_sizes)
        carry = xp.copy(dY[T])  # dh flowing into h_t from later steps; starts as dh_n
        dh = _buffer(xp, (B, H), dY.dtype)
        tanh = self.nonlinearity == "tanh"
        for t, n, _ in reversed(_steps(T, self.batch_sizes, B)):
            y, da, dht = Y[t, :n], dA[t, :n], dh[:n]
            xp.add(dY[t, :n], carry[:n], out=dht)
            if tanh:  # φ'(a) = 1 − h²
                xp.multiply(y, y, out=da)
                xp.subtract(1.0, da, out=da)
                xp.multiply(da, dht, out=da)
            else:  # φ'(a) = [h > 0]
                xp.multiply(dht, y > 0, out=da)
            xp.matmul(da, W_hh, out=carry[:n])
        dX, dW_ih, dW_hh, db = _weight_grads(xp, dA, X, h0, W_ih, Y, _needs(self, 2))
        return dX, carry if self.parents[1] is not None else None, dW_ih, dW_hh, db, db


# ----------------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------------


def _lstm_signs(H: int, dtype: Any, xp: Any) -> Any:
    """Folded into the gate columns: −1 for i, f, o (σ(a) = 1/(1 + e^(−a))) and −2 for g
    (tanh(a) = 2σ(2a) − 1)."""
    k = xp.full(4 * H, -1.0, dtype=dtype)
    k[2 * H : 3 * H] = -2.0
    return k


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

    Layout: the GEMMs work on (B, 4H) rows (one GEMM per step each way), the gate arithmetic on
    gate-major (4, B, H) blocks, so every (B, H) gate is contiguous; the activated gates are kept
    for backward as (T, 4, B, H) (one block per step), with c_t and tanh c_t (T, B, H).
    Output (T + 2, B, H): the outputs, h_n, c_n.
    """

    def forward(self, x: Any, h0: Any, c0: Any, W_ih: Any, W_hh: Any, b_ih: Any = None,
                b_hh: Any = None, batch_sizes: Sequence[int] | None = None) -> Any:
        xp = get_array_module(x)
        H = _check_shapes("LSTM", x, h0, W_ih, W_hh, 4)
        if c0.shape != h0.shape:
            raise ValueError(f"LSTM: expected c0 of shape {h0.shape}, got {c0.shape}")
        T, B, _ = x.shape
        dt = x.dtype
        k = _lstm_signs(H, dt, xp)
        X, Gx = _input_gates(xp, x, W_ih, None if b_ih is None else b_ih + b_hh, k)
        Gx = Gx.reshape(T, B, 4 * H)  # −a, −2a_g from the input
        WhT = W_hh.T * k
        Y = _stack(xp, (T + 2, B, H), dt, batch_sizes)
        _start_rows(Y, T, batch_sizes, (h0, c0))
        S = _buffer(xp, (T, 4, B, H), dt)  # activated gates i, f, g, o
        C = _buffer(xp, (T, B, H), dt)
        TC = _buffer(xp, (T, B, H), dt)
        Z = _buffer(xp, (B, 4 * H), dt)
        ig = _buffer(xp, (B, H), dt)
        h, c = h0, c0
        with _errstate():
            for t, n, n_next in _steps(T, batch_sizes, B):
                s, a = S[t, :, :n], Gx[t, :n]
                xp.matmul(h[:n], WhT, out=Z[:n])
                xp.add(a, Z[:n], out=a)
                xp.exp(a, out=a)  # e^(−a)
                xp.add(a, 1.0, out=a)
                xp.divide(1.0, _gate_major(a, 4), out=s)  # σ(a) for i, f, o; σ(2a_g) for g
                i, f, g, o = s
                xp.multiply(g, 2.0, out=g)
                xp.subtract(g, 1.0, out=g)  # tanh(a_g) = 2σ(2a_g) − 1
                ct, tc, igt = C[t, :n], TC[t, :n], ig[:n]
                xp.multiply(f, c[:n], out=ct)
                xp.multiply(i, g, out=igt)
                xp.add(ct, igt, out=ct)
                xp.tanh(ct, out=tc)
                xp.multiply(o, tc, out=Y[t, :n])
                if n_next < n:  # rows n_next..n−1 end here: their final states
                    Y[T, n_next:n] = Y[t, n_next:n]
                    Y[T + 1, n_next:n] = ct[n_next:]
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
        dA = _stack(xp, (T, B, 4 * H), dt, self.batch_sizes)
        dAg = _gate_major(dA, 4)  # (T, 4, B, H) view
        carry = xp.copy(dY[T])  # dh into h_t from later steps; starts as dh_n
        dc = xp.copy(dY[T + 1])  # dc into c_t from later steps; starts as dc_n
        dh = _buffer(xp, (B, H), dt)
        tmp = _buffer(xp, (B, H), dt)
        M = _buffer(xp, (4, B, H), dt)  # ∂L/∂(activated gate)
        D = _buffer(xp, (4, B, H), dt)  # the activations' derivatives
        for t, n, _ in reversed(_steps(T, self.batch_sizes, B)):
            s, tc, m, d = S[t, :, :n], TC[t, :n], M[:, :n], D[:, :n]
            i, f, g, o = s
            c_prev = c0[:n] if t == 0 else C[t - 1, :n]
            dht, dct, tm = dh[:n], dc[:n], tmp[:n]
            xp.add(dY[t, :n], carry[:n], out=dht)
            # dc += dh ⊙ (o − h ⊙ tanh c)
            xp.multiply(Y[t, :n], tc, out=tm)
            xp.subtract(o, tm, out=tm)
            xp.multiply(tm, dht, out=tm)
            xp.add(dct, tm, out=dct)
            # ∂L/∂i, ∂L/∂f, ∂L/∂g, ∂L/∂o ...
            xp.multiply(dct, g, out=m[0])
            xp.multiply(dct, c_prev, out=m[1])
            xp.multiply(dct, i, out=m[2])
            xp.multiply(dht, tc, out=m[3])
            # ... times s(1 − s) for i, f, o and 1 − g² for g
            xp.multiply(s, s, out=d)
            xp.subtract(s[:2], d[:2], out=d[:2])
            xp.subtract(o, d[3], out=d[3])
            xp.subtract(1.0, d[2], out=d[2])
            xp.multiply(m, d, out=dAg[t, :, :n])
            xp.multiply(dct, f, out=dct)
            xp.matmul(dA[t, :n], W_hh, out=carry[:n])
        dX, dW_ih, dW_hh, db = _weight_grads(xp, dA, X, h0, W_ih, Y, _needs(self, 3))
        need = self.needs_input_grad
        return (dX, carry if need[1] else None, dc if need[2] else None, dW_ih, dW_hh, db, db)


# ----------------------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------------------


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
    The activated gates are kept gate-major, (T, 3, B, H). Output (T + 1, B, H): the outputs,
    then h_n.
    """

    def forward(self, x: Any, h0: Any, W_ih: Any, W_hh: Any, b_ih: Any = None, b_hh: Any = None,
                batch_sizes: Sequence[int] | None = None) -> Any:
        xp = get_array_module(x)
        H = _check_shapes("GRU", x, h0, W_ih, W_hh, 3)
        T, B, _ = x.shape
        dt = x.dtype
        k = xp.full(3 * H, -1.0, dtype=dt)  # −1 on r and z: the GEMMs give −a for σ
        k[2 * H :] = 1.0
        bias = None
        if b_ih is not None:  # the recurrent biases of r and z join the input ones
            bias = xp.concatenate([b_ih[: 2 * H] + b_hh[: 2 * H], b_ih[2 * H :]])
        X, Gx = _input_gates(xp, x, W_ih, bias, k)
        Gx = _gate_major(Gx.reshape(T, B, 3 * H), 3)  # (T, 3, B, H) view
        WhT = W_hh.T * k
        Y = _stack(xp, (T + 1, B, H), dt, batch_sizes)
        _start_rows(Y, T, batch_sizes, (h0,))
        S = _buffer(xp, (T, 3, B, H), dt)  # r, z, n
        Q = _buffer(xp, (T, B, H), dt)  # h_{t−1} Wₕₙᵀ + bₕₙ
        Z = _buffer(xp, (B, 3 * H), dt)
        Zg = _gate_major(Z, 3)
        tmp = _buffer(xp, (B, H), dt)
        h = h0
        with _errstate():
            for t, n, n_next in _steps(T, batch_sizes, B):
                s, q, tm, y, hp = S[t, :, :n], Q[t, :n], tmp[:n], Y[t, :n], h[:n]
                rz = s[:2]
                r, z, nn = s
                xp.matmul(hp, WhT, out=Z[:n])
                xp.add(Gx[t, :2, :n], Zg[:2, :n], out=rz)
                xp.exp(rz, out=rz)
                xp.add(rz, 1.0, out=rz)
                xp.divide(1.0, rz, out=rz)  # r, z
                if b_hh is not None:
                    xp.add(Zg[2, :n], b_hh[2 * H :], out=q)
                else:
                    xp.copyto(q, Zg[2, :n])
                xp.multiply(r, q, out=tm)
                xp.add(Gx[t, 2, :n], tm, out=nn)
                xp.tanh(nn, out=nn)  # n
                xp.subtract(hp, nn, out=tm)
                xp.multiply(tm, z, out=tm)
                xp.add(nn, tm, out=y)  # h = n + z (h_prev − n)
                if n_next < n:
                    Y[T, n_next:n] = y[n_next:]
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
        dGh = _stack(xp, (T, B, 3 * H), dt, self.batch_sizes)
        dGg = _gate_major(dGh, 3)
        dN = _stack(xp, (T, B, H), dt, self.batch_sizes)  # dn̂: the input part of the n gate
        carry = xp.copy(dY[T])
        dh = _buffer(xp, (B, H), dt)
        t1 = _buffer(xp, (B, H), dt)
        t2 = _buffer(xp, (B, H), dt)
        for t, n, _ in reversed(_steps(T, self.batch_sizes, B)):
            s, q, dg, dn = S[t, :, :n], Q[t, :n], dGg[t, :, :n], dN[t, :n]
            r, z, nn = s
            h_prev = h0[:n] if t == 0 else Y[t - 1, :n]
            dht, u, v = dh[:n], t1[:n], t2[:n]
            xp.add(dY[t, :n], carry[:n], out=dht)
            # dn̂ = dh (1 − z)(1 − n²)
            xp.multiply(nn, nn, out=u)
            xp.subtract(1.0, u, out=u)
            xp.subtract(1.0, z, out=v)
            xp.multiply(u, v, out=u)
            xp.multiply(u, dht, out=dn)
            xp.multiply(dn, r, out=dg[2])
            # dâ_r = dn̂ q r (1 − r)
            xp.subtract(1.0, r, out=u)
            xp.multiply(u, r, out=u)
            xp.multiply(u, q, out=u)
            xp.multiply(u, dn, out=dg[0])
            # dâ_z = dh (h_prev − n) z (1 − z)
            xp.subtract(h_prev, nn, out=u)
            xp.multiply(v, z, out=v)
            xp.multiply(u, v, out=u)
            xp.multiply(u, dht, out=dg[1])
            # dh_{t−1} = dGₕ Wₕₕ + dh z
            xp.matmul(dGh[t, :n], W_hh, out=carry[:n])
            xp.multiply(dht, z, out=u)
            xp.add(carry[:n], u, out=carry[:n])
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
        dh0 = carry if self.parents[1] is not None else None
        return dX, dh0, dW_ih, dW_hh, db_ih, db_hh


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
