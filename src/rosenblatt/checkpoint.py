"""Checkpoints: a nested tree of arrays and plain values in one ``.npz`` file — written
atomically, read without ever executing code.

``save_checkpoint(path, tree)`` takes dicts, lists and tuples whose leaves are NumPy arrays,
Tensors and CuPy arrays (saved as host arrays), Python and NumPy numbers, strings, bools and
None::

    save_checkpoint("ckpt/step_001200.npz", {
        "model": model.state_dict(), "rng": rb.get_rng_state(), "step": 1200})
    tree = load_checkpoint(latest_checkpoint("ckpt"))
    model.load_state_dict(tree["model"])

**Format.** A zip of ``.npy`` members (what ``np.savez`` writes). Each array sits under a
path-like key made of its dict keys and list indices (``"model/fc1.weight"``, Chainer's style).
Everything else lives in a JSON header, the member ``__header__`` (UTF-8 bytes as uint8):
``{"format": "rosenblatt.checkpoint", "version": 1, "tree": …, "arrays": {key: [dtype, shape]}}``
where the tree holds plain JSON for numbers, strings, bools, None, lists and str-keyed dicts, and
one-key objects for the rest: ``{"$array": key}``, ``{"$tuple": […]}``, ``{"$float": "nan"}``
(non-finite floats), ``{"$complex": [re, im]}`` and ``{"$dict": [[key, value], …]}`` (a dict with
non-string keys, or with keys that start with ``$``). Plain dicts never have ``$`` keys, so the
tags cannot be confused with data. Python ints of any size are exact in JSON (the RNG state's
128-bit integers included); NumPy scalars become Python numbers.

**Round trip.** Arrays come back as NumPy arrays with the same dtype, shape and bytes (NaN
payloads and -0.0 included). Tensors come back as NumPy arrays, NumPy scalars as Python numbers,
OrderedDicts as dicts (order kept); tuples stay tuples. Object arrays cannot be saved.

**Nothing is lost.** The file is written to a temporary file in the same directory
(``.<name>.XXXX.tmp``), flushed and fsynced, then renamed onto ``path`` with ``os.replace`` (atomic
on POSIX and Windows) and the directory is fsynced. A crash at any moment leaves either the old
checkpoint or the new one, never a torn file; on an error the temporary file is removed. The
file gets the mode a plain ``open`` would give it (0666 less the umask).

**Nobody gets in.** ``load_checkpoint`` reads with ``np.load(allow_pickle=False)``: a file holding
pickled objects is refused, never unpickled. The header is checked (format, version, the dtype and
shape of every array) and a file that is not a checkpoint, truncated or corrupt (the zip's CRC-32
of every member is verified) raises ``CheckpointError`` naming the path.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import math
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import numpy as np

from .tensor import Tensor

FORMAT = "rosenblatt.checkpoint"
VERSION = 1
HEADER_KEY = "__header__"


class CheckpointError(ValueError):
    """A file that is not a readable rosenblatt checkpoint (wrong format, truncated, corrupt,
    or holding pickled data)."""


# ---------------------------------------------------------------------------------------------
# the tree ↔ (JSON-able header tree, arrays by key)
# ---------------------------------------------------------------------------------------------


class _Encoder:
    """Walks a tree once, collecting arrays under unique path-like keys."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._open: set[int] = set()  # containers on the current path (cycle check)

    def key_for(self, path: list[str]) -> str:
        base = "/".join(path) or "array"
        key, n = base, 1
        while key in self.arrays or key == HEADER_KEY:
            key, n = f"{base}~{n}", n + 1
        return key

    def encode(self, value: Any, path: list[str]) -> Any:
        array = _as_host_array(value)
        if array is not None:
            if array.dtype.hasobject:
                raise TypeError(f"save_checkpoint: the array at {_where(path)!r} has dtype "
                                f"{array.dtype}; object arrays would need pickle and are refused")
            key = self.key_for(path)
            self.arrays[key] = array
            return {"$array": key}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float, complex, np.bool_, np.number, np.str_)):
            return _encode_scalar(value.item() if isinstance(value, np.generic) else value)
        if isinstance(value, (Mapping, list, tuple)):
            if id(value) in self._open:
                raise ValueError(f"save_checkpoint: the tree contains itself at {_where(path)!r}")
            self._open.add(id(value))
            try:
                return self._encode_container(value, path)
            finally:
                self._open.discard(id(value))
        raise TypeError(
            f"save_checkpoint: cannot store a value of type {type(value).__name__} at "
            f"{_where(path)!r}; "
            "leaves must be arrays, Tensors, numbers, strings, bools or None (inside dicts, "
            "lists and tuples)"
        )

    def _encode_container(self, value: Any, path: list[str]) -> Any:
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, [*path, str(i)]) for i, v in enumerate(value)]
            return {"$tuple": items} if isinstance(value, tuple) else items
        plain = all(isinstance(k, str) and not k.startswith("$") for k in value)
        if plain:
            return {k: self.encode(v, [*path, k]) for k, v in value.items()}
        pairs = []
        for k, v in value.items():
            pairs.append([_encode_key(k, path), self.encode(v, [*path, str(k)])])
        return {"$dict": pairs}


