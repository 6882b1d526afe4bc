"""Initialisers: fill a Tensor or Parameter in place, outside the graph (PyTorch's ``nn.init``).

Every function takes the tensor first, writes into ``tensor.data`` and returns the tensor.
All randomness comes from ``rosenblatt.random.generator()`` (so ``rb.manual_seed`` fixes it);
numbers are drawn in float64 and cast to the tensor's dtype.

Fans follow PyTorch's weight layouts: a Linear weight is (out, in), a conv weight
(out, in, k₁, k₂, …), so fan_in = in·Πk and fan_out = out·Πk.

============================  ==========================================================
PyTorch name                  distribution
============================  ==========================================================
``uniform_(a, b)``            U(a, b)
``normal_(mean, std)``        N(mean, std²)
``trunc_normal_``             N(mean, std²) redrawn outside [a, b]
``xavier_uniform_(gain)``     U(−A, A), A = gain·√(6/(fan_in + fan_out))
``xavier_normal_(gain)``      N(0, σ²), σ = gain·√(2/(fan_in + fan_out))
``kaiming_uniform_``          U(−A, A), A = gain·√(3/fan), gain = calculate_gain(nl, a)
``kaiming_normal_``           N(0, σ²), σ = gain/√fan
``lecun_uniform_``            U(−A, A), A = √(3/fan_in)
``lecun_normal_``             N(0, σ²), σ = 1/√fan_in
``orthogonal_(gain)``         gain·Q, Q from the QR of a Gaussian matrix (Saxe et al.)
============================  ==========================================================

``get_initializer(name)`` also knows Keras' names. Those follow Keras' definitions:
"glorot_uniform" = xavier_uniform_, "he_uniform" = kaiming_uniform_ (ReLU gain),
"lecun_uniform" = lecun_uniform_, but the *normal* ones ("glorot_normal", "he_normal",
"lecun_normal") are Keras' ``VarianceScaling`` truncated normals: the same variance as the
PyTorch initialiser, drawn from N(0, σ'²) cut at ±2σ' with σ' = σ/0.8796… . "random_normal"
is N(0, 0.05²) and "random_uniform" U(−0.05, 0.05), Keras' defaults.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from ..backend import get_array_module
from ..random import generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "zeros_",
    "ones_",
    "constant_",
    "eye_",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "lecun_uniform_",
    "lecun_normal_",
    "orthogonal_",
    "variance_scaling_",
    "get_initializer",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, exactly as PyTorch:

    linear / conv* / sigmoid → 1,  tanh → 5/3,  relu → √2,
    leaky_relu → √(2/(1 + slope²)) (slope = ``param``, default 0.01),  selu → 3/4.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel): (in·Πk, out·Πk)."""
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ------------------------------------------------------------------ writing


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` into the tensor's array in place (no graph, dtype kept)."""
    tensor.data[...] = values
    return tensor


def _uniform(tensor: Tensor, a: float, b: float) -> Any:
    u = generator(tensor.device).random(tensor.shape)  # float64 in [0, 1)
    return a + (b - a) * u


def _normal(tensor: Tensor, mean: float, std: float) -> Any:
    return mean + std * generator(tensor.device).standard_normal(tensor.shape)


# ------------------------------------------------------------------ constant


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (a 2-D tensor; non-square gives ones on the main diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    xp = get_array_module(tensor.data)
    return _fill(tensor, xp.eye(*tensor.shape))


# ------------------------------------------------------------------ random


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """U(a, b)."""
    return _fill(tensor, _uniform(tensor, a, b))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """N(mean, std²)."""
    return _fill(tensor, _normal(tensor, mean, std))


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Tensor:
    """N(mean, std²) restricted to [a, b] (absolute bounds, as PyTorch): values outside are
    redrawn until every one lies inside (rejection sampling, exact)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    xp = get_array_module(tensor.data)
    values = _normal(tensor, mean, std)
    bad = (values < a) | (values > b)
    while bool(bad.any()):
        count = int(bad.sum())
        values[bad] = mean + std * generator(tensor.device).standard_normal(count)
        bad = (values < a) | (values > b)
    return _fill(tensor, xp.asarray(values))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot/Xavier uniform: U(−A, A), A = gain·√(6/(fan_in + fan_out)) (variance
    gain²·2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot/Xavier normal: N(0, σ²), σ = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He/Kaiming uniform: U(−A, A), A = gain·√(3/fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in or fan_out (``mode``). With a = √5 this is PyTorch's default Linear/conv
    weight init, U(−1/√fan_in, 1/√fan_in)."""
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He/Kaiming normal: N(0, σ²), σ = gain/√fan."""
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std)


def lecun_uniform_(tensor: Tensor) -> Tensor:
    """LeCun uniform: U(−A, A), A = √(3/fan_in) (variance 1/fan_in; for SELU networks)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -bound, bound)


def lecun_normal_(tensor: Tensor) -> Tensor:
    """LeCun normal: N(0, 1/fan_in)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013), as PyTorch.

    The tensor is viewed as (rows, cols) = (shape[0], numel/shape[0]); a Gaussian matrix of
    that shape (transposed when rows < cols) is QR-factorised and Q, its columns' signs fixed
    by sign(diag R) so that Q is uniformly (Haar) distributed, is written back: QᵀQ = I when
    rows ≥ cols, QQᵀ = I otherwise.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    xp = get_array_module(tensor.data)
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = generator(tensor.device).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def variance_scaling_(
    tensor: Tensor, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"
) -> Tensor:
    """Keras' ``VarianceScaling``: variance scale/n with n = fan_in, fan_out or their mean.

    "truncated_normal": N(0, σ'²) cut at ±2σ', σ' = √(scale/n)/0.87962566103423978 (the
    std of a unit normal cut at ±2, so the result has variance scale/n); "untruncated_normal":
    N(0, scale/n); "uniform": U(−A, A), A = √(3·scale/n).
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}.get(mode)
    if n is None:
        raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
    if distribution == "truncated_normal":
        std = math.sqrt(scale / n) / 0.87962566103423978
        return trunc_normal_(tensor, 0.0, std, -2.0 * std, 2.0 * std)
    if distribution in ("untruncated_normal", "normal"):
        return normal_(tensor, 0.0, math.sqrt(scale / n))
    if distribution == "uniform":
        bound = math.sqrt(3.0 * scale / n)
        return uniform_(tensor, -bound, bound)
    raise ValueError(
        "distribution must be 'truncated_normal', 'untruncated_normal' or 'uniform', "
        f"got {distribution!r}"
    )


# ------------------------------------------------------------------ by name

_P = functools.partial
_BY_NAME: dict[str, Callable[..., Tensor]] = {
    # PyTorch names (with or without the trailing underscore)
    "zeros": zeros_,
    "ones": ones_,
    "constant": constant_,
    "eye": eye_,
    "uniform": uniform_,
    "normal": normal_,
    "trunc_normal": trunc_normal_,
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "kaiming_uniform": kaiming_uniform_,
    "kaiming_normal": kaiming_normal_,
    "lecun_uniform": lecun_uniform_,
    "lecun_normal_": lecun_normal_,  # with the underscore: PyTorch-style plain normal
    "orthogonal": orthogonal_,
    "variance_scaling": variance_scaling_,
    # Keras names, with Keras' definitions and defaults
    "identity": eye_,
    "random_uniform": _P(uniform_, a=-0.05, b=0.05),
    "random_normal": _P(normal_, mean=0.0, std=0.05),
    "truncated_normal": _P(trunc_normal_, mean=0.0, std=0.05, a=-0.1, b=0.1),
    "glorot_uniform": xavier_uniform_,
    "glorot_normal": _P(variance_scaling_, scale=1.0, mode="fan_avg"),
    "he_uniform": _P(kaiming_uniform_, a=0.0, nonlinearity="relu"),
    "he_normal": _P(variance_scaling_, scale=2.0, mode="fan_in"),
    "lecun_normal": _P(variance_scaling_, scale=1.0, mode="fan_in"),
}


def get_initializer(
    identifier: str | Callable[..., Tensor] | None, **kwargs: Any
) -> Callable[..., Tensor] | None:
    """An initialiser ``fn(tensor) -> tensor`` from a name (PyTorch's, with or without the
    trailing ``_``, or Keras': "glorot_uniform", "he_normal", "zeros", …); extra ``kwargs``
    are bound to it (``get_initializer("constant", val=0.1)``). Callables and None pass
    through. Unknown names raise ValueError listing the known ones.

    Note "lecun_normal" is Keras' truncated normal, "lecun_normal_" PyTorch-style plain normal.
    """
    if identifier is None or callable(identifier):
        return identifier
    name = str(identifier).lower()
    if name not in _BY_NAME:
        name = name.rstrip("_")
    if name not in _BY_NAME:
        raise ValueError(
            f"unknown initializer {identifier!r}; known names: {', '.join(sorted(_BY_NAME))}"
        )
    fn = _BY_NAME[name]
    return _P(fn, **kwargs) if kwargs else fn
