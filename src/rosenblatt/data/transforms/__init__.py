"""Image transforms on NumPy arrays, by family.

Canonical image format: CHW float32 in [0, 1] (``ToTensor`` makes it from HWC uint8; every
image dataset yields it). Geometric transforms act on the last two axes; colour transforms
expect [0, 1]; ``Normalize`` comes last. Random transforms draw from rosenblatt's generator
(``rb.manual_seed``), or a ``DataLoader``'s epoch generator seeded from it.

* ``base``: Transform, Compose, Lambda, RandomApply, RandomChoice, ToTensor, Normalize,
  MinMaxScale
* ``geometric``: flips, RandomCrop, CenterCrop, Resize, RandomResize, RandomResizedCrop,
  RandomAffine, RandomRotation, LensDistortion
* ``color``: ColorJitter (brightness, contrast, saturation)
* ``erase``: Cutout, RandomErasing
* ``batch``: Mixup, CutMix (batch-level, with soft labels)
* ``tta``: FiveCrop, TenCrop, MultiScaleCrops, multi_scale_tta
* ``functional``: the deterministic operations underneath
"""

from . import functional
from .base import (
    Compose,
    Lambda,
    MinMaxScale,
    Normalize,
    RandomApply,
    RandomChoice,
    ToTensor,
    Transform,
)
from .batch import CutMix, Mixup, one_hot
from .color import (
    ColorJitter,
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    rgb_to_grayscale,
)
from .erase import Cutout, RandomErasing
from .geometric import (
    CenterCrop,
    LensDistortion,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
)
from .tta import FiveCrop, MultiScaleCrops, TenCrop, multi_scale_tta

__all__ = ["functional", "Compose", "Lambda", "MinMaxScale", "Normalize", "RandomApply",
           "RandomChoice", "ToTensor", "Transform", "CutMix", "Mixup", "one_hot", "ColorJitter",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "rgb_to_grayscale",
           "Cutout", "RandomErasing", "CenterCrop", "LensDistortion", "RandomAffine",
           "RandomCrop", "RandomHorizontalFlip", "RandomResize", "RandomResizedCrop",
           "RandomRotation", "RandomVerticalFlip", "Resize", "FiveCrop", "MultiScaleCrops",
           "TenCrop", "multi_scale_tta"]
