"""Mixed precision: float16 compute, float32 master weights, dynamic loss scaling.

Switched on by ``compile(..., mixed_precision=True)``. For every training batch ``fit``:

1. casts each trainable floating parameter's ``.data`` to a float16 copy of its float32 master
   (the master array object is kept and put back, so optimisers that hold views of it, and
   ``state_dict()``, only ever see float32) and floating inputs to float16;
2. runs the forward pass in float16, casts the outputs to float32 and computes the loss in
   float32 (as ``torch.autocast`` does for losses);
3. backpropagates ``loss × scale`` — the scale keeps small float16 gradients from flushing to
   zero — then converts every gradient to float32, divides it by the scale and adds it to the
   float32 gradient of the master;
4. puts the float32 masters back;
5. at the optimiser step: if any gradient is not finite (a float16 overflow) the step is
   skipped, the gradients dropped and the scale halved (never below ``min_scale``); otherwise
   the optimiser steps on the float32 masters and, after ``growth_interval`` good steps in a
   row, the scale doubles. Defaults are ``torch.amp.GradScaler``'s: 65536, ×2, ×0.5, 2000.

Buffers (BatchNorm's running statistics) stay float32; where a float16 tensor meets a float32
one NumPy promotes to float32, so those layers compute in float32. Evaluation and prediction
run in float32. NumPy has no float16 matrix multiply in BLAS: on the CPU it is emulated and
*slower* than float32 — mixed precision pays off only on GPUs (CuPy), where it halves memory
traffic and uses tensor cores; on the CPU it is a faithful, slow simulation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["LossScaler", "MixedPrecision"]

HALF = np.dtype(np.float16)
FLOAT = np.dtype(np.float32)


class LossScaler:
    """The dynamic loss scale of mixed-precision training (``torch.amp.GradScaler``'s rule).

    ``update(found_inf)`` after every optimiser step: an overflow multiplies the scale by
    ``backoff_factor`` (not below ``min_scale``) and restarts the count of good steps;
    ``growth_interval`` good steps in a row multiply it by ``growth_factor``.
    ``skipped_steps`` counts the steps skipped so far.
    """

    def __init__(self, init_scale: float = 65536.0, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 min_scale: float = 1.0) -> None:
        if not init_scale > 0 or not growth_factor > 1 or not 0 < backoff_factor < 1:
            raise ValueError("LossScaler: need init_scale > 0, growth_factor > 1 and "
                             f"0 < backoff_factor < 1, got {init_scale}, {growth_factor}, "
                             f"{backoff_factor}")
        self.scale = float(init_scale)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self.min_scale = float(min_scale)
        self.growth_tracker = 0
        self.skipped_steps = 0

    def update(self, found_inf: bool) -> None:
        """Adjust the scale after a step (skipped when ``found_inf``)."""
        if found_inf:
            self.scale = max(self.scale * self.backoff_factor, self.min_scale)
            self.growth_tracker = 0
            self.skipped_steps += 1
            return
        self.growth_tracker += 1
        if self.growth_tracker >= self.growth_interval:
            self.scale *= self.growth_factor
            self.growth_tracker = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "growth_tracker": self.growth_tracker,
                "skipped_steps": self.skipped_steps, "growth_factor": self.growth_factor,
                "backoff_factor": self.backoff_factor, "growth_interval": self.growth_interval,
                "min_scale": self.min_scale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale = float(state["scale"])
        self.growth_tracker = int(state["growth_tracker"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        for key in ("growth_factor", "backoff_factor", "min_scale"):
            if key in state:
                setattr(self, key, float(state[key]))
        if "growth_interval" in state:
            self.growth_interval = int(state["growth_interval"])

    def __repr__(self) -> str:
        return (f"LossScaler(scale={self.scale}, growth_tracker={self.growth_tracker}, "
                f"skipped_steps={self.skipped_steps})")


class MixedPrecision:
    """float16 copies of a model's trainable parameters around each forward/backward pass.

    ``params``: the trainable floating parameters (float32 masters). Use::

        with amp.half_precision():        # params now float16
            out = amp.cast_outputs(model(*amp.cast_inputs(xs)))
            loss = loss_fn(out, y)
            loss.backward(scale)          # float16 gradients
        # params float32 again; .grad float32, unscaled, accumulated
        if amp.found_non_finite(): skip the step
    """

    def __init__(self, model: Any, scaler: LossScaler) -> None:
        self.scaler = scaler
        self.params = [p for p in model.parameters()
                       if p.requires_grad and p.data.dtype == FLOAT]

    @contextmanager
    def half_precision(self) -> Iterator[None]:
        """Parameters hold float16 copies inside; on exit the float32 masters come back and
        the float16 gradients are unscaled into the masters' float32 gradients (dropped if
        the block raised). NumPy's overflow warnings are silenced inside: a float16 overflow
        is an expected event, detected and handled by skipping the step."""
        masters = []
        stash = []
        for p in self.params:
            masters.append(p.data)
            stash.append(p.grad)
            p.data = p.data.astype(HALF)
            p.grad = None
        ok = False
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflows are expected here
                yield
            ok = True
        finally:
            scale = self.scaler.scale
            for p, master, previous in zip(self.params, masters, stash, strict=True):
                g16 = p.grad
                p.data = master
                p.grad = previous
                if not ok or g16 is None:
                    continue
                g = g16.astype(FLOAT)
                g /= scale
                if previous is None:
                    p.grad = g
                else:
                    previous += g

    @staticmethod
    def cast_inputs(tensors: list[Tensor]) -> list[Tensor]:
        """Floating inputs as float16 (others unchanged)."""
        return [Tensor._wrap(t.data.astype(HALF)) if t.data.dtype.kind == "f"
                and t.data.dtype != HALF else t for t in tensors]

    @staticmethod
    def cast_outputs(tensors: list[Tensor]) -> list[Tensor]:
        """float16 outputs cast to float32 (differentiably), for a float32 loss."""
        return [t.to(FLOAT) if t.dtype == HALF else t for t in tensors]

    def found_non_finite(self) -> bool:
        """Whether any (unscaled float32) gradient holds an inf or a NaN."""
        for p in self.params:
            g = p.grad
            if g is None:
                continue
            xp = backend.get_array_module(g)
            if not bool(xp.isfinite(g).all()):
                return True
        return False

    def backward_scale(self, accumulation: int) -> float:
        """The factor the loss is multiplied by before backward: scale / k."""
        return self.scaler.scale / accumulation

