"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 1998) for 28×28 digits (MNIST), padded to the paper's 32×32 by the
first convolution.

The network, for an input (N, C, 28, 28)::

    layer  module                                     output
    0      Conv2d(C → 6, 5×5, padding 2)              (N, 6, 28, 28)     C1
    1      activation
    2      pool 2×2                                   (N, 6, 14, 14)     S2
    3      Conv2d(6 → 16, 5×5)                        (N, 16, 10, 10)    C3
    4      activation
    5      pool 2×2                                   (N, 16, 5, 5)      S4
    6      Flatten                                    (N, 400)
    7      Linear(400 → 120)                          (N, 120)           C5
    8      activation
    9      Linear(120 → 84)                           (N, 84)            F6
    10     activation
    11     Linear(84 → num_classes)                   (N, num_classes)   output

Parameters: 6·(25C + 1) + 16·(6·25 + 1) + 120·401 + 84·121 + num_classes·85, which is 61,706
for one channel and ten classes.

The default (ReLU, max pooling) is the modern LeNet of ``benchmarks/cnn.py``, layer for layer,
so their state_dicts (``0.weight`` … ``11.bias``) agree. ``activation="tanh"`` and
``pool="avg"`` give the 1998 flavour, with the paper's details simplified as everyone does:
a plain tanh instead of 1.7159·tanh(2x/3), plain average pooling instead of the trainable
subsampling (a scale and a bias per map, then a sigmoid), C3 connected to all six S2 maps
instead of the paper's sparse table, and a linear output layer instead of the RBF units.
Initialisation: PyTorch's layer defaults, U(−1/√fan_in, 1/√fan_in).
"""

from __future__ import annotations

import rosenblatt.nn as nn

__all__ = ["lenet5"]


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"lenet5: activation must be 'relu' or 'tanh', got {name!r}")


def _pool(name: str) -> nn.Module:
    if name == "max":
        return nn.MaxPool2d(2)
    if name == "avg":
        return nn.AvgPool2d(2)
    raise ValueError(f"lenet5: pool must be 'max' or 'avg', got {name!r}")


def lenet5(
    num_classes: int = 10, in_channels: int = 1, activation: str = "relu", pool: str = "max"
) -> nn.Sequential:
    """LeNet-5 for (N, in_channels, 28, 28) inputs → logits (N, num_classes): the twelve layers
    of this module's docstring in one ``Sequential``.

    ``activation`` is "relu" or "tanh" (after both convolutions and both hidden linear layers),
    ``pool`` "max" or "avg" (2×2, stride 2). 61,706 parameters with the defaults.
    """
    if num_classes < 1 or in_channels < 1:
        raise ValueError(f"lenet5: num_classes and in_channels must be >= 1, got "
                         f"{num_classes} and {in_channels}")
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), _activation(activation), _pool(pool),
        nn.Conv2d(6, 16, 5), _activation(activation), _pool(pool),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), _activation(activation),
        nn.Linear(120, 84), _activation(activation),
        nn.Linear(84, num_classes),
    )
