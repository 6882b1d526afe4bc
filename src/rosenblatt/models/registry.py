"""The model zoo's name table: ``models.get(name, num_classes=..., in_channels=...)``.

Names follow torchvision (``resnet50``, ``vgg16_bn``, ``googlenet`` …). Each name maps to the module
and function that build it; the module is imported the first time the name is asked for, so
``import rosenblatt`` does not import every architecture.
"""

from __future__ import annotations

import importlib
from typing import Any

from rosenblatt.nn.module import Module

# name -> (module under rosenblatt.models, builder function)
_BUILDERS: dict[str, tuple[str, str]] = {
    "small_cnn": ("small", "small_cnn"),
    "lenet5": ("lenet", "lenet5"),
    "alexnet": ("alexnet", "alexnet"),
    **{f"vgg{d}{bn}": ("vgg", f"vgg{d}{bn}") for d in (11, 13, 16, 19) for bn in ("", "_bn")},
    "googlenet": ("googlenet", "googlenet"),
    **{f"resnet{d}": ("resnet", f"resnet{d}") for d in (18, 34, 50, 101, 152, 200)},
    **{f"densenet{d}": ("densenet", f"densenet{d}") for d in (121, 169, 201)},
    **{f"resnet{d}": ("cifar_resnet", f"resnet{d}") for d in (20, 56, 110)},
    **{f"plain{d}": ("cifar_resnet", f"plain{d}") for d in (20, 56, 110)},
}


def list_models() -> list[str]:
    """The names ``get`` accepts, sorted."""
    return sorted(_BUILDERS)


def get(name: str, **kwargs: Any) -> Module:
    """Build the architecture called ``name`` with fresh (randomly initialised) weights.

    Keyword arguments go to the builder: every builder takes ``num_classes`` and ``in_channels``
    (defaults as the original paper: 1000 classes and 3 channels for the ImageNet models, 10 and 3
    for the CIFAR ResNets, 10 and 1 for LeNet-5); some take more (``aux_logits`` for GoogLeNet).

    >>> from rosenblatt import models
    >>> net = models.get("resnet18", num_classes=10)
    """
    try:
        module_name, function_name = _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"models.get: unknown model {name!r}; known models: {', '.join(list_models())}"
        ) from None
    module = importlib.import_module(f"rosenblatt.models.{module_name}")
    builder = getattr(module, function_name)
    return builder(**kwargs)
