"""Reading PyTorch ``.pth`` / ``.pt`` files with neither PyTorch nor the execution of pickle code.

``load_torch_state_dict("resnet18.pth")`` returns ``{name: np.ndarray}`` with PyTorch's keys,
ready for ``model.load_state_dict``; ``load_torch(path)`` returns the whole saved object (dicts,
lists, numbers, strings, with NumPy arrays in place of tensors).

**The zip format** (``torch.save``'s default since 1.6) is a zip archive whose entries share one
top folder (``archive/`` in recent versions, the file's stem in older ones)::

    archive/data.pkl       the object, pickled (protocol 2); tensors refer to storages
    archive/data/0, 1, …   each storage's raw bytes, stored uncompressed
    archive/byteorder      b"little" or b"big" (absent: little)
    archive/version, archive/.format_version, archive/.storage_alignment, …   (not needed)

A tensor is pickled as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, backward_hooks[, metadata])`` where ``storage`` is a *persistent id*, the tuple
``("storage", torch.FloatStorage, key, location, numel)``: the storage class gives the dtype,
``key`` the entry ``data/<key>`` and ``numel`` its length in elements. Offset, size and stride
count elements, so a transposed or sliced tensor is a strided view of its storage, and two
tensors that share memory name the same key. Dtypes without a legacy storage class (uint16,
uint32, uint64) use ``_rebuild_tensor_v3`` with a ``torch.UntypedStorage`` (bytes) and the
dtype as an extra argument. ``nn.Parameter`` wraps the tensor in ``_rebuild_parameter``.

**The legacy format** (``_use_new_zipfile_serialization=False``) is one file of consecutive
pickles: the magic number ``0x1950a86a20f9469cfc6c``, the protocol version 1001, a dict of
system info (``little_endian``), the object (persistent ids ``("storage", type, key, location,
numel, view)``), and the sorted list of storage keys; then, for each key in that order, an
int64 element count followed by the storage's raw bytes. Both formats are read; the older tar
format (PyTorch < 0.4) and TorchScript archives (``torch.jit.save``) are recognised and refused
with a clear error.

**Nothing in the file is executed**: see ``torch_pickle``, the restricted unpickler that
builds stand-ins instead of torch objects; this module then reads the storages and copies each
tensor out, after checking that every element it touches lies inside its storage.

**Arrays.** Every tensor comes back as its own C-contiguous NumPy array in native byte order
with the tensor's dtype and bytes, views and shared storages copied apart. ``bfloat16``, which
NumPy lacks, becomes ``float32`` (exact: the 16 bits become the high half of a float32);
``float8_*`` and ``complex32`` raise ``WeightsFormatError``. ``requires_grad`` and (empty)
backward hooks are dropped, conjugate and negative bits are applied. Quantized, sparse, nested
and tensor-subclass tensors, whole pickled ``nn.Module`` objects (``torch.save(model)``) and
NumPy objects inside the pickle are refused.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .common import UnsafePickleError, WeightsFormatError, select_state_dict
from .torch_pickle import (
    DTYPES,
    Global,
    StorageRef,
    TensorRef,
    ascii_str,
    check_int,
    itemsize,
    parses,
    storage_ref,
    unpickle,
)

__all__ = ["load_torch", "load_torch_state_dict"]

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001


# ---------------------------------------------------------------------------------------------
# reading the two formats
# ---------------------------------------------------------------------------------------------


def load_torch(path: str | os.PathLike[str]) -> Any:
    """Everything ``torch.save`` wrote to ``path``, with NumPy arrays in place of tensors
    (OrderedDicts stay OrderedDicts). See the module docstring for the formats and what is
    refused; raises ``UnsafePickleError`` or ``WeightsFormatError`` naming the path."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(512)
        f.seek(0)
        if head[:4] == b"PK\x03\x04":  # a zip's first local header, as torch checks
            try:
                zf = zipfile.ZipFile(f)
            except zipfile.BadZipFile as err:
                raise WeightsFormatError(f"{path!r} is a damaged zip archive ({err})") from None
            with zf:
                try:
                    tree, order, read = _load_zip(zf, path)
                    return _Resolver(read, order, path).resolve(tree)
                except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                    raise WeightsFormatError(f"{path!r} is a damaged zip archive "
                                             f"({type(err).__name__}: {err})") from None
        if len(head) >= 262 and head[257:262] == b"ustar":
            raise WeightsFormatError(
                f"{path!r} is in PyTorch's tar format (PyTorch < 0.4), which is not supported: "
                "load it with torch and save it again")
        f.seek(0)
        if head[:1] != b"\x80" and not parses(f):  # torch writes protocol 2+: PROTO first
            raise WeightsFormatError(f"{path!r} is not a PyTorch file (neither a zip archive "
                                     "nor a pickle stream)")
        tree, order, read = _load_legacy(f, path)
        return _Resolver(read, order, path).resolve(tree)


