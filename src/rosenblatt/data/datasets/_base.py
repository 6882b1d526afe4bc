"""Shared pieces of the bundled and file-backed data sets: an image-array dataset, the search for
files on disk, and the one download path (checksummed, only when asked)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import Dataset, default_collate

__all__ = ["ImageArrayDataset", "data_home", "find_file", "download_file", "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are not on disk (and were not to be, or could not be, downloaded)."""


class ImageArrayDataset(Dataset):
    """Images held in one integer array, served as CHW float32 in [0, 1].

    ``data`` is (N, H, W) or (N, C, H, W) integers; sample i is
    ``(transform(data[i] / scale), target_transform(targets[i]))`` with a channel axis added for
    (N, H, W) data. Without transforms ``get_batch`` converts a whole batch at once.
    """

    classes: list[str]

    def __init__(self, data: np.ndarray, targets: np.ndarray, scale: float = 255.0,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        if len(data) != len(targets):
            raise ValueError(f"{len(data)} images but {len(targets)} labels")
        self.data = data
        self.targets = np.asarray(targets, dtype=np.int64)
        self.scale = float(scale)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.data)

    def _images(self, index: Any) -> np.ndarray:
        x = self.data[index].astype(np.float32) * np.float32(1.0 / self.scale)
        if self.data.ndim == 3:
            x = x[..., None, :, :]
        return x

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x: Any = self._images(int(index))
        y: Any = self.targets[int(index)]
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def get_batch(self, index: Any) -> Any:
        """The collated batch ``(x (B, C, H, W) float32, y (B,) int64)``."""
        if self.transform is not None or self.target_transform is not None:
            idx = range(len(self))[index] if isinstance(index, slice) else index
            return default_collate([self[int(i)] for i in idx])
        return self._images(index), self.targets[index]

    @property
    def images(self) -> np.ndarray:
        """Every image as float32 (N, C, H, W) in [0, 1] (no transform)."""
        return self._images(slice(None))

    def __repr__(self) -> str:
        shape = self.data.shape[1:] if self.data.ndim == 4 else (1, *self.data.shape[1:])
        return (f"{type(self).__name__}(n={len(self)}, image={list(shape)}, "
                f"classes={len(getattr(self, 'classes', []))}, transform={self.transform!r})")


def data_home() -> Path:
    """Where downloads go: ``$ROSENBLATT_DATA``, else ``~/.cache/rosenblatt/datasets``."""
    env = os.environ.get("ROSENBLATT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rosenblatt" / "datasets"


def find_file(names: Sequence[str], folders: Sequence[Path]) -> Path | None:
    """The first ``folder/name`` that exists (folders in order, names in order)."""
    for folder in folders:
        for name in names:
            p = Path(folder) / name
            if p.is_file():
                return p
    return None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_file(urls: Sequence[str], sha256: str, dest: Path, timeout: float = 30.0) -> Path:
    """Fetch ``dest`` from the first of ``urls`` that answers; verify its SHA-256.

    The file is written to a temporary name and moved into place only when the checksum
    matches. Raises ``DatasetNotFoundError`` if no URL can be reached (no network) and
    ``ValueError`` on a checksum mismatch.
    """
    import urllib.error  # here, not at import: rosenblatt never needs the network otherwise
    import urllib.request

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
                shutil.copyfileobj(r, out)
        except (urllib.error.URLError, OSError, ValueError) as e:
            tmp.unlink(missing_ok=True)
            errors.append(f"{url}: {e}")
            continue
        digest = sha256_of(tmp)
        if digest != sha256:
            tmp.unlink(missing_ok=True)
            raise ValueError(f"checksum mismatch for {url}: SHA-256 {digest}, expected {sha256}")
        os.replace(tmp, dest)
        return dest
    raise DatasetNotFoundError(f"could not download {dest.name}: " + "; ".join(errors))
