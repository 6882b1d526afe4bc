"""The restricted unpickler behind ``torch_format``: it rebuilds what ``torch.save`` pickles
without importing torch and without calling anything outside an allow-list.

**Nothing in the file is executed.** Every pickle is first scanned opcode by opcode without
building anything: a ``GLOBAL`` naming anything outside the allow-list, or an opcode torch never
writes (``INST``, ``OBJ``, ``NEWOBJ``, extension codes, out-of-band buffers), raises
``UnsafePickleError`` naming it. It is then unpickled by a ``pickle.Unpickler`` whose
``find_class`` maps each allowed global to a stand-in defined here (torch is never imported) and
refuses every other one (``STACK_GLOBAL`` names are only known at this point). The stand-ins only
record their arguments: a tensor becomes a ``TensorRef`` (storage, offset, size, stride), a
storage a ``StorageRef``; ``BUILD`` (``__setstate__``) on any stand-in but an OrderedDict
raises. Only after unpickling has finished does ``torch_format`` read the storages and copy each
tensor out (bounds checked). Allowed globals: ``collections.OrderedDict``; from
``torch._utils``: ``_rebuild_tensor``, ``_rebuild_tensor_v2``, ``_rebuild_tensor_v3``,
``_rebuild_parameter``, ``_rebuild_parameter_with_state``; ``torch._tensor._rebuild_from_type_v2``
with the types ``torch.Tensor`` and ``torch.nn.Parameter``; the storage classes
(``torch.FloatStorage`` … ``torch.BFloat16Storage``, ``torch.UntypedStorage``); torch dtypes
(``torch.float32`` …, read back as their names, e.g. ``"torch.float32"``); ``torch.device``
(read back as a string, ``"cuda:0"``); ``torch.Size`` (a tuple); ``builtins`` ``set``,
``frozenset``, ``complex``, ``bytearray``; and ``_codecs.encode`` with latin-1 (how protocol 2
pickles ``bytes``). Python 2 names in protocol-2 pickles (``__builtin__.set``) are mapped as
``pickle`` maps them, by name only: nothing is ever imported.

Internal to ``rosenblatt.io``; the public entry points are in ``torch_format``.
"""

from __future__ import annotations

import _compat_pickle
import pickle
import pickletools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .common import UnsafePickleError, WeightsFormatError

# torch dtype name → (NumPy type code read from the file, itemsize); None: no NumPy equivalent.
DTYPES: dict[str, tuple[str | None, int]] = {
    "float64": ("f8", 8), "float32": ("f4", 4), "float16": ("f2", 2), "bfloat16": ("u2", 2),
    "int64": ("i8", 8), "int32": ("i4", 4), "int16": ("i2", 2), "int8": ("i1", 1),
    "uint64": ("u8", 8), "uint32": ("u4", 4), "uint16": ("u2", 2), "uint8": ("u1", 1),
    "bool": ("?", 1), "complex128": ("c16", 16), "complex64": ("c8", 8),
    "complex32": (None, 4), "float8_e4m3fn": (None, 1), "float8_e5m2": (None, 1),
    "float8_e4m3fnuz": (None, 1), "float8_e5m2fnuz": (None, 1), "float8_e8m0fnu": (None, 1),
}
_DTYPE_ALIASES = {"double": "float64", "float": "float32", "half": "float16", "long": "int64",
                  "int": "int32", "short": "int16", "cdouble": "complex128",
                  "cfloat": "complex64", "chalf": "complex32"}
_STORAGES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexDoubleStorage": "complex128", "ComplexFloatStorage": "complex64",
    "UntypedStorage": "uint8",
}
# Opcodes torch.save never writes; each would only let a file reach things by other routes.
_FORBIDDEN_OPCODES = {"INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "PERSID",
                      "NEXT_BUFFER", "READONLY_BUFFER"}
_HINT = ("only tensors and plain containers may appear in a weights file (a file written by "
         "torch.save(model) pickles the model's class: save model.state_dict() instead)")


# ---------------------------------------------------------------------------------------------
# stand-ins: what the unpickler builds instead of torch objects
# ---------------------------------------------------------------------------------------------


class Global:
    """An allowed global: its dotted name, its kind (``"call"``, ``"storage"``, ``"dtype"``,
    ``"type"``) and the stand-in function (kind call) or torch dtype name (storage, dtype)."""

    __slots__ = ("name", "kind", "value")

    def __init__(self, name: str, kind: str, value: Any) -> None:
        self.name, self.kind, self.value = name, kind, value

    def __call__(self, *args: Any) -> Any:
        if self.kind != "call":
            raise UnsafePickleError(f"the pickle calls {self.name}, which is not callable here")
        return self.value(*args)

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError(f"the pickle sets state (BUILD) on {self.name}")

    def __repr__(self) -> str:
        return self.name


