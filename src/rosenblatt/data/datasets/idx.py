"""MNIST and Fashion-MNIST from IDX files (gzipped or not), never downloaded unless asked.

IDX format (LeCun): bytes 0–1 zero, byte 2 the element type (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of dimensions d, then d big-endian
uint32 sizes, then the elements, big-endian, row-major. Images are (N, 28, 28) uint8, labels
(N,) uint8.

Where the files are looked for, in order: ``root`` (and ``root/<name>``, ``root/<name>/raw``);
the Debian package's folder (``apt-get install dataset-fashion-mnist`` puts Fashion-MNIST in
``/usr/share/datasets/fashion-mnist``); ``$ROSENBLATT_DATA/<name>`` (default
``~/.cache/rosenblatt/datasets/<name>``). Only with ``download=True`` are missing files fetched,
into ``root`` or that cache folder, and checked against their SHA-256.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._base import DatasetNotFoundError, ImageArrayDataset, data_home, download_file, find_file

__all__ = ["read_idx", "write_idx", "MNIST", "FashionMNIST"]

_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {np.dtype(v).newbyteorder("=") if v.itemsize > 1 else v: k
              for k, v in _IDX_TYPES.items()}


def _read_bytes(path: str | Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        raw = gzip.decompress(raw)
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """The array in an IDX file (gzipped or not), in native byte order."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic {raw[:4].hex()})")
    dtype = _IDX_TYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header says {shape} of {dtype} ({expected} bytes), the "
                         f"file holds {len(raw) - header}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: Any, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzipped when ``compress``, default: name ends in .gz)."""
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=") if a.dtype.itemsize > 1 else a.dtype
    if key not in _IDX_CODES:
        raise TypeError(f"IDX has no element type for {a.dtype}")
    code = _IDX_CODES[key]
    body = (bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
            + np.ascontiguousarray(a, _IDX_TYPES[code]).tobytes())
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        body = gzip.compress(body, mtime=0)
    path.write_bytes(body)
    return path


class _IDXDataset(ImageArrayDataset):
    name: ClassVar[str]
    title: ClassVar[str]
    classes_: ClassVar[list[str]]
    mirrors: ClassVar[list[str]]
    sha256: ClassVar[dict[str, str]]
    system_dirs: ClassVar[list[str]] = []
    apt_package: ClassVar[str | None] = None

    def __init__(self, root: str | Path | None = None, train: bool = True,
                 download: bool = False, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = None if root is None else Path(root).expanduser()
        self.train = bool(train)
        prefix = "train" if train else "t10k"
        images = read_idx(self._locate(f"{prefix}-images-idx3-ubyte", download))
        labels = read_idx(self._locate(f"{prefix}-labels-idx1-ubyte", download))
        super().__init__(images, labels, 255.0, transform, target_transform)
        self.classes = list(self.classes_)

    @classmethod
    def search_folders(cls, root: Path | None) -> list[Path]:
        """The folders looked in, in order."""
        folders: list[Path] = []
        if root is not None:
            folders += [root, root / cls.name, root / cls.name / "raw", root / cls.title / "raw"]
        folders += [Path(d) for d in cls.system_dirs]
        folders.append(data_home() / cls.name)
        return folders

    def _locate(self, stem: str, download: bool) -> Path:
        dotted = stem.replace("-idx", ".idx")  # the original unpacked names: train-images.idx3-…
        names = [stem + ".gz", stem, dotted, dotted + ".gz"]
        folders = self.search_folders(self.root)
        found = find_file(names, folders)
        if found is not None:
            return found
        failure = ""
        if download:
            dest = (self.root if self.root is not None else data_home() / self.name)
            urls = [m + stem + ".gz" for m in self.mirrors]
            try:
                return download_file(urls, self.sha256[stem], dest / (stem + ".gz"))
            except DatasetNotFoundError as e:  # no network: say what else would work
                failure = f" The download failed ({e})."
        hint = (f"`apt-get install {self.apt_package}` (Debian/Ubuntu), " if self.apt_package
                else "")
        raise DatasetNotFoundError(
            f"{self.title}: {stem}(.gz) not found; looked in "
            f"{', '.join(str(f) for f in folders)}.{failure} Get the data with {hint}"
            f"root='folder with the IDX files', or download=True (needs a network; files from "
            f"{self.mirrors[0]})")


class MNIST(_IDXDataset):
    """MNIST hand-written digits: 60,000 train / 10,000 test images (1, 28, 28) in [0, 1].

    ``MNIST(root=None, train=True, download=False, transform=None, target_transform=None)``;
    ``data`` uint8 (N, 28, 28), ``targets`` int64. See the module docstring for where it looks.
    """

    name = "mnist"
    title = "MNIST"
    classes_ = [str(d) for d in range(10)]
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "https://storage.googleapis.com/cvdf-datasets/mnist/"]
    sha256 = {
        "train-images-idx3-ubyte":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
    system_dirs = ["/usr/share/datasets/mnist"]


class FashionMNIST(_IDXDataset):
    """Fashion-MNIST (Zalando, MIT licence): 60,000 / 10,000 clothing images (1, 28, 28).

    Same interface as ``MNIST``; also found where Debian's ``dataset-fashion-mnist`` package
    installs it (``/usr/share/datasets/fashion-mnist``).
    """

    name = "fashion-mnist"
    title = "FashionMNIST"
    classes_ = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot"]
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    sha256 = {
        "train-images-idx3-ubyte":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }
    system_dirs = ["/usr/share/datasets/fashion-mnist"]
    apt_package = "dataset-fashion-mnist"
