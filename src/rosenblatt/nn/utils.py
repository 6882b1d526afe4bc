"""Gradient clipping, with ``torch.nn.utils``' semantics.

Call between ``loss.backward()`` and ``optimizer.step()``::

    loss.backward()
    clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

Both work in place on the ``.grad`` arrays (NumPy or CuPy) and skip parameters without one.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable
from typing import Any, Union

import numpy as np

from .. import backend
from ..tensor import Tensor

TensorsT = Union[Tensor, Iterable[Tensor]]  # noqa: UP007 (a runtime alias)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _vector_norm(xp: Any, a: Any, p: float) -> float:
    """‖a‖_p of the flattened array as a Python float (p may be inf, −inf or 0)."""
    if a.size == 0:
        return 0.0 if p != -math.inf else math.inf
    if p == 2.0:
        return math.sqrt(float(xp.vdot(a, a).real))
    if p == math.inf:
        return float(xp.maximum(a.max(), -a.min()))  # NaN propagates, as in max|a|
    if p == -math.inf:
        return float(xp.abs(a).min())
    if p == 0.0:
        return float(xp.count_nonzero(a))
    if p == 1.0:
        return float(xp.abs(a).sum())
    return float((xp.abs(a) ** p).sum()) ** (1.0 / p)


def _grads(tensors: Iterable[Any]) -> list[Any]:
    out = []
    for t in tensors:
        g = t.grad if isinstance(t, Tensor) else t
        if g is not None:
            out.append(g)
    return out


def get_total_norm(
    tensors: TensorsT | Iterable[Any], norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """The ``norm_type``-norm of all the given arrays together, as if concatenated: the norm of
    the vector of their individual norms. Tensors contribute their ``.grad`` (skipped when
    None), arrays themselves. Returns a 0-d Tensor (0 when there is nothing to measure)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    grads = _grads(tensors)
    p = float(norm_type)
    if not grads:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    norms = [_vector_norm(backend.get_array_module(g), g, p) for g in grads]
    total = _vector_norm(np, np.asarray(norms, dtype=np.float64), p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite "
            f"({total}), so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    first = grads[0]
    xp = backend.get_array_module(first)
    return Tensor(xp.asarray(total, dtype=first.dtype))


def clip_grads_with_norm_(
    parameters: TensorsT, max_norm: float, total_norm: Tensor | float
) -> None:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))`` in place.

    As PyTorch, a non-finite ``total_norm`` is not guarded against: an infinite norm zeroes the
    finite gradients (and turns infinite entries into NaN), a NaN norm makes every gradient NaN.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = _grads(parameters)
    if not grads:
        return
    norm = total_norm.item() if isinstance(total_norm, Tensor) else float(total_norm)
    dtype = np.dtype(grads[0].dtype).type  # PyTorch does this arithmetic in the grads' dtype
    coef = dtype(max_norm) / (dtype(norm) + dtype(1e-6))
    if coef >= 1.0:  # the clamp to 1 leaves the gradients unchanged: skip the pass
        return
    with np.errstate(invalid="ignore"):  # inf·0 = NaN is the documented outcome, silently
        for g in grads:
            g *= coef


def clip_grad_norm_(
    parameters: TensorsT,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Rescale the gradients so that their total norm is at most ``max_norm``.

    ``total = ‖(‖g₁‖, ‖g₂‖, …)‖`` (the ``norm_type``-norm of all gradients concatenated;
    ``float("inf")`` for the largest absolute entry), then every gradient is multiplied by
    ``min(1, max_norm / (total + 1e-6))``: the direction is kept, only the length is capped —
    the standard remedy for exploding gradients. ``error_if_nonfinite=True`` raises when the
    total is NaN or infinite instead of scaling by it.

    Returns the total norm before clipping (a 0-d Tensor), useful to log.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    total = get_total_norm(parameters, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: TensorsT, clip_value: float) -> None:
    """Clamp every gradient entry into ``[−clip_value, clip_value]`` in place (NaN stays NaN).

    Unlike norm clipping this changes the gradient's direction."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    c = float(clip_value)
    for g in _grads(parameters):
        xp = backend.get_array_module(g)
        xp.clip(g, -c, c, out=g)
