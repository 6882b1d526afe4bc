"""Real data sets: the bundled digits, MNIST / Fashion-MNIST (IDX), CIFAR-10/100 (binary) and
folders of images. Only the digits ship with the package; the others are read from disk and
fetched only with ``download=True``. Every image dataset yields CHW float32 images in [0, 1]."""

from ._base import DatasetNotFoundError, ImageArrayDataset, data_home
from .cifar import CIFAR10, CIFAR100, read_cifar_binary
from .digits import DIGITS_CLASSES, Digits, load_digits
from .idx import MNIST, FashionMNIST, read_idx, write_idx
from .image_folder import IMG_EXTENSIONS, ImageFolder, load_image

__all__ = ["DatasetNotFoundError", "ImageArrayDataset", "data_home", "CIFAR10", "CIFAR100",
           "read_cifar_binary", "DIGITS_CLASSES", "Digits", "load_digits", "MNIST",
           "FashionMNIST", "read_idx", "write_idx", "IMG_EXTENSIONS", "ImageFolder",
           "load_image"]
