"""Numerical gradient checking (the notes' "gradient checking").

For every input element xᵢ the analytic gradient that backpropagation computes is compared with
the central difference

    ∂L/∂xᵢ ≈ (L(x + ε eᵢ) − L(x − ε eᵢ)) / 2ε,      L(x) = Σ_j v_j · f(x)_j,

where v is a fixed random vector (so every output element takes part, with distinct weights, and
one backward pass gives the whole analytic gradient). The difference is done in float64; its
error is O(ε²) plus rounding O(u/ε), smallest near ε = 1e-6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when analytic and numerical gradients disagree."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check ``fn``'s backward against central finite differences, in float64.

    ``inputs`` are Tensors (or arrays/numbers, held constant); every floating-point Tensor with
    ``requires_grad=True`` is checked. Inputs are copied to float64 first, so ``fn`` runs in
    float64. Passes when |analytic − numeric| ≤ atol + rtol·|numeric| for every element.

    Returns True, or raises ``GradcheckError`` naming the input, the element and both values
    (returns False instead when ``raise_exception=False``).
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    xs = [_as_float64(x) for x in inputs]
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True; nothing to check")

    with no_grad():
        out = fn(*xs)
    v = np.random.default_rng(seed).standard_normal(out.shape)

    def objective() -> float:
        with no_grad():
            return float((np.asarray(fn(*xs).data, dtype=np.float64) * v).sum())

    for i in checked:
        xs[i].grad = None
    y = fn(*xs)
    if not y.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any checked input")
    y.backward(np.asarray(v, dtype=y.dtype))

    for i in checked:
        x = xs[i]
        analytic = np.zeros(x.shape) if x.grad is None else np.asarray(x.grad, dtype=np.float64)
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
        num_flat = numeric.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = objective()
            flat[j] = orig - eps
            minus = objective()
            flat[j] = orig
            num_flat[j] = (plus - minus) / (2 * eps)
        bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            k = tuple(int(j) for j in np.unravel_index(np.argmax(np.abs(analytic - numeric) * bad),
                                                        x.shape))
            msg = (
                f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at {k}: "
                f"∂(Σ v·f)/∂x: backward gives {analytic[k]:.8g}, finite differences give "
                f"{numeric[k]:.8g} "
                f"({int(bad.sum())} of {bad.size} elements off; atol={atol}, rtol={rtol})"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _as_float64(x: Any) -> Any:
    if isinstance(x, Tensor):
        if x.dtype.kind == "f":
            data = np.array(x.numpy() if not x.requires_grad else x.detach().numpy(),
                            dtype=np.float64)
            return Tensor(data, requires_grad=x.requires_grad)
        return x
    return x
