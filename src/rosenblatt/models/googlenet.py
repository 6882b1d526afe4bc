"""GoogLeNet, Inception v1 (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015,
arXiv:1409.4842), with torchvision's layout, keys and initialisation.

An Inception block runs four branches side by side on the same input and concatenates their
channels: a 1×1 convolution, a 1×1 reduction then a 3×3, a 1×1 reduction then a "5×5", and a
3×3 max pool then a 1×1 projection. Every convolution is a ``BasicConv2d``: conv (no bias) →
batch norm (eps 10⁻³) → ReLU (torchvision adds the batch norm; the paper predates it). Like
torchvision, the "5×5" branch uses a 3×3 kernel (torchvision issue #906), so keys and shapes
match its files. The network, for a 224×224 input (Inception columns: in, #1×1, #3×3 reduce,
#3×3, #5×5 reduce, #5×5, pool proj)::

    conv1         BasicConv2d(C → 64, 7×7, stride 2, padding 3)    (N, 64, 112, 112)
    maxpool1      MaxPool2d(3, stride 2, ceil_mode)               (N, 64, 56, 56)
    conv2         BasicConv2d(64 → 64, 1×1)                        (N, 64, 56, 56)
    conv3         BasicConv2d(64 → 192, 3×3, padding 1)            (N, 192, 56, 56)
    maxpool2      MaxPool2d(3, stride 2, ceil_mode)               (N, 192, 28, 28)
    inception3a   192,  64,  96, 128, 16,  32,  32                 (N, 256, 28, 28)
    inception3b   256, 128, 128, 192, 32,  96,  64                 (N, 480, 28, 28)
    maxpool3      MaxPool2d(3, stride 2, ceil_mode)               (N, 480, 14, 14)
    inception4a   480, 192,  96, 208, 16,  48,  64                 (N, 512, 14, 14) → aux1
    inception4b   512, 160, 112, 224, 24,  64,  64                 (N, 512, 14, 14)
    inception4c   512, 128, 128, 256, 24,  64,  64                 (N, 512, 14, 14)
    inception4d   512, 112, 144, 288, 32,  64,  64                 (N, 528, 14, 14) → aux2
    inception4e   528, 256, 160, 320, 32, 128, 128                 (N, 832, 14, 14)
    maxpool4      MaxPool2d(2, stride 2, ceil_mode)               (N, 832, 7, 7)
    inception5a   832, 256, 160, 320, 32, 128, 128                 (N, 832, 7, 7)
    inception5b   832, 384, 192, 384, 48, 128, 128                 (N, 1024, 7, 7)
    avgpool       AdaptiveAvgPool2d((1, 1)) → flatten             (N, 1024)
    dropout       Dropout(p = 0.2)
    fc            Linear(1024 → num_classes)                      (N, num_classes)

With ``aux_logits=True`` two auxiliary classifiers (``aux1`` on inception4a's output, ``aux2``
on inception4d's) give extra logits during training, which the paper adds to the loss with
weight 0.3 to push gradient into the middle of the network; in eval mode they are skipped.
Parameters for 1000 classes: 13,004,888 with the auxiliary classifiers, 6,624,904 without.
Any input of at least 15×15 pixels works.

Initialisation (torchvision's ``init_weights=True``): conv and linear weights from N(0, 0.01²)
truncated to [−2, 2] (``trunc_normal_``), batch-norm γ = 1, β = 0; linear biases keep PyTorch's
default U(−1/√fan_in, 1/√fan_in). ``transform_input`` is not offered (torchvision's False).

A batch norm followed by a ReLU runs fused, ``bn(x, relu=True)``: the numbers of
``relu(bn(x))``, with one activation fewer kept for backward (see ``BatchNorm2d``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import rosenblatt as rb
import rosenblatt.nn as nn
import rosenblatt.nn.functional as F
from rosenblatt.nn import init
from rosenblatt.tensor import Tensor

__all__ = [
    "BasicConv2d",
    "Inception",
    "InceptionAux",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "googlenet",
]


class GoogLeNetOutputs(NamedTuple):
    """What a GoogLeNet with auxiliary classifiers returns in training mode (torchvision's
    order): the main logits, then aux2's, then aux1's, each (N, num_classes)."""

    logits: Tensor
    aux_logits2: Tensor | None
    aux_logits1: Tensor | None


class BasicConv2d(nn.Module):
    """y = ReLU(BN(conv(x))): a convolution without bias (batch norm's β takes its place),
    batch norm with eps = 10⁻³, ReLU. x (N, C_in, H, W) → (N, C_out, H_o, W_o) with
    H_o = ⌊(H + 2p − k)/s⌋ + 1. Keys ``conv.weight``, ``bn.weight``, ``bn.running_mean`` …
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x), relu=True)

    def get_config(self) -> dict[str, Any]:
        conv = self.conv
        return {"in_channels": conv.in_channels, "out_channels": conv.out_channels,
                "kernel_size": conv.kernel_size[0], "stride": conv.stride[0],
                "padding": conv.padding[0]}


