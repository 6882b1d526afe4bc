"""Reading and writing ``.safetensors`` files, with the ``safetensors`` package when it is
installed and with the small reader and writer here when it is not.

**Format** (https://github.com/huggingface/safetensors): an unsigned 64-bit little-endian
integer ``N``; ``N`` bytes of UTF-8 JSON (padded with spaces so the data starts 8-byte
aligned); then the data. The JSON maps each tensor name to ``{"dtype": "F32", "shape": [2, 3],
"data_offsets": [begin, end]}`` with byte offsets into the data, which is little-endian and
C-ordered; an optional ``"__metadata__"`` entry maps strings to strings. The data must be
covered exactly, with neither holes nor overlaps. Nothing in it is executable.

Dtypes: ``F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL C64``. ``BF16`` is read as
float32 (exactly: the 16 bits become the high half), since NumPy has no bfloat16; files that
hold it are read here even when the package is installed (its NumPy API refuses them). The
``F8_*`` types are refused with ``WeightsFormatError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from ..checkpoint import atomic_write
from .common import WeightsFormatError

MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
           "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
           "BOOL": "?", "C64": "<c8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items() if k != "BF16"}


def _package() -> Any:
    """``safetensors.numpy``, or None when the package is not installed."""
    try:
        import safetensors.numpy
    except ImportError:
        return None
    return safetensors.numpy


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def load_safetensors(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor in a ``.safetensors`` file as ``{name: np.ndarray}`` (header order); through
    the ``safetensors`` package when installed, else ``read_safetensors``. Raises
    ``WeightsFormatError`` naming the path for a malformed file."""
    path = os.fspath(path)
    package = _package()
    if package is None:
        return read_safetensors(path)
    with open(path, "rb") as f:
        header, _ = _read_header(f, path)
    if any(entry["dtype"] not in _CODES.values() for entry in header.values()):
        return read_safetensors(path)  # BF16, converted here to float32
    try:
        arrays = package.load_file(path)
    except Exception as err:
        raise WeightsFormatError(f"{path!r} is not a readable safetensors file "
                                 f"({type(err).__name__}: {err})") from err
    return {name: arrays[name] for name in header}


def read_safetensors(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The reader used without the package: validates the header (dtypes, shapes, offsets that
    tile the data exactly) before reading any tensor; arrays are native-endian copies."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        header, data_start = _read_header(f, path)
        out = {}
        for name, entry in header.items():
            begin, end = entry["data_offsets"]
            raw = np.empty(end - begin, dtype=np.uint8)
            f.seek(data_start + begin)
            if f.readinto(memoryview(raw)) != raw.size:
                raise WeightsFormatError(f"{path!r}: the data of {name!r} is truncated")
            shape = tuple(entry["shape"])
            array = raw.view(_DTYPES[entry["dtype"]]).reshape(shape)
            array = array.astype(array.dtype.newbyteorder("="), copy=False)
            if entry["dtype"] == "BF16":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            elif entry["dtype"] == "BOOL":
                array = raw.astype(bool).reshape(shape)
            out[name] = array
    return out


def _read_header(f: BinaryIO, path: str) -> tuple[dict[str, dict[str, Any]], int]:
    """The validated tensor entries (``__metadata__`` dropped) and where the data starts."""
    size = os.fstat(f.fileno()).st_size
    head = f.read(8)
    if len(head) < 8:
        raise WeightsFormatError(f"{path!r} is too short to be a safetensors file")
    n = int.from_bytes(head, "little")
    if n > MAX_HEADER_BYTES or 8 + n > size:
        raise WeightsFormatError(f"{path!r} is not a safetensors file (header length {n}, file "
                                 f"size {size})")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise WeightsFormatError(f"{path!r}: the safetensors header is not JSON ({err})") \
            from None
    if not isinstance(header, dict):
        raise WeightsFormatError(f"{path!r}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict):
        raise WeightsFormatError(f"{path!r}: __metadata__ is not an object")
    spans = []
    for name, entry in header.items():
        _check_entry(name, entry, path)
        spans.append((*entry["data_offsets"], name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise WeightsFormatError(f"{path!r}: the data of {name!r} starts at byte {begin}, "
                                     f"expected {position} (holes and overlaps are refused)")
        position = end
    if position != size - 8 - n:
        raise WeightsFormatError(f"{path!r}: the tensors cover {position} bytes of data, the "
                                 f"file holds {size - 8 - n}")
    return header, 8 + n


def _check_entry(name: str, entry: Any, path: str) -> None:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise WeightsFormatError(f"{path!r}: the header entry for {name!r} is malformed")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _DTYPES:
        raise WeightsFormatError(f"{path!r}: {name!r} has dtype {dtype!r}, which is not "
                                 f"supported (supported: {', '.join(_DTYPES)})")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise WeightsFormatError(f"{path!r}: {name!r} has shape {shape!r}")
    if not isinstance(offsets, list) or len(offsets) != 2 \
            or not all(type(o) is int and o >= 0 for o in offsets):
        raise WeightsFormatError(f"{path!r}: {name!r} has data_offsets {offsets!r}")
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(_DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise WeightsFormatError(f"{path!r}: {name!r} of dtype {dtype} and shape {shape} needs "
                                 f"{nbytes} bytes, its offsets {offsets} span "
                                 f"{offsets[1] - offsets[0]}")


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def save_safetensors(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray],
                     metadata: Mapping[str, str] | None = None) -> None:
    """Write ``arrays`` to ``path`` atomically; through the package when installed, else
    ``safetensors_bytes``. TypeError for a dtype the format lacks (float128, complex128,
    object, …) or metadata that is not str → str, before anything is written."""
    arrays = _prepare(arrays)
    metadata = _check_metadata(metadata)
    package = _package()
    if package is None:
        blob = safetensors_bytes(arrays, metadata)
    else:
        blob = package.save(arrays, metadata=metadata or None)
    atomic_write(path, lambda f: f.write(blob))


def safetensors_bytes(arrays: Mapping[str, np.ndarray],
                      metadata: Mapping[str, str] | None = None) -> bytes:
    """The writer used without the package: header in the arrays' order, data contiguous."""
    arrays = _prepare(arrays)
    header: dict[str, Any] = {}
    metadata = _check_metadata(metadata)
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, array in arrays.items():
        header[name] = {"dtype": _CODES[array.dtype.newbyteorder("=")],
                        "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    parts = [len(text).to_bytes(8, "little"), text]
    parts.extend(array.tobytes() for array in arrays.values())
    return b"".join(parts)


def _prepare(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """C-contiguous little-endian copies (where needed) of the arrays, dtypes checked."""
    out = {}
    for name, array in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"save_weights: key {name!r} is not a string")
        dtype = array.dtype.newbyteorder("=") if array.dtype.byteorder != "|" else array.dtype
        if dtype not in _CODES:
            raise TypeError(f"save_weights: {name!r} has dtype {array.dtype}, which safetensors "
                            f"cannot store (it stores {', '.join(sorted(_CODES.values()))})")
        little = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
        out[name] = np.asarray(array, dtype=little, order="C")  # keeps 0-d arrays 0-d
    return out


def _check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    metadata = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError(f"save_weights: safetensors metadata must map str to str, got "
                        f"{metadata!r}")
    return metadata
