"""Normalisation ops and layers against PyTorch: batch norm (train and eval, running statistics,
momentum None, affine off), layer norm, group norm, instance norm; state_dict compatibility."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F
from rosenblatt.ops.norm import channel_dot, channel_sum, fold_sum

BN_SHAPES = [(16, 5), (6, 4, 7), (4, 3, 5, 6)]


def _params(shape, dtype, seed=0):
    g = rng(seed)
    c = shape[1]
    x = (g.standard_normal(shape) * 2 + 1).astype(dtype)
    w = (1 + 0.5 * g.standard_normal(c)).astype(dtype)
    b = g.standard_normal(c).astype(dtype)
    return x, w, b


# ------------------------------------------------------------------ helpers of ops/norm.py


@pytest.mark.parametrize("shape", [(64, 3), (131072, 4), (4096, 48), (1000, 7), (3, 5000)])
def test_fold_sum_matches_sum(shape):
    a = rng(1).standard_normal(shape)
    np.testing.assert_allclose(fold_sum(a), a.sum(0), rtol=1e-12, atol=1e-10)


def test_channel_sum_and_dot():
    a = rng(2).standard_normal((6, 4, 9))
    b = rng(3).standard_normal((6, 4, 9))
    np.testing.assert_allclose(channel_sum(a), a.sum((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(channel_dot(a, b), (a * b).sum((0, 2)), rtol=1e-12)
    a1, b1 = a[:, :, :1], b[:, :, :1]
    np.testing.assert_allclose(channel_dot(a1, b1), (a1 * b1).sum((0, 2)), rtol=1e-12)


# ------------------------------------------------------------------ functional batch norm


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_training_vs_torch(shape, dtype):
    x, w, b = _params(shape, dtype)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
             [x, w, b], atol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval_vs_torch(shape, dtype):
    x, w, b = _params(shape, dtype)
    rm = rng(5).standard_normal(shape[1]).astype(dtype)
    rv = (0.5 + rng(6).random(shape[1])).astype(dtype)
    check_op(lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=False),
             lambda x, w, b, rm, rv: TF.batch_norm(x, rm, rv, w, b, training=False),
             [x, w, b, rm, rv], grad=[True, True, True, False, False])


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_no_affine_vs_torch(training):
    x, _, _ = _params((5, 3, 4, 4), np.float64)
    rm, rv = np.zeros(3), np.full(3, 2.0)
    check_op(lambda x: F.batch_norm(x, rb.tensor(rm), rb.tensor(rv), training=training),
             lambda x: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), training=training),
             [x])


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape, training):
    x, w, b = _params(shape, np.float64)
    rm, rv = np.full(shape[1], 0.3), np.full(shape[1], 1.7)
    check_gradcheck(lambda x, w, b: F.batch_norm(x, rb.tensor(rm), rb.tensor(rv), w, b,
                                                 training=training), [x, w, b])


def test_batch_norm_updates_running_stats_in_place_like_torch():
    x, w, b = _params((7, 3, 4), np.float64)
    ours_m, ours_v = rb.zeros(3, dtype=np.float64), rb.ones(3, dtype=np.float64)
    theirs_m, theirs_v = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        F.batch_norm(rb.tensor(x), ours_m, ours_v, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), theirs_m, theirs_v, training=True, momentum=0.3)
        x = x * 1.5 + 0.5
    np.testing.assert_allclose(ours_m.numpy(), theirs_m.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_v.numpy(), theirs_v.numpy(), rtol=1e-12)


def test_batch_norm_one_value_per_channel_raises():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(rb.randn(1, 4), None, None, training=True)


def test_batch_norm_large_batch_uses_folding_and_matches_torch():
    x = rng(7).standard_normal((8192, 16)) * 3 + 2  # tall and narrow: the folding path
    check_op(lambda x: F.batch_norm(x, None, None, training=True),
             lambda x: TF.batch_norm(x, None, None, training=True), [x])


# ------------------------------------------------------------------ BatchNorm layers


def _pair(cls, tcls, *args, **kw):
    ours, theirs = cls(*args, **kw).double(), tcls(*args, **kw).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _compare_steps(ours, theirs, shape, steps=3, training=True, seed=0):
    """Run a few forward/backward steps through both layers; compare outputs, input grads,
    parameter grads and buffers after every step."""
    ours.train(training)
    theirs.train(training)
    for step in range(steps):
        g = rng(seed + step)
        x = g.standard_normal(shape) * (1 + step) + step
        dy = g.standard_normal(shape)
        xo, xt = rb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), atol=1e-10)
        yo.backward(dy)
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), atol=1e-10)
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(),
                                     strict=True):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-9, err_msg=name)
        sd_o, sd_t = ours.state_dict(), theirs.state_dict()
        assert list(sd_o) == list(sd_t)
        for key in sd_o:
            np.testing.assert_allclose(sd_o[key].numpy(), sd_t[key].numpy(), atol=1e-12,
                                       err_msg=key)
        ours.zero_grad()
        theirs.zero_grad()


@pytest.mark.parametrize("cls,tcls,shape", [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (10, 4)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 4, 5)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (5, 4, 3, 6)),
])
@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"affine": False}, {"momentum": 0.5},
                                {"bias": False}])
def test_batchnorm_layer_train_then_eval_vs_torch(cls, tcls, shape, kw):
    ours, theirs = _pair(cls, tcls, 4, **kw)
    with torch.no_grad():  # non-trivial γ, β
        for p in theirs.parameters():
            p.add_(torch.tensor(rng(9).standard_normal(p.shape)))
    ours.load_state_dict(theirs.state_dict())
    _compare_steps(ours, theirs, shape, steps=3, training=True)
    assert int(ours.num_batches_tracked.item()) == 3
    _compare_steps(ours, theirs, shape, steps=2, training=False, seed=10)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    ours, theirs = _pair(nn.BatchNorm2d, torch.nn.BatchNorm2d, 3, track_running_stats=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    _compare_steps(ours, theirs, (4, 3, 2, 5), steps=2, training=True)
    _compare_steps(ours, theirs, (4, 3, 2, 5), steps=2, training=False)


def test_batchnorm_float32_defaults_and_buffers():
    bn = nn.BatchNorm2d(8)
    t = torch.nn.BatchNorm2d(8)
    assert (bn.eps, bn.momentum) == (t.eps, t.momentum)
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
    assert [k for k, _ in bn.named_buffers()] == [k for k, _ in t.named_buffers()]
    x = rng(0).standard_normal((4, 8, 5, 5)).astype(np.float32)
    y = bn(rb.tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), t.running_var.numpy(), atol=1e-6)


def test_batchnorm_loads_trained_torch_state():
    theirs = torch.nn.BatchNorm2d(3)
    for _ in range(4):
        theirs(torch.randn(6, 3, 4, 4) * 2 + 1)
    with torch.no_grad():
        theirs.weight.mul_(1.5)
        theirs.bias.add_(0.25)
    theirs.eval()
    ours = nn.BatchNorm2d(3).eval()
    ours.load_state_dict(theirs.state_dict())
    x = rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(rb.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)
    assert int(ours.num_batches_tracked.item()) == 4


@pytest.mark.parametrize("layer,x_shape,message", [
    (nn.BatchNorm2d(16), (8, 3, 32, 32),
     "BatchNorm2d(16): expected input of shape (N, 16, H, W), got (8, 3, 32, 32)"),
    (nn.BatchNorm2d(16), (8, 16), "expected input of shape (N, 16, H, W), got (8, 16)"),
    (nn.BatchNorm1d(4), (2, 5), "BatchNorm1d(4): expected input of shape (N, 4) or (N, 4, L)"),
    (nn.LayerNorm(6), (2, 5), "LayerNorm((6,)): expected input of shape (*, 6), got (2, 5)"),
    (nn.GroupNorm(2, 4), (2, 6, 3), "GroupNorm(2, 4): expected input of shape (N, 4, *)"),
    (nn.InstanceNorm2d(3), (2, 4, 5, 5), "InstanceNorm2d(3): expected input of shape"),
])
def test_shape_errors_name_layer_expected_and_received(layer, x_shape, message):
    with pytest.raises(ValueError) as err:
        layer(rb.zeros(*x_shape))
    assert message in str(err.value)


# ------------------------------------------------------------------ layer norm


@pytest.mark.parametrize("shape,normalized", [((4, 7), (7,)), ((3, 4, 5), (4, 5)),
                                              ((2, 3, 2, 3), (3,))])
def test_layer_norm_vs_torch(shape, normalized, dtype):
    g = rng(4)
    x = (g.standard_normal(shape) * 3 + 1).astype(dtype)
    w = g.standard_normal(normalized).astype(dtype)
    b = g.standard_normal(normalized).astype(dtype)
    check_op(lambda x, w, b: F.layer_norm(x, normalized, w, b),
             lambda x, w, b: TF.layer_norm(x, normalized, w, b), [x, w, b],
             atol=1e-4 if dtype == np.float32 else None)
    check_op(lambda x: F.layer_norm(x, normalized), lambda x: TF.layer_norm(x, normalized), [x],
             atol=1e-4 if dtype == np.float32 else None)


def test_layer_norm_gradcheck():
    g = rng(5)
    x, w, b = g.standard_normal((3, 4, 5)), g.standard_normal((4, 5)), g.standard_normal((4, 5))
    check_gradcheck(lambda x, w, b: F.layer_norm(x, (4, 5), w, b, eps=1e-3), [x, w, b])


def test_layer_norm_large_rows_folding():
    g = rng(6)
    x, w, b = g.standard_normal((4096, 16)), g.standard_normal(16), g.standard_normal(16)
    check_op(lambda x, w, b: F.layer_norm(x, 16, w, b), lambda x, w, b: TF.layer_norm(
        x, (16,), w, b), [x, w, b])


@pytest.mark.parametrize("kw", [{}, {"elementwise_affine": False}, {"bias": False},
                                {"eps": 1e-3}])
def test_layernorm_layer_vs_torch(kw):
    ours, theirs = _pair(nn.LayerNorm, torch.nn.LayerNorm, (3, 5), **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.tensor(rng(2).standard_normal(p.shape)))
    ours.load_state_dict(theirs.state_dict())
    _compare_steps(ours, theirs, (4, 2, 3, 5), steps=2)
    assert ours.extra_repr() == theirs.extra_repr()


# ------------------------------------------------------------------ group norm


@pytest.mark.parametrize("shape,groups", [((4, 6, 5), 3), ((2, 6, 3, 4), 2), ((3, 4), 4),
                                          ((2, 4, 3, 3), 1)])
def test_group_norm_vs_torch(shape, groups, dtype):
    x, w, b = _params(shape, dtype, seed=11)
    check_op(lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: TF.group_norm(x, groups, w, b), [x, w, b],
             atol=1e-4 if dtype == np.float32 else None)


def test_group_norm_gradcheck():
    x, w, b = _params((3, 6, 2, 3), np.float64, seed=12)
    check_gradcheck(lambda x, w, b: F.group_norm(x, 3, w, b, eps=1e-3), [x, w, b])


@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"bias": False}])
def test_groupnorm_layer_vs_torch(kw):
    ours, theirs = _pair(nn.GroupNorm, torch.nn.GroupNorm, 2, 6, **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.tensor(rng(3).standard_normal(p.shape)))
    ours.load_state_dict(theirs.state_dict())
    _compare_steps(ours, theirs, (3, 6, 4, 4), steps=2)
    assert ours.extra_repr() == theirs.extra_repr()


def test_groupnorm_channels_not_divisible():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


# ------------------------------------------------------------------ instance norm


def test_instance_norm_vs_torch(dtype):
    x, w, b = _params((3, 4, 5, 6), dtype, seed=13)
    check_op(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), [x, w, b],
             atol=1e-4 if dtype == np.float32 else None)


def test_instance_norm_gradcheck():
    x, w, b = _params((2, 3, 4, 3), np.float64, seed=14)
    check_gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])


@pytest.mark.parametrize("cls,tcls,shape", [
    (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (3, 4, 5, 5)),
    (nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (3, 4, 7)),
])
@pytest.mark.parametrize("kw", [{}, {"affine": True}, {"track_running_stats": True},
                                {"affine": True, "track_running_stats": True, "momentum": 0.3}])
def test_instancenorm_layer_vs_torch(cls, tcls, shape, kw):
    ours, theirs = _pair(cls, tcls, 4, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.tensor(rng(4).standard_normal(p.shape)))
    ours.load_state_dict(theirs.state_dict())
    _compare_steps(ours, theirs, shape, steps=3, training=True)
    _compare_steps(ours, theirs, shape, steps=2, training=False, seed=20)
    assert ours.extra_repr() == theirs.extra_repr()


def test_instancenorm2d_defaults_and_unbatched_input():
    ours, theirs = nn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3)
    assert (ours.affine, ours.track_running_stats) == (theirs.affine, theirs.track_running_stats)
    assert list(ours.state_dict()) == []
    x = rng(8).standard_normal((3, 4, 4)).astype(np.float32)
    y = ours(rb.tensor(x))
    assert y.shape == (3, 4, 4)
    np.testing.assert_allclose(y.numpy(), theirs(torch.tensor(x)).numpy(), atol=1e-5)


# ------------------------------------------------------------------ config and repr


@pytest.mark.parametrize("layer", [
    nn.BatchNorm1d(4, eps=1e-3, momentum=None),
    nn.BatchNorm2d(8, affine=False, track_running_stats=False),
    nn.BatchNorm3d(2),
    nn.LayerNorm((3, 4), elementwise_affine=False),
    nn.LayerNorm(5, bias=False),
    nn.GroupNorm(2, 8, affine=False),
    nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
])
def test_norm_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == layer.get_config()
    assert list(rebuilt.state_dict()) == list(layer.state_dict())
    assert repr(rebuilt) == repr(layer)


@pytest.mark.parametrize("ours,theirs", [
    (nn.BatchNorm2d(16), torch.nn.BatchNorm2d(16)),
    (nn.BatchNorm1d(4, momentum=None, affine=False), torch.nn.BatchNorm1d(4, momentum=None,
                                                                          affine=False)),
])
def test_batchnorm_repr_matches_torch(ours, theirs):
    assert repr(ours) == repr(theirs)


def test_batchnorm3d_vs_torch():
    ours, theirs = _pair(nn.BatchNorm3d, torch.nn.BatchNorm3d, 2)
    _compare_steps(ours, theirs, (3, 2, 3, 2, 4), steps=2)
