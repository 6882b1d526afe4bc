"""Adadelta: Adagrad without a global learning rate schedule to pick."""

from __future__ import annotations

from typing import Any

from .. import backend
from .optimizer import Optimizer, ParamsT


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), exactly ``torch.optim.Adadelta``.

    With ``g = ∇L(θ) + weight_decay·θ`` (``−∇L`` with ``maximize``)::

        E[g²]  ← ρ·E[g²] + (1 − ρ)·g²
        Δ      = √(E[Δ²] + eps) / √(E[g²] + eps) · g
        E[Δ²]  ← ρ·E[Δ²] + (1 − ρ)·Δ²
        θ      ← θ − lr·Δ

    The ratio of the two running RMS values gives every coordinate a step in the units of θ;
    ``lr`` (1.0 by default) only scales it.

    State per parameter: ``step``, ``square_avg`` (E[g²]), ``acc_delta`` (E[Δ²]).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p in self._active(group):
            x = p.data
            xp = backend.get_array_module(x)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(x)
                state["acc_delta"] = xp.zeros_like(x)
            state["step"] += 1
            g = self._grad_term(x, p.grad, group["weight_decay"], group["maximize"])
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            t = self._work(x, 3)
            square_avg *= rho
            self._addcmul_(xp, square_avg, g, g, 1.0 - rho, t)
            std = self._work(x, 1)
            xp.add(square_avg, eps, out=std)
            xp.sqrt(std, out=std)
            delta = self._work(x, 2)
            xp.add(acc_delta, eps, out=delta)
            xp.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            acc_delta *= rho
            self._addcmul_(xp, acc_delta, delta, delta, 1.0 - rho, t)
            delta *= lr
            x -= delta
