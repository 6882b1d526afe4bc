"""Activation ops that are expensive or numerically delicate, forward and backward side by side.

Cheap activations (ReLU6, hard tanh, softsign, Gaussian, …) are composed from primitives in
``rosenblatt.nn.functional`` and need no backward of their own. Everything here is written
against ``xp`` (NumPy or CuPy) and keeps the input's dtype: constants are Python floats, which
never promote float32 to float64.

Special functions. NumPy has no ``erf``, and SciPy is not a dependency, so this module carries
its own (see ``erfc_nonneg``):

* erfc(z), z ≥ 0, as ``t·exp(−z² + P(u))`` with t = 2/(2 + z), u = 2t − 1 and P a Chebyshev
  series in u (Numerical Recipes' ``erfccheb`` form). The coefficients are fitted when the module
  is imported, from Python's ``math.erfc`` at 64 Chebyshev nodes (an asymptotic series stands in
  for the nodes with z > 26, where ``math.erfc`` underflows). Measured against ``math.erfc``:
  relative error ≤ 1e-14 for z < 5 and ≤ 2e-13 down to the smallest normal float (the condition
  of erfc itself grows like 2z²), so erf = 1 − erfc is accurate to 1e-15 absolute.
* erf(x), |x| < 0.5, by its Taylor series (relative accuracy near 0).
* Φ⁻¹(p) (probit) by Acklam's rational approximation (relative error 1.15e-9 in exact
  arithmetic) plus one Halley step on Φ(x) − p, which brings it to ~1e-14 absolute in float64
  and to float32's rounding in float32 (where the polynomials alone lose ~1e-4 to cancellation).

float32 inputs use shorter series (16 Chebyshev terms, ~1e-10 relative, well below float32's
6e-8 resolution).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import get_array_module

SQRT_2 = math.sqrt(2.0)
SQRT_2PI = math.sqrt(2.0 * math.pi)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# ----------------------------------------------------------------------------------------------
# array-level helpers (no graph): stable sigmoid and the special functions
# ----------------------------------------------------------------------------------------------


def stable_sigmoid(x: Any) -> Any:
    """σ(x) = 1 / (1 + e⁻ˣ) without overflow: with z = e^−|x| ∈ (0, 1],
    σ(x) = 1 / (1 + z) for x ≥ 0 and z / (1 + z) for x < 0."""
    xp = get_array_module(x)
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def _fit_erfc_coefficients(n: int = 64, keep: int = 28) -> list[float]:
    """Chebyshev coefficients of P(u) = ln(erfc(z)/t) + z², t = (u + 1)/2, z = 2/t − 2."""

    def p_of_u(u: float) -> float:
        t = 0.5 * (u + 1.0)
        z = 2.0 / t - 2.0
        if z <= 26.0:
            return math.log(math.erfc(z) / t) + z * z
        # erfc(z) = e^(−z²)/(z√π) · Σ (−1)ᵏ (2k−1)!! / (2z²)ᵏ, ample for z > 26
        s, term = 1.0, 1.0
        for k in range(1, 12):
            term *= -(2 * k - 1) / (2.0 * z * z)
            s += term
        return math.log(s / (z * math.sqrt(math.pi) * t))

    angles = [math.pi * (k + 0.5) / n for k in range(n)]
    values = [p_of_u(math.cos(a)) for a in angles]
    return [2.0 / n * sum(v * math.cos(j * a) for v, a in zip(values, angles, strict=True))
            for j in range(keep)]


_ERFC_COF64 = _fit_erfc_coefficients()
_ERFC_COF32 = _ERFC_COF64[:16]
# erf(x) = 2/√π · Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1)), used for |x| < 0.5
_ERF_TAYLOR64 = [(-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(14)]
_ERF_TAYLOR32 = _ERF_TAYLOR64[:8]


def _is_double(x: Any) -> bool:
    return x.dtype.itemsize >= 8


def erfc_nonneg(z: Any) -> Any:
    """erfc(z) for z ≥ 0 (Clenshaw sum of the fitted Chebyshev series; see the module doc)."""
    xp = get_array_module(z)
    cof = _ERFC_COF64 if _is_double(z) else _ERFC_COF32
    z = xp.minimum(z, 40.0)  # erfc(40) underflows to 0 anyway; keeps z² finite
    t = 2.0 / (2.0 + z)
    ty = 4.0 * t - 2.0
    d = xp.zeros_like(z)
    dd = xp.zeros_like(z)
    for c in cof[:0:-1]:
        d, dd = ty * d - dd + c, d
    return t * xp.exp(-z * z + 0.5 * (cof[0] + ty * d) - dd)


def erf_array(x: Any) -> Any:
    """erf(x) = 2/√π ∫₀ˣ e^(−t²) dt: Taylor series for |x| < 0.5, else ±(1 − erfc|x|)."""
    xp = get_array_module(x)
    a = xp.abs(x)
    series = _ERF_TAYLOR64 if _is_double(x) else _ERF_TAYLOR32
    small = xp.minimum(a, 0.5)  # keeps the unused branch of the where finite
    x2 = small * small
    s = xp.zeros_like(x)
    for c in series[::-1]:
        s = s * x2 + c
    near = TWO_OVER_SQRT_PI * small * s
    far = 1.0 - erfc_nonneg(xp.maximum(a, 0.5))
    return xp.sign(x) * xp.where(a < 0.5, near, far)


def erfc_array(x: Any) -> Any:
    """erfc(x) = 1 − erf(x), relative-accurate in the right tail: 2 − erfc(−x) for x < 0."""
    xp = get_array_module(x)
    e = erfc_nonneg(xp.abs(x))
    return xp.where(x >= 0, e, 2.0 - e)


def ndtr_array(x: Any) -> Any:
    """Φ(x) = ½ erfc(−x/√2), the standard normal CDF, relative-accurate in the left tail."""
    xp = get_array_module(x)
    half_tail = 0.5 * erfc_nonneg(xp.abs(x) / SQRT_2)  # Φ(−|x|)
    return xp.where(x < 0, half_tail, 1.0 - half_tail)


def normal_pdf(x: Any) -> Any:
    """φ(x) = e^(−x²/2) / √(2π)."""
    return get_array_module(x).exp(-0.5 * x * x) * (1.0 / SQRT_2PI)


_ACKLAM_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
             1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_ACKLAM_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
             6.680131188771972e01, -1.328068155288572e01, 1.0)
_ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
             -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
             3.754408661907416e00, 1.0)
_ACKLAM_P_LOW = 0.02425


def _horner(coefficients: tuple, v: Any) -> Any:
    out = coefficients[0]
    for c in coefficients[1:]:
        out = out * v + c
    return out


def ndtri_array(p: Any) -> Any:
    """Φ⁻¹(p) for p in [0, 1] (−inf at 0, +inf at 1, NaN outside): Acklam's approximation, then
    one Halley step x ← x − u / (1 + x·u/2), u = (Φ(x) − p)/φ(x). The residual Φ(x) − p is taken
    as ½erf(x/√2) − (p − ½) in the central region and from the tail Φ(−|x|) beyond, so it keeps
    its relative accuracy everywhere (Φ⁻¹(½) = 0 exactly)."""
    xp = get_array_module(p)
    inside = (p > 0) & (p < 1)
    ps = xp.where(inside, p, 0.5)
    # central region |p − ½| ≤ ½ − p_low
    q = ps - 0.5
    r = q * q
    central = q * _horner(_ACKLAM_A, r) / _horner(_ACKLAM_B, r)
    # tails, by symmetry: Φ⁻¹(p) = −Φ⁻¹(1 − p)
    tail_p = xp.minimum(ps, 1.0 - ps)
    in_tail = tail_p < _ACKLAM_P_LOW
    s = xp.sqrt(-2.0 * xp.log(tail_p))
    tail = _horner(_ACKLAM_C, s) / _horner(_ACKLAM_D, s)
    x = xp.where(in_tail, xp.where(ps < 0.5, tail, -tail), central)
    # Halley step; past ±bound e^(x²/2) would overflow (Φ is subnormal there): keep Acklam's x
    bound = math.sqrt(2.0 * math.log(float(xp.finfo(x.dtype).max))) - 0.2
    xc = xp.clip(x, -bound, bound)
    lower = 0.5 * erfc_nonneg(xp.abs(xc) * (1.0 / SQRT_2))  # Φ(−|x|)
    e_tail = xp.where(xc < 0, lower - ps, (1.0 - ps) - lower)
    e = xp.where(in_tail, e_tail, 0.5 * erf_array(xc * (1.0 / SQRT_2)) - q)
    u = e * SQRT_2PI * xp.exp(0.5 * xc * xc)
    x = xp.where(xp.abs(x) < bound, xc - u / (1.0 + 0.5 * xc * u), x)
    edge = xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, xp.nan)).astype(x.dtype)
    return xp.where(inside, x, edge)


# ----------------------------------------------------------------------------------------------
# saturating activations
# ----------------------------------------------------------------------------------------------


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ) (stable for any x);  dx = dy · y (1 − y)  (the output is saved)."""

    def forward(self, x: Any) -> Any:
        y = stable_sigmoid(x)
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        return dy * y * (1.0 - y)


