"""AlexNet (Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012), in two variants.

``variant="torchvision"`` (the default) is torchvision's ``alexnet`` exactly: the filter counts
of Krizhevsky's later "One weird trick" paper (arXiv:1404.5997), no local response
normalisation, keys ``features.0.weight`` … ``classifier.6.bias`` and 61,100,840 parameters.
For a 224×224 input::

    features  0  Conv2d(C → 64, 11×11, stride 4, padding 2)    (N, 64, 55, 55)
              1  ReLU
              2  MaxPool2d(3, stride 2)                       (N, 64, 27, 27)
              3  Conv2d(64 → 192, 5×5, padding 2)              (N, 192, 27, 27)
              4  ReLU
              5  MaxPool2d(3, stride 2)                       (N, 192, 13, 13)
              6  Conv2d(192 → 384, 3×3, padding 1)             (N, 384, 13, 13)
              7  ReLU
              8  Conv2d(384 → 256, 3×3, padding 1)             (N, 256, 13, 13)
              9  ReLU
              10 Conv2d(256 → 256, 3×3, padding 1)             (N, 256, 13, 13)
              11 ReLU
              12 MaxPool2d(3, stride 2)                       (N, 256, 6, 6)
    avgpool      AdaptiveAvgPool2d((6, 6))                     (N, 256, 6, 6)
    flatten                                                    (N, 9216)
    classifier 0 Dropout(p) · 1 Linear(9216 → 4096) · 2 ReLU
               3 Dropout(p) · 4 Linear(4096 → 4096) · 5 ReLU
               6 Linear(4096 → num_classes)                    (N, num_classes)

``variant="original"`` is the 2012 network on one tower (the paper split it over two GPUs; here
every convolution sees all channels): 96/256/384/384/256 filters, no padding in the first
convolution, so a 227×227 input gives 55×55×96, and local response normalisation
LRN(size 5, α = 10⁻⁴, β = 0.75, k = 2) after the ReLU of the first two convolutions, before
their max pools::

    features  0  Conv2d(C → 96, 11×11, stride 4)               (N, 96, 55, 55)
              1  ReLU · 2 LocalResponseNorm · 3 MaxPool2d(3, 2) (N, 96, 27, 27)
              4  Conv2d(96 → 256, 5×5, padding 2)               (N, 256, 27, 27)
              5  ReLU · 6 LocalResponseNorm · 7 MaxPool2d(3, 2) (N, 256, 13, 13)
              8  Conv2d(256 → 384, 3×3, padding 1) · 9 ReLU     (N, 384, 13, 13)
              10 Conv2d(384 → 384, 3×3, padding 1) · 11 ReLU    (N, 384, 13, 13)
              12 Conv2d(384 → 256, 3×3, padding 1) · 13 ReLU    (N, 256, 13, 13)
              14 MaxPool2d(3, stride 2)                        (N, 256, 6, 6)

followed by the same avgpool and classifier (62,378,344 parameters for 1000 classes).

The max pools overlap (3×3 windows, stride 2), the paper's "overlapping pooling". Any input
of at least 63×63 pixels works for the torchvision variant (67×67 for the original): the
adaptive pool takes what is left. Initialisation: PyTorch's layer defaults,
U(−1/√fan_in, 1/√fan_in) for every weight and bias, as torchvision (the paper drew weights from
N(0, 0.01²) and set some biases to 1).
"""

from __future__ import annotations

from typing import Any

import rosenblatt as rb
import rosenblatt.nn as nn
from rosenblatt.tensor import Tensor

__all__ = ["AlexNet", "alexnet"]

VARIANTS = ("torchvision", "original")


def _torchvision_features(in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def _original_features(in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),
        nn.ReLU(),
        nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


class AlexNet(nn.Module):
    """AlexNet: ``features`` (convolutions and pools) → ``avgpool`` (adaptive, 6×6) → flatten →
    ``classifier`` (three linear layers, dropout p before the first two), the tables of this
    module's docstring. x (N, in_channels, H, W) → logits (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                 variant: str = "torchvision") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"alexnet: variant must be one of {VARIANTS}, got {variant!r}")
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"alexnet: num_classes and in_channels must be >= 1, got "
                             f"{num_classes} and {in_channels}")
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.dropout = float(dropout)
        self.variant = variant
        if variant == "torchvision":
            self.features = _torchvision_features(in_channels)
        else:
            self.features = _original_features(in_channels)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (N, 256, h, w)
        x = self.avgpool(x)  # (N, 256, 6, 6)
        x = rb.flatten(x, 1)  # (N, 9216)
        return self.classifier(x)  # (N, num_classes)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "in_channels": self.in_channels,
                "dropout": self.dropout, "variant": self.variant}


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
            variant: str = "torchvision") -> AlexNet:
    """AlexNet (Krizhevsky et al., 2012): ``variant="torchvision"`` is torchvision's model
    (61,100,840 parameters, its keys), ``"original"`` the paper's single-tower network with local
    response normalisation (227×227 → 55×55×96 after the first convolution). ``dropout`` is p
    of both dropout layers. See the module docstring for the layer tables."""
    return AlexNet(num_classes, in_channels, dropout, variant)
