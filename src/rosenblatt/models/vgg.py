"""VGG networks (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556), with torchvision's layout, keys and initialisation.

Only 3×3 convolutions (stride 1, padding 1: the size is kept) and 2×2 max pools (stride 2: the
size is halved), in five blocks; the depth counts the convolutions and the three linear layers.
The paper's configurations (the number is a conv's filters, M a max pool)::

    vgg11 (A)  64 M 128 M 256 256 M 512 512 M 512 512 M
    vgg13 (B)  64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
    vgg16 (D)  64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
    vgg19 (E)  64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M

Each convolution is followed by ReLU, or by BatchNorm2d then ReLU in the ``_bn`` versions (which
the paper predates). The whole network, for a 224×224 input::

    features     the configuration above                      (N, 512, 7, 7)
                 (after each block: 112, 56, 28, 14, 7 pixels)
    avgpool      AdaptiveAvgPool2d((7, 7))                    (N, 512, 7, 7)
    flatten                                                   (N, 25088)
    classifier   0 Linear(25088 → 4096) · 1 ReLU · 2 Dropout(p)
                 3 Linear(4096 → 4096) · 4 ReLU · 5 Dropout(p)
                 6 Linear(4096 → num_classes)                 (N, num_classes)

Keys are torchvision's: ``features.0.weight`` (the module index in ``features``: conv, ReLU and
pool each take one), ``features.1.running_mean`` in the ``_bn`` versions,
``classifier.6.bias``. Parameters for 1000 classes: vgg11 132,863,336, vgg13 133,047,848,
vgg16 138,357,544, vgg19 143,667,240 (the ``_bn`` versions 2·Σ channels more: γ and β).
Any input of at least 32×32 pixels works (the adaptive pool replicates a 1×1 map to 7×7).

Initialisation (torchvision's): conv weights N(0, 2/fan_out), fan_out = C_out·3·3
(``kaiming_normal_``, mode "fan_out", ReLU gain), conv biases 0; batch-norm γ = 1, β = 0;
linear weights N(0, 0.01²), linear biases 0.
"""

from __future__ import annotations

from typing import Any

import rosenblatt as rb
import rosenblatt.nn as nn
from rosenblatt.nn import init
from rosenblatt.tensor import Tensor

__all__ = [
    "VGG",
    "CONFIGS",
    "make_layers",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

# depth -> the paper's configuration: a number is a 3×3 conv with that many filters, "M" a pool
CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(config: list[int | str], batch_norm: bool = False,
                in_channels: int = 3) -> nn.Sequential:
    """The ``features`` of a VGG: for each number v in ``config`` Conv2d(·, v, 3×3, padding 1)
    [+ BatchNorm2d(v)] + ReLU, for each "M" MaxPool2d(2, stride 2), in one ``Sequential``."""
    layers: list[nn.Module] = []
    channels = in_channels
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        assert isinstance(v, int)
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: ``features`` (from ``make_layers``; must end with 512 channels) → ``avgpool``
    (adaptive, 7×7) → flatten (25088) → ``classifier`` (Linear 4096, ReLU, Dropout p,
    Linear 4096, ReLU, Dropout p, Linear num_classes). x (N, C, H, W) → logits (N, num_classes).

    Initialisation as torchvision: conv W ~ N(0, 2/fan_out), b = 0; batch-norm γ = 1, β = 0;
    linear W ~ N(0, 0.01²), b = 0.
    """

    def __init__(self, features: nn.Sequential, num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"VGG: num_classes must be >= 1, got {num_classes}")
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init.normal_(m.weight, 0.0, 0.01)
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (N, 512, H/32, W/32)
        x = self.avgpool(x)  # (N, 512, 7, 7)
        x = rb.flatten(x, 1)  # (N, 25088)
        return self.classifier(x)  # (N, num_classes)

    def get_config(self) -> dict[str, Any]:
        """``features`` as a Sequential config, ``num_classes`` and ``dropout``."""
        return {"features": self.features.get_config(),
                "num_classes": self.classifier[6].out_features, "dropout": self.classifier[2].p}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> VGG:
        features = nn.Sequential.from_config(config["features"])
        return cls(features, config["num_classes"], config["dropout"])


def _vgg(depth: int, batch_norm: bool, num_classes: int, in_channels: int,
         dropout: float) -> VGG:
    if in_channels < 1:
        raise ValueError(f"vgg{depth}: in_channels must be >= 1, got {in_channels}")
    return VGG(make_layers(CONFIGS[depth], batch_norm, in_channels), num_classes, dropout)


def vgg11(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-11 (configuration A: 8 convolutions + 3 linear layers), 132,863,336 parameters."""
    return _vgg(11, False, num_classes, in_channels, dropout)


def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-11 with batch norm after every convolution, 132,868,840 parameters."""
    return _vgg(11, True, num_classes, in_channels, dropout)


def vgg13(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-13 (configuration B: 10 convolutions + 3 linear layers), 133,047,848 parameters."""
    return _vgg(13, False, num_classes, in_channels, dropout)


def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-13 with batch norm after every convolution, 133,053,736 parameters."""
    return _vgg(13, True, num_classes, in_channels, dropout)


def vgg16(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-16 (configuration D: 13 convolutions + 3 linear layers), 138,357,544 parameters."""
    return _vgg(16, False, num_classes, in_channels, dropout)


def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch norm after every convolution, 138,365,992 parameters."""
    return _vgg(16, True, num_classes, in_channels, dropout)


def vgg19(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-19 (configuration E: 16 convolutions + 3 linear layers), 143,667,240 parameters."""
    return _vgg(19, False, num_classes, in_channels, dropout)


def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-19 with batch norm after every convolution, 143,678,248 parameters."""
    return _vgg(19, True, num_classes, in_channels, dropout)
