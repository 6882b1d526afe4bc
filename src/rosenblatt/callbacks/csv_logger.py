"""``CSVLogger``: one CSV row per epoch (Keras')."""

from __future__ import annotations

import csv
import os
from typing import Any, TextIO

import numpy as np

from .base import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file: a header ``epoch,<keys…>`` then one row per epoch.

    The keys are the sorted keys of the first epoch's logs (with ``val_`` twins added as
    columns when there is no validation, as Keras); a later missing value is written ``NA``.
    ``append=True`` appends to an existing file (writing the header only if it is empty). A run
    resumed from a training checkpoint always appends, with the saved columns. The file is
    flushed after every row.
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False) -> None:
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.writer: Any = None
        self.csv_file: TextIO | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        resumed = self._take_restored()
        if not resumed:
            self.keys = None
        append = self.append or resumed
        self.append_header = True
        if append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self.append_header = not bool(len(f.readline()))
        self.csv_file = open(self.filename, "a" if append else "w", newline="",  # noqa: SIM115
                             encoding="utf-8")
        self.writer = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys],
                                         dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _format(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None

    def get_state(self) -> dict[str, Any]:
        return {"keys": list(self.keys) if self.keys is not None else None}

    def set_state(self, state: dict[str, Any]) -> None:
        self.keys = state.get("keys")
        super().set_state(state)


def _format(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"\"[{', '.join(map(str, value.ravel().tolist()))}]\""
    return value
