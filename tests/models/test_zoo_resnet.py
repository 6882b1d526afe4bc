"""The residual and dense architectures of the zoo: torchvision's layout, parameter counts and
logits (recorded fixtures, see ``zoo_reference.py``), the CIFAR ResNets of He et al. 2015 §4.2
and their plain twins, and gradients through every architecture."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import rosenblatt as rb
import rosenblatt.nn as nn
import rosenblatt.nn.functional as F
from rosenblatt import models
from rosenblatt.models.cifar_resnet import CifarResNet, PlainBlock, ZeroPadShortcut
from rosenblatt.models.densenet import DenseNet
from rosenblatt.models.resnet import BasicBlock, Bottleneck, ResNet

sys.path.insert(0, str(Path(__file__).parent))

from zoo_reference import (  # noqa: E402
    described_models,
    load_description,
    load_logits,
    models_with_logits,
    reference_input,
    reference_state_dict,
)

OURS = ("resnet", "densenet")
DESCRIBED = [n for n in described_models() if n.startswith(OURS)]
WITH_LOGITS = [n for n in models_with_logits() if n.startswith(OURS)]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module", params=DESCRIBED)
def described(request):
    """(name, model with fresh weights, fixture description), each big model built once."""
    name = request.param
    rb.manual_seed(0)
    return name, models.get(name), load_description(name)


# ---------------------------------------------------------------------------- torchvision


def test_fixtures_cover_our_models():
    assert DESCRIBED == ["densenet121", "densenet169", "densenet201", "resnet101", "resnet152",
                         "resnet18", "resnet34", "resnet50"]
    assert WITH_LOGITS == ["densenet121", "resnet18", "resnet50"]


def test_parameter_count_equals_torchvision(described):
    name, model, desc = described
    assert n_params(model) == desc["param_count"], name


def test_state_dict_layout_equals_torchvision(described):
    """Keys in torchvision's order, shapes and dtypes (num_batches_tracked int64)."""
    name, model, desc = described
    ours = [[k, list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()]
    assert [s[0] for s in ours] == [s[0] for s in desc["state"]], name
    assert ours == desc["state"], name


@pytest.mark.parametrize("described", WITH_LOGITS, indirect=True)
def test_logits_equal_torchvision(described):
    name, model, desc = described
    seed = desc["input"]["seed"]
    model.load_state_dict(reference_state_dict(desc["state"], seed), strict=True)
    model.eval()
    x = reference_input(desc["input"]["shape"], seed)
    with rb.no_grad():
        y = model(rb.tensor(x)).numpy()
    ref = load_logits(name)
    assert y.shape == ref.shape and y.dtype == np.float32
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    assert float(np.abs(y - ref).max()) <= tol, name


def test_registry_names():
    names = models.list_models()
    for d in (18, 34, 50, 101, 152, 200, 20, 56, 110):
        assert f"resnet{d}" in names
    for d in (121, 169, 201):
        assert f"densenet{d}" in names


# ---------------------------------------------------------------------------- ResNet


def test_resnet200_structure():
    """Bottleneck × [3, 24, 36, 3] (He et al. 2016, Identity Mappings), 64,673,832 params."""
    model = models.get("resnet200")
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    assert [len(s) for s in stages] == [3, 24, 36, 3]
    assert all(isinstance(b, Bottleneck) for s in stages for b in s)
    assert n_params(model) == 64_673_832
    assert model.fc.weight.shape == (1000, 2048)
    # 3 conv layers per block, the stem conv and fc: 3 · 66 + 2 = 200
    convs = [k for k, m in model.named_modules()
             if isinstance(m, nn.Conv2d) and "downsample" not in k]
    assert len(convs) + 1 == 200


def test_resnet50_parameter_count_and_initialisation():
    """25,557,032 parameters; torchvision's init: conv N(0, 2/fan_out), BN γ = 1, β = 0,
    fc U(±1/√fan_in)."""
    model = models.get("resnet50")
    assert n_params(model) == 25_557_032
    w = model.layer3[0].conv2.weight.detach().numpy()  # (256, 256, 3, 3), fan_out = 256·9
    assert abs(w.std() / math.sqrt(2.0 / (256 * 9)) - 1) < 0.01
    assert abs(w.mean()) < 1e-3
    w = model.conv1.weight.detach().numpy()  # (64, 3, 7, 7), fan_out = 64·49
    assert abs(w.std() / math.sqrt(2.0 / (64 * 49)) - 1) < 0.05
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert np.all(m.weight.detach().numpy() == 1) and np.all(m.bias.detach().numpy() == 0)
    bound = 1 / math.sqrt(2048)
    assert np.abs(model.fc.weight.detach().numpy()).max() <= bound
    assert np.abs(model.fc.bias.detach().numpy()).max() <= bound
    assert np.any(model.fc.bias.detach().numpy() != 0)


def test_zero_init_residual():
    basic = models.get("resnet18", zero_init_residual=True)
    assert all(np.all(b.bn2.weight.detach().numpy() == 0) for b in basic.layer2)
    assert np.all(basic.layer2[0].bn1.weight.detach().numpy() == 1)
    bottle = models.get("resnet50", num_classes=10, zero_init_residual=True)
    assert all(np.all(b.bn3.weight.detach().numpy() == 0) for b in bottle.layer4)
    assert np.all(bottle.layer4[0].downsample[1].weight.detach().numpy() == 1)


def test_resnet_in_channels_num_classes_and_output_shape():
    model = models.get("resnet18", num_classes=7, in_channels=1)
    assert model.conv1.weight.shape == (64, 1, 7, 7)
    model.eval()
    with rb.no_grad():
        assert model(rb.randn(2, 1, 32, 32)).shape == (2, 7)


def test_resnet_block_shapes():
    x = rb.randn(2, 64, 8, 8)
    down = nn.Sequential(nn.Conv2d(64, 128, 1, stride=2, bias=False), nn.BatchNorm2d(128))
    assert BasicBlock(64, 128, 2, down)(x).shape == (2, 128, 4, 4)
    assert BasicBlock(64, 64)(x).shape == (2, 64, 8, 8)
    down = nn.Sequential(nn.Conv2d(64, 256, 1, stride=2, bias=False), nn.BatchNorm2d(256))
    assert Bottleneck(64, 64, 2, down)(x).shape == (2, 256, 4, 4)


def test_resnet_config_roundtrip():
    model = ResNet(Bottleneck, [1, 2, 1, 1], num_classes=5, in_channels=2)
    config = model.get_config()
    assert config == {"block": "Bottleneck", "layers": [1, 2, 1, 1], "num_classes": 5,
                      "in_channels": 2, "zero_init_residual": False}
    again = ResNet.from_config(config)
    assert [(k, v.shape) for k, v in again.state_dict().items()] == \
        [(k, v.shape) for k, v in model.state_dict().items()]


def test_resnet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="layers"):
        ResNet(BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="num_classes"):
        models.get("resnet18", num_classes=0)


