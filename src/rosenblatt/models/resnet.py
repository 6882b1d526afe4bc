"""Residual networks for ImageNet (He, Zhang, Ren & Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016, arXiv:1512.03385), with torchvision's layout, keys and initialisation.

A residual block learns a correction F(x) to its input instead of a whole new mapping:

    y = ReLU(F(x) + shortcut(x))

shortcut(x) = x when the shapes agree, else a 1×1 convolution (stride s) + batch norm
projection (the paper's option B, torchvision's ``downsample``). The network, for a 224×224
input (e = 1 for ``BasicBlock``, 4 for ``Bottleneck``)::

    conv1 7×7/2, 64 → bn1 → relu → maxpool 3×3/2      (N, 64, 56, 56)
    layer1: n₁ blocks, 64·e channels, stride 1         (N, 64e, 56, 56)
    layer2: n₂ blocks, 128·e channels, first stride 2  (N, 128e, 28, 28)
    layer3: n₃ blocks, 256·e channels, first stride 2  (N, 256e, 14, 14)
    layer4: n₄ blocks, 512·e channels, first stride 2  (N, 512e, 7, 7)
    avgpool (adaptive, 1×1) → flatten → fc              (N, num_classes)

Any input of at least 32×32 pixels works (the adaptive pool takes what is left). Keys are
torchvision's (``conv1.weight``, ``layer1.0.bn2.running_var``, ``layer2.0.downsample.0.weight``,
``fc.bias`` …), so ``model.load_state_dict(load_weights("resnet50.pth"))`` loads its files.
Like torchvision (the "ResNet v1.5" variant), a Bottleneck strides in its 3×3 convolution, not
in its first 1×1.

Initialisation (torchvision's): conv weights N(0, 2/fan_out) (``kaiming_normal_``, mode
"fan_out", ReLU gain), batch-norm γ = 1 and β = 0, the fc layer PyTorch's Linear default
U(−1/√fan_in, 1/√fan_in). ``zero_init_residual=True`` sets the last γ of every block to 0, so
each block starts as the identity (Goyal et al., 2017).

A batch norm followed by a ReLU runs fused, ``bn(x, relu=True)``: the numbers of
``relu(bn(x))``, with one activation fewer kept for backward (see ``BatchNorm2d``).
"""

from __future__ import annotations

from typing import Any

import rosenblatt as rb
import rosenblatt.nn as nn
from rosenblatt.nn import init

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet200",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution, padding 1, no bias (batch norm follows): H_o = ⌊(H − 1)/s⌋ + 1."""
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution, no bias: mixes channels; with stride s, H_o = ⌊(H − 1)/s⌋ + 1."""
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


def init_weights(model: nn.Module) -> None:
    """torchvision's ResNet initialisation: every conv weight N(0, 2/fan_out)
    (``kaiming_normal_``, mode "fan_out", ReLU gain), every batch norm γ = 1, β = 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            init.ones_(m.weight)
            init.zeros_(m.bias)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a skip connection (ResNet-18/34):

        F(x) = bn2(conv2(ReLU(bn1(conv1(x)))))
        y = ReLU(F(x) + shortcut(x)),  shortcut = downsample or the identity

    x (N, inplanes, H, W) → y (N, planes, ⌈H/s⌉, ⌈W/s⌉); conv1 carries the stride s.
    ``downsample`` must map x to y's shape when the stride is not 1 or the channels change.
    ``expansion`` = 1: the block outputs ``planes`` channels.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x), relu=True)
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand, with a skip connection (ResNet-50/101/152/200):

        F(x) = bn3(conv3(ReLU(bn2(conv2(ReLU(bn1(conv1(x))))))))
        y = ReLU(F(x) + shortcut(x)),  shortcut = downsample or the identity

    conv1: inplanes → planes (1×1), conv2: planes → planes (3×3, stride s), conv3: planes →
    4·planes (1×1). x (N, inplanes, H, W) → y (N, 4·planes, ⌈H/s⌉, ⌈W/s⌉).
    ``expansion`` = 4.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x), relu=True)
        out = self.bn2(self.conv2(out), relu=True)
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


_BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {
    "BasicBlock": BasicBlock,
    "Bottleneck": Bottleneck,
}


