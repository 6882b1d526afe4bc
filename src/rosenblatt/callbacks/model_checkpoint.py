"""``ModelCheckpoint``: save the model (or the whole training state) every epoch or on
improvement, atomically, with ``rosenblatt.checkpoint.save_checkpoint``."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

from .base import Callback, infer_mode

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of every epoch, or only when ``monitor`` improves.

    Args:
        filepath: a path, formatted with ``epoch`` (1-based, as Keras) and the epoch's logs:
            ``"ckpt/epoch{epoch:02d}-{val_loss:.4f}.npz"``. Directories are created.
        monitor: the log key compared when ``save_best_only``.
        verbose: 1 prints every save.
        save_best_only: save only when ``monitor`` improves on the best value so far (strictly:
            ``current < best`` in mode "min", ``>`` in "max"); a missing value skips the save
            with a warning.
        save_weights_only: save ``{"model": state_dict}`` only (read it back with
            ``model.load_state_dict(load_checkpoint(path)["model"])``); otherwise the full
            training state of ``rosenblatt.training.save_training_state`` (model, optimiser,
            loss scaler, epoch, step, RNG, callback states, history), from which
            ``fit(..., resume_from=path)`` continues bit-exactly.
        mode: "min", "max" or "auto" (accuracy-like names maximised, others minimised).
        initial_value_threshold: the initial best value.

    The decision is taken in ``on_epoch_end``; the file is written in ``after_epoch``, once
    every callback has finished the epoch, so the saved state is that of the whole epoch. Each
    write is atomic (a temporary file renamed over the target): a crash never leaves a torn
    checkpoint. ``last_saved`` is the path of the last file written.
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str = "epoch", initial_value_threshold: float | None = None) -> None:
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only save_freq='epoch' is supported, "
                             f"got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = int(verbose)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = infer_mode(monitor, mode, "ModelCheckpoint")
        self.initial_value_threshold = initial_value_threshold
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = math.inf if self.mode == "min" else -math.inf
        self.last_saved: str | None = None
        self._pending: str | None = None

    def _improved(self, current: float) -> bool:
        return current < self.best if self.mode == "min" else current > self.best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        filepath = self._file_path(epoch, logs)
        self._pending = None
        if not self.save_best_only:
            self._pending = filepath
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.",
                          stacklevel=2)
            return
        current = float(current)
        if self._improved(current):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            self._pending = filepath
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")

    def after_epoch(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._pending is None:
            return
        path, self._pending = self._pending, None
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            from ..checkpoint import save_checkpoint

            save_checkpoint(path, {"model": self.model.state_dict()})
        else:
            from ..training.state import save_training_state

            save_training_state(path, self.model)
        if self.verbose > 0 and not self.save_best_only:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        self.last_saved = path

    def _file_path(self, epoch: int, logs: dict[str, Any]) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise KeyError(
                f"ModelCheckpoint: failed to format filepath {self.filepath!r}: the key {err} is "
                f"not in the logs (available: epoch, {', '.join(logs)})") from None

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "last_saved": self.last_saved}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.last_saved = state.get("last_saved")
        super().set_state(state)

    def __repr__(self) -> str:
        return (f"ModelCheckpoint({self.filepath!r}, monitor={self.monitor!r}, "
                f"save_best_only={self.save_best_only}, "
                f"save_weights_only={self.save_weights_only}, mode={self.mode!r})")
