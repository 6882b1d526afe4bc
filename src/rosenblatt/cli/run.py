"""A run folder: where ``rosenblatt train`` writes and ``evaluate``/``predict`` read.

Layout of ``<out>/<name>/``::

    config.json            the resolved settings (``rosenblatt train --config`` reads it back)
    meta.json              classes, input shape, normalisation, timings, test metrics
    metrics.csv            one row per epoch: loss, accuracy, val_loss, val_accuracy, lr
    checkpoints/epochNNN.npz   the full training state after every epoch (``--resume``)
    best.npz               the weights of the epoch with the lowest validation loss
    curves.png, confusion_matrix.png, samples.png
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rosenblatt.checkpoint import atomic_write, latest_checkpoint, load_checkpoint
from rosenblatt.cli.config import ConfigError, TrainConfig, make_config

CONFIG = "config.json"
META = "meta.json"


class RunFolder:
    """Paths inside one run folder, and reading/writing its JSON files atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, cfg: TrainConfig) -> RunFolder:
        """A new folder ``<out>/<name>`` (default name: time, model and data set; a numeric
        suffix is added if it exists)."""
        base = cfg.name or f"{time.strftime('%Y%m%d-%H%M%S')}-{cfg.model}-{cfg.dataset}"
        path = Path(cfg.out) / base
        n = 1
        while path.exists():
            n += 1
            path = Path(cfg.out) / f"{base}-{n}"
        (path / "checkpoints").mkdir(parents=True)
        return cls(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2) + "\n"
        atomic_write(self.path / name, lambda f: f.write(text.encode("utf-8")))

    def read_json(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{str(self.path)!r} is not a run folder of `rosenblatt train` "
                              f"(no {name})") from None

    def config(self) -> TrainConfig:
        return make_config(self.read_json(CONFIG), {})

    def meta(self) -> dict[str, Any]:
        return self.read_json(META)

    def latest_checkpoint(self) -> str | None:
        return latest_checkpoint(self.checkpoints) if self.checkpoints.is_dir() else None

    def weights(self, which: str = "best") -> dict[str, Any]:
        """The model state_dict: ``best`` (lowest validation loss), ``last`` (the latest
        epoch's checkpoint) or a path to a checkpoint file."""
        if which == "best":
            path: str | Path | None = self.path / "best.npz"
        elif which == "last":
            path = self.latest_checkpoint()
        else:
            path = which
        if path is None or not Path(path).is_file():
            raise ConfigError(f"no weights {which!r} in run folder {str(self.path)!r}")
        return load_checkpoint(path)["model"]


def latest_run(out: str | os.PathLike[str] = "runs") -> RunFolder:
    """The most recently modified run folder under ``out``."""
    root = Path(out)
    runs = [p for p in root.iterdir() if (p / CONFIG).is_file()] if root.is_dir() else []
    if not runs:
        raise ConfigError(f"no run folder under {str(root)!r}: train a model first "
                          f"(`rosenblatt train`) or name a run folder with --run")
    return RunFolder(max(runs, key=lambda p: (p / META).stat().st_mtime
                         if (p / META).is_file() else p.stat().st_mtime))