def _where(path: list[str]) -> str:
    return "/".join(path) or "<root>"


def _as_host_array(value: Any) -> np.ndarray | None:
    """The NumPy array behind an array-like leaf (None for anything else)."""
    if isinstance(value, Tensor):
        value = value.data
    if type(value).__module__.split(".")[0] == "cupy" and hasattr(value, "get"):
        value = value.get()  # CuPy → host
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic) and not isinstance(value, (np.bool_, np.number, np.str_)):
        return np.asarray(value)  # datetime64, bytes_, void: kept exactly as 0-d arrays
    return None


def _encode_scalar(value: Any) -> Any:
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, complex):
        return {"$complex": [_encode_scalar(value.real), _encode_scalar(value.imag)]}
    raise TypeError(f"save_checkpoint: unsupported scalar {value!r}")  # pragma: no cover


def _encode_key(key: Any, path: list[str]) -> Any:
    if isinstance(key, np.generic):
        key = key.item()
    if key is None or isinstance(key, (bool, int, float, str)):
        return _encode_scalar(key) if key is not None else None
    if isinstance(key, tuple):
        return {"$tuple": [_encode_key(k, path) for k in key]}
    raise TypeError(f"save_checkpoint: dict key {key!r} at {_where(path)!r} "
                    "has an unsupported type; keys must be str, int, float, bool, None or tuples")


