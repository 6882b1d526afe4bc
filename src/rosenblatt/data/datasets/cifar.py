"""CIFAR-10 and CIFAR-100 from the *binary* release (not the pickled Python one).

A binary file is a run of fixed-size records: CIFAR-10 ``<label byte><3072 pixel bytes>``,
CIFAR-100 ``<coarse label byte><fine label byte><3072 pixel bytes>``; the pixels are the 32×32
red plane, then green, then blue, row-major — already CHW. Files:

* ``cifar-10-batches-bin/``: ``data_batch_1.bin`` … ``data_batch_5.bin`` (train, 5 × 10,000),
  ``test_batch.bin`` (10,000), ``batches.meta.txt`` (class names, one a line).
* ``cifar-100-binary/``: ``train.bin`` (50,000), ``test.bin`` (10,000),
  ``fine_label_names.txt``, ``coarse_label_names.txt``.

The folder is looked for in ``root`` (``root`` itself or ``root/<folder>``), then in
``$ROSENBLATT_DATA`` (default ``~/.cache/rosenblatt/datasets``). With ``download=True`` the
``.tar.gz`` is fetched from www.cs.toronto.edu/~kriz, checked against its SHA-256 and unpacked.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._base import DatasetNotFoundError, ImageArrayDataset, data_home, download_file

__all__ = ["read_cifar_binary", "CIFAR10", "CIFAR100"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def read_cifar_binary(paths: Sequence[str | Path], label_bytes: int = 1
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels uint8 (N, label_bytes)) from binary batch files."""
    record = label_bytes + 3 * 32 * 32
    images, labels = [], []
    for p in paths:
        raw = np.fromfile(p, dtype=np.uint8)
        if raw.size % record:
            raise ValueError(f"{p}: {raw.size} bytes is not a whole number of {record}-byte "
                             f"CIFAR records")
        rows = raw.reshape(-1, record)
        labels.append(rows[:, :label_bytes])
        images.append(rows[:, label_bytes:].reshape(-1, 3, 32, 32))
    return np.concatenate(images), np.concatenate(labels)


def _names(path: Path, fallback: list[str]) -> list[str]:
    if path.is_file():
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if names:
            return names
    return fallback


class _CIFAR(ImageArrayDataset):
    folder: ClassVar[str]
    archive: ClassVar[str]
    url: ClassVar[str]
    sha256: ClassVar[str]
    label_bytes: ClassVar[int]

    def __init__(self, root: str | Path | None = None, train: bool = True,
                 download: bool = False, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = None if root is None else Path(root).expanduser()
        self.train = bool(train)
        folder = self._locate(download)
        files = [folder / f for f in self.files(train)]
        images, labels = read_cifar_binary(files, self.label_bytes)
        self.folder_path = folder
        self._labels = labels
        super().__init__(images, labels[:, -1], 255.0, transform, target_transform)

    @classmethod
    def files(cls, train: bool) -> list[str]:
        raise NotImplementedError

    def search_folders(self) -> list[Path]:
        """Candidate data folders, in order."""
        out: list[Path] = []
        if self.root is not None:
            out += [self.root / self.folder, self.root]
        out.append(data_home() / self.folder)
        return out

    def _locate(self, download: bool) -> Path:
        needed = self.files(self.train)
        candidates = self.search_folders()
        for folder in candidates:
            if all((folder / f).is_file() for f in needed):
                return folder
        failure = ""
        if download:
            base = self.root if self.root is not None else data_home()
            try:
                archive = download_file([self.url], self.sha256, base / self.archive)
            except DatasetNotFoundError as e:
                failure = f" The download failed ({e})."
            else:
                return self._unpack(archive, base)
        raise DatasetNotFoundError(
            f"{type(self).__name__}: {', '.join(needed)} not found; looked in "
            f"{', '.join(str(c) for c in candidates)}.{failure} Pass root='folder holding "
            f"{self.folder}/' (the binary release, {self.url}) or download=True (needs a "
            f"network)")

    def _unpack(self, archive: Path, base: Path) -> Path:
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):  # refuses links and paths outside base
                tar.extractall(base, filter="data")
            else:  # pragma: no cover - Python without extraction filters
                tar.extractall(base)
        return base / self.folder


class CIFAR10(_CIFAR):
    """CIFAR-10: 50,000 train / 10,000 test colour images (3, 32, 32) in [0, 1], 10 classes.

    ``CIFAR10(root=None, train=True, download=False, transform=None, target_transform=None)``;
    ``data`` uint8 (N, 3, 32, 32), ``targets`` int64, ``classes`` from ``batches.meta.txt``.
    """

    folder = "cifar-10-batches-bin"
    archive = "cifar-10-binary.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
    label_bytes = 1

    def __init__(self, root: str | Path | None = None, train: bool = True,
                 download: bool = False, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        super().__init__(root, train, download, transform, target_transform)
        self.classes = _names(self.folder_path / "batches.meta.txt", list(CIFAR10_CLASSES))

    @classmethod
    def files(cls, train: bool) -> list[str]:
        return [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]


class CIFAR100(_CIFAR):
    """CIFAR-100: 50,000 / 10,000 images (3, 32, 32), 100 fine classes in 20 coarse ones.

    ``targets`` are the fine labels (``label="fine"``) or the coarse ones (``label="coarse"``);
    both stay available as ``fine_targets`` and ``coarse_targets``.
    """

    folder = "cifar-100-binary"
    archive = "cifar-100-binary.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    sha256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"
    label_bytes = 2

    def __init__(self, root: str | Path | None = None, train: bool = True,
                 download: bool = False, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 label: str = "fine") -> None:
        if label not in ("fine", "coarse"):
            raise ValueError(f"label must be 'fine' or 'coarse', got {label!r}")
        super().__init__(root, train, download, transform, target_transform)
        self.coarse_targets = self._labels[:, 0].astype(np.int64)
        self.fine_targets = self._labels[:, 1].astype(np.int64)
        self.label = label
        fine = _names(self.folder_path / "fine_label_names.txt", [str(i) for i in range(100)])
        coarse = _names(self.folder_path / "coarse_label_names.txt", [str(i) for i in range(20)])
        self.fine_classes, self.coarse_classes = fine, coarse
        if label == "coarse":
            self.targets = self.coarse_targets
            self.classes = coarse
        else:
            self.targets = self.fine_targets
            self.classes = fine

    @classmethod
    def files(cls, train: bool) -> list[str]:
        return ["train.bin"] if train else ["test.bin"]
