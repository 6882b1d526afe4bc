"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over whole sequences and the one-step cells
``RNNCell``, ``LSTMCell``, ``GRUCell``. Parameter names, shapes, order, init and outputs are
PyTorch's, so a ``torch.nn.LSTM`` state_dict loads as it is and gives the same outputs.

The math lives in ``rosenblatt.ops.rnn`` (one hand-written op per layer and direction, BPTT
included) and the arrangement of layers and directions in ``nn.functional.recurrent``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...tensor import Tensor
from .. import init
from ..functional import recurrent as FR
from ..module import Module
from ..parameter import Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _positive_int(layer: str, what: str, value: Any) -> int:
    """``value`` as an int, refusing bools, fractions and numbers below 1."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or value < 1:
        raise ValueError(f"{layer}: {what} must be a positive integer, got {value!r}")
    return int(value)


class _RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters, init, config and the call into the functional.

    Parameters, for layer k and direction suffix s ∈ {"", "_reverse"}, with G gates
    (1, 4 or 3), D = 2 if bidirectional else 1:
    ``weight_ih_l{k}{s}`` (G·H, I) for k = 0 and (G·H, D·H) above, ``weight_hh_l{k}{s}``
    (G·H, H), ``bias_ih_l{k}{s}`` and ``bias_hh_l{k}{s}`` (G·H,) when ``bias``; registered in
    that order, layer by layer, forward before reverse, as PyTorch.

    Init (PyTorch's): every weight and bias ~ U(−1/√H, 1/√H).
    """

    mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(dropout, bool) or not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.input_size = _positive_int(name, "input_size", input_size)
        self.hidden_size = _positive_int(name, "hidden_size", hidden_size)
        self.num_layers = _positive_int(name, "num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        G, H = _GATES[self.mode], self.hidden_size
        D = 2 if self.bidirectional else 1
        self._weight_names: list[tuple[str, str, str | None, str | None]] = []
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else D * H
            for suffix in ("", "_reverse")[:D]:
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(G * H, in_size), (G * H, H)]
                if self.bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(G * H,), (G * H,)]
                for n, shape in zip(names, shapes, strict=True):
                    self.register_parameter(n, Parameter(np.empty(shape, np.float32)))
                self._weight_names.append(
                    (names[0], names[1], *(names[2:] if self.bias else (None, None)))
                )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√H, 1/√H) (PyTorch's init)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters(recurse=False):
            init.uniform_(p, -bound, bound)

    def _weights(self) -> list[tuple[Any, ...]]:
        return [tuple(None if n is None else getattr(self, n) for n in names)
                for names in self._weight_names]

    def _run(self, input: Tensor, hx: Any, lengths: Any, mask: Any) -> tuple[Tensor, Any]:
        if mask is not None:
            if lengths is not None:
                raise ValueError(f"{type(self).__name__}: give lengths or mask, not both")
            lengths = FR.lengths_from_mask(mask, batch_first=self.batch_first)
        common = dict(num_layers=self.num_layers, bidirectional=self.bidirectional,
                      batch_first=self.batch_first, dropout=self.dropout,
                      training=self.training, lengths=lengths)
        try:
            if self.mode == "LSTM":
                return FR.lstm(input, self._weights(), hx, **common)
            if self.mode == "GRU":
                return FR.gru(input, self._weights(), hx, **common)
            nl = "tanh" if self.mode == "RNN_TANH" else "relu"
            return FR.rnn(input, self._weights(), hx, nonlinearity=nl, **common)
        except (ValueError, TypeError) as err:
            raise type(err)(f"{self!r}: {err}") from None

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "bias": self.bias,
                "batch_first": self.batch_first, "dropout": self.dropout,
                "bidirectional": self.bidirectional}


