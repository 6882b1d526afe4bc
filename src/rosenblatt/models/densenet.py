"""Densely connected networks (Huang, Liu, van der Maaten & Weinberger, "Densely Connected
Convolutional Networks", CVPR 2017, arXiv:1608.06993), with torchvision's layout, keys and
initialisation.

Inside a dense block every layer sees the feature maps of all layers before it, concatenated
along the channels:

    x_l = H_l([x_0, x_1, …, x_{l−1}])

with H_l = BN → ReLU → conv 1×1 (to bn_size·k channels) → BN → ReLU → conv 3×3 (to k
channels), k the growth rate (the "DenseNet-BC" bottleneck layer). A block of L layers on c
input channels outputs c + L·k channels. Between blocks a transition layer (BN → ReLU → conv 1×1
halving the channels → 2×2 average pool, stride 2) halves the channels and the resolution.

For a 224×224 input, DenseNet-121 (k = 32, blocks [6, 12, 24, 16])::

    features.conv0 7×7/2, 64 → norm0 → relu0 → pool0 3×3/2     (N, 64, 56, 56)
    denseblock1 (6 layers)  → (N, 256, 56, 56)  → transition1 → (N, 128, 28, 28)
    denseblock2 (12 layers) → (N, 512, 28, 28)  → transition2 → (N, 256, 14, 14)
    denseblock3 (24 layers) → (N, 1024, 14, 14) → transition3 → (N, 512, 7, 7)
    denseblock4 (16 layers) → (N, 1024, 7, 7)   → norm5
    ReLU → adaptive average pool 1×1 → flatten → classifier       (N, num_classes)

Keys are torchvision's: ``features.conv0.weight``,
``features.denseblock1.denselayer1.norm1.weight``, ``features.transition1.conv.weight``,
``features.norm5.running_mean``, ``classifier.bias``. (Old torchvision checkpoints wrote
``norm.1`` for ``norm1``; torchvision renames those keys on loading, rosenblatt does not.)

Initialisation (torchvision's): conv weights N(0, 2/fan_in) (``kaiming_normal_``), batch-norm
γ = 1 and β = 0, classifier weight PyTorch's Linear default U(−1/√fan_in, 1/√fan_in) and bias 0.

A batch norm followed by a ReLU runs fused, ``bn(x, relu=True)``: the numbers of
``relu(bn(x))``, with one activation fewer kept for backward (see ``BatchNorm2d``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import rosenblatt as rb
import rosenblatt.nn as nn
import rosenblatt.nn.functional as F
from rosenblatt.nn import init

__all__ = ["DenseLayer", "DenseBlock", "Transition", "DenseNet", "densenet121", "densenet169",
           "densenet201"]


class DenseLayer(nn.Module):
    """One composite function H_l of a dense block (torchvision's ``_DenseLayer``):

        new = conv2(ReLU(norm2(conv1(ReLU(norm1(cat(inputs)))))))

    ``inputs`` is the list [x_0, …, x_{l−1}] (or one tensor) of (N, c_i, H, W) maps with
    Σ c_i = ``num_input_features``; the output is (N, growth_rate, H, W). conv1 is 1×1 to
    bn_size·growth_rate channels, conv2 3×3 (padding 1). With ``drop_rate`` > 0, dropout
    follows (in training).
    """

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int,
                 drop_rate: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, inputs: rb.Tensor | list[rb.Tensor]) -> rb.Tensor:
        x = rb.cat(inputs, dim=1) if isinstance(inputs, list) else inputs
        out = self.conv1(self.norm1(x, relu=True))  # relu1 and relu2 run fused in the norms
        out = self.conv2(self.norm2(out, relu=True))
        if self.drop_rate > 0:
            out = F.dropout(out, self.drop_rate, self.training)
        return out


class DenseBlock(nn.Module):
    """``num_layers`` dense layers ``denselayer1`` … (torchvision's ``_DenseBlock``):

        x_l = H_l([x_0, …, x_{l−1}]),  output [x_0, x_1, …, x_L]

    x_0 (N, c, H, W) → (N, c + L·k, H, W), k = growth_rate. Each layer gets the list of the
    maps so far and concatenates it itself.
    """

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int, drop_rate: float) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size,
                               drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        features = [x]
        for layer in self.children():
            features.append(layer(features))
        return rb.cat(features, dim=1)


class Transition(nn.Sequential):
    """Between dense blocks (torchvision's ``_Transition``): norm → relu → conv 1×1 → pool,

        (N, c_in, H, W) → (N, c_out, ⌊H/2⌋, ⌊W/2⌋)

    with a 2×2 average pool of stride 2; c_out = c_in/2 in DenseNet-BC (compression 0.5).
    """

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(num_input_features)),
            ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(num_input_features, num_output_features, 1, bias=False)),
            ("pool", nn.AvgPool2d(kernel_size=2, stride=2)),
        ]))


class DenseNet(nn.Module):
    """The DenseNet-BC of this module's docstring: ``block_config`` gives the layers per dense
    block, ``growth_rate`` k, ``num_init_features`` the channels of conv0, ``bn_size`` the
    bottleneck width factor (conv1 makes bn_size·k channels), ``drop_rate`` the dropout after
    each dense layer.

    x (N, in_channels, H, W) → logits (N, num_classes); H, W ≥ 32.
    """

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, ...] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0.0,
                 num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        if min(growth_rate, num_init_features, bn_size, num_classes, in_channels) < 1:
            raise ValueError(
                f"DenseNet: growth_rate, num_init_features, bn_size, num_classes and "
                f"in_channels must be >= 1, got {growth_rate}, {num_init_features}, {bn_size}, "
                f"{num_classes}, {in_channels}")
        if not block_config or any(int(n) < 1 for n in block_config):
            raise ValueError(f"DenseNet: block_config must be layer counts >= 1, got "
                             f"{block_config}")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"DenseNet: drop_rate must be in [0, 1), got {drop_rate}")
        self.growth_rate = int(growth_rate)
        self.block_config = tuple(int(n) for n in block_config)
        self.num_init_features = int(num_init_features)
        self.bn_size = int(bn_size)
        self.drop_rate = float(drop_rate)
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)

        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(self.block_config):
            block = DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(self.block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init.zeros_(m.bias)

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        out = F.relu(self.features(x))
        out = rb.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)

    def get_config(self) -> dict[str, Any]:
        return {"growth_rate": self.growth_rate, "block_config": list(self.block_config),
                "num_init_features": self.num_init_features, "bn_size": self.bn_size,
                "drop_rate": self.drop_rate, "num_classes": self.num_classes,
                "in_channels": self.in_channels}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DenseNet:
        config = dict(config)
        config["block_config"] = tuple(config["block_config"])
        return cls(**config)


def densenet121(num_classes: int = 1000, in_channels: int = 3, growth_rate: int = 32,
                bn_size: int = 4, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-121 (Huang et al. 2017, Table 1): dense blocks x_l = H_l([x_0, …, x_{l−1}]) of
    [6, 12, 24, 16] layers, k = 32, 64 initial features; 2·58 + 5 = 121 layers.
    x (N, in_channels, 224, 224) → features (N, 1024, 7, 7) → logits (N, num_classes).
    7,978,856 parameters with 1000 classes."""
    return DenseNet(growth_rate, (6, 12, 24, 16), 64, bn_size, drop_rate, num_classes,
                    in_channels)


def densenet169(num_classes: int = 1000, in_channels: int = 3, growth_rate: int = 32,
                bn_size: int = 4, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-169 (Huang et al. 2017, Table 1): dense blocks x_l = H_l([x_0, …, x_{l−1}]) of
    [6, 12, 32, 32] layers, k = 32. x (N, in_channels, 224, 224) → features (N, 1664, 7, 7) →
    logits (N, num_classes). 14,149,480 parameters with 1000 classes."""
    return DenseNet(growth_rate, (6, 12, 32, 32), 64, bn_size, drop_rate, num_classes,
                    in_channels)


def densenet201(num_classes: int = 1000, in_channels: int = 3, growth_rate: int = 32,
                bn_size: int = 4, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-201 (Huang et al. 2017, Table 1): dense blocks x_l = H_l([x_0, …, x_{l−1}]) of
    [6, 12, 48, 32] layers, k = 32. x (N, in_channels, 224, 224) → features (N, 1920, 7, 7) →
    logits (N, num_classes). 20,013,928 parameters with 1000 classes."""
    return DenseNet(growth_rate, (6, 12, 48, 32), 64, bn_size, drop_rate, num_classes,
                    in_channels)
