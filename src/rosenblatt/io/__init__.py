"""``rosenblatt.io``: pre-trained weights from PyTorch (``.pth``), safetensors and ``.npz`` files,
read without executing code from the file."""

from .common import UnsafePickleError, WeightsFormatError, select_state_dict
from .safetensors_format import load_safetensors, save_safetensors
from .torch_format import load_torch, load_torch_state_dict
from .weights import (
    ChecksumError,
    DownloadError,
    download_weights,
    file_sha256,
    load_weights,
    save_weights,
)

__all__ = [
    "ChecksumError",
    "DownloadError",
    "UnsafePickleError",
    "WeightsFormatError",
    "download_weights",
    "file_sha256",
    "load_safetensors",
    "load_torch",
    "load_torch_state_dict",
    "load_weights",
    "save_safetensors",
    "save_weights",
    "select_state_dict",
]
