"""Stochastic gradient descent, with momentum (two forms), Nesterov momentum and weight decay.

With numba (optional, ``ops/jit.py``), a parameter whose array, gradient and momentum buffer are
C-contiguous NumPy float32/float64 arrays of one dtype takes its step in one compiled pass
(``ops/optim_numba.py``: 3 reads + 2 writes instead of 4 ufunc passes), bit for bit the NumPy
path's result. Without numba, with ``ROSENBLATT_NUMBA=0`` or ``jit.use_numba(False)``, and for
CuPy arrays, the NumPy path below runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..ops import jit
from .optimizer import Optimizer, ParamsT, fits_kernel

_FORMS = ("torch", "ema")


class SGD(Optimizer):
    r"""Stochastic gradient descent: ``θ ← θ − lr·∇``, optionally with momentum.

    Batch, mini-batch or single-sample (stochastic) gradient descent are the same optimiser:
    which one you get is the caller's choice of batch size when computing the loss whose
    gradient ``∇`` is in ``.grad`` (the whole training set, a mini-batch, or one example).

    With ``g = ∇L(θ) + weight_decay·θ`` (coupled L2 decay; ``−∇L`` instead with ``maximize``):

    * ``momentum=0``: ``θ ← θ − lr·g``.
    * ``momentum_form="torch"`` (the default, exactly ``torch.optim.SGD``)::

          V ← β·V + (1 − dampening)·g        (the first step sets V ← g)
          θ ← θ − lr·V
          nesterov=True:  θ ← θ − lr·(g + β·V)

      The notes' form ``V ← β·V + α·∇, θ ← θ − V`` (seed 004) is the same algorithm with the
      learning rate folded into the buffer (their V is ``lr·V`` here), for a constant ``lr``.
      Their Nesterov form, which takes the gradient at the look-ahead point, is the
      ``nesterov=True`` line above after the usual change of variables (the stored parameters
      are the look-ahead ones), so no second forward pass is needed.
    * ``momentum_form="ema"`` (seed 002): an exponential moving average of the gradients::

          v ← β·v + (1 − β)·g                (v starts at 0)
          θ ← θ − lr·v

      This is the torch form with ``dampening = β`` except on the first step (PyTorch's buffer
      starts at ``g``, this one at ``(1 − β)·g``): each gradient enters with weight ``(1 − β)``,
      so at a steady gradient the step is ``lr·g`` instead of ``lr·g/(1 − β)``; to move as far
      as the torch form, use ``lr/(1 − β)``. ``dampening`` and ``nesterov`` are not used with it.

    Args:
        params: Parameters or param-group dicts.
        lr: learning rate α.
        momentum: β (0 disables momentum).
        dampening: damping of the gradient entering the torch-form buffer.
        weight_decay: L2 penalty coefficient (added to the gradient).
        nesterov: Nesterov accelerated momentum (torch form, ``dampening=0``).
        maximize: ascend the objective instead.
        momentum_form: ``"torch"`` or ``"ema"`` (see above).

    State per parameter: ``momentum_buffer`` (when ``momentum != 0``).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        momentum_form: str = "torch",
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if momentum_form not in _FORMS:
            raise ValueError(f"momentum_form must be 'torch' or 'ema', got {momentum_form!r}")
        if momentum_form == "ema" and (dampening != 0.0 or nesterov):
            raise ValueError(
                "momentum_form='ema' damps by the momentum itself: leave dampening=0 and "
                f"nesterov=False (got dampening={dampening}, nesterov={nesterov})"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        momentum_form=momentum_form)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        momentum = group["momentum"]
        nesterov = group["nesterov"]
        ema = group["momentum_form"] == "ema"
        keep = 1.0 - (momentum if ema else group["dampening"])
        kern = None if jit.mode() is False else jit.kernels("optim_numba")
        scalars: dict[Any, tuple] = {}
        for p in self._active(group):
            if kern is not None and self._step_compiled(kern, p, group, keep, ema, scalars):
                continue
            x = p.data
            xp = backend.get_array_module(x)
            d = self._grad_term(x, p.grad, group["weight_decay"], group["maximize"])
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None and not ema:
                    state["momentum_buffer"] = buf = d.copy()  # the first step: V ← g
                else:
                    if buf is None:
                        state["momentum_buffer"] = buf = xp.zeros_like(x)
                    buf *= momentum
                    if keep == 1.0:
                        buf += d
                    else:
                        t = self._work(x, 1)
                        xp.multiply(d, keep, out=t)
                        buf += t
                if nesterov:
                    t = self._work(x, 1)
                    xp.multiply(buf, momentum, out=t)
                    t += d
                    d = t
                else:
                    d = buf
            t = self._work(x, 2)
            xp.multiply(d, lr, out=t)
            x -= t

    def _step_compiled(self, kern: Any, p: Any, group: dict[str, Any], keep: float,
                       ema: bool, scalars: dict[Any, tuple]) -> bool:
        """The step of ``p`` by ``optim_numba.sgd_momentum`` / ``sgd_plain``: the formulas of
        ``_step_group`` in one pass, every operation in the parameter's dtype (the options cast
        to it, as NumPy's ufuncs cast Python floats), so the result is the NumPy path's bit for
        bit. Returns False, having done nothing, when the arrays do not fit the kernels (not
        NumPy float32/64, not C-contiguous, dtypes or shapes differ). ``scalars`` caches the
        cast options per dtype for the rest of the group."""
        x, g = p.data, p.grad
        if not fits_kernel(x, g):
            return False
        options = scalars.get(x.dtype)
        if options is None:
            cast = x.dtype.type
            options = scalars[x.dtype] = (cast(group["lr"]), cast(group["momentum"]), cast(keep),
                                          cast(group["weight_decay"]))
        lr, momentum, keep_x, wd = options
        maximize = bool(group["maximize"])
        if group["momentum"] == 0:
            kern.sgd_plain(x.reshape(-1), g.reshape(-1), lr, wd, maximize)
            return True
        state = self.state[p]
        buf = state.get("momentum_buffer")
        first = False
        if buf is None:
            first = not ema  # the torch form's first step sets V ← g; the ema form's V starts at 0
            buf = np.empty_like(x) if first else np.zeros_like(x)
            state["momentum_buffer"] = buf
        elif not fits_kernel(x, buf):
            return False
        kern.sgd_momentum(x.reshape(-1), g.reshape(-1), buf.reshape(-1), lr, momentum, keep_x,
                          wd, maximize, bool(group["nesterov"]), first)
        return True
