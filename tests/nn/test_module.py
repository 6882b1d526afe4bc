"""Module: registration, traversal, modes, freezing, state_dict and strict loading, containers."""

import json

import numpy as np
import pytest
import torch

import rosenblatt as rb
from rosenblatt import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 2)
        self.scale = nn.Parameter(rb.ones(2))
        self.register_buffer("count", rb.zeros(1))
        self.register_buffer("scratch", rb.zeros(1), persistent=False)

    def forward(self, x):
        return self.fc2(self.fc1(x)) * self.scale


class TorchBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 3)
        self.fc2 = torch.nn.Linear(3, 2)
        self.scale = torch.nn.Parameter(torch.ones(2))
        self.register_buffer("count", torch.zeros(1))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)

    def forward(self, x):
        return self.fc2(self.fc1(x)) * self.scale


def test_state_dict_keys_and_order_equal_torch():
    ours, theirs = Block(), TorchBlock()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_loading_torch_weights_gives_torch_outputs_and_gradients():
    ours, theirs = Block(), TorchBlock()
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    y_ours, y_theirs = ours(rb.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), atol=1e-6)
    y_ours.sum().backward()
    y_theirs.sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-5, err_msg=name)


def test_strict_loading_names_missing_unexpected_and_mismatched_keys():
    model = Block()
    state = dict(model.state_dict())
    del state["fc1.bias"]
    state["extra.weight"] = rb.zeros(1)
    with pytest.raises(RuntimeError, match="missing keys: fc1.bias.*unexpected keys: extra.weight"):
        model.load_state_dict(state)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc1.bias"] and result.unexpected_keys == ["extra.weight"]
    state = dict(model.state_dict())
    state["fc2.weight"] = rb.zeros(5, 5)
    expected = r"fc2.weight: checkpoint has shape \(5, 5\), the model \(2, 3\)"
    with pytest.raises(RuntimeError, match=expected):
        model.load_state_dict(state, strict=False)


def test_load_state_dict_copies_in_place():
    model = Block()
    weight = model.fc1.weight
    model.load_state_dict({k: v.numpy() * 0 for k, v in model.state_dict().items()})
    assert model.fc1.weight is weight and not weight.data.any()


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, shared)
    assert len(list(model.parameters())) == 2


def test_train_eval_and_apply_reach_every_module():
    model = Block()
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Block"]


def test_freezing_stops_gradients():
    model = Block()
    model.fc1.requires_grad_(False)
    model(rb.randn(3, 4)).sum().backward()
    assert model.fc1.weight.grad is None and model.fc2.weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_assigning_a_plain_tensor_to_a_parameter_name_is_refused():
    model = Block()
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'scale'"):
        model.scale = rb.ones(2)
    with pytest.raises(AttributeError, match="super\\(\\).__init__"):

        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(rb.ones(1))

        Broken()


def test_sequential_forms_indexing_and_config_round_trip():
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    b = nn.Sequential([nn.Linear(3, 4), nn.Linear(4, 2)])
    assert list(a.state_dict()) == list(b.state_dict()) == ["0.weight", "0.bias", "1.weight",
                                                            "1.bias"]
    assert isinstance(a[0], nn.Linear) and len(a[1:]) == 1
    config = json.loads(json.dumps(a.get_config()))
    c = nn.Sequential.from_config(config)
    c.load_state_dict(a.state_dict())
    x = rb.randn(2, 3)
    np.testing.assert_array_equal(a(x).detach().numpy(), c(x).detach().numpy())
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(1, 1), "relu")


def test_module_list_and_dict_register_children():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    holder = nn.Module()
    holder.layers, holder.heads = layers, heads
    assert [k for k in holder.state_dict()][:2] == ["layers.0.weight", "layers.0.bias"]
    assert "heads.a.weight" in holder.state_dict()


def test_dtype_conversion_and_linear_shape_error():
    model = Block().double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=3.*got \(2, 5\)"):
        model(rb.randn(2, 5, dtype=rb.float64))


def test_regularization_loss_sums_attached_penalties():
    model = Block()
    model.fc1.regularizers["weight"] = lambda w: (w * w).sum() * 0.5
    expected = 0.5 * float((model.fc1.weight.data ** 2).sum())
    assert abs(float(model.regularization_loss().item()) - expected) < 1e-5
    assert Block().regularization_loss() == 0.0


def test_sequential_config_keeps_child_names():
    from collections import OrderedDict

    a = nn.Sequential(OrderedDict(fc=nn.Linear(3, 2), head=nn.Linear(2, 1)))
    b = nn.Sequential.from_config(json.loads(json.dumps(a.get_config())))
    assert list(b.state_dict()) == ["fc.weight", "fc.bias", "head.weight", "head.bias"]
    b.load_state_dict(a.state_dict())