class StorageRef:
    """A storage named by a persistent id: where its bytes are (``key``), its dtype and length;
    ``view`` = (offset, numel) in elements for the legacy format's storage views."""

    __slots__ = ("key", "dtype", "numel", "view")

    def __init__(self, key: str, dtype: str, numel: int, view: tuple[int, int] | None) -> None:
        self.key, self.dtype, self.numel, self.view = key, dtype, numel, view

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError("the pickle sets state (BUILD) on a storage")


class TensorRef:
    """A tensor: a strided view (offset, size, stride, in elements) of a storage."""

    __slots__ = ("storage", "offset", "size", "stride", "dtype", "conj", "neg")

    def __init__(self, storage: StorageRef, offset: int, size: tuple[int, ...],
                 stride: tuple[int, ...], dtype: str, conj: bool, neg: bool) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.dtype, self.conj, self.neg = dtype, conj, neg

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError("the pickle sets state (BUILD) on a tensor")


class _StateDict(OrderedDict):
    """``collections.OrderedDict`` while unpickling; BUILD may set attributes (torch stores the
    state dict's ``_metadata`` that way), which are dropped."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise UnsafePickleError("the pickle sets unexpected state (BUILD) on an OrderedDict")


def _ordered_dict(*args: Any) -> _StateDict:
    if len(args) > 1 or (args and not isinstance(args[0], (list, tuple, dict))):
        raise WeightsFormatError("OrderedDict rebuilt from unexpected arguments")
    return _StateDict(*args)


def check_int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise WeightsFormatError(f"a tensor's {what} is {value!r}, not a non-negative integer")
    return value


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)):
        raise WeightsFormatError(f"a tensor's {what} is {type(value).__name__}, not a tuple")
    return tuple(check_int(v, what) for v in value)


def _tensor(storage: Any, offset: Any, size: Any, stride: Any, dtype: str | None,
            metadata: Any = None) -> TensorRef:
    if not isinstance(storage, StorageRef):
        raise WeightsFormatError(f"a tensor is rebuilt from a {type(storage).__name__}, "
                                 "not a storage")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    if len(size) != len(stride):
        raise WeightsFormatError(f"a tensor has size {size} but stride {stride}")
    metadata = metadata or {}
    if not isinstance(metadata, dict) or set(metadata) - {"conj", "neg"}:
        raise WeightsFormatError(f"unsupported tensor metadata {metadata!r}")
    return TensorRef(storage, check_int(offset, "storage offset"), size, stride,
                      dtype or storage.dtype, bool(metadata.get("conj")),
                      bool(metadata.get("neg")))


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> TensorRef:
    return _tensor(storage, offset, size, stride, None)


def _rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                       backward_hooks: Any, metadata: Any = None) -> TensorRef:
    return _tensor(storage, offset, size, stride, None, metadata)


def _rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                       backward_hooks: Any, dtype: Any, metadata: Any = None) -> TensorRef:
    if not isinstance(dtype, Global) or dtype.kind != "dtype":
        raise WeightsFormatError(f"a tensor's dtype is {dtype!r}, not a torch dtype")
    return _tensor(storage, offset, size, stride, dtype.value, metadata)


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any,
                       state: Any = None) -> TensorRef:
    if not isinstance(data, TensorRef):
        raise WeightsFormatError(f"a Parameter wraps a {type(data).__name__}, not a tensor")
    return data


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> TensorRef:
    if not isinstance(new_type, Global) or new_type.kind != "type":
        raise UnsafePickleError(f"_rebuild_from_type_v2 asks for the type {new_type!r}; only "
                                "torch.Tensor and torch.nn.Parameter are allowed")
    if not isinstance(func, Global) or func.value not in _TENSOR_BUILDERS \
            or not isinstance(args, tuple):
        raise UnsafePickleError(f"_rebuild_from_type_v2 asks to call {func!r}")
    return _rebuild_parameter(func(*args), None, None)


def _device(kind: Any, index: Any = None) -> str:
    if not isinstance(kind, str) or not (index is None or type(index) is int):
        raise WeightsFormatError(f"torch.device rebuilt from {kind!r}, {index!r}")
    return kind if index is None else f"{kind}:{index}"


def _size(sizes: Any = ()) -> tuple[int, ...]:
    return _ints(sizes, "size")


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode called with {encoding!r}; only latin1 is "
                                "allowed")
    return text.encode("latin1")


def _plain(constructor: type) -> Callable[..., Any]:
    def build(*args: Any) -> Any:
        if not all(isinstance(a, (list, tuple, set, frozenset, str, bytes, int, float))
                   for a in args):
            raise WeightsFormatError(f"{constructor.__name__} rebuilt from unexpected arguments")
        return constructor(*args)
    return build


_TENSOR_BUILDERS = (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3)


def _allow_list() -> dict[tuple[str, str], Global]:
    table: dict[tuple[str, str], Global] = {}

    def add(module: str, name: str, kind: str, value: Any) -> None:
        table[(module, name)] = Global(f"{module}.{name}", kind, value)

    add("collections", "OrderedDict", "call", _ordered_dict)
    for fn in (*_TENSOR_BUILDERS, _rebuild_parameter):
        add("torch._utils", fn.__name__, "call", fn)
    add("torch._utils", "_rebuild_parameter_with_state", "call", _rebuild_parameter)
    add("torch._tensor", "_rebuild_from_type_v2", "call", _rebuild_from_type_v2)
    for module, name in [("torch", "Tensor"), ("torch._tensor", "Tensor"),
                         ("torch.nn.parameter", "Parameter"), ("torch.nn", "Parameter")]:
        add(module, name, "type", None)
    for name, dtype in _STORAGES.items():
        for module in ("torch", "torch.cuda", "torch.storage"):
            add(module, name, "storage", dtype)
    for name in [*DTYPES, *_DTYPE_ALIASES]:
        add("torch", name, "dtype", _DTYPE_ALIASES.get(name, name))
    add("torch", "device", "call", _device)
    add("torch", "Size", "call", _size)
    for constructor in (set, frozenset, complex, bytearray):
        add("builtins", constructor.__name__, "call", _plain(constructor))
    add("_codecs", "encode", "call", _encode)
    return table


_ALLOWED = _allow_list()


# ---------------------------------------------------------------------------------------------
# the restricted unpickler
# ---------------------------------------------------------------------------------------------


class _RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves globals from the allow-list only and hands persistent
    ids to ``persistent``."""

    def __init__(self, file: Any, persistent: Callable[[Any], Any] | None) -> None:
        super().__init__(file, encoding="utf-8")
        self._persistent = persistent

    def find_class(self, module: str, name: str) -> Any:
        return _lookup(module, name)

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise WeightsFormatError("unexpected persistent id in this pickle")
        return self._persistent(pid)


