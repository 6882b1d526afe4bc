"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module


class Sequential(Module):
    """Layers applied one after another: y = fₙ(…f₂(f₁(x))).

    ``Sequential(l1, l2, …)``, ``Sequential([l1, l2, …])`` (Keras' form) or
    ``Sequential(OrderedDict(name=layer, …))``. Children are named "0", "1", … (as in PyTorch)
    unless a dict gives names.
    """

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (dict, OrderedDict)):
            for name, layer in layers[0].items():
                self.add_module(str(name), _check_module(layer, name))
            return
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            self.add_module(str(i), _check_module(layer, i))

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def add(self, layer: Module) -> None:
        """Append a layer (Keras' ``model.add``)."""
        self.add_module(str(len(self._modules)), _check_module(layer, len(self._modules)))

    append = add

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(layers[index])
        return layers[index]

    def get_config(self) -> dict[str, Any]:
        """Each layer's class and config; child names too when they are not "0", "1", …"""
        numbered = list(self._modules) == [str(i) for i in range(len(self._modules))]
        layers = []
        for name, m in self._modules.items():
            entry = {"class_name": type(m).__name__, "config": m.get_config()}
            if not numbered:
                entry["name"] = name
            layers.append(entry)
        return {"layers": layers}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from .serialization import layer_from_config

        entries = config["layers"]
        layers = [layer_from_config(c) for c in entries]
        if entries and all("name" in c for c in entries):
            return cls(OrderedDict((c["name"], m) for c, m in zip(entries, layers, strict=True)))
        return cls(layers)


class ModuleList(Module):
    """A list of modules, registered so their parameters are found."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), _check_module(module, len(self._modules)))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]


class ModuleDict(Module):
    """A dict of modules, registered so their parameters are found."""

    def __init__(self, modules: dict[str, Module] | None = None) -> None:
        super().__init__()
        for name, m in (modules or {}).items():
            self[name] = m

    def __setitem__(self, name: str, module: Module) -> None:
        self.add_module(name, _check_module(module, name))

    def __getitem__(self, name: str) -> Module:
        return self._modules[name]

    def __contains__(self, name: str) -> bool:
        return name in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()


def _check_module(layer: Any, name: Any) -> Module:
    if not isinstance(layer, Module):
        raise TypeError(f"layer {name!r} is a {type(layer).__name__}, not a Module")
    return layer