def load_torch_state_dict(path: str | os.PathLike[str],
                          key: str | None = None) -> dict[str, np.ndarray]:
    """The state dict in a PyTorch ``.pth`` / ``.pt`` file as ``{name: np.ndarray}``, keys as
    saved (``"features.0.weight"``), read without torch and without executing pickle code.

    A file whose top level is a checkpoint dict is searched for ``"state_dict"``,
    ``"model_state_dict"`` or ``"model"``; ``key="ema"`` (``"a/b"`` for nested dicts) picks
    another entry. bfloat16 tensors come back as float32. Raises ``UnsafePickleError`` for a
    file that asks for anything outside the allow-list, ``WeightsFormatError`` for one that is
    not a readable PyTorch file (both name the path).
    """
    path = os.fspath(path)
    return select_state_dict(load_torch(path), key, path)


def _load_zip(zf: zipfile.ZipFile, path: str) -> tuple[Any, str, Callable[[str], np.ndarray]]:
    """Unpickle ``data.pkl``; return the tree, the byte order and a reader of storages."""
    names = zf.namelist()
    pickles = [n for n in names
               if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        raise WeightsFormatError(f"{path!r} is a TorchScript archive (torch.jit.save), which is "
                                 "not supported: save the model's state_dict() with torch.save")
    if len(pickles) != 1:
        raise WeightsFormatError(f"{path!r} is a zip archive but not one written by torch.save "
                                 f"(found {len(pickles)} data.pkl entries)")
    prefix = pickles[0][: -len("data.pkl")]
    order = "<"
    if prefix + "byteorder" in names:
        mark = zf.read(prefix + "byteorder")
        if mark not in (b"little", b"big"):
            raise WeightsFormatError(f"{path!r}: unknown byte order {mark!r}")
        order = "<" if mark == b"little" else ">"
    sizes: dict[str, int] = {}

    def persistent(pid: Any) -> StorageRef:
        if not isinstance(pid, tuple) or len(pid) != 5 or ascii_str(pid[0]) != "storage":
            raise WeightsFormatError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        ref = storage_ref(storage_type, key, numel, None)
        sizes[ref.key] = max(sizes.get(ref.key, 0), ref.numel * itemsize(ref.dtype))
        return ref

    with zf.open(pickles[0]) as member:
        data = io.BytesIO(member.read())
    tree = unpickle(data, path, persistent)

    def read(key: str) -> np.ndarray:
        name = f"{prefix}data/{key}"
        try:
            info = zf.getinfo(name)
        except KeyError:
            raise WeightsFormatError(f"{path!r}: the storage entry {name!r} is missing") from None
        if info.file_size < sizes[key]:
            raise WeightsFormatError(f"{path!r}: the storage {name!r} has {info.file_size} "
                                     f"bytes, its tensors need {sizes[key]}")
        raw = np.empty(sizes[key], dtype=np.uint8)
        with zf.open(info) as member:
            if member.readinto(memoryview(raw)) != raw.size:
                raise WeightsFormatError(f"{path!r}: the storage {name!r} is truncated")
        return raw

    return tree, order, read


def _load_legacy(f: Any, path: str) -> tuple[Any, str, Callable[[str], np.ndarray]]:
    """Read the five pickles and every storage; return the tree, byte order and a reader."""
    try:
        magic = unpickle(f, path)
    except UnsafePickleError:
        raise
    except WeightsFormatError:
        raise WeightsFormatError(f"{path!r} is not a PyTorch file (neither a zip archive nor a "
                                 "pickle stream)") from None
    if magic != LEGACY_MAGIC_NUMBER:
        raise WeightsFormatError(f"{path!r} is a pickle but not a PyTorch file (no torch.save "
                                 "magic number); plain pickles are never loaded")
    version = unpickle(f, path)
    if version != LEGACY_PROTOCOL_VERSION:
        raise WeightsFormatError(f"{path!r}: legacy protocol version {version!r} is not "
                                 f"supported (expected {LEGACY_PROTOCOL_VERSION})")
    sys_info = unpickle(f, path)
    little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    roots: dict[str, StorageRef] = {}

    def persistent(pid: Any) -> StorageRef:
        if not isinstance(pid, tuple) or len(pid) != 6 or ascii_str(pid[0]) != "storage":
            raise WeightsFormatError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        if view is not None:
            if not isinstance(view, tuple) or len(view) != 3:
                raise WeightsFormatError(f"unexpected storage view {view!r}")
            view = (check_int(view[1], "view offset"), check_int(view[2], "view size"))
        ref = storage_ref(storage_type, key, numel, view)
        root = roots.setdefault(ref.key, StorageRef(ref.key, ref.dtype, ref.numel, None))
        if root.dtype != ref.dtype:
            raise WeightsFormatError(f"storage {ref.key!r} is used with two dtypes")
        return ref

    tree = unpickle(f, path, persistent)
    keys = unpickle(f, path)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(roots):
        raise WeightsFormatError(f"{path!r}: the storage key list does not match the storages "
                                 "the object uses")
    order = "<" if little else ">"
    remaining = os.fstat(f.fileno()).st_size - f.tell()
    raws: dict[str, np.ndarray] = {}
    for key in keys:
        root = roots[str(key)]
        head = f.read(8)
        count = int(np.frombuffer(head, dtype=order + "i8")[0]) if len(head) == 8 else -1
        nbytes = count * itemsize(root.dtype)
        if count < 0 or nbytes > remaining - 8:
            raise WeightsFormatError(f"{path!r}: storage {key!r} is truncated or corrupt")
        raw = np.empty(nbytes, dtype=np.uint8)
        if f.readinto(memoryview(raw)) != nbytes:
            raise WeightsFormatError(f"{path!r}: storage {key!r} is truncated")
        remaining -= 8 + nbytes
        raws[str(key)] = raw

    return tree, order, raws.__getitem__


# ---------------------------------------------------------------------------------------------
# after unpickling: stand-ins → arrays
# ---------------------------------------------------------------------------------------------


class _Resolver:
    """Walks the unpickled tree, replacing each TensorRef by its array (reading storages once,
    lazily), OrderedDicts by plain OrderedDicts and other stand-ins by their names."""

    def __init__(self, read: Callable[[str], np.ndarray], order: str, path: str) -> None:
        self.read, self.order, self.path = read, order, path
        self.raws: dict[str, np.ndarray] = {}
        self.done: dict[int, Any] = {}
        self.open: set[int] = set()

    def resolve(self, node: Any) -> Any:
        try:
            return self._resolve(node)
        except WeightsFormatError as err:
            raise type(err)(f"{self.path!r}: {err}") from None
        except RecursionError:
            raise WeightsFormatError(f"{self.path!r}: the saved object is nested too deeply") \
                from None
        except (TypeError, ValueError, MemoryError) as err:
            raise WeightsFormatError(f"{self.path!r}: the saved object cannot be rebuilt "
                                     f"({type(err).__name__}: {err})") from None

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, (str, bytes, int, float, complex, type(None))):
            return node
        if id(node) in self.done:
            return self.done[id(node)]
        if isinstance(node, TensorRef):
            out: Any = self._array(node)
        elif isinstance(node, StorageRef):
            numel = node.view[1] if node.view is not None else node.numel
            out = self._array(TensorRef(node, 0, (numel,), (1,), node.dtype, False, False))
        elif isinstance(node, Global):
            out = f"torch.{node.value}" if node.kind == "dtype" else node.name
        elif isinstance(node, list):
            out = self.done[id(node)] = []
            out.extend(self._resolve(v) for v in node)
        elif isinstance(node, dict):
            out = self.done[id(node)] = OrderedDict() if isinstance(node, OrderedDict) else {}
            for k, v in node.items():
                out[self._resolve(k)] = self._resolve(v)
        elif isinstance(node, (tuple, set, frozenset)):
            if id(node) in self.open:
                raise WeightsFormatError("the saved object contains itself through a tuple")
            self.open.add(id(node))
            items = [self._resolve(v) for v in node]
            self.open.discard(id(node))
            out = tuple(items) if isinstance(node, tuple) else type(node)(items)
        elif isinstance(node, bytearray):
            out = bytearray(node)
        else:
            raise WeightsFormatError(f"unexpected {type(node).__name__} in the saved object")
        self.done[id(node)] = out
        return out

    def _array(self, t: TensorRef) -> np.ndarray:
        code, width = DTYPES[t.dtype]
        if code is None:
            raise WeightsFormatError(f"dtype torch.{t.dtype} has no NumPy equivalent and is not "
                                     "supported")
        storage = t.storage
        if storage.key not in self.raws:
            self.raws[storage.key] = self.read(storage.key)
        raw = self.raws[storage.key]
        start, stop = 0, storage.numel * itemsize(storage.dtype)
        if storage.view is not None:
            start = storage.view[0] * itemsize(storage.dtype)
            stop = start + storage.view[1] * itemsize(storage.dtype)
        if stop > raw.size:
            raise WeightsFormatError(f"storage {storage.key!r} is shorter than its tensors need")
        dtype = np.dtype(code).newbyteorder(self.order) if width > 1 else np.dtype(code)
        flat = raw[start:stop][: (stop - start) // width * width].view(dtype)
        if 0 in t.size:
            if t.offset > flat.size:
                raise WeightsFormatError("a tensor starts past the end of its storage")
            out = np.empty(t.size, dtype=dtype)
        else:
            last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride, strict=True))
            if last >= flat.size:
                raise WeightsFormatError(
                    f"a tensor of size {t.size}, stride {t.stride} and offset {t.offset} reaches "
                    f"element {last} of a storage of {flat.size} elements")
            view = np.lib.stride_tricks.as_strided(
                flat[t.offset:], shape=t.size, strides=[s * width for s in t.stride],
                writeable=False)
            out = np.array(view, order="C")
        out = out.astype(out.dtype.newbyteorder("="), copy=False)
        if t.dtype == "bool":
            out = out.view(np.uint8).astype(bool)  # any non-zero byte is True, as in torch
        if t.dtype == "bfloat16":
            out = (out.astype(np.uint32) << 16).view(np.float32)
        if t.conj:
            out = np.conj(out)
        if t.neg:
            out = np.negative(out)
        return out
