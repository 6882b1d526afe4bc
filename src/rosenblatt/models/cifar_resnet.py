"""The CIFAR-10 residual networks of He, Zhang, Ren & Sun, "Deep Residual Learning for Image
Recognition" (CVPR 2016, arXiv:1512.03385), §4.2, and their plain twins for the degradation
experiment (their Fig. 6).

6n + 2 weighted layers on 32×32 inputs::

    conv1 3×3, 16 → bn1 → ReLU                     (N, 16, 32, 32)
    layer1: n blocks, 16 channels                  (N, 16, 32, 32)
    layer2: n blocks, 32 channels, first stride 2  (N, 32, 16, 16)
    layer3: n blocks, 64 channels, first stride 2  (N, 64, 8, 8)
    global average pool → flatten → fc             (N, num_classes)

Each block is two 3×3 conv + BN layers. A residual block adds a skip connection,

    y = ReLU(F(x) + shortcut(x)),  F(x) = bn2(conv2(ReLU(bn1(conv1(x))))),

a plain block (``plain20`` …) is the same two layers without it, y = ReLU(F(x)). Where a stage
halves the resolution and doubles the channels the shortcut is either

- option A (``shortcut="A"``, the paper's CIFAR choice): the identity, subsampled with stride 2
  and padded with zero channels, x[:, :, ::2, ::2] followed by the new channels = 0; no
  parameters, so a residual net and its plain twin have exactly the same parameters
  (ResNet-20: 269,722 with 10 classes, the paper's 0.27M);
- option B (``shortcut="B"``): a 1×1 conv (stride 2) + BN projection, torchvision's
  ``downsample`` (ResNet-20 then has 272,474 parameters).

Names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer2.0.conv1.weight``,
``layer2.0.downsample.0.weight`` for option B, ``fc.weight``), so a residual net's state dict
loads into its plain twin (option A) and the two can be compared with identical weights.
Initialisation as torchvision's ResNet (He et al. 2015's normal init): conv weights
N(0, 2/fan_out), BN γ = 1 and β = 0, fc PyTorch's Linear default.

A batch norm followed by a ReLU runs fused, ``bn(x, relu=True)``: the numbers of
``relu(bn(x))``, with one activation fewer kept for backward (see ``BatchNorm2d``).
"""

from __future__ import annotations

from typing import Any

import rosenblatt as rb
import rosenblatt.nn as nn

from .resnet import BasicBlock, conv1x1, conv3x3, init_weights

__all__ = ["ZeroPadShortcut", "PlainBlock", "CifarResNet", "resnet20", "resnet56", "resnet110",
           "plain20", "plain56", "plain110"]


