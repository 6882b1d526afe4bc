"""Adam (and AMSGrad): momentum on the gradient, scaled by a running RMS of the gradient.

With numba (optional, ``ops/jit.py``), a parameter whose array, gradient and state are
C-contiguous NumPy float32/float64 arrays of one dtype takes its step in one compiled pass
(``ops/optim_numba.py``: one read of each array, one write of each updated one, instead of about
13 ufunc passes), bit for bit the NumPy path's result. Without numba, with
``ROSENBLATT_NUMBA=0`` or ``jit.use_numba(False)``, and for CuPy arrays, the NumPy path runs.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..ops import jit
from .optimizer import Optimizer, ParamsT, check_adam_hyperparameters, fits_kernel


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), exactly ``torch.optim.Adam``; AMSGrad with ``amsgrad=True``.

    At step ``t`` (from 1), with ``g = ∇L(θ) + weight_decay·θ`` (coupled L2 decay; ``−∇L``
    with ``maximize``)::

        V ← β₁·V + (1 − β₁)·g               first moment (momentum)
        U ← β₂·U + (1 − β₂)·g²              second moment
        V̂ = V / (1 − β₁ᵗ),  Û = U / (1 − β₂ᵗ)
        amsgrad=True:  U_max ← max(U_max, U);  Û = U_max / (1 − β₂ᵗ)
        θ ← θ − lr · V̂ / (√Û + eps)

    The bias corrections divide by ``1 − βᵗ``: V and U start at 0, so early averages are too
    small by exactly that factor. The notes write ``V/(1 − β₁)`` (no ``t``) and put eps inside
    the root (``√(Û + eps)``); we implement the paper's and PyTorch's formula above.

    ``decoupled_weight_decay=True`` turns the L2 term into AdamW's decay (see ``AdamW``).

    State per parameter: ``step``, ``exp_avg`` (V), ``exp_avg_sq`` (U); ``max_exp_avg_sq``
    with amsgrad.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_adam_hyperparameters(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, eps, amsgrad = group["lr"], group["eps"], group["amsgrad"]
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        decoupled = group["decoupled_weight_decay"]
        kern = None if jit.mode() is False else jit.kernels("optim_numba")
        for p in self._active(group):
            x = p.data
            xp = backend.get_array_module(x)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(x)
                state["exp_avg_sq"] = xp.zeros_like(x)
                if amsgrad:
                    state["max_exp_avg_sq"] = xp.zeros_like(x)
            state["step"] += 1
            step = state["step"]
            if kern is not None and _step_compiled(kern, x, p.grad, state, group, step):
                continue
            if wd and decoupled:
                x *= 1.0 - lr * wd
                g = self._grad_term(x, p.grad, 0.0, group["maximize"])
            else:
                g = self._grad_term(x, p.grad, wd, group["maximize"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            t = self._work(x, 2)
            self._lerp_(xp, exp_avg, g, 1.0 - beta1, t)
            exp_avg_sq *= beta2
            self._addcmul_(xp, exp_avg_sq, g, g, 1.0 - beta2, t)

            step_size = lr / (1 - beta1**step)
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            second = exp_avg_sq
            if amsgrad:
                second = state["max_exp_avg_sq"]
                xp.maximum(second, exp_avg_sq, out=second)
            denom = self._work(x, 1)
            xp.sqrt(second, out=denom)
            denom /= bias_correction2_sqrt
            denom += eps
            self._addcdiv_(xp, x, exp_avg, denom, -step_size, t)


def _step_compiled(kern: Any, x: Any, grad: Any, state: dict[str, Any], group: dict[str, Any],
                   step: int) -> bool:
    """Adam's step ``step`` of the parameter array ``x`` by ``optim_numba.adam``: the formulas
    of ``Adam._step_group`` in one pass, every operation in x's dtype (the scalars below cast to
    it, as NumPy's ufuncs cast Python floats), so the result is the NumPy path's bit for bit.
    Returns False, having done nothing, when the arrays do not fit the kernel (not NumPy
    float32/64, not C-contiguous, dtypes or shapes differ)."""
    amsgrad = group["amsgrad"]
    arrays = [grad, state["exp_avg"], state["exp_avg_sq"]]
    if amsgrad:
        arrays.append(state["max_exp_avg_sq"])
    if not fits_kernel(x, *arrays):
        return False
    lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    decoupled = bool(wd and group["decoupled_weight_decay"])
    weight = 1.0 - beta1  # the lerp weight of m toward g, in its two forms as torch.lerp
    cast = x.dtype.type
    flat = [a.reshape(-1) for a in arrays]
    kern.adam(x.reshape(-1), flat[0], flat[1], flat[2], flat[-1],
              cast(1.0 - lr * wd if decoupled else 1.0), cast(0.0 if decoupled else wd),
              bool(group["maximize"]), cast(weight), weight < 0.5, cast(1.0 - weight),
              cast(beta2), cast(1.0 - beta2), bool(amsgrad), cast(-(lr / (1 - beta1**step))),
              cast((1 - beta2**step) ** 0.5), cast(eps))
    return True
