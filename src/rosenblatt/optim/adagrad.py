"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any

from .. import backend
from .optimizer import Optimizer, ParamsT


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), exactly ``torch.optim.Adagrad``.

    At step ``t`` (from 1), with ``g = ∇L(θ) + weight_decay·θ`` (``−∇L`` with ``maximize``)::

        lr_t = lr / (1 + (t − 1)·lr_decay)
        G    ← G + g²                       (G starts at initial_accumulator_value)
        θ    ← θ − lr_t · g / (√G + eps)

    Coordinates with large past gradients take small steps; the step sizes only ever shrink.

    State per parameter: ``step``, ``sum`` (G).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay),
                            ("weight_decay value", weight_decay),
                            ("initial_accumulator_value value", initial_accumulator_value),
                            ("epsilon value", eps)):
            if value < 0.0:
                raise ValueError(f"Invalid {name}: {value}")
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p in self._active(group):
            x = p.data
            xp = backend.get_array_module(x)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["sum"] = xp.full_like(x, group["initial_accumulator_value"])
            state["step"] += 1
            step = state["step"]
            g = self._grad_term(x, p.grad, group["weight_decay"], group["maximize"])
            clr = lr / (1 + (step - 1) * lr_decay)
            total = state["sum"]
            self._addcmul_(xp, total, g, g, 1.0, self._work(x, 1))
            std = self._work(x, 1)
            xp.sqrt(total, out=std)
            std += eps
            self._addcdiv_(xp, x, g, std, -clr, self._work(x, 2))