class Tanh(Function):
    """y = tanh x = 2σ(2x) − 1;  dx = dy · (1 − y²)  (the output is saved)."""

    def forward(self, x: Any) -> Any:
        y = get_array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        return dy * (1.0 - y * y)


class Arctan(Function):
    """y = tan⁻¹ x;  dx = dy / (1 + x²)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return get_array_module(x).arctan(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy / (1.0 + x * x)


class Step(Function):
    """Binary step y = 1 for x ≥ 0, else 0;  dx = 0 (the notes' "?" at x = 0 is taken as 0)."""

    def forward(self, x: Any) -> Any:
        return (x >= 0).astype(x.dtype)

    def backward(self, dy: Any) -> Any:
        return get_array_module(dy).zeros_like(dy)


# ----------------------------------------------------------------------------------------------
# rectifiers
# ----------------------------------------------------------------------------------------------


class ReLU(Function):
    """y = max(0, x);  dx = dy where x > 0, else 0 (0 at the kink, as in PyTorch).

    Keeps the boolean mask x > 0, or y itself (y > 0 is the same mask) once a later op says it
    keeps y anyway (``output_kept``): then the mask's memory is freed."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x > 0)
        return get_array_module(x).maximum(x, 0)

    def output_kept(self, y: Any) -> None:
        self.save_for_backward(y)

    def backward(self, dy: Any) -> Any:
        (kept,) = self.saved_tensors
        return dy * (kept if kept.dtype == bool else kept > 0)


class LeakyReLU(Function):
    """y = x for x > 0, else a·x;  dx = dy for x > 0, else a·dy  (a = negative slope)."""

    def forward(self, x: Any, negative_slope: float = 0.01) -> Any:
        xp = get_array_module(x)
        self.slope = float(negative_slope)
        positive = x > 0
        self.save_for_backward(positive)
        return xp.where(positive, x, x * self.slope)

    def backward(self, dy: Any) -> Any:
        (positive,) = self.saved_tensors
        return get_array_module(dy).where(positive, dy, dy * self.slope)


class ELU(Function):
    """y = s·x for x > 0, else s·α(eˣ − 1);  dx = s·dy for x > 0, else s·(f₋(x) + α)·dy,
    f₋(x) = α(eˣ − 1) (the notes' "f(x) + α"). s = 1 is ELU; SELU is s = 1.0507, α = 1.6733.
    At x = 0 the left branch is used (α·s), as in PyTorch."""

    def forward(self, x: Any, alpha: float = 1.0, scale: float = 1.0) -> Any:
        xp = get_array_module(x)
        self.alpha, self.scale = float(alpha), float(scale)
        positive = x > 0
        negative_part = self.alpha * xp.expm1(xp.minimum(x, 0))  # never overflows
        self.save_for_backward(positive, negative_part)
        return self.scale * xp.where(positive, x, negative_part)

    def backward(self, dy: Any) -> Any:
        positive, negative_part = self.saved_tensors
        xp = get_array_module(dy)
        return self.scale * xp.where(positive, dy, dy * (negative_part + self.alpha))


class Softplus(Function):
    """y = (1/β) ln(1 + e^(βx)), and y = x where βx > threshold (as PyTorch);
    dx = dy · σ(βx), and dy where βx > threshold.

    Computed as (max(βx, 0) + ln(1 + e^−|βx|)) / β, which never overflows, so any threshold
    (even inf) is safe."""

    def forward(self, x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
        xp = get_array_module(x)
        self.beta = float(beta)
        bx = x * self.beta if self.beta != 1.0 else x
        linear = bx > threshold
        y = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        self.save_for_backward(bx, linear)
        return xp.where(linear, x, y)

    def backward(self, dy: Any) -> Any:
        bx, linear = self.saved_tensors
        return get_array_module(dy).where(linear, dy, dy * stable_sigmoid(bx))


class GELU(Function):
    """Gaussian error linear unit.

    * approximate="none":  y = x·Φ(x);  dx = dy · (Φ(x) + x·φ(x)), Φ the normal CDF (via the
      module's erfc, ~1e-15), φ its density.
    * approximate="tanh":  y = ½x(1 + tanh k),  k = √(2/π)(x + 0.044715x³);
      dx = dy · (½(1 + tanh k) + ½x(1 − tanh²k)·√(2/π)(1 + 3·0.044715x²)).
    """

    KAPPA = 0.044715
    BETA = math.sqrt(2.0 / math.pi)

    def forward(self, x: Any, approximate: str = "none") -> Any:
        xp = get_array_module(x)
        self.approximate = approximate
        if approximate == "tanh":
            t = xp.tanh(self.BETA * (x + self.KAPPA * x * x * x))
            self.save_for_backward(x, t)
            return 0.5 * x * (1.0 + t)
        cdf = ndtr_array(x)
        self.save_for_backward(x, cdf)
        return x * cdf

    def backward(self, dy: Any) -> Any:
        x, saved = self.saved_tensors
        if self.approximate == "tanh":
            t = saved
            inner = self.BETA * (1.0 + 3.0 * self.KAPPA * x * x)
            return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner)
        return dy * (saved + x * normal_pdf(x))


class Swish(Function):
    """y = x·σ(βx) (SiLU when β = 1);  dx = dy · (s + βx·s(1 − s)),  dβ = dy · x²·s(1 − s),
    s = σ(βx). β is a number or an array (a learnable Parameter)."""

    def forward(self, x: Any, beta: Any = 1.0) -> Any:
        s = stable_sigmoid(beta * x)
        self.save_for_backward(x, beta, s)
        return x * s

    def backward(self, dy: Any) -> Any:
        x, beta, s = self.saved_tensors
        ds = s * (1.0 - s)
        dx = dy * (s + beta * x * ds) if self.parents[0] is not None else None
        dbeta = dy * x * x * ds if self.parents[1] is not None else None
        return dx, dbeta


# ----------------------------------------------------------------------------------------------
# softmax family
# ----------------------------------------------------------------------------------------------


def _shifted(x: Any, axis: int) -> Any:
    """x − max(x) along ``axis`` (a max of ±inf is replaced by 0, as in ``LogSumExp``)."""
    xp = get_array_module(x)
    m = x.max(axis=axis, keepdims=True)
    return x - xp.where(xp.isfinite(m), m, 0)


class Softmax(Function):
    """yᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m), m = maxⱼ xⱼ (stable);  dx = y ⊙ (dy − Σⱼ dyⱼ yⱼ)."""

    def forward(self, x: Any, axis: int = -1) -> Any:
        e = get_array_module(x).exp(_shifted(x, axis))
        y = e / e.sum(axis=axis, keepdims=True)
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """yᵢ = (xᵢ − m) − ln Σⱼ e^(xⱼ − m) (stable);  dx = dy − e^y · Σⱼ dyⱼ."""

    def forward(self, x: Any, axis: int = -1) -> Any:
        xp = get_array_module(x)
        z = _shifted(x, axis)
        y = z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        xp = get_array_module(dy)
        return dy - xp.exp(y) * dy.sum(axis=self.axis, keepdims=True)


# ----------------------------------------------------------------------------------------------
# periodic and special functions
# ----------------------------------------------------------------------------------------------


class Sin(Function):
    """y = sin x;  dx = dy · cos x."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return get_array_module(x).sin(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy * get_array_module(x).cos(x)


class Cos(Function):
    """y = cos x;  dx = −dy · sin x."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return get_array_module(x).cos(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return -dy * get_array_module(x).sin(x)


class Erf(Function):
    """y = erf x = (2/√π) ∫₀ˣ e^(−t²) dt;  dx = dy · (2/√π) e^(−x²). Accuracy: module doc."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return erf_array(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy * (TWO_OVER_SQRT_PI * get_array_module(x).exp(-x * x))


class Erfc(Function):
    """y = erfc x = 1 − erf x (accurate in the right tail);  dx = −dy · (2/√π) e^(−x²)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return erfc_array(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy * (-TWO_OVER_SQRT_PI * get_array_module(x).exp(-x * x))


class Ndtr(Function):
    """y = Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF;  dx = dy · φ(x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return ndtr_array(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy * normal_pdf(x)


class Ndtri(Function):
    """Probit y = Φ⁻¹(p), p ∈ (0, 1);  dp = dy / φ(y) = dy · √(2π) e^(y²/2) (the output is
    saved). Accuracy: module doc."""

    def forward(self, p: Any) -> Any:
        y = ndtri_array(p)
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        return dy * (SQRT_2PI * get_array_module(y).exp(0.5 * y * y))