class RNN(_RNNBase):
    """Elman RNN, for each layer:  h_t = φ(x_t Wᵢₕᵀ + bᵢₕ + h_{t−1} Wₕₕᵀ + bₕₕ),
    φ = tanh (default) or ReLU (``nonlinearity="relu"``); the notes' h(t) = f(w_h h(t−1) +
    w_x x(t)). Layer k > 0 reads layer k − 1's output (both directions concatenated), with
    ``dropout`` applied to it in training.

    ``forward(input, hx=None, lengths=None, mask=None) -> (output, h_n)``:
    input (T, B, I) or (B, T, I) with ``batch_first`` or (T, I) unbatched; hx (L·D, B, H),
    zeros when omitted; output (T, B, D·H) (batch-first: (B, T, D·H)); h_n (L·D, B, H).
    ``lengths`` (B integers) or a padding ``mask`` (True on the valid steps, shaped like the
    input's first two dims) treat the batch as padded sequences: outputs past a sequence's end
    are zero and h_n holds the state at its last step (PyTorch's packed sequences).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)  # one gate either way
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None, lengths: Any = None,
                mask: Any = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx, lengths, mask)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class LSTM(_RNNBase):
    """Long short-term memory, for each layer (gates stacked i, f, g, o as PyTorch):

        i = σ(Wᵢᵢx + bᵢᵢ + Wₕᵢh + bₕᵢ)   input gate: what to write into the cell
        f = σ(Wᵢ_f x + bᵢ_f + Wₕ_f h + bₕ_f)   forget gate: what to keep of the cell
        g = tanh(Wᵢ_g x + bᵢ_g + Wₕ_g h + bₕ_g)   candidate values
        o = σ(Wᵢₒx + bᵢₒ + Wₕₒh + bₕₒ)   output gate: what to expose
        c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    The additive cell path (∂c_t/∂c_{t−1} = f) is what lets gradients cross many steps.

    ``forward(input, hx=None, lengths=None, mask=None) -> (output, (h_n, c_n))`` with
    hx = (h0, c0), each (L·D, B, H); the rest as ``RNN``.
    """

    mode = "LSTM"

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None,
                lengths: Any = None, mask: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return self._run(input, hx, lengths, mask)


class GRU(_RNNBase):
    """Gated recurrent unit, for each layer (gates stacked r, z, n as PyTorch):

        r = σ(Wᵢᵣx + bᵢᵣ + Wₕᵣh + bₕᵣ)   reset gate
        z = σ(Wᵢ_z x + bᵢ_z + Wₕ_z h + bₕ_z)   update gate
        n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ))   candidate (r applied after the product)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    ``forward(input, hx=None, lengths=None, mask=None) -> (output, h_n)``, as ``RNN``.
    """

    mode = "GRU"

    def forward(self, input: Tensor, hx: Tensor | None = None, lengths: Any = None,
                mask: Any = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx, lengths, mask)


# ----------------------------------------------------------------------------------------------
# cells
# ----------------------------------------------------------------------------------------------


class _CellBase(Module):
    """One step of a recurrent layer for hand-written loops. Parameters ``weight_ih``
    (G·H, I), ``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh`` (G·H,) (PyTorch's names), all
    ~ U(−1/√H, 1/√H)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.input_size = _positive_int(type(self).__name__, "input_size", input_size)
        self.hidden_size = _positive_int(type(self).__name__, "hidden_size", hidden_size)
        GH = self.gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((GH, self.input_size), np.float32))
        self.weight_hh = Parameter(np.empty((GH, self.hidden_size), np.float32))
        if bias:
            self.bias_ih = Parameter(np.empty(GH, np.float32))
            self.bias_hh = Parameter(np.empty(GH, np.float32))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√H, 1/√H) (PyTorch's init)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters(recurse=False):
            init.uniform_(p, -bound, bound)

    def _params(self) -> tuple[Any, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, *self._params(), **kwargs)
        except (ValueError, TypeError) as err:
            raise type(err)(f"{self!r}: {err}") from None

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s + ("" if self.bias_ih is not None else ", bias=False")

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "bias": self.bias_ih is not None}


class RNNCell(_CellBase):
    """h' = φ(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ), φ = tanh or ReLU.
    ``forward(input (B, I) or (I,), hx (B, H) or None) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh") -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._call(FR.rnn_cell, input, hx, nonlinearity=self.nonlinearity)

    def extra_repr(self) -> str:
        nl = "" if self.nonlinearity == "tanh" else ", nonlinearity='relu'"
        return super().extra_repr() + nl

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class LSTMCell(_CellBase):
    """One LSTM step (equations in ``LSTM``): ``forward(input, hx=(h, c) or None) -> (h', c')``."""

    gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        return self._call(FR.lstm_cell, input, hx)


class GRUCell(_CellBase):
    """One GRU step (equations in ``GRU``): ``forward(input, hx or None) -> h'``."""

    gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._call(FR.gru_cell, input, hx)
