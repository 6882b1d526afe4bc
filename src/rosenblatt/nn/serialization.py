"""Architectures as JSON: ``model_to_json(model)`` and ``model_from_json(text)``.

Only the architecture travels (each layer's class name and ``get_config()``, and for a
Functional ``Model`` its node graph); weights go separately through ``state_dict()`` /
``load_state_dict()``. Classes are looked up by name in ``nn.module.REGISTRY`` (every ``Module``
subclass registers itself when it is defined): nothing is ever evaluated or unpickled::

    text = model_to_json(model)
    clone = model_from_json(text)
    clone.load_state_dict(model.state_dict())
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import symbolic
from .module import REGISTRY, Module
from .symbolic import SymbolicTensor

FORMAT = "rosenblatt.architecture"
VERSION = 1


def layer_from_config(entry: dict[str, Any]) -> Module:
    """Build a Module from ``{"class_name": …, "config": {…}}`` with the class's
    ``from_config``; the class must be a registered ``Module`` subclass."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ValueError(f"a layer entry needs a 'class_name' and a 'config', got {entry!r}")
    name = entry["class_name"]
    cls = REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"unknown layer class {name!r}: no Module subclass of that name has been defined. "
            "Import the module that defines it before loading the architecture"
        )
    config = entry.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"the config of {name} must be a dict, got {type(config).__name__}")
    return cls.from_config(config)


def model_to_json(model: Module, indent: int | None = None) -> str:
    """The architecture of ``model`` (a Sequential, a Functional ``Model`` or any Module with a
    ``get_config``) as a JSON string."""
    cls_name = type(model).__name__
    if REGISTRY.get(cls_name) is not type(model):
        raise ValueError(
            f"model_to_json: class name {cls_name!r} is registered for another class "
            f"({REGISTRY.get(cls_name)!r}); two Module subclasses share the name, so the JSON "
            "could not be loaded back. Rename one of them"
        )
    payload = {"format": FORMAT, "version": VERSION, "class_name": cls_name,
               "config": model.get_config()}
    try:
        return json.dumps(payload, indent=indent, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"model_to_json: the config of {cls_name} is not JSON-compatible: {err}. "
                        "get_config() must return numbers, strings, bools, None, lists and "
                        "dicts") from err


def model_from_json(text: str) -> Module:
    """Rebuild the Module described by ``model_to_json``'s output (fresh weights: copy them
    with ``load_state_dict``)."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"model_from_json: not valid JSON: {err}") from err
    if not isinstance(payload, dict) or "class_name" not in payload or "config" not in payload:
        raise ValueError("model_from_json: expected an object with 'class_name' and 'config' "
                         "(as written by model_to_json)")
    fmt = payload.get("format", FORMAT)
    if fmt != FORMAT or payload.get("version", VERSION) > VERSION:
        raise ValueError(f"model_from_json: unsupported format {fmt!r} version "
                         f"{payload.get('version')!r} (this reads {FORMAT!r} up to {VERSION})")
    return layer_from_config(payload)


def _json_default(value: Any) -> Any:
    """NumPy scalars, arrays and dtypes as plain JSON values; anything else is an error."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"a value of type {type(value).__name__} ({value!r}) cannot be stored")


# ---------------------------------------------------------------------------------------------
# Functional graphs: rebuilding the nodes of a Model config (used by Model.from_config)
# ---------------------------------------------------------------------------------------------


def lookup(tensors: dict[tuple, SymbolicTensor], ref: Sequence[Any]) -> SymbolicTensor:
    """The tensor a config reference ``[layer or input name, node index, tensor index]`` names."""
    key = (ref[0], int(ref[1]), int(ref[2]))
    if key not in tensors:
        raise ValueError(f"Model.from_config: no tensor {list(key)} in the config")
    return tensors[key]


def replay(entries: list[dict], layers: list[Module], tensors: dict[tuple, Any]) -> None:
    """Call the layers on the symbolic tensors as the config's inbound nodes say. The next
    node is always the pending call of the earliest-listed layer whose inputs exist, which
    reproduces the original first-call order of the layers (so the children's order)."""
    done = [0] * len(entries)
    total = sum(len(e["inbound_nodes"]) for e in entries)
    for _ in range(total):
        for i, entry in enumerate(entries):
            calls = entry["inbound_nodes"]
            k = done[i]
            if k == len(calls) or not all(
                    (r[0], int(r[1]), int(r[2])) in tensors for r in calls[k]["args"]):
                continue
            call = calls[k]
            args = [lookup(tensors, r) for r in call["args"]]
            style = call.get("call", "args")
            packed = (args,) if style == "list" else (tuple(args),) if style == "tuple" else args
            out = symbolic.call_symbolic(layers[i], *packed, **call.get("kwargs", {}))
            outs = [out] if isinstance(out, SymbolicTensor) else list(out)
            for j, t in enumerate(outs):
                tensors[(entry["name"], k, j)] = t
            done[i] = k + 1
            break
        else:
            stuck = [e["name"] for e, d in zip(entries, done, strict=True)
                     if d < len(e["inbound_nodes"])]
            raise ValueError(f"Model.from_config: the inbound nodes of {stuck} refer to tensors "
                             "that no layer produces (a broken or cyclic config)")
