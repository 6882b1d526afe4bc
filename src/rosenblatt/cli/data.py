"""The data of a ``rosenblatt train`` run: loading, train/validation/test splits, normalisation
and augmentation.

Every data set is held as arrays: images (N, C, H, W) float32 z-scored with the training split's
per-channel mean and standard deviation, labels (N,) int64. Data sets with an official test split
(MNIST, Fashion-MNIST, CIFAR) keep it and take the validation split out of the training set; the
others (the bundled digits, an image folder) are split three ways, stratified by class, with the
run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rosenblatt.cli.config import ConfigError, TrainConfig
from rosenblatt.data import (
    CIFAR10,
    CIFAR100,
    MNIST,
    DataLoader,
    Digits,
    FashionMNIST,
    TensorDataset,
    TransformDataset,
    stratified_indices,
)
from rosenblatt.data import transforms as T
from rosenblatt.data.transforms import functional as TF


@dataclass
class Splits:
    """Normalised arrays of the three splits, the class names and the normalisation used."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    classes: list[str]
    mean: list[float]
    std: list[float]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.train[0].shape[1:])  # type: ignore[return-value]


def _arrays(ds: Any) -> tuple[np.ndarray, np.ndarray]:
    return ds.images, np.asarray(ds.targets, dtype=np.int64)


def _folder_arrays(root: str, size: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every image of an image folder, resized to ``size``×``size`` RGB, as arrays."""
    from rosenblatt.data import ImageFolder

    ds = ImageFolder(root)
    images = [TF.resize(ds[i][0], (size, size)) for i in range(len(ds))]
    return np.stack(images).astype(np.float32), ds.targets.copy(), list(ds.classes)


def load_raw(cfg: TrainConfig, train: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images in [0, 1] and labels of ``cfg.dataset`` (the training or the test part)."""
    name, root, download = cfg.dataset, cfg.data_root, cfg.download
    if name == "digits":
        ds: Any = Digits()
    elif name == "mnist":
        ds = MNIST(root, train=train, download=download)
    elif name == "fashion-mnist":
        ds = FashionMNIST(root, train=train, download=download)
    elif name == "cifar10":
        ds = CIFAR10(root, train=train, download=download)
    elif name == "cifar100":
        ds = CIFAR100(root, train=train, download=download)
    elif name == "folder":
        return _folder_arrays(str(root), cfg.image_size)
    else:  # validated before; kept for a clear message if called directly
        raise ConfigError(f"unknown dataset {name!r}")
    x, y = _arrays(ds)
    return x, y, list(ds.classes)


def has_test_split(dataset: str) -> bool:
    """Whether the data set comes with its own test set."""
    return dataset in ("mnist", "fashion-mnist", "cifar10", "cifar100")


def load_splits(cfg: TrainConfig) -> Splits:
    """The train/validation/test arrays of ``cfg``, z-scored with the training statistics."""
    x, y, classes = load_raw(cfg, train=True)
    if has_test_split(cfg.dataset):
        idx = stratified_indices(y, [1 - cfg.val_fraction, cfg.val_fraction], seed=cfg.seed)
        train_idx, val_idx = idx[0], idx[1]
        x_test, y_test, _ = load_raw(cfg, train=False)
    else:
        fractions = [1 - cfg.val_fraction - cfg.test_fraction, cfg.val_fraction,
                     cfg.test_fraction]
        train_idx, val_idx, test_idx = stratified_indices(y, fractions, seed=cfg.seed)
        x_test, y_test = x[test_idx], y[test_idx]
    if cfg.limit is not None:
        train_idx = train_idx[:cfg.limit]
    x_train, y_train = x[train_idx], y[train_idx]
    norm = T.Normalize.from_data(x_train)
    mean, std = norm.mean.ravel().tolist(), norm.std.ravel().tolist()
    return Splits(train=(normalize(x_train, mean, std), y_train),
                  val=(normalize(x[val_idx], mean, std), y[val_idx]),
                  test=(normalize(x_test, mean, std), y_test),
                  classes=classes, mean=mean, std=std)


def normalize(x: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """(x − mean[c]) / std[c] per channel c of (N, C, H, W) images, float32."""
    m = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return ((x - m) / s).astype(np.float32)


def sample_augmentation(names: list[str], image_hw: tuple[int, int]) -> T.Compose | None:
    """The per-sample random transforms named in ``names`` (applied to z-scored images, so the
    fill value 0 is the mean colour)."""
    h, w = image_hw
    steps: list[Any] = []
    if "crop" in names:  # shift by up to 1/8 of the side, as CIFAR's 4 pixels of 32
        steps.append(T.RandomCrop((h, w), padding=max(1, h // 8)))
    if "flip" in names:
        steps.append(T.RandomHorizontalFlip())
    if "affine" in names:
        steps.append(T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)))
    if "jitter" in names:
        steps.append(T.ColorJitter(brightness=0.2, contrast=0.2))
    if "erase" in names:
        steps.append(T.RandomErasing(p=0.5))
    return T.Compose(steps) if steps else None


def batch_augmentation(names: list[str], num_classes: int) -> Any:
    """Mixup or CutMix (batch level, soft labels) if named, else None."""
    if "mixup" in names:
        return T.Mixup(0.2, num_classes=num_classes)
    if "cutmix" in names:
        return T.CutMix(1.0, num_classes=num_classes)
    return None


def train_loader(splits: Splits, cfg: TrainConfig) -> DataLoader:
    """Shuffled training batches with the configured augmentation (one background prefetch)."""
    x, y = splits.train
    ds: Any = TensorDataset(x, y)
    per_sample = sample_augmentation(cfg.augment, x.shape[2:])
    if per_sample is not None:
        ds = TransformDataset(ds, transform=per_sample)
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=True,
                      batch_transform=batch_augmentation(cfg.augment, len(splits.classes)),
                      prefetch=2 if per_sample is not None else 0)


def eval_loader(x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> DataLoader:
    """Batches in order, no augmentation."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)