class ResNet(nn.Module):
    """The ImageNet ResNet of this module's docstring: ``block`` (``BasicBlock`` or
    ``Bottleneck``) repeated ``layers`` = [n₁, n₂, n₃, n₄] times in the four stages.

    x (N, in_channels, H, W) → logits (N, num_classes); H, W ≥ 32.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int],
                 num_classes: int = 1000, in_channels: int = 3,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        if not (isinstance(block, type) and issubclass(block, (BasicBlock, Bottleneck))):
            raise ValueError(f"ResNet: block must be BasicBlock or Bottleneck, got {block!r}")
        if len(layers) != 4 or any(int(n) < 1 for n in layers):
            raise ValueError(f"ResNet: layers must be four block counts >= 1, got {layers}")
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"ResNet: num_classes and in_channels must be >= 1, got "
                             f"{num_classes} and {in_channels}")
        self.block_name = block.__name__
        self.layer_counts = [int(n) for n in layers]
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.zero_init_residual = bool(zero_init_residual)

        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        init_weights(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        """One stage: ``blocks`` blocks of ``planes`` (× expansion) output channels; the first
        takes the stride and, when the shape changes, a conv1x1 + BN projection shortcut."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers: list[nn.Module] = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(layers)

    def forward(self, x: rb.Tensor) -> rb.Tensor:
        x = self.maxpool(self.bn1(self.conv1(x), relu=True))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = rb.flatten(self.avgpool(x), 1)
        return self.fc(x)

    def get_config(self) -> dict[str, Any]:
        return {"block": self.block_name, "layers": list(self.layer_counts),
                "num_classes": self.num_classes, "in_channels": self.in_channels,
                "zero_init_residual": self.zero_init_residual}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ResNet:
        config = dict(config)
        block = config.pop("block")
        return cls(_BLOCKS[block] if isinstance(block, str) else block, **config)


def resnet18(num_classes: int = 1000, in_channels: int = 3,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-18 (He et al. 2016, Table 1): BasicBlock, y = ReLU(F(x) + shortcut(x)), × [2, 2,
    2, 2]. x (N, in_channels, 224, 224) → layer4 (N, 512, 7, 7) → logits (N, num_classes).
    11,689,512 parameters with 1000 classes; 1.8 GFLOPs at 224×224."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, zero_init_residual)


def resnet34(num_classes: int = 1000, in_channels: int = 3,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-34 (He et al. 2016, Table 1): BasicBlock, y = ReLU(F(x) + shortcut(x)), × [3, 4,
    6, 3]. x (N, in_channels, 224, 224) → layer4 (N, 512, 7, 7) → logits (N, num_classes).
    21,797,672 parameters with 1000 classes; 3.6 GFLOPs."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


def resnet50(num_classes: int = 1000, in_channels: int = 3,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-50 (He et al. 2016, Table 1): Bottleneck (1×1, 3×3, 1×1; y = ReLU(F(x) +
    shortcut(x))) × [3, 4, 6, 3]. x (N, in_channels, 224, 224) → layer4 (N, 2048, 7, 7) →
    logits (N, num_classes). 25,557,032 parameters with 1000 classes; 3.8 GFLOPs (paper)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


def resnet101(num_classes: int = 1000, in_channels: int = 3,
              zero_init_residual: bool = False) -> ResNet:
    """ResNet-101 (He et al. 2016, Table 1): Bottleneck, y = ReLU(F(x) + shortcut(x)), × [3, 4,
    23, 3]. x (N, in_channels, 224, 224) → layer4 (N, 2048, 7, 7) → logits (N, num_classes).
    44,549,160 parameters with 1000 classes; 7.6 GFLOPs (paper)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, zero_init_residual)


def resnet152(num_classes: int = 1000, in_channels: int = 3,
              zero_init_residual: bool = False) -> ResNet:
    """ResNet-152 (He et al. 2016, Table 1): Bottleneck, y = ReLU(F(x) + shortcut(x)), × [3, 8,
    36, 3]. x (N, in_channels, 224, 224) → layer4 (N, 2048, 7, 7) → logits (N, num_classes).
    60,192,808 parameters with 1000 classes; 11.3 GFLOPs (paper)."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, zero_init_residual)


def resnet200(num_classes: int = 1000, in_channels: int = 3,
              zero_init_residual: bool = False) -> ResNet:
    """ResNet-200 (He, Zhang, Ren & Sun, "Identity Mappings in Deep Residual Networks", ECCV
    2016, arXiv:1603.05027, its ImageNet results): Bottleneck × [3, 24, 36, 3], 3·66 + 2 = 200
    layers. x (N, in_channels, 224, 224) → layer4 (N, 2048, 7, 7) → logits (N, num_classes);
    64,673,832 parameters with 1000 classes.

    torchvision has no ResNet-200, so there is no torchvision checkpoint to match. This one is
    built from the same post-activation blocks as ``resnet152``, y = ReLU(F(x) + shortcut(x)),
    with torchvision's key pattern; the paper's ResNet-200 uses its pre-activation blocks,
    y = x + F(x) with F = conv(ReLU(BN(·))) ×3, which these are not.
    """
    return ResNet(Bottleneck, [3, 24, 36, 3], num_classes, in_channels, zero_init_residual)
