"""The classic architectures of the model zoo: LeNet-5, AlexNet, VGG, GoogLeNet.

Against torchvision (recorded in ``tests/models/fixtures`` by ``scripts/torchvision_reference.py``):
state_dict keys in order, shapes, dtypes and parameter counts, and eval-mode logits for the same
deterministic weights and input. Against PyTorch 2.13 directly: the benchmark's LeNet-5 and the
2012 AlexNet written with ``torch.nn``. Then shapes, arguments, initialisation and one training
step.

Building a VGG draws ~140M random numbers (seconds); the tests that look only at names, shapes
and counts build with the initialisers switched off (``no_draws``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rosenblatt as rb
import rosenblatt.nn as nn
import rosenblatt.nn.functional as F
from rosenblatt import models
from rosenblatt.models.alexnet import AlexNet
from rosenblatt.models.googlenet import GoogLeNetOutputs, Inception
from rosenblatt.nn import init

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from zoo_reference import (  # noqa: E402
    FIXTURES,
    load_description,
    load_logits,
    reference_input,
    reference_state_dict,
)

MINE = ["alexnet", *[f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")], "googlenet"]
DESCRIBED = [n for n in MINE if (FIXTURES / f"{n}.json").exists()]
WITH_LOGITS = [n for n in MINE if (FIXTURES / f"{n}.npz").exists()]
# torchvision's keyword arguments that are not ours (rosenblatt always initialises)
NOT_OURS = ("init_weights",)


@pytest.fixture
def no_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Initialisers become no-ops while the test runs: parameters keep ``np.empty``'s bytes.
    For tests of structure only (names, shapes, counts) or that load a state_dict anyway."""
    for name in ("uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                 "zeros_", "ones_", "constant_"):
        monkeypatch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)


def build_described(name: str) -> tuple[nn.Module, dict[str, Any]]:
    desc = load_description(name)
    kwargs = {k: v for k, v in desc["kwargs"].items() if k not in NOT_OURS}
    return models.get(name, **kwargs), desc


def describe(model: nn.Module) -> list[list[Any]]:
    return [[k, list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()]


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ------------------------------------------------------------------ torchvision's descriptions


def test_every_classic_model_is_described() -> None:
    assert DESCRIBED == MINE
    assert {"alexnet", "vgg11_bn", "googlenet"} <= set(WITH_LOGITS)


@pytest.mark.parametrize("name", DESCRIBED)
def test_state_dict_and_count_match_torchvision(name: str, no_draws: None) -> None:
    model, desc = build_described(name)
    assert describe(model) == desc["state"]
    assert param_count(model) == desc["param_count"]


def test_parameter_counts_of_the_issue(no_draws: None) -> None:
    assert param_count(models.get("alexnet")) == 61_100_840
    assert param_count(models.get("vgg16")) == 138_357_544
    assert param_count(models.get("alexnet", variant="original")) == 62_378_344
    assert param_count(models.get("googlenet")) == 6_624_904
    assert param_count(models.get("googlenet", aux_logits=True)) == 13_004_888


def test_googlenet_without_aux_is_torchvisions_minus_aux(no_draws: None) -> None:
    desc = load_description("googlenet")
    expected = [s for s in desc["state"] if not s[0].startswith(("aux1.", "aux2."))]
    assert len(expected) < len(desc["state"])
    assert describe(models.get("googlenet", aux_logits=False)) == expected


@pytest.mark.parametrize("name", WITH_LOGITS)
def test_logits_match_torchvision(name: str, no_draws: None) -> None:
    model, desc = build_described(name)
    model.load_state_dict(reference_state_dict(desc["state"], 0), strict=True)
    model.eval()
    x = reference_input(desc["input"]["shape"], desc["input"]["seed"])
    with rb.no_grad():
        y = model(rb.tensor(x))
    ref = load_logits(name)
    assert isinstance(y, rb.Tensor)
    assert y.shape == ref.shape
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    assert float(np.abs(y.numpy() - ref).max()) <= tol


# ------------------------------------------------------------------ LeNet-5


def test_lenet5_is_the_benchmarks_lenet() -> None:
    import torch

    from benchmarks.cnn import lenet5 as bench_lenet5

    ours, bench = models.get("lenet5"), bench_lenet5(nn)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in bench]
    assert shapes(ours) == shapes(bench)
    assert param_count(ours) == 61_706

    torch_net = bench_lenet5(torch.nn)
    weights = reference_state_dict(describe(ours), seed=1)
    ours.load_state_dict(weights)
    torch_net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    with rb.no_grad():
        y = ours(rb.tensor(x))
    with torch.no_grad():
        ref = torch_net(torch.from_numpy(x)).numpy()
    assert y.shape == (4, 10)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_lenet5_1998_variant_and_arguments() -> None:
    net = models.get("lenet5", activation="tanh", pool="avg")
    kinds = [type(m).__name__ for m in net]
    assert kinds.count("Tanh") == 4 and kinds.count("AvgPool2d") == 2
    assert "ReLU" not in kinds and "MaxPool2d" not in kinds
    assert param_count(net) == 61_706
    with rb.no_grad():
        assert net(rb.randn(2, 1, 28, 28)).shape == (2, 10)

    rgb = models.get("lenet5", num_classes=3, in_channels=3)
    assert rgb[0].weight.shape == (6, 3, 5, 5)
    assert rgb[11].weight.shape == (3, 84)
    with rb.no_grad():
        assert rgb(rb.randn(2, 3, 28, 28)).shape == (2, 3)
    with pytest.raises(ValueError, match="activation must be 'relu' or 'tanh', got 'gelu'"):
        models.get("lenet5", activation="gelu")
    with pytest.raises(ValueError, match="pool must be 'max' or 'avg', got 'sum'"):
        models.get("lenet5", pool="sum")


