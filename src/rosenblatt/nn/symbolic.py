"""Symbolic tensors for the Functional API (``Input(shape)``, layers called on them, ``Model``).

Stub: filled in by the Functional-API work. ``Module.__call__`` routes a call whose first
argument is a ``SymbolicTensor`` to ``call_symbolic``.
"""

from __future__ import annotations

from typing import Any


class SymbolicTensor:
    """A placeholder for data that will flow through a Functional model."""


def call_symbolic(layer: Any, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("the Functional API is not implemented yet")
