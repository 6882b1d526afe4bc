"""Reference data for the model zoo, written by ``scripts/torchvision_reference.py``.

PyTorch 2.13 (our test oracle) cannot import torchvision, so the torchvision side of the zoo tests
is recorded once, in a separate environment with torchvision, into small files under
``tests/models/fixtures/``: for each architecture its parameter count and its state_dict keys,
shapes and dtypes (``NAME.json``), and for some the logits torchvision gives for deterministic
weights and input (``NAME.npz``). The weights are not stored: both sides make them from the same
seed with ``reference_state_dict``, so the files stay a few kilobytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"


def reference_state_dict(state: list[list[Any]], seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic weights for a state_dict described as ``[[key, shape, dtype], ...]``.

    Weights of rank >= 2 are He-normal, N(0, 2 / fan_in) with fan_in = prod(shape[1:]), so
    activations stay O(1) through deep stacks; rank-1 weights (the normalisation scales) are
    U(0.25, 0.75), which keeps residual sums from growing; biases N(0, 0.05²); running means
    N(0, 0.1²); running variances U(0.5, 1.5); ``num_batches_tracked`` 0.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for key, shape, dtype in state:
        shape = tuple(shape)
        if key.endswith("num_batches_tracked"):
            value = np.zeros(shape, dtype=np.int64)
        elif key.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("running_mean"):
            value = rng.normal(0.0, 0.1, shape)
        elif key.endswith("bias"):
            value = rng.normal(0.0, 0.05, shape)
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        else:
            value = rng.uniform(0.25, 0.75, shape)
        out[key] = value.astype(dtype)
    return out


def reference_input(shape: list[int], seed: int) -> np.ndarray:
    """The input batch the logits were computed for: standard normal, float32."""
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)


def load_description(name: str) -> dict[str, Any]:
    """``NAME.json``: ``param_count``, ``state`` ([key, shape, dtype] in order), ``kwargs``,
    ``torchvision`` (version) and, when logits were recorded, ``input`` ({shape, seed})."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def load_logits(name: str) -> np.ndarray:
    """Torchvision's eval-mode logits for ``reference_state_dict`` and ``reference_input``."""
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as f:
        return f["logits"]


def described_models() -> list[str]:
    """Every architecture with a description file."""
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def models_with_logits() -> list[str]:
    """Every architecture with recorded logits."""
    return sorted(p.stem for p in FIXTURES.glob("*.npz"))
