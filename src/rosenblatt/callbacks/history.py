"""``History``: the per-epoch logs of a ``fit`` run (what ``fit`` returns)."""

from __future__ import annotations

import copy
from typing import Any

from .base import Callback

__all__ = ["History"]


class History(Callback):
    """Records every epoch's logs: ``history.history["val_loss"][i]`` is the value after epoch
    ``history.epoch[i]`` (0-based). ``fit`` adds one automatically and returns it; it is also
    set as ``model.history``. A resumed run starts from the history saved in its checkpoint.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._take_restored():
            self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

    def get_state(self) -> dict[str, Any]:
        return {"history": copy.deepcopy(self.history), "epoch": list(self.epoch)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.epoch = [int(e) for e in state.get("epoch", [])]
        super().set_state(state)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