def _decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (tag, body), = node.items()
        if tag == "$array":
            return arrays[body]
        if tag == "$tuple":
            return tuple(_decode(v, arrays) for v in body)
        if tag == "$float":
            return float(body)
        if tag == "$complex":
            return complex(_decode(body[0], arrays), _decode(body[1], arrays))
        if tag == "$dict":
            return {_decode(k, arrays): _decode(v, arrays) for k, v in body}
        if tag.startswith("$"):
            raise ValueError(f"unknown tag {tag!r} in the header")
    return {k: _decode(v, arrays) for k, v in node.items()}


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def save_checkpoint(path: str | os.PathLike[str], tree: Mapping[str, Any],
                    compress: bool = False) -> None:
    """Write ``tree`` to ``path`` atomically (see the module docstring for the format).

    The file name is used as given (no ``.npz`` is appended). ``compress=True`` deflates the
    arrays (smaller, slower). Raises TypeError for a leaf that cannot be stored, before anything
    is written; on any error an existing checkpoint at ``path`` is left untouched.
    """
    if not isinstance(tree, Mapping):
        raise TypeError(f"save_checkpoint: tree must be a dict, got {type(tree).__name__}")
    encoder = _Encoder()
    encoded = encoder.encode(tree, [])
    header = {
        "format": FORMAT,
        "version": VERSION,
        "tree": encoded,
        "arrays": {k: [a.dtype.str, list(a.shape)] for k, a in encoder.arrays.items()},
    }
    header_bytes = json.dumps(header, allow_nan=False, ensure_ascii=False).encode("utf-8")
    members = {HEADER_KEY: np.frombuffer(header_bytes, dtype=np.uint8), **encoder.arrays}

    atomic_write(path, lambda f: _write_npz(f, members, compress))


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file in ``path``'s directory, flush and fsync it, give
    it the mode a plain ``open`` would (0666 less the umask), then rename it onto ``path`` with
    ``os.replace`` (atomic) and fsync the directory. On any error the temporary file is removed
    and an existing ``path`` is untouched: a reader sees the old file or the new one, never half.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.NamedTemporaryFile(dir=directory, prefix=f".{os.path.basename(path)}.",
                                      suffix=".tmp", delete=False)
    try:
        with tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o666 & ~_umask())
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        raise
    _fsync_directory(directory)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_npz(file: Any, members: Mapping[str, np.ndarray], compress: bool) -> None:
    """What ``np.savez`` writes, without its keyword clashes and with pickling off."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(file, mode="w", compression=method, allowZip64=True) as zf:
        for key, array in members.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); skipped where a directory cannot be opened (Windows)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``: the same nested tree, with NumPy arrays
    for array leaves. Never unpickles; raises ``CheckpointError`` (naming the path) for a file
    that is not a checkpoint, is truncated or corrupt, or holds pickled data, and
    FileNotFoundError for a missing file."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        try:
            return _read(f, path)
        except CheckpointError:
            raise
        except Exception as err:
            text = str(err)
            if "pickle" in text or "Object arrays" in text:
                text = ("it holds pickled Python objects, which are never loaded because "
                        "unpickling can run arbitrary code")
            else:
                text = f"{type(err).__name__}: {text}"
            raise CheckpointError(f"{path!r} is not a readable rosenblatt checkpoint: {text}") \
                from err


def _read(f: Any, path: str) -> dict[str, Any]:
    npz = np.load(f, allow_pickle=False)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path!r} is a single .npy array, not a rosenblatt checkpoint")
    with npz:
        if HEADER_KEY not in npz.files:
            raise CheckpointError(f"{path!r} is an .npz file without a {HEADER_KEY!r} member: "
                                  "not a rosenblatt checkpoint")
        raw = npz[HEADER_KEY]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise CheckpointError(f"{path!r}: the header is not a uint8 vector")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise CheckpointError(f"{path!r}: the header names format "
                                  f"{header.get('format') if isinstance(header, dict) else None!r}"
                                  f", expected {FORMAT!r}")
        version = header.get("version")
        if not isinstance(version, int) or not 1 <= version <= VERSION:
            raise CheckpointError(f"{path!r}: checkpoint version {version!r} is not supported "
                                  f"(this rosenblatt reads versions 1 to {VERSION})")
        arrays = {}
        for key, (dtype, shape) in header["arrays"].items():
            if key not in npz.files:
                raise CheckpointError(f"{path!r}: the array {key!r} named in the header is "
                                      "missing")
            array = npz[key]
            if array.dtype.str != dtype or list(array.shape) != shape:
                raise CheckpointError(
                    f"{path!r}: the array {key!r} has dtype {array.dtype.str} and shape "
                    f"{list(array.shape)}, the header says {dtype} and {shape}")
            arrays[key] = array
    tree = _decode(header["tree"], arrays)
    if not isinstance(tree, dict):
        raise CheckpointError(f"{path!r}: the stored tree is not a dict")
    return tree


# ---------------------------------------------------------------------------------------------
# finding the newest
# ---------------------------------------------------------------------------------------------


def latest_checkpoint(directory: str | os.PathLike[str], pattern: str = "*.npz") -> str | None:
    """The path of the newest complete checkpoint in ``directory`` matching ``pattern``, or None.

    Temporary files (names starting with ``.`` or ending in ``.tmp``) are ignored. When every
    candidate's name holds a number, the largest last number wins (``step_000120.npz``,
    ``epoch10.npz``; modification time breaks ties); otherwise the most recently modified file.
    A candidate that is not a complete zip (its end record missing) is skipped with a warning.
    """
    directory = os.fspath(directory)
    candidates = []
    for entry in os.scandir(directory):
        name = entry.name
        if name.startswith(".") or name.endswith(".tmp") or not fnmatch.fnmatch(name, pattern):
            continue
        if not entry.is_file():
            continue
        numbers = re.findall(r"\d+", os.path.splitext(name)[0])
        candidates.append((int(numbers[-1]) if numbers else None, entry.stat().st_mtime_ns,
                           entry.path))
    if all(number is not None for number, _, _ in candidates):
        candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    else:
        candidates.sort(key=lambda c: c[1], reverse=True)
    for _, _, candidate in candidates:
        if zipfile.is_zipfile(candidate):
            return candidate
        warnings.warn(f"latest_checkpoint: skipping {candidate!r}, not a complete checkpoint",
                      RuntimeWarning, stacklevel=2)
    return None
