"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from typing import Any

from .. import backend
from .optimizer import Optimizer, ParamsT, check_adam_hyperparameters


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), exactly ``torch.optim.NAdam``.

    At step ``t`` (from 1), with ``g = ∇L(θ) + weight_decay·θ`` (``−∇L`` with ``maximize``;
    with ``decoupled_weight_decay=True`` instead ``θ ← θ·(1 − lr·weight_decay)`` and
    ``g = ∇L(θ)``)::

        μ_t = β₁·(1 − ½·0.96^(t·momentum_decay))      momentum schedule
        Π_t = μ_1·μ_2···μ_t
        V ← β₁·V + (1 − β₁)·g;   U ← β₂·U + (1 − β₂)·g²
        d = √(U / (1 − β₂ᵗ)) + eps
        θ ← θ − lr·(1 − μ_t)/(1 − Π_t) · g/d − lr·μ_{t+1}/(1 − Π_t·μ_{t+1}) · V/d

    The second term looks one step ahead with the next momentum coefficient (Nesterov's trick
    applied to Adam's first moment).

    State per parameter: ``step``, ``mu_product`` (Π_t), ``exp_avg`` (V), ``exp_avg_sq`` (U).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_adam_hyperparameters(lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        wd, psi = group["weight_decay"], group["momentum_decay"]
        decoupled = group["decoupled_weight_decay"]
        for p in self._active(group):
            x = p.data
            xp = backend.get_array_module(x)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["mu_product"] = 1.0
                state["exp_avg"] = xp.zeros_like(x)
                state["exp_avg_sq"] = xp.zeros_like(x)
            state["step"] += 1
            step = state["step"]
            bias_correction2 = 1 - beta2**step
            if wd and decoupled:
                x *= 1.0 - lr * wd
                g = self._grad_term(x, p.grad, 0.0, group["maximize"])
            else:
                g = self._grad_term(x, p.grad, wd, group["maximize"])
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            mu_product = state["mu_product"] * mu
            state["mu_product"] = mu_product
            mu_product_next = mu_product * mu_next

            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            t = self._work(x, 2)
            self._lerp_(xp, exp_avg, g, 1.0 - beta1, t)
            exp_avg_sq *= beta2
            self._addcmul_(xp, exp_avg_sq, g, g, 1.0 - beta2, t)
            denom = self._work(x, 1)
            xp.divide(exp_avg_sq, bias_correction2, out=denom)
            xp.sqrt(denom, out=denom)
            denom += eps
            self._addcdiv_(xp, x, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product), t)
            self._addcdiv_(xp, x, exp_avg, denom, (-lr * mu_next) / (1.0 - mu_product_next), t)
