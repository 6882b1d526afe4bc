"""Spatial ops and layers: local response norm and interpolation (nearest, linear, bilinear,
align_corners, size or scale_factor) against PyTorch, forward and input gradient in float32
and float64 with finite differences; stochastic depth against torchvision's definition (written
out here: torchvision is not a test dependency)."""

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


def _x(shape, dtype, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ local response norm


@pytest.mark.parametrize("shape,size", [((2, 7, 5, 4), 5), ((2, 6, 5, 4), 2), ((3, 4, 9), 3),
                                        ((2, 5, 3, 3, 2), 4)])
def test_local_response_norm_vs_torch(shape, size, dtype):
    check_op(lambda x: F.local_response_norm(x, size, 1e-2, 0.75, 2.0),
             lambda x: TF.local_response_norm(x, size, 1e-2, 0.75, 2.0), [_x(shape, dtype)])


def test_local_response_norm_layer_and_gradcheck():
    x = _x((2, 6, 4, 3), np.float32)
    check_op(nn.LocalResponseNorm(3), torch.nn.LocalResponseNorm(3), [x])
    assert repr(nn.LocalResponseNorm(3)) == repr(torch.nn.LocalResponseNorm(3))
    check_gradcheck(lambda x: F.local_response_norm(x, 3, 0.1), [_x((1, 4, 3, 2), np.float64)])
    with pytest.raises(ValueError, match=r"LocalResponseNorm\(3, .*got \(2, 6\)"):
        nn.LocalResponseNorm(3)(rb.zeros(2, 6))


# ------------------------------------------------------------------ interpolation

INTERP2D = [  # input shape, size, scale_factor, mode, align_corners
    ((2, 3, 4, 5), None, 2, "nearest", None),
    ((2, 3, 4, 5), (7, 3), None, "nearest", None),
    ((2, 3, 6, 5), None, (1.5, 0.5), "nearest", None),
    ((1, 2, 5, 5), None, 1.7, "nearest", None),
    ((2, 3, 4, 5), None, 2, "bilinear", False),
    ((2, 3, 4, 5), None, 2, "bilinear", True),
    ((2, 3, 4, 5), (9, 3), None, "bilinear", False),
    ((2, 3, 4, 5), (9, 3), None, "bilinear", True),
    ((1, 2, 7, 6), None, (0.6, 1.3), "bilinear", False),
    ((1, 2, 1, 6), (3, 1), None, "bilinear", True),
]


@pytest.mark.parametrize("shape,size,sf,mode,ac", INTERP2D)
def test_interpolate_2d_vs_torch(shape, size, sf, mode, ac, dtype):
    check_op(lambda x: F.interpolate(x, size, sf, mode, ac),
             lambda x: TF.interpolate(x, size, sf, mode, ac), [_x(shape, dtype)])


@pytest.mark.parametrize("size,sf,mode,ac", [(None, 2, "nearest", None),
                                             (11, None, "nearest", None),
                                             (None, 2.5, "linear", False),
                                             (8, None, "linear", True)])
def test_interpolate_1d_vs_torch(size, sf, mode, ac, dtype):
    check_op(lambda x: F.interpolate(x, size, sf, mode, ac),
             lambda x: TF.interpolate(x, size, sf, mode, ac), [_x((2, 3, 5), dtype)])


def test_interpolate_gradcheck_and_errors():
    x = _x((1, 2, 3, 4), np.float64)
    check_gradcheck(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), [x])
    check_gradcheck(lambda x: F.interpolate(x, size=(5, 3)), [x])
    t = rb.tensor(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(t, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(t)
    with pytest.raises(ValueError, match="mode 'linear'"):
        F.interpolate(t, scale_factor=2, mode="linear")


def test_upsample_layer_vs_torch():
    x = _x((2, 3, 4, 5), np.float32)
    pairs = [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (nn.Upsample(size=(6, 7), mode="bilinear", align_corners=True),
              torch.nn.Upsample(size=(6, 7), mode="bilinear", align_corners=True))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        check_op(ours, theirs, [x])
        clone = nn.Upsample.from_config(json.loads(json.dumps(ours.get_config())))
        assert repr(clone) == repr(ours)
    assert F.upsample is F.interpolate


# ------------------------------------------------------------------ stochastic depth


def _torchvision_stochastic_depth(x, p, mode, training, u):
    """torchvision.ops.stochastic_depth, with the Bernoulli draw given as uniforms u < 1 − p."""
    if not training or p == 0.0:
        return x
    survival = 1.0 - p
    noise = (u < survival).astype(x.dtype)
    if survival > 0.0:
        noise /= survival
    return x * noise


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_semantics(mode, dtype):
    x = _x((64, 3, 2, 2), dtype)
    shape = (64, 1, 1, 1) if mode == "row" else (1, 1, 1, 1)
    rb.manual_seed(3)
    u = rb.random.generator().random(shape)
    rb.manual_seed(3)
    xt = rb.tensor(x, requires_grad=True)
    y = F.stochastic_depth(xt, 0.3, mode)
    expected = _torchvision_stochastic_depth(x, 0.3, mode, True, u)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-6)
    assert y.dtype == x.dtype
    y.sum().backward()
    np.testing.assert_allclose(xt.grad, np.broadcast_to(expected / np.where(x == 0, 1, x),
                                                        x.shape), rtol=1e-5)
    kept = (np.abs(y.detach().numpy()).reshape(64, -1).sum(1) > 0)
    if mode == "batch":
        assert kept.all() or not kept.any()
    else:
        assert 0 < kept.sum() < 64
    assert F.stochastic_depth(xt, 0.3, mode, training=False) is xt
    assert F.stochastic_depth(xt, 0.0, mode) is xt
    assert not F.stochastic_depth(xt, 1.0, mode).detach().numpy().any()


def test_stochastic_depth_layer():
    layer = nn.StochasticDepth(0.2, "row")
    assert repr(layer) == "StochasticDepth(p=0.2, mode=row)"
    x = rb.ones(1000, 4)
    rb.manual_seed(0)
    y = layer(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.8)}
    assert abs(y.mean() - 1.0) < 0.1  # E[y] = x
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="'batch' or 'row'"):
        F.stochastic_depth(x, 0.5, "col")
    clone = nn.StochasticDepth.from_config(json.loads(json.dumps(layer.get_config())))
    assert repr(clone) == repr(layer)