# ---------------------------------------------------------------------------- DenseNet


def test_densenet_initialisation_and_options():
    model = models.get("densenet121", num_classes=10, in_channels=1, growth_rate=12,
                       bn_size=2)
    assert model.features.conv0.weight.shape == (64, 1, 7, 7)
    layer = model.features.denseblock2.denselayer3
    # input 64 → block1 adds 6·12 = 136 → transition halves to 68; layer 3 sees 68 + 2·12
    assert layer.norm1.weight.shape == (92,)
    assert layer.conv1.weight.shape == (24, 92, 1, 1)
    assert layer.conv2.weight.shape == (12, 24, 3, 3)
    w = model.features.denseblock3.denselayer1.conv1.weight.detach().numpy()  # kaiming fan_in
    assert abs(w.std() / math.sqrt(2.0 / w.shape[1]) - 1) < 0.05
    assert np.all(model.classifier.bias.detach().numpy() == 0)
    assert np.any(model.classifier.weight.detach().numpy() != 0)


def test_densenet_output_shape_and_dropout():
    model = DenseNet(8, (2, 2), 16, bn_size=2, drop_rate=0.2, num_classes=10)
    model.eval()
    x = rb.randn(2, 3, 32, 32)
    with rb.no_grad():
        y1, y2 = model(x).numpy(), model(x).numpy()
    assert y1.shape == (2, 10)
    np.testing.assert_array_equal(y1, y2)  # no dropout in eval
    model.train()
    with rb.no_grad():
        assert not np.allclose(model(x).numpy(), model(x).numpy())


def test_densenet_config_roundtrip():
    model = models.get("densenet169", num_classes=3)
    again = DenseNet.from_config(model.get_config())
    assert list(again.state_dict()) == list(model.state_dict())
    assert n_params(again) == n_params(model)


# ---------------------------------------------------------------------------- CIFAR ResNets

CIFAR_COUNTS = {20: 269_722, 56: 853_018, 110: 1_727_962}
PAPER_MILLIONS = {20: 0.27, 56: 0.85, 110: 1.7}


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_cifar_parameter_counts(depth):
    residual = models.get(f"resnet{depth}")
    plain = models.get(f"plain{depth}")
    assert n_params(residual) == CIFAR_COUNTS[depth]
    assert round(n_params(residual) / 1e6, 2 if depth < 100 else 1) == PAPER_MILLIONS[depth]
    assert n_params(plain) == CIFAR_COUNTS[depth]  # option A adds no parameters
    assert list(plain.state_dict()) == list(residual.state_dict())
    # option B: a 1×1 conv + BN projection at the two stage changes
    projections = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert n_params(models.get(f"resnet{depth}", shortcut="B")) == CIFAR_COUNTS[depth] + \
        projections
    assert n_params(models.get(f"plain{depth}", shortcut="B")) == CIFAR_COUNTS[depth]


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_cifar_layer_count_and_blocks(depth):
    n = (depth - 2) // 6
    for name, block in ((f"resnet{depth}", BasicBlock), (f"plain{depth}", PlainBlock)):
        model = models.get(name)
        weighted = [k for k, m in model.named_modules()
                    if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in k]
        assert len(weighted) == 6 * n + 2 == depth
        stages = [model.layer1, model.layer2, model.layer3]
        assert [len(s) for s in stages] == [n, n, n]
        assert all(type(b) is block for s in stages for b in s)
        assert [s[-1].conv2.weight.shape[0] for s in stages] == [16, 32, 64]