class ZeroPadShortcut(nn.Module):
    """The parameter-free shortcut of option A:

        shortcut(x) = [x[:, :, ::s, ::s], 0]   (zero channels appended along dim 1)

    x (N, in_planes, H, W) → (N, out_planes, ⌈H/s⌉, ⌈W/s⌉), out_planes ≥ in_planes.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        if out_planes < in_planes or stride < 1:
            raise ValueError(f"ZeroPadShortcut: need out_planes >= in_planes and stride >= 1, "
                             f"got {in_planes} → {out_planes}, stride {stride}")
        self.in_planes = int(in_planes)
        self.out_planes = int(out_planes)
        self.stride = int(stride)

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        s = self.stride
        if s > 1:
            x = x[:, :, ::s, ::s]
        extra = self.out_planes - self.in_planes
        if extra:
            x = rb.pad(x, (0, 0, 0, 0, 0, extra))  # (W left, W right, H top, H bottom, C)
        return x

    def extra_repr(self) -> str:
        return f"{self.in_planes}, {self.out_planes}, stride={self.stride}"

    def get_config(self) -> dict[str, Any]:
        return {"in_planes": self.in_planes, "out_planes": self.out_planes,
                "stride": self.stride}


class PlainBlock(BasicBlock):
    """A ``BasicBlock`` without its skip connection (the paper's "plain" baseline):

        y = ReLU(bn2(conv2(ReLU(bn1(conv1(x))))))

    x (N, inplanes, H, W) → y (N, planes, ⌈H/s⌉, ⌈W/s⌉); conv1 carries the stride s.
    Same parameters and names as ``BasicBlock`` (without a projection).
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__(inplanes, planes, stride)

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        out = self.bn1(self.conv1(x), relu=True)
        return self.bn2(self.conv2(out), relu=True)


class CifarResNet(nn.Module):
    """The CIFAR network of this module's docstring with ``depth`` = 6n + 2 layers:
    residual blocks (``residual=True``) with option-A or option-B shortcuts (``shortcut``),
    or plain blocks (``residual=False``; ``shortcut`` is then checked but has nothing to do).

    x (N, in_channels, H, W) → logits (N, num_classes); made for 32×32, any H, W ≥ 4 works.
    """

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3,
                 shortcut: str = "A", residual: bool = True) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, "
                             f"110, …), got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"CifarResNet: num_classes and in_channels must be >= 1, got "
                             f"{num_classes} and {in_channels}")
        self.depth = int(depth)
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.shortcut = shortcut
        self.residual = bool(residual)
        n = (depth - 2) // 6

        self.inplanes = 16
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = self._make_layer(16, n, stride=1)
        self.layer2 = self._make_layer(32, n, stride=2)
        self.layer3 = self._make_layer(64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

        init_weights(self)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        """One stage of ``blocks`` blocks with ``planes`` channels; the first one strides."""
        layers: list[nn.Module] = []
        for i in range(blocks):
            s = stride if i == 0 else 1
            if not self.residual:
                layers.append(PlainBlock(self.inplanes, planes, s))
            else:
                downsample: nn.Module | None = None
                if s != 1 or self.inplanes != planes:
                    if self.shortcut == "A":
                        downsample = ZeroPadShortcut(self.inplanes, planes, s)
                    else:
                        downsample = nn.Sequential(conv1x1(self.inplanes, planes, s),
                                                   nn.BatchNorm2d(planes))
                layers.append(BasicBlock(self.inplanes, planes, s, downsample))
            self.inplanes = planes
        return nn.Sequential(layers)

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        x = self.bn1(self.conv1(x), relu=True)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = rb.flatten(self.avgpool(x), 1)
        return self.fc(x)

    def get_config(self) -> dict[str, Any]:
        return {"depth": self.depth, "num_classes": self.num_classes,
                "in_channels": self.in_channels, "shortcut": self.shortcut,
                "residual": self.residual}


def resnet20(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-20 for CIFAR (He et al. 2015, §4.2, n = 3): 269,722 parameters with 10 classes
    and option A (the paper's 0.27M); 8.75 % CIFAR-10 test error in the paper."""
    return CifarResNet(20, num_classes, in_channels, shortcut, residual=True)


def resnet56(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-56 for CIFAR (He et al. 2015, §4.2, n = 9): 853,018 parameters with 10 classes
    and option A (the paper's 0.85M); 6.97 % CIFAR-10 test error in the paper."""
    return CifarResNet(56, num_classes, in_channels, shortcut, residual=True)


def resnet110(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-110 for CIFAR (He et al. 2015, §4.2, n = 18): 1,727,962 parameters with 10
    classes and option A (the paper's 1.7M); 6.43 % CIFAR-10 test error in the paper."""
    return CifarResNet(110, num_classes, in_channels, shortcut, residual=True)


def plain20(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """Plain-20 (He et al. 2015, §4.2 and Fig. 6): ResNet-20's layers without the skip
    connections, y = ReLU(F(x)); 269,722 parameters with 10 classes. ``shortcut`` is accepted
    for a common signature and has no effect."""
    return CifarResNet(20, num_classes, in_channels, shortcut, residual=False)


def plain56(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """Plain-56 (He et al. 2015, Fig. 6): ResNet-56 without skip connections; 853,018
    parameters with 10 classes. It trains *worse* than plain-20 (the degradation problem)."""
    return CifarResNet(56, num_classes, in_channels, shortcut, residual=False)


def plain110(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """Plain-110: ResNet-110 without skip connections; 1,727,962 parameters with 10 classes
    (the paper's Fig. 6 goes to plain-56; deeper plain nets degrade further)."""
    return CifarResNet(110, num_classes, in_channels, shortcut, residual=False)
