"""Recurrent layers as functions: ``rnn``, ``lstm``, ``gru`` over whole (multi-layer,
bidirectional, variable-length) sequences, the single-step cells ``rnn_cell``, ``lstm_cell``,
``gru_cell``, and helpers for padded batches and truncated backpropagation through time.

Each layer and direction of a sequence is one hand-written op (``ops/rnn.py``: the forward loop
and its BPTT side by side); this module only arranges them: batch-first transposes, sorting a
variable-length batch, reversing sequences for the backward direction, stacking layers with
dropout between them, and collecting the final states. Shapes follow PyTorch's ``nn.RNN``,
``nn.LSTM`` and ``nn.GRU`` (with L layers, D = 2 if bidirectional else 1):

* input (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched;
* output (T, B, D·H) (batch-first: (B, T, D·H)): the last layer's h_t, both directions
  concatenated (forward first);
* h_n (and c_n for the LSTM) (L·D, B, H), ordered layer by layer, forward before reverse.

``weights`` holds one ``(W_ih, W_hh, b_ih, b_hh)`` per layer and direction in that same order
(the biases may be None); PyTorch's parameter names ``weight_ih_l0``, ``weight_ih_l0_reverse``,
… map onto it one to one.

Variable lengths. ``lengths`` (B integers, each in [0, T]) marks padded sequences: outputs past a
sequence's length are zero and its final state is the state at its own last step, exactly what
PyTorch's ``pack_padded_sequence(…, enforce_sorted=False)`` followed by
``pad_packed_sequence(…, total_length=T)`` gives. The reverse direction starts at each
sequence's own last step. A length of 0 leaves that sequence's state at h0 (PyTorch refuses it;
it is handy for the last chunks of truncated BPTT). ``lengths_from_mask`` turns a padding mask
into lengths.

Truncated BPTT. For a sequence too long to backpropagate through at once, run it in chunks of k
steps, carry the final state from one chunk into the next, and cut the graph between them::

    state = None
    for x_chunk, y_chunk in zip(tbptt_chunks(x, k), tbptt_chunks(y, k)):
        out, state = lstm_layer(x_chunk, state)
        loss = loss_fn(head(out), y_chunk)
        opt.zero_grad(); loss.backward(); opt.step()
        state = detach_state(state)   # forward values flow on, gradients stop here

The forward pass is the same as over the whole sequence; gradients reach back at most k steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ... import functional as RF
from ...backend import xp_for
from ...ops.rnn import GRUSequence, LSTMSequence, PermuteBatch, ReversePadded, RNNSequence
from ...tensor import Tensor
from .layers import dropout as _dropout

__all__ = [
    "rnn",
    "lstm",
    "gru",
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "lengths_from_mask",
    "detach_state",
    "tbptt_chunks",
]

Weights = Sequence[Sequence[Any]]


# ----------------------------------------------------------------------------------------------
# whole sequences
# ----------------------------------------------------------------------------------------------


def rnn(
    input: Tensor,
    weights: Weights,
    hx: Tensor | None = None,
    *,
    nonlinearity: str = "tanh",
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    lengths: Any = None,
) -> tuple[Tensor, Tensor]:
    """Elman RNN, h_t = φ(x_t Wᵢₕᵀ + bᵢₕ + h_{t−1} Wₕₕᵀ + bₕₕ) with φ = tanh or ReLU, over
    ``num_layers`` stacked layers. Returns (output, h_n); shapes in the module docstring."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
    out, (h_n, _) = _recurrent(mode, input, weights, hx, None, num_layers, bidirectional,
                               batch_first, dropout, training, lengths)
    return out, h_n


