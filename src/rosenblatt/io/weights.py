"""Pre-trained weights in and out: ``load_weights`` / ``save_weights`` pick the format from the
file's extension, and ``download_weights`` fetches a file only when called, checking its SHA-256.

    model.load_state_dict(load_weights("resnet18.pth"))          # torchvision's keys, as saved
    save_weights("mlp.safetensors", model.state_dict())

- ``.safetensors``: read and written (``safetensors_format``; the ``safetensors`` package is
  used when installed);
- ``.npz``: read with ``np.load(allow_pickle=False)`` (a rosenblatt checkpoint through
  ``load_checkpoint``), written as one member per key;
- ``.pth``, ``.pt``, ``.bin``, ``.ckpt``: PyTorch files, read by ``torch_format.load_torch``
  (a restricted unpickler), never written.

No format executes code on loading. Keys are kept exactly, so a state dict saved by PyTorch
(``"features.0.weight"``, ``"module.…"`` from DataParallel included) loads into the model with the
same names. Arrays come back as NumPy arrays with the saved dtype in native byte order (bfloat16
as float32).
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..checkpoint import HEADER_KEY, _as_host_array, _write_npz, atomic_write, load_checkpoint
from .common import WeightsFormatError, select_state_dict
from .safetensors_format import load_safetensors, save_safetensors
from .torch_format import load_torch

__all__ = ["ChecksumError", "DownloadError", "download_weights", "file_sha256", "load_weights",
           "save_weights"]

TORCH_EXTENSIONS = (".pth", ".pt", ".bin", ".ckpt")
LOAD_EXTENSIONS = (".safetensors", ".npz", *TORCH_EXTENSIONS)
SAVE_EXTENSIONS = (".safetensors", ".npz")


class DownloadError(OSError):
    """A download that could not be made (no network, unreachable host, HTTP error)."""


class ChecksumError(ValueError):
    """A downloaded file whose SHA-256 differs from the expected one (nothing was written)."""


def load_weights(path: str | os.PathLike[str], key: str | None = None) -> dict[str, np.ndarray]:
    """The state dict stored at ``path`` as ``{name: np.ndarray}``, format by extension
    (``.safetensors``, ``.npz``, ``.pth``/``.pt``/``.bin``/``.ckpt``; see the module docstring).

    A checkpoint whose top level is not itself a state dict (``{"epoch": 3, "state_dict": …}``)
    is searched for ``"state_dict"``, ``"model_state_dict"`` or ``"model"``; ``key="ema"``
    (``"a/b"`` for nested dicts) picks another entry. Raises ``WeightsFormatError`` naming the
    path for an unknown extension or an unreadable file, ``UnsafePickleError`` for a PyTorch
    file that would run code, FileNotFoundError for a missing file.
    """
    path = os.fspath(path)
    ext = _extension(path, LOAD_EXTENSIONS, "load")
    if ext == ".safetensors":
        tree: Any = load_safetensors(path)
    elif ext == ".npz":
        tree = _load_npz(path)
    else:
        tree = load_torch(path)
    state = select_state_dict(tree, key, path)
    for name, array in state.items():
        if not array.dtype.isnative:
            state[name] = array.astype(array.dtype.newbyteorder("="))
    return state


def save_weights(path: str | os.PathLike[str], state_dict: Mapping[str, Any],
                 metadata: Mapping[str, str] | None = None) -> None:
    """Write ``state_dict`` (names → Tensors, NumPy or CuPy arrays) to ``path`` atomically, as
    ``.safetensors`` (with optional str → str ``metadata``) or ``.npz`` (one member per key,
    read back by ``load_weights`` or ``np.load``). Keys are kept exactly. Raises
    ``WeightsFormatError`` for another extension, TypeError for a value that cannot be stored,
    before anything is written."""
    path = os.fspath(path)
    ext = _extension(path, SAVE_EXTENSIONS, "save")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"save_weights: key {name!r} is not a non-empty string")
        array = _as_host_array(value)
        arrays[name] = np.asarray(value) if array is None else array
        if arrays[name].dtype.hasobject:
            raise TypeError(f"save_weights: {name!r} has dtype object, which is never stored")
    if ext == ".safetensors":
        save_safetensors(path, arrays, metadata)
        return
    if metadata:
        raise TypeError("save_weights: metadata is stored in .safetensors files only")
    if HEADER_KEY in arrays:
        raise TypeError(f"save_weights: the key {HEADER_KEY!r} is reserved for checkpoints")
    atomic_write(path, lambda f: _write_npz(f, arrays, compress=False))


def _extension(path: str, allowed: tuple[str, ...], verb: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in allowed:
        raise WeightsFormatError(f"cannot {verb} weights at {path!r}: the extension {ext!r} is "
                                 f"not one of {', '.join(allowed)}")
    return ext


def _load_npz(path: str) -> Any:
    """A plain ``.npz`` as ``{member: array}``, or the tree of a rosenblatt checkpoint."""
    with open(path, "rb") as f:
        try:
            npz = np.load(f, allow_pickle=False)
        except Exception as err:
            raise WeightsFormatError(f"{path!r} is not a readable .npz file "
                                     f"({type(err).__name__}: {err})") from None
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise WeightsFormatError(f"{path!r} holds a single .npy array, not named weights")
        with npz:
            if HEADER_KEY in npz.files:
                return load_checkpoint(path)
            try:
                return {name: npz[name] for name in npz.files}
            except ValueError as err:
                raise WeightsFormatError(
                    f"{path!r}: a member holds pickled Python objects, which are never loaded "
                    f"({err})") from None
            except Exception as err:
                raise WeightsFormatError(f"{path!r} is truncated or corrupt "
                                         f"({type(err).__name__}: {err})") from None


# ---------------------------------------------------------------------------------------------
# downloading (only ever when called)
# ---------------------------------------------------------------------------------------------


def download_weights(url: str, path: str | os.PathLike[str], sha256: str,
                     timeout: float = 60.0) -> str:
    """Fetch ``url`` (``https``, ``http`` or ``file``) to ``path`` and return ``path``.

    The bytes are streamed to a temporary file next to ``path`` while their SHA-256 is
    computed; only when it equals ``sha256`` (64 hex digits, any case) is the file renamed onto
    ``path`` (atomic). A file already at ``path`` with the right digest is kept without any
    download. Raises ``ChecksumError`` (nothing written) for a digest mismatch and
    ``DownloadError`` naming the URL when it cannot be fetched (no network, HTTP error).
    Nothing in rosenblatt calls this implicitly.
    """
    path = os.fspath(path)
    expected = sha256.lower() if isinstance(sha256, str) else ""
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise ValueError(f"download_weights: sha256 must be 64 hexadecimal digits, got "
                         f"{sha256!r}")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("https", "http", "file"):
        raise ValueError(f"download_weights: unsupported URL scheme {scheme!r} in {url!r}")
    if os.path.isfile(path) and file_sha256(path) == expected:
        return path
    digest = hashlib.sha256()

    def fetch(f: Any) -> None:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError) as err:
            raise _download_error(url, err) from err
        with response:
            while True:
                try:
                    chunk = response.read(1 << 20)
                except OSError as err:
                    raise _download_error(url, err) from err
                if not chunk:
                    break
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != expected:
            raise ChecksumError(f"the file downloaded from {url!r} has SHA-256 "
                                f"{digest.hexdigest()}, expected {expected}; nothing was written")

    atomic_write(path, fetch)
    return path


def _download_error(url: str, err: Exception) -> DownloadError:
    if isinstance(err, urllib.error.HTTPError):
        return DownloadError(f"could not download {url!r}: HTTP {err.code} {err.reason}")
    reason = getattr(err, "reason", None) or err
    return DownloadError(f"could not download {url!r}: {reason} (is the network reachable?)")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
