"""Activation functions, PyTorch's names (``F.relu``, ``F.gelu(x, approximate="tanh")``, …) plus
the course notes' (``F.logistic``, ``F.smooth_rectifier``, ``F.probit``, ``F.maxout``, …).

Each docstring gives f(x) and f′(x). The expensive or numerically delicate ones call a hand-written
``Function`` in ``rosenblatt.ops.activation`` (forward and backward side by side); the cheap ones
are composed from primitives (``where``, ``exp``, ``sqrt``…) and need no backward of their own.
At a kink the gradient is the one PyTorch uses (noted where it matters).
"""

from __future__ import annotations

import math
from typing import Any

from ... import functional as rbf
from ...ops import activation as ops
from ...tensor import Tensor

__all__ = [
    "identity", "binary_step", "sigmoid", "logistic", "soft_step", "tanh", "arctan", "relu",
    "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "softplus", "smooth_rectifier", "gelu",
    "silu", "swish", "mish", "softmax", "log_softmax", "softmin", "maxout", "glu", "sine",
    "cosine", "hardtanh", "lecun_tanh", "absolute", "gaussian", "multiquadratic",
    "inverse_multiquadratic", "probit", "logit", "piecewise_linear", "softsign", "hardsigmoid",
    "hardswish", "tanhshrink", "threshold", "logsigmoid", "softshrink", "hardshrink", "erf",
    "erfc", "ndtr", "ndtri",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
LECUN_A = 1.7159
LECUN_B = 2.0 / 3.0


def _float(x: Any, who: str) -> Tensor:
    """``x`` as a Tensor, checked to be floating point (``who`` names the caller)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


def check_dim(x: Tensor, dim: int, who: str) -> int:
    """``dim`` as a non-negative axis of ``x`` (a 0-d tensor accepts −1 and 0, as PyTorch), or an
    IndexError naming ``who``."""
    n = max(x.ndim, 1)
    if not isinstance(dim, int) or not -n <= dim < n:
        raise IndexError(
            f"{who}: dim {dim!r} is out of range for a {x.ndim}-d input of shape {x.shape} "
            f"(expected an int in [{-n}, {n - 1}])"
        )
    return dim % n


# ------------------------------------------------------------------ linear and step


def identity(x: Tensor) -> Tensor:
    """f(x) = x;  f′(x) = 1. Also what ``activation="linear"`` or ``None`` means."""
    return x


def binary_step(x: Tensor) -> Tensor:
    """f(x) = 1 for x ≥ 0, else 0;  f′(x) = 0 everywhere (the jump at 0 is taken as 0)."""
    return ops.Step.apply(_float(x, "binary_step"))


# ------------------------------------------------------------------ sigmoid-shaped


def sigmoid(x: Tensor) -> Tensor:
    """Logistic / soft step f(x) = σ(x) = 1 / (1 + e⁻ˣ);  f′ = σ(1 − σ). Stable for any x."""
    return ops.Sigmoid.apply(_float(x, "sigmoid"))


logistic = sigmoid
soft_step = sigmoid


def tanh(x: Tensor) -> Tensor:
    """f(x) = tanh x = 2σ(2x) − 1;  f′ = 1 − tanh² x."""
    return ops.Tanh.apply(_float(x, "tanh"))


def arctan(x: Tensor) -> Tensor:
    """f(x) = tan⁻¹ x ∈ (−π/2, π/2);  f′ = 1 / (1 + x²)."""
    return ops.Arctan.apply(_float(x, "arctan"))


def lecun_tanh(x: Tensor) -> Tensor:
    """LeCun's tanh f(x) = 1.7159·tanh(2x/3) (f(±1) ≈ ±1);  f′ = 1.7159·(2/3)·(1 − tanh²(2x/3))."""
    return LECUN_A * tanh(_float(x, "lecun_tanh") * LECUN_B)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """f(x) = min_val below min_val, max_val above max_val, x between;  f′ = 1 strictly between
    the bounds, else 0 (0 at the bounds, as PyTorch)."""
    x = _float(x, "hardtanh")
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must be below max_val {max_val}")
    return rbf.where(x <= min_val, float(min_val), rbf.where(x >= max_val, float(max_val), x))


def hardsigmoid(x: Tensor) -> Tensor:
    """f(x) = 0 for x ≤ −3, 1 for x ≥ 3, x/6 + ½ between;  f′ = 1/6 strictly between, else 0."""
    x = _float(x, "hardsigmoid")
    return rbf.where(x <= -3.0, 0.0, rbf.where(x >= 3.0, 1.0, x / 6.0 + 0.5))


def piecewise_linear(x: Tensor, x_min: float = -0.5, x_max: float = 0.5) -> Tensor:
    """The notes' piecewise linear unit: f(x) = 0 for x < x_min, 1 for x > x_max, and
    m·x + b between, with m = 1/(x_max − x_min), b = −m·x_min (so it is continuous);
    f′ = m on [x_min, x_max], else 0."""
    x = _float(x, "piecewise_linear")
    if not x_min < x_max:
        raise ValueError(f"piecewise_linear: x_min {x_min} must be below x_max {x_max}")
    m = 1.0 / (x_max - x_min)
    return rbf.where(x < x_min, 0.0, rbf.where(x > x_max, 1.0, x * m - x_min * m))


def softsign(x: Tensor) -> Tensor:
    """f(x) = x / (1 + |x|) ∈ (−1, 1);  f′ = 1 / (1 + |x|)²."""
    x = _float(x, "softsign")
    return x / (1.0 + rbf.abs(x))


def probit(x: Tensor) -> Tensor:
    """f(p) = Φ⁻¹(p), the inverse normal CDF, on (0, 1) (−inf at 0, +inf at 1);
    f′(p) = √(2π)·exp(Φ⁻¹(p)²/2). Accurate to ~1e-14 in float64 (see ``ops.activation``)."""
    return ops.Ndtri.apply(_float(x, "probit"))


ndtri = probit


def logit(x: Tensor, eps: float | None = None) -> Tensor:
    """f(p) = ln(p / (1 − p)), the inverse of σ, on (0, 1);  f′ = 1 / (p(1 − p)). With ``eps``,
    p is first clamped to [eps, 1 − eps] (f′ = 0 outside), as ``torch.logit``."""
    x = _float(x, "logit")
    if eps is not None:
        x = rbf.clip(x, float(eps), 1.0 - float(eps))
    return rbf.log(x / (1.0 - x))


def ndtr(x: Tensor) -> Tensor:
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF;  Φ′ = φ(x) = e^(−x²/2)/√(2π)."""
    return ops.Ndtr.apply(_float(x, "ndtr"))


def erf(x: Tensor) -> Tensor:
    """erf x = (2/√π)∫₀ˣ e^(−t²)dt;  erf′ = (2/√π)e^(−x²). Accuracy ~1e-15 in float64."""
    return ops.Erf.apply(_float(x, "erf"))


def erfc(x: Tensor) -> Tensor:
    """erfc x = 1 − erf x (accurate in the right tail);  erfc′ = −(2/√π)e^(−x²)."""
    return ops.Erfc.apply(_float(x, "erfc"))


# ------------------------------------------------------------------ rectifiers


def relu(x: Tensor) -> Tensor:
    """f(x) = max(0, x);  f′ = 1 for x > 0, else 0 (0 at the kink, as PyTorch)."""
    return ops.ReLU.apply(_float(x, "relu"))


def relu6(x: Tensor) -> Tensor:
    """f(x) = min(max(0, x), 6) = max(0, x) − max(0, x − 6);  f′ = 1 on (0, 6), else 0."""
    return hardtanh(_float(x, "relu6"), 0.0, 6.0)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """f(x) = x for x > 0, else a·x (a = ``negative_slope``);  f′ = 1 for x > 0, else a."""
    return ops.LeakyReLU.apply(_float(x, "leaky_relu"), negative_slope=float(negative_slope))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """f(x) = x for x > 0, else α·x, α learnable: one α (``weight`` of one element) or one per
    channel, on dim 1 (``weight`` of shape (C,)), as ``torch.nn.functional.prelu``;
    ∂f/∂x = 1 for x > 0, else α;  ∂f/∂α = x for x ≤ 0, else 0."""
    x = _float(x, "prelu")
    n = weight.numel()
    if n == 1:
        alpha = weight.reshape(())
    else:
        if x.ndim < 2 or x.shape[1] != n:
            channels = x.shape[1] if x.ndim >= 2 else "no"
            raise ValueError(f"prelu: weight has {n} elements but the input of shape {x.shape} "
                             f"has {channels} channels on dim 1")
        alpha = weight.reshape((1, n) + (1,) * (x.ndim - 2))
    return rbf.where(x > 0, x, alpha * x)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """f(x) = x for x > 0, else α(eˣ − 1);  f′ = 1 for x > 0, else f(x) + α = αeˣ."""
    return ops.ELU.apply(_float(x, "elu"), alpha=float(alpha))


def selu(x: Tensor) -> Tensor:
    """f(x) = λ·elu(x, α) with λ = 1.0507…, α = 1.6733… (self-normalising);
    f′ = λ for x > 0, else λαeˣ."""
    return ops.ELU.apply(_float(x, "selu"), alpha=SELU_ALPHA, scale=SELU_SCALE)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """f(x) = x for x > 0, else α(e^(x/α) − 1) = α·elu(x/α);  f′ = 1 for x > 0, else e^(x/α)."""
    alpha = float(alpha)
    if alpha == 0.0:
        raise ValueError("celu: alpha must not be 0")
    return alpha * elu(_float(x, "celu") * (1.0 / alpha))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth rectifier f(x) = (1/β)·ln(1 + e^(βx)), and x where βx > ``threshold`` (as
    PyTorch); f′ = σ(βx) (1 above the threshold). Stable for any x."""
    return ops.Softplus.apply(_float(x, "softplus"), beta=float(beta), threshold=float(threshold))


smooth_rectifier = softplus


def logsigmoid(x: Tensor) -> Tensor:
    """f(x) = ln σ(x) = −softplus(−x);  f′ = 1 − σ(x) = σ(−x). Stable for any x."""
    return -softplus(-_float(x, "logsigmoid"), 1.0, math.inf)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit f(x) = x·Φ(x);  f′ = Φ(x) + x·φ(x).

    ``approximate``: "none" (exact, erf accurate to ~1e-15), "tanh" (PyTorch's
    ½x(1 + tanh(√(2/π)(x + 0.044715x³)))) or "sigmoid" (the notes' x·σ(1.702x), a Swish with
    β = 1.702: f′ = σ(1.702x) + 1.702x·σ(1 − σ))."""
    x = _float(x, "gelu")
    if approximate == "sigmoid":
        return ops.Swish.apply(x, 1.702)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none', 'tanh' or 'sigmoid', got "
                         f"{approximate!r}")
    return ops.GELU.apply(x, approximate=approximate)


def silu(x: Tensor) -> Tensor:
    """SiLU f(x) = x·σ(x) (Swish with β = 1);  f′ = σ(x)(1 + x(1 − σ(x)))."""
    return ops.Swish.apply(_float(x, "silu"), 1.0)


def swish(x: Tensor, beta: float | Tensor = 1.0) -> Tensor:
    """Swish f(x) = x·σ(βx), β a number or a (learnable) tensor;
    ∂f/∂x = σ(βx) + βx·σ(βx)(1 − σ(βx)),  ∂f/∂β = x²·σ(βx)(1 − σ(βx))."""
    x = _float(x, "swish")
    if isinstance(beta, Tensor):
        return ops.Swish.apply(x, beta)
    return ops.Swish.apply(x, float(beta))


def mish(x: Tensor) -> Tensor:
    """f(x) = x·tanh(softplus(x));  f′ = tanh(sp(x)) + x·(1 − tanh²(sp(x)))·σ(x)."""
    x = _float(x, "mish")
    return x * tanh(softplus(x, 1.0, math.inf))


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """f(x) = x for x > threshold, else ``value``;  f′ = 1 for x > threshold, else 0."""
    x = _float(x, "threshold")
    return rbf.where(x > threshold, x, float(value))


def hardswish(x: Tensor) -> Tensor:
    """f(x) = x·relu6(x + 3)/6: 0 for x ≤ −3, x for x ≥ 3, x(x + 3)/6 between;
    f′ = (2x + 3)/6 strictly between, 0 below, 1 above (PyTorch's values at ±3)."""
    x = _float(x, "hardswish")
    return rbf.where(x <= -3.0, 0.0, rbf.where(x >= 3.0, x, x * (x + 3.0) / 6.0))


def tanhshrink(x: Tensor) -> Tensor:
    """f(x) = x − tanh x;  f′ = tanh² x."""
    x = _float(x, "tanhshrink")
    return x - tanh(x)


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """f(x) = x − λ for x > λ, x + λ for x < −λ, else 0;  f′ = 1 outside [−λ, λ], else 0."""
    x = _float(x, "softshrink")
    return rbf.where(x > lambd, x - lambd, rbf.where(x < -lambd, x + lambd, 0.0))


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """f(x) = x outside [−λ, λ], else 0;  f′ = 1 outside [−λ, λ], else 0."""
    x = _float(x, "hardshrink")
    return rbf.where(x > lambd, x, rbf.where(x < -lambd, x, 0.0))


# ------------------------------------------------------------------ radial, periodic, absolute


def absolute(x: Tensor) -> Tensor:
    """f(x) = |x|;  f′ = sign x (0 at 0)."""
    return rbf.abs(_float(x, "absolute"))


def gaussian(x: Tensor) -> Tensor:
    """f(x) = e^(−x²) ∈ (0, 1];  f′ = −2x·e^(−x²)."""
    x = _float(x, "gaussian")
    return rbf.exp(-(x * x))


def multiquadratic(x: Tensor, c: float = 1.0) -> Tensor:
    """f(x) = √(x² + c²);  f′ = x / √(x² + c²)."""
    x = _float(x, "multiquadratic")
    return rbf.sqrt(x * x + float(c) * float(c))


def inverse_multiquadratic(x: Tensor, c: float = 1.0) -> Tensor:
    """f(x) = 1 / √(x² + c²);  f′ = −x / (x² + c²)^(3/2)."""
    return 1.0 / multiquadratic(_float(x, "inverse_multiquadratic"), c)


def cosine(x: Tensor) -> Tensor:
    """f(x) = cos x;  f′ = −sin x."""
    return ops.Cos.apply(_float(x, "cosine"))


def sine(x: Tensor, w0: float = 30.0) -> Tensor:
    """SIREN's periodic activation f(x) = sin(ω₀x), ω₀ = 30 by default;  f′ = ω₀·cos(ω₀x).
    Pair it with the SIREN initialisation (``nn.siren_init_`` / ``nn.SineLayer``)."""
    x = _float(x, "sine")
    return ops.Sin.apply(x * float(w0) if w0 != 1.0 else x)


# ------------------------------------------------------------------ over a dimension


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """f(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim`` (max subtracted first: stable);
    ∂fᵢ/∂xⱼ = fᵢ(δᵢⱼ − fⱼ). ``dim`` defaults to −1 (PyTorch requires it)."""
    x = _float(x, "softmax")
    axis = check_dim(x, dim, "softmax")
    if x.ndim == 0:
        return softmax(x.reshape((1,)), 0).reshape(())
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """f(x)ᵢ = xᵢ − ln Σⱼ e^(xⱼ) along ``dim`` (stable);  ∂fᵢ/∂xⱼ = δᵢⱼ − softmax(x)ⱼ."""
    x = _float(x, "log_softmax")
    axis = check_dim(x, dim, "log_softmax")
    if x.ndim == 0:
        return log_softmax(x.reshape((1,)), 0).reshape(())
    return ops.LogSoftmax.apply(x, axis=axis)


def softmin(x: Tensor, dim: int = -1) -> Tensor:
    """f(x) = softmax(−x) along ``dim``."""
    return softmax(-_float(x, "softmin"), dim)


def maxout(x: Tensor, pieces: int, dim: int = -1) -> Tensor:
    """Maxout: split the features along ``dim`` into consecutive groups of ``pieces`` and keep
    each group's maximum, so a dim of size k·pieces becomes k:  f(z)ⱼ = maxᵢ z_(j·pieces + i).
    ∂f/∂z = 1 at each group's maximum (ties share it), else 0."""
    x = _float(x, "maxout")
    if not isinstance(pieces, int) or pieces < 1:
        raise ValueError(f"maxout: pieces must be a positive int, got {pieces!r}")
    axis = check_dim(x, dim, "maxout")
    if x.ndim == 0 or x.shape[axis] % pieces:
        size = x.shape[axis] if x.ndim else "no"
        raise ValueError(f"maxout: dim {dim} of the input of shape {x.shape} has {size} "
                         f"features, which is not divisible by pieces={pieces}")
    shape = x.shape[:axis] + (x.shape[axis] // pieces, pieces) + x.shape[axis + 1:]
    return rbf.amax(x.reshape(shape), axis + 1)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split x in halves a, b along ``dim``, f = a ⊙ σ(b);
    ∂f/∂a = σ(b),  ∂f/∂b = a·σ(b)(1 − σ(b))."""
    x = _float(x, "glu")
    axis = check_dim(x, dim, "glu")
    if x.ndim == 0 or x.shape[axis] % 2:
        raise ValueError(f"glu: dim {dim} of the input of shape {x.shape} must have even size")
    a, b = rbf.split(x, x.shape[axis] // 2, axis)
    return a * sigmoid(b)
