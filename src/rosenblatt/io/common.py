"""What the weight readers and writers share: their errors, picking the state dict out of a
checkpoint tree, and atomic writes."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np

# Sub-dicts tried, in this order, when a checkpoint's top level is not itself a state dict.
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model")


class WeightsFormatError(ValueError):
    """A weights file that cannot be read: unknown extension, wrong or corrupt format, an
    unsupported construct or dtype. The message names the path."""


class UnsafePickleError(WeightsFormatError, pickle.UnpicklingError):
    """A pickle inside a PyTorch file asks for something outside the allow-list (a global such
    as ``os.system``, or state set on an object that takes none). Raised before the forbidden
    thing is called: loading never executes code from the file."""


def select_state_dict(tree: Any, key: str | None, path: str) -> dict[str, np.ndarray]:
    """The flat ``{name: array}`` state dict inside a loaded checkpoint ``tree``.

    With ``key`` (``"model"``, or ``"model/ema"`` for nested dicts) that entry is taken.
    Without, the tree itself when it is a flat dict of arrays, else the first of
    ``STATE_DICT_KEYS`` (``"state_dict"``, ``"model_state_dict"``, ``"model"``) it holds.
    Raises ``WeightsFormatError`` naming ``path`` and the keys found when there is no such
    dict, or when the chosen one holds something other than arrays.
    """
    if key is not None:
        node = tree
        for part in key.split("/"):
            if not isinstance(node, Mapping) or part not in node:
                raise WeightsFormatError(
                    f"{path!r} has no entry {key!r}; its top-level keys are {_keys(tree)}")
            node = node[part]
        return _as_state_dict(node, path, f"the entry {key!r}")
    if isinstance(tree, Mapping) and all(isinstance(v, np.ndarray) for v in tree.values()):
        return _as_state_dict(tree, path, "the file")
    if isinstance(tree, Mapping):
        for candidate in STATE_DICT_KEYS:
            if isinstance(tree.get(candidate), Mapping):
                return _as_state_dict(tree[candidate], path, f"the entry {candidate!r}")
    raise WeightsFormatError(
        f"{path!r} holds no state dict: the top level is {type(tree).__name__} with keys "
        f"{_keys(tree)}, and none of {list(STATE_DICT_KEYS)} is a dict; pass key=... to pick "
        "the entry that holds the weights")


def _as_state_dict(node: Any, path: str, what: str) -> dict[str, np.ndarray]:
    if not isinstance(node, Mapping):
        raise WeightsFormatError(f"{path!r}: {what} is a {type(node).__name__}, not a dict of "
                                 "arrays")
    bad = [k for k, v in node.items() if not isinstance(k, str) or not isinstance(v, np.ndarray)]
    if bad:
        shown = ", ".join(f"{k!r} ({type(node[k]).__name__})" for k in bad[:5])
        raise WeightsFormatError(
            f"{path!r}: {what} is not a flat state dict of arrays; entries like {shown} are "
            "not arrays (pass key=... to pick the sub-dict that holds the weights)")
    return dict(node)


def _keys(tree: Any) -> list[Any]:
    return list(tree.keys())[:20] if isinstance(tree, Mapping) else []


