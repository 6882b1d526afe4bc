"""Linear/Dense, Identity, Flatten, Unflatten, Dropout, DropConnect and Embedding: values and
gradients against PyTorch, state_dict compatibility, seeded randomness, configs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F

# ------------------------------------------------------------------ Linear / Dense


def test_dense_is_linear():
    assert nn.Dense is nn.Linear


def test_functional_linear_vs_torch(dtype):
    g = rng(0)
    x = g.standard_normal((4, 3, 5)).astype(dtype)
    w = g.standard_normal((6, 5)).astype(dtype)
    b = g.standard_normal(6).astype(dtype)
    check_op(F.linear, TF.linear, [x, w, b])
    check_op(lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), [x, w])


def test_functional_linear_gradcheck():
    g = rng(1)
    check_gradcheck(F.linear, [g.standard_normal((3, 4)), g.standard_normal((2, 4)),
                               g.standard_normal(2)])


@pytest.mark.parametrize("bias", [True, False])
def test_linear_layer_loads_torch_state_and_matches(bias):
    theirs = torch.nn.Linear(7, 3, bias=bias)
    ours = nn.Linear(7, 3, bias=bias)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = rng(2).standard_normal((5, 7)).astype(np.float32)
    xo, xt = rb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), atol=1e-6)
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-5)
    if bias:
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), atol=1e-5)
    assert repr(ours) == repr(theirs)


def test_linear_default_init_is_torch_distribution():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound
    # U(−A, A) has variance A²/3
    assert abs(layer.weight.data.var() / (bound**2 / 3) - 1) < 0.02
    assert abs(layer.weight.data.mean()) < 0.01 * bound * 10


def test_linear_init_is_seeded():
    rb.manual_seed(3)
    a = nn.Linear(5, 4)
    rb.manual_seed(3)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


def test_linear_named_initializers_and_keras_aliases():
    layer = nn.Dense(30, 20, kernel_initializer="zeros", bias_initializer="ones")
    assert not layer.weight.data.any() and (layer.bias.data == 1).all()
    layer = nn.Linear(300, 200, weight_initializer="glorot_uniform")
    assert np.abs(layer.weight.data).max() <= math.sqrt(6 / 500)
    with pytest.raises(TypeError):
        nn.Linear(2, 3, weight_initializer="zeros", kernel_initializer="ones")
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.Linear(2, 3, weight_initializer="nope")


def test_linear_shape_error_names_layer():
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*expected input of shape "
                                         r"\(\.\.\., 4\), got \(2, 5\)"):
        nn.Linear(4, 3)(rb.zeros(2, 5))


def test_linear_config_round_trip_with_regularizers():
    layer = nn.Linear(4, 3, weight_regularizer=nn.L2(1e-3), bias_regularizer="l1",
                      weight_initializer="he_normal")
    config = json.loads(json.dumps(layer.get_config()))
    rebuilt = nn.Linear.from_config(config)
    assert rebuilt.get_config() == config
    assert isinstance(rebuilt.regularizers["weight"], nn.L2)
    assert rebuilt.regularizers["weight"].l2 == 1e-3
    assert isinstance(rebuilt.regularizers["bias"], nn.L1)


# ------------------------------------------------------------------ Identity, Flatten, Unflatten


def test_identity_flatten_unflatten_vs_torch():
    x = rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)
    assert nn.Identity(54, unused=1)(rb.tensor(x)).shape == (2, 3, 4, 5)
    for args in [(), (2,), (0, 2), (1, -2)]:
        check_op(nn.Flatten(*args), torch.nn.Flatten(*args), [x])
    check_op(nn.Unflatten(1, (3, 1, 4)), torch.nn.Unflatten(1, (3, 1, 4)),
             [x.reshape(2, 12, 5)])
    check_op(nn.Unflatten(-1, (-1, 2)), torch.nn.Unflatten(-1, (-1, 2)), [x.reshape(2, 3, 20)])
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    with pytest.raises(ValueError, match="Unflatten"):
        nn.Unflatten(1, (5, 5))(rb.tensor(x))


@pytest.mark.parametrize("layer", [nn.Identity(), nn.Flatten(0, 2), nn.Unflatten(1, (2, 3)),
                                   nn.Dropout(0.3), nn.DropConnect(4, 2, p=0.25, bias=False),
                                   nn.Embedding(10, 3, padding_idx=-1), nn.Linear(3, 2)])
def test_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == layer.get_config()
    assert repr(rebuilt) == repr(layer)
    assert list(rebuilt.state_dict()) == list(layer.state_dict())


# ------------------------------------------------------------------ Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_training_fraction_scale_and_expectation(p, dtype):
    x = rng(4).uniform(1.0, 2.0, (400, 500)).astype(dtype)  # no zeros in x
    y = nn.Dropout(p)(rb.tensor(x)).numpy()
    assert y.dtype == dtype
    dropped = y == 0
    n = x.size
    # the zeroed fraction is Binomial(n, p)/n: within 5 standard deviations of p
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    scale = dtype(1.0 / (1.0 - p))
    np.testing.assert_array_equal(y[~dropped], x[~dropped] * scale)  # exactly x/(1−p)
    # expectation preserved: E[y] = x, so mean(y/x) ≈ 1
    ratio = (y / x).mean()
    assert abs(ratio - 1) < 5 * math.sqrt(p / (1 - p) / n)


def test_dropout_eval_and_p_zero_are_identity():
    x = rb.randn(20, 30)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert F.dropout(x, 0.7, training=False) is x


def test_dropout_p_one_gives_zeros_and_zero_grad():
    x = rb.randn(5, 6, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.detach().numpy().any()
    y.sum().backward()
    assert not x.grad.any()


def test_dropout_bad_p():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError):
        F.dropout(rb.randn(3), -0.1)


def test_dropout_is_seeded_and_fresh_per_call():
    x = rb.randn(50, 40)
    rb.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    rb.manual_seed(7)
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a == 0, b == 0)


def test_dropout_gradient_flows_only_through_kept_units():
    x = rb.tensor(rng(5).uniform(1, 2, (30, 20)), requires_grad=True)
    p = 0.4
    y = F.dropout(x, p)
    dy = rng(6).standard_normal(y.shape)
    y.backward(dy)
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad[kept], dy[kept] / (1 - p), rtol=1e-12)
    assert not x.grad[~kept].any()


def test_dropout_in_sequential_follows_train_eval():
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    x = rb.randn(16, 8)
    assert (model(x).detach().numpy() == 0).any()
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model[0](x).detach().numpy())


# ------------------------------------------------------------------ DropConnect


def test_dropconnect_drops_weights_in_training_only():
    rb.manual_seed(1)
    layer = nn.DropConnect(50, 40, p=0.5)
    eye = rb.eye(50)  # row i of y is W[:, i] (after dropping) + b: the effective weights
    with rb.no_grad():
        w_eff = (layer(eye) - layer.bias).numpy().T  # (out, in)
    w = layer.weight.data
    dropped = w_eff == 0
    assert abs(dropped.mean() - 0.5) < 0.05
    np.testing.assert_allclose(w_eff[~dropped], w[~dropped] * 2, rtol=1e-6, atol=1e-6)
    # one mask for the whole batch: every row of the batch sees the same weights
    x = rb.tensor(np.ones((3, 50), np.float32))
    y = layer(x).detach().numpy()
    np.testing.assert_allclose(y[0], y[1])
    layer.eval()
    ref = nn.Linear(50, 40)
    ref.load_state_dict(layer.state_dict())
    xr = rb.randn(7, 50)
    np.testing.assert_allclose(layer(xr).detach().numpy(), ref(xr).detach().numpy())


def test_dropconnect_gradient_only_to_kept_weights():
    layer = nn.DropConnect(6, 5, p=0.5)
    x = rb.randn(4, 6)
    layer(x).sum().backward()
    g = layer.weight.grad
    # dW = (dyᵀ x) ⊙ M/(1−p): zero exactly where the weight was dropped
    full = np.ones((4, 5)).T @ x.numpy()
    kept = g != 0
    np.testing.assert_allclose(g[kept], 2 * full[kept], rtol=1e-5)
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(layer.bias.grad, np.full(5, 4.0))


def test_drop_connect_functional_gradcheck_with_fixed_seed():
    g = rng(7)
    x, w, b = g.standard_normal((3, 4)), g.standard_normal((2, 4)), g.standard_normal(2)

    def fn(x, w, b):
        rb.manual_seed(11)  # the same mask on every evaluation
        return F.drop_connect(x, w, b, p=0.3)

    check_gradcheck(fn, [x, w, b])


def test_dropconnect_state_dict_is_linear_compatible():
    theirs = torch.nn.Linear(4, 3)
    layer = nn.DropConnect(4, 3, p=0.2).eval()
    layer.load_state_dict(theirs.state_dict())
    x = rng(8).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(rb.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-6)


# ------------------------------------------------------------------ Embedding


def test_embedding_functional_vs_torch(dtype):
    w = rng(9).standard_normal((10, 4)).astype(dtype)
    idx = np.array([[1, 3, 3, 0], [9, 1, 1, 1]])  # repeated indices accumulate
    check_op(lambda w: F.embedding(idx, w), lambda w: TF.embedding(torch.tensor(idx), w), [w])
    check_op(lambda w: F.embedding(idx, w, padding_idx=1),
             lambda w: TF.embedding(torch.tensor(idx), w, padding_idx=1), [w])


def test_embedding_gradcheck():
    # (with padding_idx the padding row's gradient is zero on purpose, so finite differences
    # would disagree there; that case is compared with torch above)
    w = rng(10).standard_normal((6, 3))
    idx = np.array([[0, 2], [2, 5], [0, 0]])
    check_gradcheck(lambda w: F.embedding(idx, w), [w])


def test_embedding_layer_vs_torch_padding_row():
    theirs = torch.nn.Embedding(12, 5, padding_idx=3)
    ours = nn.Embedding(12, 5, padding_idx=3)
    assert not ours.weight.data[3].any()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    idx = np.array([[3, 4, 3], [11, 0, 4]])
    yo, yt = ours(rb.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy())
    dy = rng(11).standard_normal(yo.shape).astype(np.float32)
    yo.backward(dy)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-6)
    assert not ours.weight.grad[3].any()
    np.testing.assert_allclose(ours.weight.grad[4], dy[0, 1] + dy[1, 2], rtol=1e-6)
    assert repr(ours) == repr(theirs)


def test_embedding_init_and_errors():
    layer = nn.Embedding(2000, 50, padding_idx=-1)
    assert layer.padding_idx == 1999
    w = layer.weight.data[:-1]
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # N(0, 1) like torch
    with pytest.raises(IndexError, match=r"Embedding\(2000, 50.*index 2000 is out of range"):
        layer(rb.tensor([1, 2000]))
    with pytest.raises(TypeError, match="integer"):
        layer(rb.tensor([1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