def test_lenet5_training_step_lowers_the_loss() -> None:
    rb.manual_seed(0)
    net = models.get("lenet5")
    x = rb.randn(8, 1, 28, 28)
    y = rb.tensor(np.arange(8) % 10)
    opt = rb.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        for name, p in net.named_parameters():
            assert p.grad is not None, name
            assert np.isfinite(np.asarray(p.grad)).all(), name
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < losses[0]


# ------------------------------------------------------------------ AlexNet


def test_alexnet_original_first_conv_gives_55x55x96() -> None:
    rb.manual_seed(0)
    net = models.get("alexnet", variant="original", num_classes=10)
    assert isinstance(net, AlexNet)
    result = nn.summary(net, (3, 227, 227), print_fn=None)
    by_name = {row["name"]: row for row in result.rows}
    assert by_name["features.0"]["output_shape"] == (None, 96, 55, 55)
    assert by_name["features.2"]["class_name"] == "LocalResponseNorm"
    assert by_name["features.14"]["output_shape"] == (None, 256, 6, 6)
    assert by_name["classifier.6"]["output_shape"] == (None, 10)
    lrn = net.features[2]
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)


def test_alexnet_original_matches_the_same_layers_in_torch(no_draws: None) -> None:
    import torch
    from torch import nn as tnn

    ours = models.get("alexnet", variant="original", num_classes=10)
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)
    features = tnn.Sequential(
        tnn.Conv2d(3, 96, 11, stride=4), tnn.ReLU(), tnn.LocalResponseNorm(**lrn),
        tnn.MaxPool2d(3, 2),
        tnn.Conv2d(96, 256, 5, padding=2), tnn.ReLU(), tnn.LocalResponseNorm(**lrn),
        tnn.MaxPool2d(3, 2),
        tnn.Conv2d(256, 384, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 384, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(3, 2),
    )
    classifier = tnn.Sequential(
        tnn.Dropout(), tnn.Linear(9216, 4096), tnn.ReLU(), tnn.Dropout(), tnn.Linear(4096, 4096),
        tnn.ReLU(), tnn.Linear(4096, 10),
    )
    theirs = tnn.Module()
    theirs.features, theirs.classifier = features, classifier
    weights = reference_state_dict(describe(ours), seed=2)
    ours.load_state_dict(weights)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    ours.eval()
    theirs.eval()
    x = reference_input([2, 3, 67, 67], 3) * 4.0  # large enough for LRN's denominator to matter
    with rb.no_grad():
        y = ours(rb.tensor(x)).numpy()
    with torch.no_grad():
        h = features(torch.from_numpy(x))
        h = torch.nn.functional.adaptive_avg_pool2d(h, (6, 6))
        ref = classifier(torch.flatten(h, 1)).numpy()
    assert np.abs(y - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())


def test_alexnet_initialisation_is_pytorchs_default() -> None:
    rb.manual_seed(0)
    net = models.get("alexnet", num_classes=10)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight.numel() // m.weight.shape[0]
            bound = 1.0 / math.sqrt(fan_in)
            w = m.weight.data
            assert np.abs(w).max() <= bound
            assert np.abs(w).max() > 0.9 * bound  # uniform, fills the interval
            assert np.abs(m.bias.data).max() <= bound


def test_alexnet_rejects_unknown_variant() -> None:
    with pytest.raises(ValueError, match="variant must be one of .* got 'v2'"):
        models.get("alexnet", variant="v2")


# ------------------------------------------------------------------ VGG


def test_vgg_initialisation_is_torchvisions(monkeypatch: pytest.MonkeyPatch) -> None:
    # the layers' default init writes NaN (and costs nothing): VGG must overwrite every weight
    monkeypatch.setattr(init, "kaiming_uniform_", nan_fill)
    monkeypatch.setattr(init, "uniform_", nan_fill)
    rb.manual_seed(0)
    net = models.get("vgg11", num_classes=10)
    for name, p in net.named_parameters():
        assert np.isfinite(p.data).all(), name
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(convs) == 8 and len(linears) == 3
    for conv in convs:
        w = conv.weight.data
        fan_out = w.shape[0] * w.shape[2] * w.shape[3]
        assert w.std() == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.05)
        assert not conv.bias.data.any()
    for linear in linears[:2]:
        assert linear.weight.data[:256].std() == pytest.approx(0.01, rel=0.05)
        assert not linear.bias.data.any()


