"""``ImageFolder``: images in one subfolder per class, read with Pillow (optional dependency).

    root/cat/001.png
    root/cat/xyz.jpg
    root/dog/a.png

Classes are the subfolder names, sorted; class i is the i-th name. Files are taken in sorted
order, those with an image extension only. Samples are ``(image, class index)``; the image is
read by Pillow, converted to ``mode`` ("RGB" by default, "L" for grey) and returned as CHW
float32 in [0, 1] — the canonical format the transforms take — before ``transform``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import Dataset

__all__ = ["ImageFolder", "IMG_EXTENSIONS", "load_image"]

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm",
                  ".webp")


def _pil_image() -> Any:
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - exercised only without Pillow
        raise ImportError("reading image files needs Pillow: pip install pillow (or "
                          "pip install 'rosenblatt[images]')") from e
    return Image


def load_image(path: str | Path, mode: str = "RGB") -> np.ndarray:
    """The image at ``path`` as CHW float32 in [0, 1] (Pillow, converted to ``mode``)."""
    Image = _pil_image()
    with Image.open(path) as im:
        a = np.asarray(im.convert(mode))
    if a.ndim == 2:
        a = a[:, :, None]
    scale = 65535.0 if a.dtype == np.uint16 else 255.0
    return np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32) / np.float32(scale)


class ImageFolder(Dataset):
    """A folder of class subfolders of images.

    Attributes: ``classes`` (sorted subfolder names), ``class_to_idx``, ``samples`` (list of
    ``(path, class index)``), ``targets`` (int64 array).
    """

    def __init__(self, root: str | Path, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS, mode: str = "RGB",
                 loader: Callable[[Path], Any] | None = None) -> None:
        if loader is None:
            _pil_image()  # fail here, with the install hint, not at the first sample
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder")
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: no class subfolders in {self.root}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        exts = tuple(e.lower() for e in extensions)
        self.samples: list[tuple[Path, int]] = []
        for c in self.classes:
            files = sorted(p for p in (self.root / c).rglob("*")
                           if p.is_file() and p.suffix.lower() in exts)
            self.samples += [(p, self.class_to_idx[c]) for p in files]
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no files with extensions {exts} under "
                                    f"{self.root}")
        self.targets = np.asarray([t for _, t in self.samples], dtype=np.int64)
        self.transform = transform
        self.target_transform = target_transform
        self.mode = mode
        self.loader = loader

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        x: Any = self.loader(path) if self.loader is not None else load_image(path, self.mode)
        y: Any = np.int64(target)
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __repr__(self) -> str:
        return (f"ImageFolder({str(self.root)!r}, n={len(self)}, classes={len(self.classes)}, "
                f"transform={self.transform!r})")
