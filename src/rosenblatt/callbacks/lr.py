"""Learning-rate callbacks: ``ReduceLROnPlateau`` and ``LearningRateScheduler`` (Keras 3).

Both change ``lr`` in every ``param_group`` of the optimiser that ``compile`` attached to the
model; ``fit`` logs the first group's ``lr`` of every epoch as ``logs["lr"]``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .base import Callback, get_optimizer, infer_mode

__all__ = ["ReduceLROnPlateau", "LearningRateScheduler"]


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving.

    Keras' rule, at the end of every epoch: during a cooldown the counter goes down and ``wait``
    is held at 0. The value improves when ``current < best − min_delta`` (mode "min"; ``current >
    best + min_delta`` for "max"): ``best`` is updated and ``wait`` reset. Otherwise, outside a
    cooldown, ``wait`` grows and when it reaches ``patience`` every param group with
    ``lr > min_lr`` gets ``lr ← max(lr · factor, min_lr)``, then ``cooldown`` epochs start and
    ``wait`` is reset.

    Args:
        monitor: the log key to watch.
        factor: the multiplier, < 1.
        patience: epochs without improvement before a reduction.
        verbose: 1 prints every reduction.
        mode: "min", "max" or "auto" (accuracy-like names maximised, others minimised).
        min_delta: threshold for a significant improvement (absolute).
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.

    For the optimiser-level scheduler (``rosenblatt.optim.lr_scheduler.ReduceLROnPlateau``),
    which a plain training loop steps itself, see ``LearningRateScheduler``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = int(verbose)
        self.mode = infer_mode(monitor, mode, "ReduceLROnPlateau")
        self.min_delta = float(min_delta)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._take_restored():
            self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        current = float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                optimizer = get_optimizer(self.model, "ReduceLROnPlateau")
                reduced = False
                for group in optimizer.param_groups:
                    old_lr = float(group["lr"])
                    if old_lr > np.float32(self.min_lr):
                        group["lr"] = max(old_lr * self.factor, self.min_lr)
                        reduced = True
                if reduced:
                    if self.verbose > 0:
                        lrs = [g["lr"] for g in optimizer.param_groups]
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {lrs[0] if len(lrs) == 1 else lrs}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        super().set_state(state)

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, mode={self.mode!r}, min_delta={self.min_delta}, "
                f"cooldown={self.cooldown}, min_lr={self.min_lr})")


def _is_plateau_scheduler(scheduler: Any) -> bool:
    try:
        from ..optim.lr_scheduler import ReduceLROnPlateau as Plateau
    except ImportError:  # pragma: no cover - optim not installed in this tree
        Plateau = None
    if Plateau is not None and isinstance(scheduler, Plateau):
        return True
    return type(scheduler).__name__ == "ReduceLROnPlateau"


class LearningRateScheduler(Callback):
    """Set the learning rate every epoch from a schedule, or step an lr-scheduler object.

    ``LearningRateScheduler(schedule)`` with a function ``schedule(epoch, lr) -> new_lr``
    (Keras; the old form ``schedule(epoch)`` works too): called at the start of every epoch
    (0-based) for every param group with that group's current lr.

    ``LearningRateScheduler(scheduler)`` with a ``rosenblatt.optim.lr_scheduler`` object (built
    on the compiled optimiser): ``scheduler.step()`` at the end of every epoch, PyTorch's
    per-epoch convention; a ``ReduceLROnPlateau`` scheduler is stepped with
    ``logs[monitor]``. Its ``state_dict()`` travels in training checkpoints.
    """

    def __init__(self, schedule: Callable[..., float] | Any, verbose: int = 0,
                 monitor: str = "val_loss") -> None:
        self.verbose = int(verbose)
        self.monitor = monitor
        self.scheduler: Any = None
        self.schedule: Callable[..., float] | None = None
        if hasattr(schedule, "step") and hasattr(schedule, "state_dict"):
            self.scheduler = schedule
        elif callable(schedule):
            self.schedule = schedule
            self._two_args = _takes_two_args(schedule)
        else:
            raise TypeError("LearningRateScheduler: expected a function schedule(epoch, lr) or "
                            f"an lr-scheduler object, got {schedule!r}")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.schedule is None:
            return
        optimizer = get_optimizer(self.model, "LearningRateScheduler")
        for group in optimizer.param_groups:
            lr = self.schedule(epoch, float(group["lr"])) if self._two_args \
                else self.schedule(epoch)
            if not isinstance(lr, (float, int, np.floating, np.integer)) or isinstance(lr, bool):
                raise ValueError(
                    f"The output of the `schedule` function should be a float. Got: {lr!r}")
            group["lr"] = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{optimizer.param_groups[0]['lr']}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.scheduler is None:
            return
        if _is_plateau_scheduler(self.scheduler):
            value = (logs or {}).get(self.monitor)
            if value is None:
                warnings.warn(f"LearningRateScheduler: `{self.monitor}` is not in the logs; the "
                              "plateau scheduler was not stepped", stacklevel=2)
                return
            self.scheduler.step(float(value))
        else:
            self.scheduler.step()

    def get_state(self) -> dict[str, Any]:
        if self.scheduler is None:
            return {}
        return {"scheduler": self.scheduler.state_dict()}

    def set_state(self, state: dict[str, Any]) -> None:
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        super().set_state(state)

    def __repr__(self) -> str:
        return f"LearningRateScheduler({self.scheduler or self.schedule!r})"


def _takes_two_args(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` accepts ``(epoch, lr)`` (else the old Keras form ``(epoch)``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    try:
        sig.bind(0, 0.1)
    except TypeError:
        return False
    return True
