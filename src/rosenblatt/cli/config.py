"""The settings of ``rosenblatt train``: defaults, config files (TOML, YAML, JSON), validation.

Precedence: the defaults below < a ``--config`` file < options on the command line. Every run
folder holds the complete, resolved settings as ``config.json``, which ``--config`` reads back,
so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "folder")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "nadam")
AUGMENTATIONS = ("flip", "crop", "affine", "jitter", "erase", "mixup", "cutmix")
SCHEDULES = ("none", "cosine", "step")


class ConfigError(ValueError):
    """A bad option or config file; the message says which and what is allowed."""


@dataclass
class TrainConfig:
    """Everything a training run depends on (``rosenblatt train --help`` explains each)."""

    model: str = "small_cnn"
    dataset: str = "digits"
    data_root: str | None = None
    download: bool = False  # fetch a missing MNIST/Fashion-MNIST/CIFAR (needs a network)
    image_size: int = 32  # dataset "folder": every image resized to image_size × image_size
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None  # None: the optimiser's Keras default (0.01 SGD, 0.001 others)
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    schedule: str = "none"
    augment: list[str] = field(default_factory=list)
    mixed_precision: bool = False
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.2  # for data sets without an official test split
    limit: int | None = None  # use only this many training samples (quick tries)
    patience: int | None = None  # early stopping on val_loss
    out: str = "runs"
    name: str | None = None

    def validate(self) -> TrainConfig:
        """Check every value; raise ConfigError naming the option, the value and what is allowed."""
        from rosenblatt.models import list_models

        if self.model not in list_models():
            _bad("model", self.model, list_models())
        if self.dataset not in DATASETS:
            _bad("dataset", self.dataset, DATASETS)
        if self.optimizer not in OPTIMIZERS:
            _bad("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule not in SCHEDULES:
            _bad("schedule", self.schedule, SCHEDULES)
        for a in self.augment:
            if a not in AUGMENTATIONS:
                _bad("augment", a, AUGMENTATIONS)
        if "mixup" in self.augment and "cutmix" in self.augment:
            raise ConfigError("augment: choose one of mixup and cutmix, not both")
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not (0 < self.val_fraction < 1 and 0 <= self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 1):
            raise ConfigError(f"need 0 < val_fraction, 0 <= test_fraction and their sum < 1, got "
                              f"{self.val_fraction} and {self.test_fraction}")
        _positive("image_size", self.image_size)
        if self.limit is not None:
            _positive("limit", self.limit)
        if self.patience is not None:
            _positive("patience", self.patience)
        if self.dataset == "folder" and not self.data_root:
            raise ConfigError("dataset 'folder' needs data_root (--data-root): a folder with one "
                              "subfolder of images per class")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _bad(option: str, value: Any, allowed: Any) -> None:
    raise ConfigError(f"{option}: unknown value {value!r}; choose one of {', '.join(allowed)}")


def _positive(option: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{option} must be a whole number >= 1, got {value!r}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file, as a dict.

    A TOML or YAML file may hold them at the top level or under a ``[train]`` table.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:  # pragma: no cover - pyyaml is a dependency
                raise ConfigError("reading YAML needs PyYAML: pip install pyyaml") from None
            data = yaml.safe_load(text) or {}
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"config file {str(path)!r}: use .toml, .yaml, .yml or .json")
    except ConfigError:
        raise
    except Exception as e:  # a parse error: say where
        raise ConfigError(f"config file {str(path)!r} could not be read: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a table of settings")
    if isinstance(data.get("train"), dict):
        data = data["train"]
    return {k.replace("-", "_"): v for k, v in data.items()}


def make_config(file_settings: dict[str, Any], cli_settings: dict[str, Any]) -> TrainConfig:
    """Defaults, overridden by ``file_settings``, overridden by ``cli_settings`` (None = unset)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(file_settings) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known settings: "
                          f"{', '.join(sorted(known))}")
    merged = {**file_settings, **{k: v for k, v in cli_settings.items() if v is not None}}
    if isinstance(merged.get("augment"), str):
        merged["augment"] = [a for a in merged["augment"].split(",") if a]
    types = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    for key, value in merged.items():
        merged[key] = _coerce(key, value, str(types[key]))
    return TrainConfig(**merged).validate()


def _coerce(key: str, value: Any, annotation: str) -> Any:
    """Check a config-file value's type (TOML/YAML give typed values; JSON numbers too)."""
    if value is None:
        if "None" in annotation:
            return None
        raise ConfigError(f"{key} cannot be empty")
    base = annotation.split("|")[0].strip()
    if base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "str" and isinstance(value, str):
        return value
    if base.startswith("list") and isinstance(value, list) \
            and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{key}: expected {base}, got {value!r} ({type(value).__name__})")
