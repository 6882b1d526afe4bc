"""Activation layers (PyTorch's names, plus the course notes' extras), the SIREN layer and
``get_activation``, which turns ``activation="relu"`` (or a class, a module, a function or None)
into a Module.

A layer holds no math: ``forward`` calls the function of the same name in
``rosenblatt.nn.functional``, whose docstring states f(x) and f′(x). Every layer rebuilds from
``get_config()``; PReLU's α and a trainable Swish's β are Parameters.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.activation import check_dim
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "BinaryStep", "Sigmoid", "Logistic", "SoftStep", "Tanh", "ArcTan", "LeCunTanh",
    "Hardtanh", "Hardsigmoid", "PiecewiseLinear", "Softsign", "Probit", "Logit", "ReLU", "ReLU6",
    "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "Softplus", "SmoothRectifier", "LogSigmoid",
    "GELU", "SiLU", "Swish", "Mish", "Threshold", "Hardswish", "Tanhshrink", "Softshrink",
    "Hardshrink", "Absolute", "Gaussian", "Multiquadratic", "InverseMultiquadratic", "Cosine",
    "Sine", "Softmax", "LogSoftmax", "Softmin", "GLU", "Maxout", "SineLayer", "siren_init_",
    "ActivationFunction", "get_activation",
]


class _Activation(Module):
    """Base of the activation layers: no parameters unless a subclass makes some, ``get_config``
    {} unless it has constructor arguments; a non-floating input is refused naming the layer."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Tensor) and args[0].dtype.kind != "f":
            raise TypeError(f"{self!r}: expected a floating-point input, got dtype "
                            f"{args[0].dtype}")
        return super().__call__(*args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())


class BinaryStep(_Activation):
    """f(x) = 1 for x ≥ 0, else 0;  f′ = 0."""

    def forward(self, x: Tensor) -> Tensor:
        return F.binary_step(x)


class Sigmoid(_Activation):
    """Logistic / soft step σ(x) = 1 / (1 + e⁻ˣ) (aliases ``Logistic``, ``SoftStep``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(_Activation):
    """f(x) = tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class ArcTan(_Activation):
    """f(x) = tan⁻¹ x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.arctan(x)


class LeCunTanh(_Activation):
    """LeCun's tanh f(x) = 1.7159·tanh(2x/3)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.lecun_tanh(x)


class Hardsigmoid(_Activation):
    """f(x) = clip(x/6 + ½, 0, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardsigmoid(x)


class Softsign(_Activation):
    """f(x) = x / (1 + |x|)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