def test_cifar_output_shapes():
    x = rb.randn(2, 3, 32, 32)
    for name in ("resnet20", "plain20"):
        model = models.get(name)
        model.eval()
        with rb.no_grad():
            h = model.relu(model.bn1(model.conv1(x)))
            assert model.layer1(h).shape == (2, 16, 32, 32)
            assert model.layer2(model.layer1(h)).shape == (2, 32, 16, 16)
            assert model(x).shape == (2, 10)
    model = models.get("resnet20", num_classes=100, in_channels=1, shortcut="B")
    model.eval()
    with rb.no_grad():
        assert model(rb.randn(3, 1, 32, 32)).shape == (3, 100)


def test_plain_net_has_no_skip_connections():
    """Same weights, different outputs: the residual net adds its shortcuts, the plain one not."""
    residual, plain = models.get("resnet20"), models.get("plain20")
    plain.load_state_dict(residual.state_dict(), strict=True)
    assert not any(isinstance(m, ZeroPadShortcut) for m in plain.modules())
    residual.eval()
    plain.eval()
    x = rb.randn(2, 3, 32, 32)
    with rb.no_grad():
        assert not np.allclose(residual(x).numpy(), plain(x).numpy(), atol=1e-3)
        # block by block: plain block = ReLU(F(x)), residual block = ReLU(F(x) + x)
        h = rb.randn(2, 16, 8, 8)
        block_r, block_p = residual.layer1[0], plain.layer1[0]
        f = block_r.bn2(block_r.conv2(block_r.relu(block_r.bn1(block_r.conv1(h)))))
        np.testing.assert_allclose(block_p(h).numpy(), F.relu(f).numpy(), atol=1e-6)
        np.testing.assert_allclose(block_r(h).numpy(), F.relu(f + h).numpy(), atol=1e-6)


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = rb.randn(2, 16, 8, 8)
    y = ZeroPadShortcut(16, 32, 2)(x).numpy()
    assert y.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(y[:, :16], x.numpy()[:, :, ::2, ::2])
    assert np.all(y[:, 16:] == 0)
    assert list(ZeroPadShortcut(16, 32, 2).parameters()) == []


def test_cifar_config_roundtrip():
    model = models.get("plain56", num_classes=4, shortcut="B")
    assert model.get_config() == {"depth": 56, "num_classes": 4, "in_channels": 3,
                                  "shortcut": "B", "residual": False}
    again = CifarResNet.from_config(model.get_config())
    assert list(again.state_dict()) == list(model.state_dict())


def test_cifar_rejects_bad_arguments():
    with pytest.raises(ValueError, match="6n"):
        CifarResNet(21)
    with pytest.raises(ValueError, match="shortcut"):
        models.get("resnet20", shortcut="C")
    with pytest.raises(ValueError, match="shortcut"):
        models.get("plain20", shortcut="C")


# ---------------------------------------------------------------------------- training


def small_model(name: str) -> nn.Module:
    """A CIFAR net from the zoo, or a one-block-per-stage version of an ImageNet family (the
    same code, a fraction of the parameters, so the step is quick)."""
    if name == "resnet_basic":
        return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
    if name == "resnet_bottleneck":
        return ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10)
    if name == "densenet":
        return DenseNet(12, (2, 3, 2), 16, bn_size=2, drop_rate=0.1, num_classes=10)
    if name == "resnet20_B":
        return models.get("resnet20", shortcut="B")
    return models.get(name)


@pytest.mark.parametrize("name", ["resnet20", "resnet20_B", "plain20", "resnet_basic",
                                  "resnet_bottleneck", "densenet"])
def test_one_training_step_gives_finite_nonzero_gradients(name):
    model = small_model(name)
    model.train()
    x = rb.randn(4, 3, 32, 32)
    y = rb.tensor(np.array([0, 1, 2, 3]))
    optimizer = rb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = model.fc.weight.detach().numpy().copy() if hasattr(model, "fc") else None
    loss = F.cross_entropy(model(x), y)
    assert np.isfinite(loss.item())
    optimizer.zero_grad()
    loss.backward()
    for key, p in model.named_parameters():
        assert p.grad is not None, key
        assert np.all(np.isfinite(p.grad)), key
        assert np.any(p.grad != 0), key
    optimizer.step()
    if before is not None:
        assert not np.array_equal(before, model.fc.weight.detach().numpy())