def lstm(
    input: Tensor,
    weights: Weights,
    hx: tuple[Tensor, Tensor] | None = None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    lengths: Any = None,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM (gates i, f, g, o; equations in ``ops.rnn.LSTMSequence``) over ``num_layers``
    stacked layers. ``hx`` = (h0, c0) or None (zeros). Returns (output, (h_n, c_n))."""
    h0, c0 = (None, None) if hx is None else hx
    if (h0 is None) != (c0 is None):
        raise ValueError("lstm: give both h0 and c0 in hx, or neither")
    out, (h_n, c_n) = _recurrent("LSTM", input, weights, h0, c0, num_layers, bidirectional,
                                 batch_first, dropout, training, lengths)
    return out, (h_n, c_n)


def gru(
    input: Tensor,
    weights: Weights,
    hx: Tensor | None = None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    lengths: Any = None,
) -> tuple[Tensor, Tensor]:
    """GRU (gates r, z, n; PyTorch's n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ)); equations in
    ``ops.rnn.GRUSequence``) over ``num_layers`` stacked layers. Returns (output, h_n)."""
    out, (h_n, _) = _recurrent("GRU", input, weights, hx, None, num_layers, bidirectional,
                               batch_first, dropout, training, lengths)
    return out, h_n


def _recurrent(
    mode: str,
    input: Tensor,
    weights: Weights,
    h0: Tensor | None,
    c0: Tensor | None,
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
    dropout: float,
    training: bool,
    lengths: Any,
) -> tuple[Tensor, tuple[Tensor, Tensor | None]]:
    name = {"RNN_TANH": "rnn", "RNN_RELU": "rnn"}.get(mode, mode.lower())
    D = 2 if bidirectional else 1
    if len(weights) != num_layers * D:
        raise ValueError(
            f"{name}: expected {num_layers * D} weight groups (num_layers={num_layers}, "
            f"bidirectional={bidirectional}), got {len(weights)}"
        )
    if input.ndim not in (2, 3):
        raise ValueError(f"{name}: expected a 2-D (unbatched) or 3-D input, got {input.shape}")
    W_ih0, W_hh0 = weights[0][0], weights[0][1]
    H = W_hh0.shape[1]
    if input.shape[-1] != W_ih0.shape[1]:
        raise ValueError(
            f"{name}: expected input with last dimension {W_ih0.shape[1]} (input_size), got "
            f"shape {input.shape}"
        )
    if input.dtype != W_ih0.dtype:
        raise TypeError(
            f"{name}: input has dtype {input.dtype} but the weights have {W_ih0.dtype}; cast one "
            "of them (e.g. layer.double() or x.float())"
        )
    unbatched = input.ndim == 2
    if input.shape[1 if batch_first and not unbatched else 0] == 0:
        raise ValueError(f"{name}: the input has no time steps (shape {input.shape})")
    x = RF.unsqueeze(input, 1) if unbatched else input
    if batch_first and not unbatched:
        x = RF.transpose(x, 0, 1)  # (T, B, I) from here on
    T, B = x.shape[0], x.shape[1]
    states = []
    for which, s in (("h0", h0), ("c0", c0)):
        if s is None:
            states.append(None)
            continue
        expected = (num_layers * D, H) if unbatched else (num_layers * D, B, H)
        if tuple(s.shape) != expected:
            raise ValueError(f"{name}: expected {which} of shape {expected}, got {s.shape}")
        states.append(RF.unsqueeze(s, 1) if unbatched else s)
    h0, c0 = states
    if mode == "LSTM" and (h0 is None) != (c0 is None):
        raise ValueError("lstm: give both h0 and c0, or neither")

    lens, batch_sizes, order = _lengths_plan(name, lengths, T, B)
    if order is not None:  # sort the batch by length, longest first (undone at the end)
        x = PermuteBatch.apply(x, perm=order, axis=1)
        h0 = None if h0 is None else PermuteBatch.apply(h0, perm=order, axis=1)
        c0 = None if c0 is None else PermuteBatch.apply(c0, perm=order, axis=1)
    zeros = xp_for(x.device).zeros((B, H), dtype=x.dtype) if h0 is None else None

    h_last: list[Tensor] = []
    c_last: list[Tensor] = []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            hk = zeros if h0 is None else h0[k]
            ck = None if mode != "LSTM" else (zeros if c0 is None else c0[k])
            xd = x if d == 0 else _reverse(x, lens)
            out, hn, cn = _one_direction(mode, xd, hk, ck, weights[k], batch_sizes, T)
            outs.append(out if d == 0 else _reverse(out, lens))
            h_last.append(hn)
            if cn is not None:
                c_last.append(cn)
        x = outs[0] if D == 1 else RF.cat(outs, dim=-1)
        if dropout > 0.0 and training and layer < num_layers - 1:
            x = _dropout(x, dropout, True)

    h_n = RF.stack(h_last, 0)
    c_n = RF.stack(c_last, 0) if c_last else None
    if order is not None:
        inverse = np.argsort(order)
        x = PermuteBatch.apply(x, perm=inverse, axis=1)
        h_n = PermuteBatch.apply(h_n, perm=inverse, axis=1)
        c_n = None if c_n is None else PermuteBatch.apply(c_n, perm=inverse, axis=1)
    if unbatched:
        x, h_n = x[:, 0], h_n[:, 0]
        c_n = None if c_n is None else c_n[:, 0]
    elif batch_first:
        x = RF.transpose(x, 0, 1)
    return x, (h_n, c_n)


def _one_direction(mode: str, x: Tensor, h0: Any, c0: Any, w: Sequence[Any],
                   batch_sizes: tuple[int, ...] | None, T: int
                   ) -> tuple[Tensor, Tensor, Tensor | None]:
    """One layer, one direction: the sequence op, then its output sliced into (out, h_n, c_n)."""
    if len(w) != 4:
        raise ValueError(f"expected (W_ih, W_hh, b_ih, b_hh) per layer and direction, got {len(w)}")
    W_ih, W_hh, b_ih, b_hh = w
    if mode == "LSTM":
        Y = LSTMSequence.apply(x, h0, c0, W_ih, W_hh, b_ih, b_hh, batch_sizes=batch_sizes)
        return Y[:T], Y[T], Y[T + 1]
    if mode == "GRU":
        Y = GRUSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, batch_sizes=batch_sizes)
    else:
        nl = "tanh" if mode == "RNN_TANH" else "relu"
        Y = RNNSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity=nl,
                              batch_sizes=batch_sizes)
    return Y[:T], Y[T], None


def _reverse(x: Tensor, lengths: Any) -> Tensor:
    """Time-reverse a (T, B, …) batch: the whole axis, or each sequence within its length."""
    if lengths is None:
        return RF.flip(x, 0)
    return ReversePadded.apply(x, lengths=lengths)


def _lengths_plan(name: str, lengths: Any, T: int, B: int
                  ) -> tuple[Any, tuple[int, ...] | None, Any]:
    """(sorted lengths, batch sizes per step, sorting order or None) — all None when every
    sequence is T long."""
    if lengths is None:
        return None, None, None
    lens = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if hasattr(lens, "get"):  # a CuPy array
        lens = lens.get()
    if lens.shape != (B,) or (lens.size and lens.dtype.kind not in "iu"):
        raise ValueError(
            f"{name}: lengths must be {B} integers (one per sequence), got {np.asarray(lens)!r}"
        )
    lens = lens.astype(np.int64)
    if lens.size and (lens.min() < 0 or lens.max() > T):
        raise ValueError(f"{name}: lengths must lie in [0, {T}] (the padded length), got {lens}")
    if np.all(lens == T):
        return None, None, None
    order = np.argsort(-lens, kind="stable")
    sorted_lens = lens[order]
    batch_sizes = tuple(int(n) for n in (sorted_lens[None, :] > np.arange(T)[:, None]).sum(1))
    if np.array_equal(order, np.arange(B)):
        order = None
    return sorted_lens, batch_sizes, order


# ----------------------------------------------------------------------------------------------
# cells: one step, for hand-written loops
# ----------------------------------------------------------------------------------------------


def _cell_inputs(name: str, x: Tensor, W_ih: Tensor) -> tuple[Tensor, bool, int]:
    """x as a one-step sequence (1, B, I); whether it was unbatched; B."""
    if x.ndim not in (1, 2) or x.shape[-1] != W_ih.shape[1]:
        raise ValueError(
            f"{name}: expected input of shape (B, {W_ih.shape[1]}) or ({W_ih.shape[1]},), got "
            f"{x.shape}"
        )
    if x.dtype != W_ih.dtype:
        raise TypeError(f"{name}: input has dtype {x.dtype} but the weights have {W_ih.dtype}")
    unbatched = x.ndim == 1
    B = 1 if unbatched else x.shape[0]
    return RF.reshape(x, (1, B, x.shape[-1])), unbatched, B


def _cell_state(name: str, h: Any, B: int, H: int, unbatched: bool, like: Tensor) -> Any:
    if h is None:
        return xp_for(like.device).zeros((B, H), dtype=like.dtype)
    expected = (H,) if unbatched else (B, H)
    if tuple(h.shape) != expected:
        raise ValueError(f"{name}: expected a state of shape {expected}, got {h.shape}")
    return RF.reshape(h, (1, H)) if unbatched else h


def rnn_cell(input: Tensor, hx: Tensor | None, W_ih: Tensor, W_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None,
             nonlinearity: str = "tanh") -> Tensor:
    """One Elman step h' = φ(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ): x (B, I) or (I,), h (B, H) → h'."""
    x, unbatched, B = _cell_inputs("rnn_cell", input, W_ih)
    H = W_hh.shape[1]
    h = _cell_state("rnn_cell", hx, B, H, unbatched, input)
    Y = RNNSequence.apply(x, h, W_ih, W_hh, b_ih, b_hh, nonlinearity=nonlinearity)
    return Y[1, 0] if unbatched else Y[1]


def lstm_cell(input: Tensor, hx: tuple[Tensor, Tensor] | None, W_ih: Tensor, W_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step (c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh c'): x (B, I), hx = (h, c) → (h', c')."""
    x, unbatched, B = _cell_inputs("lstm_cell", input, W_ih)
    H = W_hh.shape[1]
    h, c = (None, None) if hx is None else hx
    h = _cell_state("lstm_cell", h, B, H, unbatched, input)
    c = _cell_state("lstm_cell", c, B, H, unbatched, input)
    Y = LSTMSequence.apply(x, h, c, W_ih, W_hh, b_ih, b_hh)
    if unbatched:
        return Y[1, 0], Y[2, 0]
    return Y[1], Y[2]


def gru_cell(input: Tensor, hx: Tensor | None, W_ih: Tensor, W_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step h' = (1 − z) ⊙ n + z ⊙ h: x (B, I) or (I,), h (B, H) → h'."""
    x, unbatched, B = _cell_inputs("gru_cell", input, W_ih)
    H = W_hh.shape[1]
    h = _cell_state("gru_cell", hx, B, H, unbatched, input)
    Y = GRUSequence.apply(x, h, W_ih, W_hh, b_ih, b_hh)
    return Y[1, 0] if unbatched else Y[1]


# ----------------------------------------------------------------------------------------------
# padded batches and truncated BPTT
# ----------------------------------------------------------------------------------------------


def lengths_from_mask(mask: Any, batch_first: bool = False) -> np.ndarray:
    """Sequence lengths from a padding mask: True (or 1) on the valid steps, which must come
    first in every sequence. ``mask`` is (T, B), or (B, T) with ``batch_first``."""
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if hasattr(m, "get"):
        m = m.get()
    if m.ndim != 2:
        raise ValueError(f"lengths_from_mask: expected a 2-D mask, got shape {m.shape}")
    m = m.astype(bool)
    if not batch_first:
        m = m.T  # (B, T)
    lengths = m.sum(axis=1)
    if not np.array_equal(m, np.arange(m.shape[1])[None, :] < lengths[:, None]):
        raise ValueError(
            "lengths_from_mask: the mask must be True on a prefix of every sequence (padding "
            "only at the end)"
        )
    return lengths.astype(np.int64)


def detach_state(state: Any) -> Any:
    """The state with its graph cut: a Tensor detached, a tuple/list of them each detached
    (None stays None). Between truncated-BPTT chunks, the values carry on, gradients stop."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state.detach()


def tbptt_chunks(x: Any, chunk_size: int, batch_first: bool = False) -> Iterator[Any]:
    """Consecutive slices of ``chunk_size`` steps along the time axis (dim 0, or dim 1 with
    ``batch_first``; the last chunk may be shorter), for truncated BPTT (module docstring)."""
    if chunk_size < 1:
        raise ValueError(f"tbptt_chunks: chunk_size must be at least 1, got {chunk_size}")
    axis = 1 if batch_first else 0
    T = x.shape[axis]
    for start in range(0, T, chunk_size):
        window = slice(start, min(start + chunk_size, T))
        yield x[window] if axis == 0 else x[:, window]