class Probit(_Activation):
    """f(p) = Φ⁻¹(p), the inverse normal CDF, on (0, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.probit(x)


class ReLU(_Activation):
    """f(x) = max(0, x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class ReLU6(_Activation):
    """f(x) = min(max(0, x), 6)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(x)


class SELU(_Activation):
    """Self-normalising ELU λ·elu(x, α), λ = 1.0507, α = 1.6733."""

    def forward(self, x: Tensor) -> Tensor:
        return F.selu(x)


class LogSigmoid(_Activation):
    """f(x) = ln σ(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.logsigmoid(x)


class SiLU(_Activation):
    """f(x) = x·σ(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)


class Mish(_Activation):
    """f(x) = x·tanh(softplus(x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x)


class Hardswish(_Activation):
    """f(x) = x·relu6(x + 3)/6."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardswish(x)


class Tanhshrink(_Activation):
    """f(x) = x − tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanhshrink(x)


class Absolute(_Activation):
    """f(x) = |x|."""

    def forward(self, x: Tensor) -> Tensor:
        return F.absolute(x)


class Gaussian(_Activation):
    """f(x) = exp(−x²)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.gaussian(x)


class Cosine(_Activation):
    """f(x) = cos x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.cosine(x)


Logistic = SoftStep = Sigmoid


class Hardtanh(_Activation):
    """f(x) = clip(x, min_val, max_val); gradient 1 strictly inside the bounds."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} must be below max_val {max_val}")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def get_config(self) -> dict[str, Any]:
        return {"min_val": self.min_val, "max_val": self.max_val}


class PiecewiseLinear(_Activation):
    """0 below x_min, 1 above x_max, linear in between (see ``F.piecewise_linear``)."""

    def __init__(self, x_min: float = -0.5, x_max: float = 0.5) -> None:
        super().__init__()
        if not x_min < x_max:
            raise ValueError(f"PiecewiseLinear: x_min {x_min} must be below x_max {x_max}")
        self.x_min, self.x_max = float(x_min), float(x_max)

    def forward(self, x: Tensor) -> Tensor:
        return F.piecewise_linear(x, self.x_min, self.x_max)

    def get_config(self) -> dict[str, Any]:
        return {"x_min": self.x_min, "x_max": self.x_max}


class Logit(_Activation):
    """f(p) = ln(p/(1 − p)), p optionally clamped to [eps, 1 − eps]."""

    def __init__(self, eps: float | None = None) -> None:
        super().__init__()
        self.eps = None if eps is None else float(eps)

    def forward(self, x: Tensor) -> Tensor:
        return F.logit(x, self.eps)

    def get_config(self) -> dict[str, Any]:
        return {"eps": self.eps}


class LeakyReLU(_Activation):
    """f(x) = x for x > 0, else negative_slope·x (0.01 by default, as PyTorch)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class PReLU(_Activation):
    """f(x) = x for x > 0, else α·x with α learned: one α, or one per channel (dim 1) when
    ``num_parameters`` = C. α starts at ``init`` = 0.25 and is the Parameter ``weight`` of
    shape (num_parameters,), as in PyTorch."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        if int(num_parameters) < 1:
            raise ValueError(f"PReLU: num_parameters must be ≥ 1, got {num_parameters}")
        self.num_parameters, self.init = int(num_parameters), float(init)
        self.weight = Parameter(np.full((self.num_parameters,), self.init, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        n = self.num_parameters
        if n > 1 and (x.ndim < 2 or x.shape[1] != n):
            raise ValueError(f"{self!r}: expected an input with {n} channels on dim 1, got "
                             f"shape {x.shape}")
        return F.prelu(x, self.weight)

    def get_config(self) -> dict[str, Any]:
        return {"num_parameters": self.num_parameters, "init": self.init}


class _WithAlpha(_Activation):
    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class ELU(_WithAlpha):
    """f(x) = x for x > 0, else α(eˣ − 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)


class CELU(_WithAlpha):
    """f(x) = x for x > 0, else α(e^(x/α) − 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha)


class Softplus(_Activation):
    """Smooth rectifier (1/β)·ln(1 + e^(βx)), linear where βx > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {"beta": self.beta, "threshold": self.threshold}


SmoothRectifier = Softplus


class GELU(_Activation):
    """x·Φ(x); approximate = "none" (exact), "tanh" (PyTorch's) or "sigmoid" (x·σ(1.702x))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh", "sigmoid"):
            raise ValueError(f"GELU: approximate must be 'none', 'tanh' or 'sigmoid', got "
                             f"{approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def get_config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}


class Swish(_Activation):
    """x·σ(βx). With ``trainable=True`` β is a Parameter ``beta`` (a scalar) learned with the
    rest; otherwise a fixed number (β = 1 is SiLU)."""

    def __init__(self, beta: float = 1.0, trainable: bool = False) -> None:
        super().__init__()
        self.trainable = bool(trainable)
        if self.trainable:
            self.beta = Parameter(np.asarray(beta, dtype=np.float32))
        else:
            self.beta = float(beta)

    def forward(self, x: Tensor) -> Tensor:
        return F.swish(x, self.beta)

    def get_config(self) -> dict[str, Any]:
        beta = float(self.beta.item()) if self.trainable else self.beta
        return {"beta": beta, "trainable": self.trainable}


class Threshold(_Activation):
    """f(x) = x for x > threshold, else value."""

    def __init__(self, threshold: float, value: float) -> None:
        super().__init__()
        self.threshold, self.value = float(threshold), float(value)

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value)

    def get_config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "value": self.value}


class _WithLambd(_Activation):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = float(lambd)

    def get_config(self) -> dict[str, Any]:
        return {"lambd": self.lambd}


class Softshrink(_WithLambd):
    """x − λ above λ, x + λ below −λ, 0 between."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softshrink(x, self.lambd)


class Hardshrink(_WithLambd):
    """x outside [−λ, λ], 0 inside."""

    def forward(self, x: Tensor) -> Tensor:
        return F.hardshrink(x, self.lambd)


class _WithC(_Activation):
    def __init__(self, c: float = 1.0) -> None:
        super().__init__()
        self.c = float(c)

    def get_config(self) -> dict[str, Any]:
        return {"c": self.c}


class Multiquadratic(_WithC):
    """f(x) = √(x² + c²)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.multiquadratic(x, self.c)


class InverseMultiquadratic(_WithC):
    """f(x) = 1 / √(x² + c²)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.inverse_multiquadratic(x, self.c)


class Sine(_Activation):
    """SIREN's sin(ω₀x), ω₀ = 30 by default (use with ``siren_init_`` / ``SineLayer``)."""

    def __init__(self, w0: float = 30.0) -> None:
        super().__init__()
        self.w0 = float(w0)

    def forward(self, x: Tensor) -> Tensor:
        return F.sine(x, self.w0)

    def get_config(self) -> dict[str, Any]:
        return {"w0": self.w0}


class _OverDim(_Activation):
    """An activation along one dim (−1 by default; PyTorch's layers have no default)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = int(dim)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}


class Softmax(_OverDim):
    """e^(xᵢ)/Σⱼe^(xⱼ) along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        check_dim(x, self.dim, repr(self))
        return F.softmax(x, self.dim)


class LogSoftmax(_OverDim):
    """xᵢ − ln Σⱼ e^(xⱼ) along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        check_dim(x, self.dim, repr(self))
        return F.log_softmax(x, self.dim)


class Softmin(_OverDim):
    """softmax(−x) along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        check_dim(x, self.dim, repr(self))
        return F.softmin(x, self.dim)


class GLU(_OverDim):
    """a ⊙ σ(b), a and b the two halves of the input along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        axis = check_dim(x, self.dim, repr(self))
        if x.ndim == 0 or x.shape[axis] % 2:
            raise ValueError(f"{self!r}: dim {self.dim} of the input of shape {x.shape} must "
                             "have even size")
        return F.glu(x, self.dim)


# ------------------------------------------------------------------ layers with weights


def _uniform(shape: tuple[int, ...], bound: float) -> Parameter:
    return init.uniform_(Parameter(np.zeros(shape, np.float32)), -bound, bound)


class Maxout(Module):
    """Maxout unit: ``pieces`` linear maps of x, and the elementwise maximum over them:
    yⱼ = maxᵢ (W_(j·pieces+i) · x + b_(j·pieces+i)),  x of shape (…, in) → y (…, out).

    ``weight`` (out·pieces, in) and ``bias`` (out·pieces,) start from U(−1/√in, 1/√in) as
    ``Linear``; rows j·pieces … j·pieces + pieces − 1 are the pieces of output j."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2,
                 bias: bool = True) -> None:
        super().__init__()
        if int(pieces) < 1:
            raise ValueError(f"Maxout: pieces must be ≥ 1, got {pieces}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.pieces = int(pieces)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        rows = self.out_features * self.pieces
        self.weight = _uniform((rows, self.in_features), bound)
        self.register_parameter("bias", _uniform((rows,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (..., {self.in_features}), "
                             f"got {x.shape}")
        return F.maxout(F.linear(x, self.weight, self.bias), self.pieces, -1)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "pieces": self.pieces, "bias": self.bias is not None}


def siren_init_(weight: Tensor, is_first: bool = False, omega_0: float = 30.0) -> Tensor:
    """SIREN initialisation, in place, of a (out, in) weight used as sin(ω₀(Wx + b)):
    the first layer draws U(−1/in, 1/in); later layers U(−√(6/in)/ω₀, √(6/in)/ω₀), so that the
    pre-activations ω₀Wx stay ~U(−√6, √6)-scaled layer after layer (Sitzmann et al., 2020)."""
    fan_in = weight.shape[-1]
    bound = 1.0 / fan_in if is_first else math.sqrt(6.0 / fan_in) / omega_0
    return init.uniform_(weight, -bound, bound)


class SineLayer(Module):
    """A SIREN layer y = sin(ω₀(x Wᵀ + b)), W with the SIREN initialisation (``siren_init_``;
    ``is_first`` for the network's first layer), b from U(−1/√in, 1/√in) as ``Linear``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 is_first: bool = False, omega_0: float = 30.0) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.is_first, self.omega_0 = bool(is_first), float(omega_0)
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), np.float32))
        siren_init_(self.weight, self.is_first, self.omega_0)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        self.register_parameter("bias", _uniform((self.out_features,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (..., {self.in_features}), "
                             f"got {x.shape}")
        return F.sine(F.linear(x, self.weight, self.bias), self.omega_0)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, is_first={self.is_first}, "
                f"omega_0={self.omega_0}")

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None, "is_first": self.is_first,
                "omega_0": self.omega_0}


# ------------------------------------------------------------------ the registry


class ActivationFunction(_Activation):
    """Wraps a plain function ``fn(x, **kwargs)`` as a layer. ``get_config`` names it by import
    path (``"package.module.function"``), so module-level functions rebuild from JSON."""

    def __init__(self, fn: Callable[..., Tensor] | str, **kwargs: Any) -> None:
        super().__init__()
        if isinstance(fn, str):
            module, _, name = fn.rpartition(".")
            fn = getattr(importlib.import_module(module), name)
        self.fn, self.kwargs = fn, kwargs

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x, **self.kwargs)

    def get_config(self) -> dict[str, Any]:
        path = f"{self.fn.__module__}.{self.fn.__qualname__}"
        if "<" in path:
            raise ValueError(f"ActivationFunction: {path} (a lambda or nested function) cannot "
                             "be named in a config; use a module-level function")
        return {"fn": path, **self.kwargs}

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", repr(self.fn))


def _identity(**kwargs: Any) -> Module:
    from .linear import Identity  # here, not at the top: linear.py may use get_activation

    return Identity(**kwargs)


_BY_NAME: dict[str, Callable[..., Module]] = {
    "identity": _identity, "linear": _identity, "none": _identity,
    "binarystep": BinaryStep, "step": BinaryStep, "heaviside": BinaryStep,
    "sigmoid": Sigmoid, "logistic": Sigmoid, "softstep": Sigmoid,
    "tanh": Tanh, "arctan": ArcTan, "atan": ArcTan, "lecuntanh": LeCunTanh,
    "hardtanh": Hardtanh, "hardsigmoid": Hardsigmoid, "piecewiselinear": PiecewiseLinear,
    "softsign": Softsign, "probit": Probit, "logit": Logit,
    "relu": ReLU, "relu6": ReLU6, "leakyrelu": LeakyReLU, "prelu": PReLU,
    "elu": ELU, "selu": SELU, "celu": CELU,
    "softplus": Softplus, "smoothrectifier": Softplus, "logsigmoid": LogSigmoid,
    "gelu": GELU, "silu": SiLU, "swish": Swish, "mish": Mish,
    "threshold": Threshold, "hardswish": Hardswish, "hardsilu": Hardswish,
    "tanhshrink": Tanhshrink, "softshrink": Softshrink, "hardshrink": Hardshrink,
    "absolute": Absolute, "abs": Absolute, "gaussian": Gaussian,
    "multiquadratic": Multiquadratic, "inversemultiquadratic": InverseMultiquadratic,
    "cosine": Cosine, "cos": Cosine, "sine": Sine, "sin": Sine, "siren": Sine,
    "softmax": Softmax, "logsoftmax": LogSoftmax, "softmin": Softmin, "glu": GLU,
    "maxout": Maxout,
}

# functional → layer, so get_activation(F.relu) gives ReLU() (and a config)
_BY_FUNCTION: dict[Any, Callable[..., Module]] = {
    getattr(F, name): _BY_NAME[name.replace("_", "")]
    for name in F.activation.__all__ if name.replace("_", "") in _BY_NAME and name != "maxout"
}


def _normal_name(name: str) -> str:
    return "".join(c for c in name.lower() if c not in "_- ")


def get_activation(activation: str | Module | type | Callable | None = None,
                   **kwargs: Any) -> Module:
    """The activation layer for ``activation``:

    * a name, case-insensitive, with or without underscores/hyphens/spaces (PyTorch's and
      Keras' spellings and the notes': "relu", "leaky_relu", "LeakyReLU", "hard_tanh",
      "linear", "swish", "soft step", "smooth rectifier", …); ``kwargs`` go to the constructor
      (``get_activation("leaky_relu", negative_slope=0.2)``);
    * None → ``Identity()`` (the one in ``layers.linear``); a Module instance → itself; a
      Module class → ``cls(**kwargs)``;
    * a function → its layer if it is one of ``nn.functional``'s activations, else an
      ``ActivationFunction`` wrapping it.

    An unknown name raises ValueError listing the valid names."""
    if activation is None:
        return _identity(**kwargs)
    if isinstance(activation, Module):
        if kwargs:
            raise TypeError(f"get_activation: keyword arguments {sorted(kwargs)} cannot be "
                            f"applied to the existing module {activation!r}")
        return activation
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation(**kwargs)
    if isinstance(activation, str):
        cls = _BY_NAME.get(_normal_name(activation))
        if cls is None:
            raise ValueError(f"unknown activation {activation!r}; valid names (case and "
                             f"underscores ignored): {', '.join(sorted(_BY_NAME))}")
        return cls(**kwargs)
    if callable(activation):
        cls = _BY_FUNCTION.get(activation)
        return cls(**kwargs) if cls is not None else ActivationFunction(activation, **kwargs)
    raise TypeError(f"get_activation: expected a name, a Module, a function or None, got "
                    f"{type(activation).__name__}")
