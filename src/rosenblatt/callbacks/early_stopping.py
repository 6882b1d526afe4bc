"""``EarlyStopping``: stop training when a monitored value has stopped improving (Keras 3)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .base import Callback, infer_mode

__all__ = ["EarlyStopping", "get_weights", "set_weights"]


def get_weights(model: Any) -> dict[str, np.ndarray]:
    """A copy of every parameter and persistent buffer (the state_dict as NumPy arrays)."""
    from .. import backend

    return {k: np.array(backend.to_numpy(v.data), copy=True)
            for k, v in model.state_dict().items()}


def set_weights(model: Any, weights: dict[str, Any]) -> None:
    """Load ``weights`` (from ``get_weights``) into ``model`` in place."""
    model.load_state_dict(weights)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Exactly Keras 3's rule, at the end of every epoch from ``start_from_epoch`` on: ``wait`` is
    incremented; the value is an improvement when ``current + min_delta < best`` (mode "min";
    ``current − min_delta > best`` for "max"), and then becomes ``best`` and resets ``wait`` to 0
    — but only if it also improves on ``baseline`` when one is given (so training stops after
    ``patience`` epochs when nothing beats the baseline). Without improvement, training stops
    once ``wait >= patience`` (never at epoch 0). ``best`` starts at ±inf (``None`` until the
    first monitored epoch); a NaN value is never an improvement.

    Args:
        monitor: the log key to watch (``"val_loss"``).
        min_delta: smallest change that counts as an improvement (its sign is ignored).
        patience: epochs without improvement before stopping.
        verbose: 1 prints when it stops and when it restores weights.
        mode: "min", "max" or "auto" (loss-like names are minimised, accuracy-like ones
            maximised; anything else raises ValueError, as Keras 3).
        baseline: a value to beat; ``wait`` only resets on epochs that beat it.
        restore_best_weights: at the end of training, load the weights of the best epoch.
        start_from_epoch: epochs of warm-up before monitoring starts.

    ``restore_best_weights``: as Keras 3, the best weights are restored in ``on_train_end``
    whenever they exist — whoever ended training (this callback, another one that set
    ``model.stop_training``, e.g. ``TerminateOnNaN``, or the last epoch). They are the weights
    after the best epoch, or after the first monitored epoch if nothing improved on it. (When
    an exception such as ``NonFiniteLossError`` ends ``fit``, ``on_train_end`` does not run.)

    The state (``wait``, ``best``, ``best_weights``, ``best_epoch``, ``stopped_epoch``) is reset
    in ``on_train_begin``, so the same object can be reused in a second ``fit`` (unlike Keras 3,
    which keeps ``best`` across runs); ``get_state``/``set_state`` carry it through a checkpoint.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = int(verbose)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self._direction: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights: dict[str, np.ndarray] | None = None
        self.best_epoch = 0

    @property
    def direction(self) -> str:
        """"min" or "max" (``mode`` resolved against ``monitor``)."""
        if self._direction is None:
            self._direction = infer_mode(self.monitor, self.mode, "EarlyStopping", strict=True)
        return self._direction

    def _is_improvement(self, value: float, reference: float) -> bool:
        if self.direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._take_restored():
            self._reset()
        self._direction = None
        _ = self.direction  # fail early on an ambiguous monitor

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        current = self._monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.best is None:  # Keras starts from ±inf
            self.best = math.inf if self.direction == "min" else -math.inf
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = get_weights(self.model)  # the first monitored epoch is the best
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = get_weights(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            set_weights(self.model, self.best_weights)

    def _monitor_value(self, logs: dict[str, Any] | None) -> float | None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=3,
            )
            return None
        return float(value)

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def set_state(self, state: dict[str, Any]) -> None:
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else {k: np.asarray(v)
                                                          for k, v in weights.items()}
        super().set_state(state)

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, "
                f"patience={self.patience}, mode={self.mode!r}, baseline={self.baseline}, "
                f"restore_best_weights={self.restore_best_weights}, "
                f"start_from_epoch={self.start_from_epoch})")
