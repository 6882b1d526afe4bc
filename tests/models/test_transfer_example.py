"""``examples/transfer_learning.py`` on a reduced setting, and the freezing it relies on:
``requires_grad_(False)``, optimisers skipping frozen parameters, batch norm in eval mode."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import rosenblatt as rb
import rosenblatt.nn as nn
import rosenblatt.nn.functional as F
from rosenblatt import models

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "transfer_learning.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("transfer_learning_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_digits_transfer(example):
    """Pre-train on digits 0–4, freeze, new head for 5–9: the head learns, the backbone stays."""
    result = example.main(["--epochs", "2", "--head-epochs", "20", "--seed", "0"])
    assert result["pretrain_accuracy"] > 0.8
    assert result["accuracy"] > 0.5  # chance: 0.2
    assert result["backbone_unchanged"] is True
    assert result["frozen_grads_none"] is True
    assert result["trainable"] == 64 * 5 + 5
    # ResNet-20 without its fc, with one input channel instead of three
    assert result["frozen"] == 269_722 - (64 * 10 + 10) - 2 * 16 * 9


def test_example_resnet18_weights_file_and_image_folder(example, tmp_path):
    """``--weights`` (a torchvision-format .pth, read without pickle execution) and ``--data``."""
    torch = pytest.importorskip("torch")
    image = pytest.importorskip("PIL.Image")
    rb.manual_seed(1)
    source = models.get("resnet18")
    weights = tmp_path / "resnet18.pth"
    torch.save({k: torch.from_numpy(v.numpy().copy()) for k, v in source.state_dict().items()},
               weights)
    images, labels = rb.data.load_digits()
    for digit in (0, 1):
        folder = tmp_path / "data" / f"digit{digit}"
        folder.mkdir(parents=True)
        for i, idx in enumerate(np.flatnonzero(labels == digit)[:12]):
            pixels = (images[idx, 0] * 255).astype(np.uint8)
            image.fromarray(pixels).resize((20, 16)).convert("RGB").save(folder / f"{i}.png")
    result = example.main(["--weights", str(weights), "--data", str(tmp_path / "data"),
                           "--image-size", "32", "--head-epochs", "3", "--shots", "8"])
    assert result["backbone_unchanged"] is True
    assert result["trainable"] == 512 * 2 + 2
    assert result["frozen"] == 11_689_512 - (512 * 1000 + 1000)


def test_frozen_parameters_get_no_gradient_and_no_update():
    """requires_grad_(False): no .grad; an optimiser given *all* parameters (with momentum and
    weight decay) moves only the trainable ones."""
    model = models.get("resnet20", num_classes=3)
    model.requires_grad_(False)
    model.fc = nn.Linear(64, 4)
    frozen = {k: v.detach().numpy().copy() for k, v in model.named_parameters()
              if not k.startswith("fc.")}
    optimizer = rb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    model.eval()
    for _ in range(2):
        loss = F.cross_entropy(model(rb.randn(4, 3, 16, 16)), rb.tensor(np.array([0, 1, 2, 3])))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for key, p in model.named_parameters():
        if key.startswith("fc."):
            assert p.requires_grad and p.grad is not None
        else:
            assert not p.requires_grad and p.grad is None, key
            np.testing.assert_array_equal(p.detach().numpy(), frozen[key], err_msg=key)
    assert rb.optim.Adam([p for p in model.parameters() if p.requires_grad]).param_groups[0][
        "params"][0] is model.fc.weight


def test_frozen_batch_norm_still_updates_running_stats_in_train_mode():
    """Why the example fine-tunes in eval mode: freezing parameters does not freeze buffers."""
    model = models.get("resnet20", num_classes=3)
    model.requires_grad_(False)
    mean = model.bn1.running_mean.numpy().copy()
    model.train()
    with rb.no_grad():
        model(rb.randn(4, 3, 16, 16))
    assert not np.array_equal(model.bn1.running_mean.numpy(), mean)
    mean = model.bn1.running_mean.numpy().copy()
    model.eval()
    with rb.no_grad():
        model(rb.randn(4, 3, 16, 16))
    np.testing.assert_array_equal(model.bn1.running_mean.numpy(), mean)