def _scan(data: bytes | Any) -> None:
    """Check every opcode of one pickle (bytes, or a file at its start) without building
    anything: forbidden opcodes and GLOBALs outside the allow-list raise UnsafePickleError."""
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in _FORBIDDEN_OPCODES:
            raise UnsafePickleError(f"forbidden pickle opcode {opcode.name}: {_HINT}")
        if opcode.name == "GLOBAL":
            module, _, name = str(arg).partition(" ")
            _lookup(module, name)


def parses(f: Any) -> bool:
    """Whether ``f`` starts with one well-formed pickle (opcodes only; nothing is built)."""
    try:
        for _ in pickletools.genops(f):
            pass
        return True
    except Exception:
        return False
    finally:
        f.seek(0)


def _lookup(module: Any, name: Any) -> Global:
    """The stand-in for an allowed global; UnsafePickleError naming any other. Never imports."""
    if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names, as protocol 2 writes
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    found = _ALLOWED.get((module, name)) if isinstance(name, str) else None
    if found is None:
        raise UnsafePickleError(f"forbidden global {module}.{name}: {_HINT}")
    return found


def unpickle(file: Any, path: str, persistent: Callable[[Any], Any] | None = None) -> Any:
    """Scan, then unpickle one pickle from ``file`` (a seekable binary file at its start);
    leaves the file just after the pickle. Errors name ``path``."""
    try:
        start = file.tell()
        _scan(file)
        file.seek(start)
        return _RestrictedUnpickler(file, persistent).load()
    except WeightsFormatError as err:
        raise type(err)(f"{path!r}: {err}") from None
    except Exception as err:
        raise WeightsFormatError(
            f"{path!r}: the pickle is malformed or uses an unsupported construct "
            f"({type(err).__name__}: {err})") from None


def ascii_str(value: Any) -> Any:
    """Bytes as str (Python 2 pickles store some names as bytes); anything else unchanged."""
    return value.decode("ascii") if isinstance(value, bytes) else value


def itemsize(dtype: str) -> int:
    """Bytes per element of a torch dtype name."""
    return DTYPES[dtype][1]


def storage_ref(storage_type: Any, key: Any, numel: Any,
                view: tuple[int, int] | None) -> StorageRef:
    """The StorageRef a persistent id names, its parts checked."""
    if not isinstance(storage_type, Global) or storage_type.kind != "storage":
        raise WeightsFormatError(f"persistent id names {storage_type!r}, not a storage class")
    key = ascii_str(key)
    if not isinstance(key, (str, int)):
        raise WeightsFormatError(f"storage key {key!r} is not a string")
    return StorageRef(str(key), storage_type.value, check_int(numel, "storage size"), view)

