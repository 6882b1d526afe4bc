"""One training or evaluation batch of a compiled model — forward, loss, backward, clip, step —
with mixed precision around it when compiled so (``amp.py``); see ``loop.py`` for the loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..callbacks.base import CallbackList
from ..tensor import Tensor
from .amp import MixedPrecision
from .compile import CompiledModel
from .logs import BatchLogs, EpochTracker

__all__ = ["NonFiniteLossError", "Runner"]


class NonFiniteLossError(FloatingPointError):
    """The loss of a training batch was NaN or infinite; training stopped before that batch's
    update. ``epoch`` and ``batch`` are 0-based; ``value`` is the loss; ``cause`` says whether
    the batch's inputs or targets held NaN/inf (``None`` when they were finite)."""

    def __init__(self, epoch: int, batch: int, value: float, cause: str | None) -> None:
        self.epoch = epoch
        self.batch = batch
        self.value = value
        self.cause = cause
        where = (f"epoch {epoch + 1} (index {epoch}), batch {batch + 1} (index {batch})")
        if cause:
            why = f"{cause}. Clean the data (e.g. np.nan_to_num, or drop those samples)"
        else:
            why = ("the inputs and targets of that batch are finite, so training diverged. "
                   "Lower the learning rate or clip gradients (compile(clip_norm=1.0))")
        super().__init__(
            f"non-finite loss ({value}) at {where}; training stopped before this batch's "
            f"update: {why}, or add the TerminateOnNaN callback to stop gracefully instead")


