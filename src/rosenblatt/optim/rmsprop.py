"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

from .. import backend
from .optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes), exactly ``torch.optim.RMSprop``.

    With ``g = ∇L(θ) + weight_decay·θ`` (``−∇L`` with ``maximize``)::

        E[g²] ← α·E[g²] + (1 − α)·g²
        centered=False:  d = √E[g²] + eps
        centered=True:   E[g] ← α·E[g] + (1 − α)·g;   d = √(E[g²] − E[g]²) + eps
        momentum=0:      θ ← θ − lr·g / d
        momentum=μ>0:    B ← μ·B + g / d;             θ ← θ − lr·B

    Coordinates whose gradients have been large recently take smaller steps; the centred form
    normalises by an estimate of the gradient's variance instead of its second moment.

    State per parameter: ``step``, ``square_avg``; ``momentum_buffer`` (momentum > 0);
    ``grad_avg`` (centered).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        for name, value in (("learning rate", lr), ("epsilon value", eps),
                            ("momentum value", momentum), ("weight_decay value", weight_decay),
                            ("alpha value", alpha)):
            if value < 0.0:
                raise ValueError(f"Invalid {name}: {value}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, centered = group["momentum"], group["centered"]
        for p in self._active(group):
            x = p.data
            xp = backend.get_array_module(x)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(x)
                if momentum > 0:
                    state["momentum_buffer"] = xp.zeros_like(x)
                if centered:
                    state["grad_avg"] = xp.zeros_like(x)
            state["step"] += 1
            g = self._grad_term(x, p.grad, group["weight_decay"], group["maximize"])
            square_avg = state["square_avg"]
            t = self._work(x, 2)
            square_avg *= alpha
            self._addcmul_(xp, square_avg, g, g, 1.0 - alpha, t)
            avg = self._work(x, 1)
            if centered:
                grad_avg = state["grad_avg"]
                self._lerp_(xp, grad_avg, g, 1.0 - alpha, t)
                xp.multiply(grad_avg, -1.0, out=t)
                t *= grad_avg
                xp.add(square_avg, t, out=avg)
                xp.sqrt(avg, out=avg)
            else:
                xp.sqrt(square_avg, out=avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                self._addcdiv_(xp, buf, g, avg, 1.0, t)
                xp.multiply(buf, lr, out=t)
                x -= t
            else:
                self._addcdiv_(xp, x, g, avg, -lr, t)