# ------------------------------------------------------------------ GoogLeNet


def test_inception_block_concatenates_its_branches() -> None:
    rb.manual_seed(0)
    block = Inception(192, 64, 96, 128, 16, 32, 32)
    block.eval()
    with rb.no_grad():
        y = block(rb.randn(2, 192, 9, 9))
    assert y.shape == (2, 64 + 128 + 32 + 32, 9, 9)


@pytest.fixture(scope="module")
def googlenet_aux() -> nn.Module:
    """One GoogLeNet (5 classes, auxiliary classifiers, seeded) for the tests below. The layers'
    default weight init writes NaN, so a weight GoogLeNet forgot to re-initialise shows."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(init, "kaiming_uniform_", nan_fill)
        rb.manual_seed(0)
        return models.get("googlenet", num_classes=5, aux_logits=True)


def nan_fill(tensor: rb.Tensor, *args: Any, **kwargs: Any) -> rb.Tensor:
    tensor.data[...] = np.nan
    return tensor


def test_googlenet_initialisation_is_torchvisions(googlenet_aux: nn.Module) -> None:
    net = googlenet_aux
    for name, p in net.named_parameters():
        assert np.isfinite(p.data).all(), name
    w = net.inception4e.branch2[1].conv.weight.data
    assert w.std() == pytest.approx(0.01, rel=0.05)
    assert np.abs(w).max() <= 2.0
    assert net.aux1.fc1.weight.data.std() == pytest.approx(0.01, rel=0.05)
    bound = 1.0 / math.sqrt(2048)  # linear biases keep PyTorch's default
    assert 0.9 * bound < np.abs(net.aux1.fc1.bias.data).max() <= bound
    bn = net.inception3a.branch1.bn
    assert bn.eps == 0.001
    assert (bn.weight.data == 1).all() and not bn.bias.data.any()
    assert net.inception3a.branch1.conv.bias is None


def test_googlenet_aux_outputs_in_training_mode(googlenet_aux: nn.Module) -> None:
    net = googlenet_aux
    x = rb.randn(2, 3, 16, 16)
    with rb.no_grad():
        out = net(x)
        assert isinstance(out, GoogLeNetOutputs)
        assert out._fields == ("logits", "aux_logits2", "aux_logits1")
        assert [t.shape for t in out] == [(2, 5)] * 3
        net.eval()
        y = net(x)
        net.train()
    assert isinstance(y, rb.Tensor) and y.shape == (2, 5)


def test_googlenet_without_aux_returns_logits_in_training_mode() -> None:
    plain = models.get("googlenet", num_classes=7, aux_logits=False)
    assert plain.aux1 is None and plain.aux2 is None and plain.training
    with rb.no_grad():
        y = plain(rb.randn(2, 3, 16, 16))
    assert isinstance(y, rb.Tensor) and y.shape == (2, 7)


def test_googlenet_training_step_has_gradients_everywhere(googlenet_aux: nn.Module) -> None:
    net = googlenet_aux
    net.zero_grad()
    x = rb.randn(2, 3, 32, 32)
    y = rb.tensor(np.array([0, 3]))
    out = net(x)
    loss = (F.cross_entropy(out.logits, y) + 0.3 * F.cross_entropy(out.aux_logits1, y)
            + 0.3 * F.cross_entropy(out.aux_logits2, y))
    loss.backward()
    assert np.isfinite(loss.item())
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        g = np.asarray(p.grad)
        assert np.isfinite(g).all(), name
        assert np.abs(g).max() > 0, name


# ------------------------------------------------------------------ arguments and the registry


@pytest.mark.parametrize(
    "name, kwargs, first, last",
    [
        ("alexnet", {}, ["features.0.weight"], ["classifier.6.weight", "classifier.6.bias"]),
        ("alexnet", {"variant": "original"}, ["features.0.weight"],
         ["classifier.6.weight", "classifier.6.bias"]),
        ("vgg11", {}, ["features.0.weight"], ["classifier.6.weight", "classifier.6.bias"]),
        ("vgg13_bn", {}, ["features.0.weight"], ["classifier.6.weight", "classifier.6.bias"]),
        ("googlenet", {"aux_logits": True}, ["conv1.conv.weight"],
         ["fc.weight", "fc.bias", "aux1.fc2.weight", "aux1.fc2.bias", "aux2.fc2.weight",
          "aux2.fc2.bias"]),
    ],
)
def test_in_channels_and_num_classes_change_only_the_ends(
    name: str, kwargs: dict[str, Any], first: list[str], last: list[str], no_draws: None
) -> None:
    default = shapes(models.get(name, **kwargs))
    changed = shapes(models.get(name, num_classes=17, in_channels=5, **kwargs))
    assert list(changed) == list(default)
    differ = sorted(k for k in default if default[k] != changed[k])
    assert differ == sorted(first + last)
    for key in first:
        assert changed[key][1] == 5 and default[key][1] == 3
    for key in last:
        assert changed[key][0] == 17 and default[key][0] == 1000


def test_vgg_bn_puts_batch_norm_after_every_conv(no_draws: None) -> None:
    net = models.get("vgg11_bn")
    kinds = [type(m).__name__ for m in net.features]
    assert kinds.count("Conv2d") == kinds.count("BatchNorm2d") == 8
    for i, kind in enumerate(kinds):
        if kind == "Conv2d":
            assert kinds[i + 1 : i + 3] == ["BatchNorm2d", "ReLU"]
    assert net.avgpool.output_size == (7, 7)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("lenet5", {"activation": "tanh", "pool": "avg", "num_classes": 4}),
        ("alexnet", {"variant": "original", "in_channels": 1, "dropout": 0.3}),
        ("vgg11_bn", {"num_classes": 12, "dropout": 0.1}),
        ("googlenet", {"aux_logits": True, "num_classes": 9, "dropout": 0.4, "dropout_aux": 0.6}),
    ],
)
def test_architecture_survives_json(name: str, kwargs: dict[str, Any], no_draws: None) -> None:
    model = models.get(name, **kwargs)
    clone = nn.model_from_json(nn.model_to_json(model))
    assert type(clone) is type(model)
    assert describe(clone) == describe(model)
    assert clone.get_config() == model.get_config()
    dropouts = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert [m.p for m in clone.modules() if isinstance(m, nn.Dropout)] == dropouts


def test_models_get_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'vgg17'.*vgg16_bn"):
        models.get("vgg17")
    for name in MINE + ["lenet5"]:
        assert name in models.list_models()