class Inception(nn.Module):
    """Inception block: four branches on the same x (N, C_in, H, W), concatenated on channels,

        y = cat[branch1(x), branch2(x), branch3(x), branch4(x)]   (N, C_out, H, W)

        branch1 = 1×1 conv → ch1x1
        branch2 = 1×1 conv → ch3x3red, then 3×3 conv (padding 1) → ch3x3
        branch3 = 1×1 conv → ch5x5red, then 3×3 conv (padding 1) → ch5x5  (torchvision's "5×5")
        branch4 = 3×3 max pool (stride 1, padding 1, ceil_mode), then 1×1 conv → pool_proj

    with every conv a ``BasicConv2d``; C_out = ch1x1 + ch3x3 + ch5x5 + pool_proj and the
    spatial size is kept. The 1×1 reductions keep the 3×3 and 5×5 convolutions cheap.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int) -> None:
        super().__init__()
        self.channels = [in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj]
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return rb.cat(branches, dim=1)  # (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)

    def get_config(self) -> dict[str, Any]:
        names = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
        return dict(zip(names, self.channels, strict=True))


class InceptionAux(nn.Module):
    """Auxiliary classifier on an intermediate map x (N, C_in, H, W):

        y = fc2(dropout(ReLU(fc1(flatten(conv(adaptive_avg_pool(x, 4×4)))))))

    conv a 1×1 ``BasicConv2d`` to 128 channels (128·4·4 = 2048 features), fc1 2048 → 1024,
    dropout p (0.7), fc2 1024 → num_classes. Output (N, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))  # (N, C_in, 4, 4)
        x = self.conv(x)  # (N, 128, 4, 4)
        x = rb.flatten(x, 1)  # (N, 2048)
        x = F.relu(self.fc1(x))  # (N, 1024)
        x = self.dropout(x)
        return self.fc2(x)  # (N, num_classes)

    def get_config(self) -> dict[str, Any]:
        return {"in_channels": self.conv.conv.in_channels, "num_classes": self.fc2.out_features,
                "dropout": self.dropout.p}


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1), the table of this module's docstring: x (N, in_channels, H, W)
    → logits (N, num_classes).

    With ``aux_logits=True``, in training mode ``forward`` returns
    ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``; in eval mode (or without the
    auxiliary classifiers) just the logits. ``dropout`` is p before ``fc``, ``dropout_aux`` p
    inside the auxiliary classifiers.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 dropout: float = 0.2, dropout_aux: float = 0.7) -> None:
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"googlenet: num_classes and in_channels must be >= 1, got "
                             f"{num_classes} and {in_channels}")
        self.aux_logits = bool(aux_logits)
        self.dropout_aux = float(dropout_aux)
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if self.aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2.0, b=2.0)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        x = self.conv1(x)  # (N, 64, 112, 112) for 224×224
        x = self.maxpool1(x)  # (N, 64, 56, 56)
        x = self.conv2(x)  # (N, 64, 56, 56)
        x = self.conv3(x)  # (N, 192, 56, 56)
        x = self.maxpool2(x)  # (N, 192, 28, 28)
        x = self.inception3a(x)  # (N, 256, 28, 28)
        x = self.inception3b(x)  # (N, 480, 28, 28)
        x = self.maxpool3(x)  # (N, 480, 14, 14)
        x = self.inception4a(x)  # (N, 512, 14, 14)
        use_aux = self.training and self.aux1 is not None and self.aux2 is not None
        aux1 = self.aux1(x) if use_aux else None  # (N, num_classes)
        x = self.inception4b(x)  # (N, 512, 14, 14)
        x = self.inception4c(x)  # (N, 512, 14, 14)
        x = self.inception4d(x)  # (N, 528, 14, 14)
        aux2 = self.aux2(x) if use_aux else None  # (N, num_classes)
        x = self.inception4e(x)  # (N, 832, 14, 14)
        x = self.maxpool4(x)  # (N, 832, 7, 7)
        x = self.inception5a(x)  # (N, 832, 7, 7)
        x = self.inception5b(x)  # (N, 1024, 7, 7)
        x = self.avgpool(x)  # (N, 1024, 1, 1)
        x = rb.flatten(x, 1)  # (N, 1024)
        x = self.dropout(x)
        logits = self.fc(x)  # (N, num_classes)
        if use_aux:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.fc.out_features, "in_channels": self.conv1.conv.in_channels,
                "aux_logits": self.aux_logits, "dropout": self.dropout.p,
                "dropout_aux": self.dropout_aux}


def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
              dropout: float = 0.2, dropout_aux: float = 0.7) -> GoogLeNet:
    """GoogLeNet / Inception v1 (Szegedy et al., 2015), torchvision's model: 6,624,904
    parameters, 13,004,888 with ``aux_logits=True`` (whose keys ``aux1.*``, ``aux2.*`` are
    torchvision's). In training mode with the auxiliary classifiers, ``forward`` returns
    ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``. See the module docstring."""
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout, dropout_aux)
