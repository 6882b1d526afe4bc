"""Regularisers: penalty values and gradients, names, attachment to layers and
``regularization_loss`` over a model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb
from rosenblatt import nn

W = rng(0).standard_normal((4, 5))


def test_values():
    w = rb.tensor(W)
    np.testing.assert_allclose(nn.L1(0.3)(w).item(), 0.3 * np.abs(W).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.L2(0.3)(w).item(), 0.3 * (W**2).sum(), rtol=1e-12)  # no ½
    np.testing.assert_allclose(nn.L1L2(0.1, 0.2)(w).item(),
                               0.1 * np.abs(W).sum() + 0.2 * (W**2).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.l1_penalty(w, 0.5).item(), 0.5 * np.abs(W).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.l2_penalty(w, 0.5).item(), 0.5 * (W**2).sum(), rtol=1e-12)
    assert nn.ElasticNet is nn.L1L2
    assert nn.L1L2()(w).item() == 0.0
    out = nn.L2()(rb.tensor(W.astype(np.float32)))
    assert out.shape == () and out.dtype == np.float32


def test_gradients():
    w = rb.tensor(W, requires_grad=True)
    nn.L2(0.3)(w).backward()
    np.testing.assert_allclose(w.grad, 2 * 0.3 * W, rtol=1e-12)  # = weight decay λ = 2·l2
    w.grad = None
    nn.L1(0.3)(w).backward()
    np.testing.assert_allclose(w.grad, 0.3 * np.sign(W), rtol=1e-12)
    w.grad = None
    nn.L1L2(0.1, 0.2)(w).backward()
    np.testing.assert_allclose(w.grad, 0.1 * np.sign(W) + 0.4 * W, rtol=1e-12)


def test_vs_torch_and_gradcheck():
    check_op(lambda w: nn.L1L2(0.1, 0.2)(w),
             lambda w: 0.1 * w.abs().sum() + 0.2 * (w * w).sum(), [W])
    check_gradcheck(lambda w: nn.L1L2(0.1, 0.2)(w), [W])


def test_l2_gradient_step_equals_sgd_weight_decay():
    """One SGD step on L2(l2) equals torch's SGD weight_decay = 2·l2 (loss gradient zero)."""
    l2, lr = 0.05, 0.1
    w = rb.tensor(W, requires_grad=True)
    nn.L2(l2)(w).backward()
    ours = W - lr * w.grad
    t = torch.tensor(W, requires_grad=True)
    opt = torch.optim.SGD([t], lr=lr, weight_decay=2 * l2)
    t.grad = torch.zeros_like(t)
    opt.step()
    np.testing.assert_allclose(ours, t.detach().numpy(), rtol=1e-12)


def test_get_regularizer():
    assert isinstance(nn.get_regularizer("l2"), nn.L2)
    assert nn.get_regularizer("L1").l1 == 0.01
    r = nn.get_regularizer("l1_l2")
    assert (r.l1, r.l2) == (0.01, 0.01)
    r = nn.get_regularizer({"class_name": "L2", "config": {"l2": 1e-4}})
    assert isinstance(r, nn.L2) and r.l2 == 1e-4
    reg = nn.L1(0.2)
    assert nn.get_regularizer(reg) is reg
    assert nn.get_regularizer(None) is None
    with pytest.raises(ValueError, match="l1_l2"):
        nn.get_regularizer("l3")
    assert repr(nn.L1L2(0.1, 0.2)) == "L1L2(l1=0.1, l2=0.2)"


def test_add_regularizer_and_regularization_loss_over_sequential():
    model = nn.Sequential(
        nn.Linear(5, 4, weight_regularizer=nn.L2(0.01)),
        nn.Dense(4, 3, kernel_regularizer="l1", bias_regularizer=nn.L2(0.5)),
        nn.BatchNorm1d(3),
    )
    nn.add_regularizer(model[2], "weight", nn.L1L2(0.0, 0.25))
    expected = (0.01 * (model[0].weight.data.astype(np.float64) ** 2).sum()
                + 0.01 * np.abs(model[1].weight.data).sum()
                + 0.5 * (model[1].bias.data.astype(np.float64) ** 2).sum()
                + 0.25 * 3)
    loss = model.regularization_loss()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    loss.backward()
    np.testing.assert_allclose(model[0].weight.grad, 0.02 * model[0].weight.data, rtol=1e-6)
    np.testing.assert_allclose(model[1].weight.grad, 0.01 * np.sign(model[1].weight.data))
    np.testing.assert_allclose(model[1].bias.grad, model[1].bias.data, rtol=1e-6)
    np.testing.assert_allclose(model[2].weight.grad, 0.5 * np.ones(3), rtol=1e-6)
    assert model[0].bias.grad is None

    nn.add_regularizer(model[1], "bias", None)  # removes it
    assert "bias" not in model[1].regularizers
    assert nn.Linear(2, 2).regularization_loss() == 0.0


def test_add_regularizer_unknown_parameter():
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        nn.add_regularizer(nn.Linear(2, 2), "kernel", nn.L2())


def test_regularized_training_step_adds_penalty_gradient():
    """Total loss = data loss + regularization_loss(): gradients add up."""
    layer = nn.Linear(3, 2, weight_regularizer=nn.L2(0.1))
    x = rb.randn(4, 3)
    data_loss = (layer(x) ** 2).mean()
    (data_loss + layer.regularization_loss()).backward()
    with_reg = layer.weight.grad.copy()
    layer.zero_grad()
    (layer(x) ** 2).mean().backward()
    np.testing.assert_allclose(with_reg - layer.weight.grad, 0.2 * layer.weight.data, rtol=1e-5,
                               atol=1e-7)
