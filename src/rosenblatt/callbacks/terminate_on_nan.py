"""``TerminateOnNaN``: stop training gracefully when the loss becomes NaN or infinite."""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

from .base import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop training (``model.stop_training = True``) after a batch whose loss is NaN or ±inf,
    as Keras' callback.

    Without it, ``fit`` raises ``NonFiniteLossError`` on such a batch. With it, ``fit`` skips
    that batch's update (the weights stay finite, unlike Keras, which applies it), lets this
    callback stop training, and ends normally: the epoch's validation, ``on_epoch_end`` and
    ``on_train_end`` still run (so ``EarlyStopping(restore_best_weights=True)`` restores its
    best weights). ``stopped_batch``/``stopped_epoch`` say where it stopped (None if it did not).
    """

    handles_non_finite = True

    def __init__(self) -> None:
        self.stopped_epoch: int | None = None
        self.stopped_batch: int | None = None
        self._epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.stopped_epoch = None
        self.stopped_batch = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: MutableMapping[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.stopped_epoch = self._epoch
            self.stopped_batch = batch
            self.model.stop_training = True