class Runner:
    """The per-run constants and the forward/backward/step of one model."""

    def __init__(self, model: Any, compiled: CompiledModel, graceful: bool = False) -> None:
        self.model = model
        self.c = compiled
        self.optimizer = compiled.optimizer
        self.k = compiled.grad_accumulation_steps
        self.params = [p for p in model.parameters() if p.requires_grad]
        first = next(iter(model.parameters()), None)
        self.device = "cpu" if first is None else first.device
        self.has_reg = any(m.regularizers for m in model.modules())
        self.amp = MixedPrecision(model, compiled.scaler) \
            if compiled.mixed_precision and compiled.scaler is not None else None
        self.graceful = graceful
        self.pending = 0
        self.clip_norm = compiled.clip_norm
        self.clip_value = compiled.clip_value
        if self.clip_norm is not None or self.clip_value is not None:
            from ..nn.utils import clip_grad_norm_, clip_grad_value_

            self._clip_norm_fn = clip_grad_norm_
            self._clip_value_fn = clip_grad_value_
        self._grad_scale = None if self.k == 1 else 1.0 / self.k  # ∂L/∂loss of backward()

    # ------------------------------------------------------------------ pieces
    def tensor(self, a: Any) -> Tensor:
        """``a`` as a Tensor on the model's device (no copy on the CPU)."""
        if self.device != "cpu" or backend.device_of(a) != "cpu":
            a = backend.move(a, self.device)
        return Tensor._wrap(a)

    def forward(self, xs: list[Any], half: bool = False) -> list[Tensor]:
        """The model's outputs as a list (binding the compiled losses to them on the first
        call); ``half``: float16 inputs, float32 outputs (mixed precision)."""
        ts = [self.tensor(a) for a in xs]
        if half:
            ts = MixedPrecision.cast_inputs(ts)
        out = self.model(*ts)
        single = not isinstance(out, (list, tuple))
        outs = [out] if single else list(out)
        if self.c.losses is None:
            if self.c.loss_spec is None:
                raise RuntimeError("the model was compiled without a loss; pass loss= to "
                                   "compile() to train or evaluate it")
            self.c.bind_outputs(len(outs), single)
        if half:
            outs = MixedPrecision.cast_outputs(outs)
        return outs

    def losses(self, outs: list[Tensor], ys: list[Any]) -> tuple[Tensor, tuple, list[Tensor]]:
        """(training loss, its value and the per-output values as 0-d arrays, targets)."""
        c = self.c
        if len(ys) != len(outs):
            raise ValueError(f"the model returned {len(outs)} output(s) but {len(ys)} target "
                             "array(s) were given")
        yt = [self.tensor(a) for a in ys]
        if c.single_output:
            total = c.losses[0](outs[0], yt[0])
            parts: list[Tensor] = []
        else:
            parts = [fn(o, t) for fn, o, t in zip(c.losses, outs, yt, strict=True)]
            total = None
            for w, part in zip(c.loss_weights, parts, strict=True):
                term = part if w == 1.0 else part * w
                total = term if total is None else total + term
        if self.has_reg:
            total = total + self.model.regularization_loss()
        values = (total.data,) if not parts else (total.data, *[p.data for p in parts])
        return total, values, yt

    def update_metrics(self, outs: list[Tensor], yt: list[Tensor]) -> None:
        """Feed every compiled metric its output and target."""
        if not self.c.has_metrics:
            return
        for i, ms in enumerate(self.c.metrics or ()):
            for m in ms:
                m.update(outs[i], yt[i])

    # ------------------------------------------------------------------ training
    def train_batch(self, xs: list[Any], ys: list[Any], n: int, tracker: EpochTracker,
                    epoch: int, batch: int) -> None:
        """Forward, loss, backward for one batch; steps the optimiser every k batches."""
        amp = self.amp
        if amp is None:
            outs = self.forward(xs)
            total, values, yt = self.losses(outs, ys)
            tracker.add(values, n)
            if not math.isfinite(float(values[0])):
                self.non_finite(values[0], xs, ys, epoch, batch)
                return
            self.update_metrics(outs, yt)
            total.backward(self._grad_scale)
        else:
            with amp.half_precision():
                outs = self.forward(xs, half=True)
                total, values, yt = self.losses(outs, ys)
                tracker.add(values, n)
                if not math.isfinite(float(values[0])):
                    self.non_finite(values[0], xs, ys, epoch, batch)
                    return
                self.update_metrics(outs, yt)
                total.backward(np.asarray(amp.backward_scale(self.k), dtype=total.dtype))
        self.pending += 1
        if self.pending == self.k:
            self.apply_step()

    def non_finite(self, value: Any, xs: list[Any], ys: list[Any], epoch: int,
                   batch: int) -> None:
        """Raise ``NonFiniteLossError`` (or, with TerminateOnNaN, just skip the update)."""
        if self.graceful:
            return
        raise NonFiniteLossError(epoch, batch, float(value), _bad_data(xs, ys))

    def apply_step(self, rescale: float | None = None) -> None:
        """Step the optimiser on the accumulated gradients (× ``rescale``, for a short last
        accumulation window), then clear them."""
        self.pending = 0
        if self.amp is not None:
            found = self.amp.found_non_finite()
            self.amp.scaler.update(found)
            if found:  # float16 overflow: skip this step, try again with half the scale
                self.optimizer.zero_grad()
                return
        if rescale is not None and rescale != 1.0:
            for p in self.params:
                if p.grad is not None:
                    p.grad *= rescale
        if self.clip_norm is not None:
            self._clip_norm_fn(self.params, self.clip_norm)
        if self.clip_value is not None:
            self._clip_value_fn(self.params, self.clip_value)
        self.optimizer.step()
        self.optimizer.zero_grad()

    def run_epoch(self, batches: Iterator[Any], tracker: EpochTracker, callbacks: CallbackList,
                  epoch: int) -> int:
        """Train on every batch (until ``model.stop_training``); returns the batch count."""
        model = self.model
        hooks = callbacks.has_batch_hooks
        count = 0
        for b, (xs, ys, n) in enumerate(batches):
            if hooks:
                callbacks.on_train_batch_begin(b, None)
            self.train_batch(xs, ys, n, tracker, epoch, b)
            count += 1
            if hooks:
                callbacks.on_train_batch_end(b, BatchLogs(tracker, n))
            if model.stop_training:
                break
        if self.pending:
            self.apply_step(rescale=self.k / self.pending)
        return count

    # ------------------------------------------------------------------ evaluation
    def run_eval(self, batches: Iterator[Any], callbacks: CallbackList | None) -> dict[str, Any]:
        """Loss and metrics over ``batches`` without gradients (the caller sets eval mode)."""
        c = self.c
        tracker = EpochTracker(c.loss_keys(), c.metric_entries()) if c.losses is not None \
            else None
        hooks = callbacks is not None and callbacks.has_test_batch_hooks
        with no_grad():
            for b, (xs, ys, n) in enumerate(batches):
                if hooks:
                    callbacks.on_test_batch_begin(b, None)
                outs = self.forward(xs)
                if tracker is None:  # outputs bound by this first forward pass
                    tracker = EpochTracker(c.loss_keys(), c.metric_entries())
                if ys is None:
                    raise ValueError("evaluate needs targets: pass y, or (x, y) batches")
                _, values, yt = self.losses(outs, ys)
                tracker.add(values, n)
                self.update_metrics(outs, yt)
                if hooks:
                    callbacks.on_test_batch_end(b, BatchLogs(tracker, n))
        if tracker is None or not tracker.sizes:
            raise ValueError("evaluate: the data yielded no batches")
        return tracker.results()


def _bad_data(xs: list[Any], ys: list[Any]) -> str | None:
    """Which of a batch's arrays hold NaN/inf (None when all are finite)."""
    found = []
    for what, arrays in (("x", xs), ("y", ys)):
        for i, a in enumerate(arrays or ()):
            if a.dtype.kind == "f":
                xp = backend.get_array_module(a)
                finite = xp.isfinite(a)
                if not bool(finite.all()):
                    rows = int((~finite.reshape(len(a), -1).all(axis=1)).sum())
                    name = what if len(arrays) == 1 else f"{what}[{i}]"
                    found.append(f"{name} has NaN/inf in {rows} sample(s) of this batch")
    return "; ".join(found) if found else None
