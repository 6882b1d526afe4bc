"""Data: datasets, a batching ``DataLoader``, splits, real data sets and image transforms.

    from rosenblatt.data import DataLoader, Digits, stratified_split, transforms as T

    train, val = stratified_split(Digits(), [0.8, 0.2], seed=0)
    loader = DataLoader(train, batch_size=64, shuffle=True)
    model.fit(loader, epochs=5, validation_data=DataLoader(val, batch_size=256))

Batches are NumPy arrays (what ``fit`` consumes); images are CHW float32 in [0, 1]. All
randomness (shuffling, splits, random transforms, mixup) comes from
``rosenblatt.random.generator()``, so ``rb.manual_seed`` makes a pipeline reproducible; a
custom random transform should draw from ``rosenblatt.data.generator()`` (that generator, or a
loader's epoch generator seeded from it, also in the prefetch thread).
"""

from . import datasets, transforms
from ._rng import generator
from .dataset import (
    ConcatDataset,
    Dataset,
    SizedDataset,
    Subset,
    TensorDataset,
    TransformDataset,
    default_collate,
)
from .datasets import (
    CIFAR10,
    CIFAR100,
    MNIST,
    DatasetNotFoundError,
    Digits,
    FashionMNIST,
    ImageFolder,
    load_digits,
    read_idx,
    write_idx,
)
from .loader import DataLoader
from .split import (
    random_split,
    split_sizes,
    stratified_indices,
    stratified_split,
    train_val_test_split,
)

__all__ = ["datasets", "transforms", "generator", "ConcatDataset", "Dataset", "SizedDataset",
           "Subset", "TensorDataset", "TransformDataset", "default_collate", "CIFAR10",
           "CIFAR100", "MNIST", "DatasetNotFoundError", "Digits", "FashionMNIST", "ImageFolder",
           "load_digits", "read_idx", "write_idx", "DataLoader", "random_split", "split_sizes",
           "stratified_indices", "stratified_split", "train_val_test_split"]
