"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from .adam import Adam
from .optimizer import ParamsT


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019), exactly ``torch.optim.AdamW``.

    Adam's update on the plain gradient ``g = ∇L(θ)``, with the weights shrunk directly
    (decoupled from the adaptive scaling) before it::

        θ ← θ·(1 − lr·weight_decay)
        V ← β₁·V + (1 − β₁)·g;   U ← β₂·U + (1 − β₂)·g²
        θ ← θ − lr · (V/(1 − β₁ᵗ)) / (√(U/(1 − β₂ᵗ)) + eps)

    In Adam's coupled L2 (``weight_decay·θ`` added to ``g``) the decay is divided by √Û like
    the gradient, so weights with large gradients are barely regularised; here every weight
    decays at the same rate ``lr·weight_decay``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
