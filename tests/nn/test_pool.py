"""Pooling ops and layers against PyTorch: max / average / sum / LP pooling (strides, padding,
dilation, ceil_mode, count_include_pad, odd sizes, indices), adaptive average and max pooling,
global average pooling, fractional max pooling with the same random samples; forward and the
input gradient in float32 and float64, finite differences in float64, errors and layers."""

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


def _channels_last(a):
    """A tensor of a's values whose memory is NHWC (what a conv layer hands on)."""
    return rb.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)), requires_grad=True) \
        .permute(0, 3, 1, 2)


# ------------------------------------------------------------------ max pooling

MAX2D = [  # shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 9, 7), 2, None, 0, 1, False),
    ((2, 3, 9, 7), 2, None, 0, 1, True),
    ((2, 2, 11, 10), 3, 2, 1, 1, False),
    ((2, 2, 11, 10), 3, 2, 1, 1, True),
    ((1, 2, 10, 9), (3, 2), (2, 1), (1, 0), 1, False),
    ((1, 2, 12, 11), 3, 1, 1, 2, False),
    ((2, 1, 13, 13), 3, 3, 0, 1, True),
    ((3, 2, 5, 6), 5, 1, 2, 1, False),
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX2D)
def test_max_pool2d_vs_torch(shape, k, s, p, d, ceil, dtype):
    check_op(lambda x: F.max_pool2d(x, k, s, p, d, ceil),
             lambda x: TF.max_pool2d(x, k, s, p, d, ceil), [_x(shape, dtype)])


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX2D[:5])
def test_max_pool2d_indices_vs_torch(shape, k, s, p, d, ceil):
    x = _x(shape, np.float32)
    y, idx = F.max_pool2d(rb.tensor(x), k, s, p, d, ceil, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == np.int64


def test_max_pool2d_ties_go_to_the_first_max_as_torch():
    x = np.zeros((1, 1, 4, 4), np.float32)  # every window is a tie
    check_op(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), [x])
    check_op(lambda x: F.max_pool2d(x, 3, 1), lambda x: TF.max_pool2d(x, 3, 1), [x])


def test_max_pool2d_on_channels_last_memory_and_unbatched():
    x = _x((2, 3, 6, 6), np.float32)
    xt = _channels_last(x)
    y = F.max_pool2d(xt, 2)
    np.testing.assert_array_equal(y.detach().numpy(), TF.max_pool2d(torch.tensor(x), 2).numpy())
    check_op(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), [x[0]])


@pytest.mark.parametrize("k,s,p,d,ceil", [(2, None, 0, 1, False), (3, 2, 1, 1, True),
                                          (3, 1, 1, 2, False)])
def test_max_pool1d_vs_torch(k, s, p, d, ceil, dtype):
    x = _x((2, 3, 11), dtype)
    check_op(lambda x: F.max_pool1d(x, k, s, p, d, ceil),
             lambda x: TF.max_pool1d(x, k, s, p, d, ceil), [x])
    y, idx = F.max_pool1d(rb.tensor(x), k, s, p, d, ceil, return_indices=True)
    _, tidx = TF.max_pool1d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_max_pool2d_gradcheck():
    x = _x((1, 2, 6, 5), np.float64, seed=3)  # distinct values: no ties, no kinks
    check_gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), [x])
    check_gradcheck(lambda x: F.max_pool2d(x, 2, 1), [x])


# ------------------------------------------------------------------ average, sum, LP pooling

AVG2D = [  # shape, kernel, stride, padding, ceil_mode, count_include_pad
    ((2, 3, 8, 8), 2, None, 0, False, True),
    ((2, 3, 9, 7), 3, 2, 1, False, True),
    ((2, 3, 9, 7), 3, 2, 1, False, False),
    ((2, 3, 9, 7), 3, 2, 1, True, True),
    ((2, 3, 9, 7), 3, 2, 1, True, False),
    ((1, 2, 10, 11), (3, 2), (2, 3), (1, 1), True, True),
    ((1, 2, 7, 7), 2, 3, 0, True, True),
    ((1, 2, 5, 6), 4, 1, 2, False, False),
]


@pytest.mark.parametrize("shape,k,s,p,ceil,cip", AVG2D)
def test_avg_pool2d_vs_torch(shape, k, s, p, ceil, cip, dtype):
    check_op(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip),
             lambda x: TF.avg_pool2d(x, k, s, p, ceil, cip), [_x(shape, dtype)])


def test_avg_pool2d_divisor_override_vs_torch(dtype):
    x = _x((2, 2, 7, 8), dtype)
    check_op(lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=5),
             lambda x: TF.avg_pool2d(x, 3, 2, 1, divisor_override=5), [x])


@pytest.mark.parametrize("k,s,p,ceil,cip", [(2, None, 0, False, True), (3, 2, 1, True, False),
                                            (4, 3, 2, True, True)])
def test_avg_pool1d_vs_torch(k, s, p, ceil, cip, dtype):
    check_op(lambda x: F.avg_pool1d(x, k, s, p, ceil, cip),
             lambda x: TF.avg_pool1d(x, k, s, p, ceil, cip), [_x((2, 3, 13), dtype)])


def test_sum_pool2d_is_avg_times_area(dtype):
    x = _x((2, 3, 8, 9), dtype)
    check_op(lambda x: F.sum_pool2d(x, (2, 3)), lambda x: TF.avg_pool2d(x, (2, 3)) * 6, [x])
    check_op(lambda x: F.sum_pool2d(x, 3, 2, 1),
             lambda x: TF.avg_pool2d(x, 3, 2, 1, divisor_override=1), [x])
    assert nn.SumPool2d(2)(rb.ones(1, 1, 4, 4)).numpy().tolist() == [[[[4.0, 4.0], [4.0, 4.0]]]]


@pytest.mark.parametrize("p", [1, 2, 3.0])
def test_lp_pool_vs_torch(p, dtype):
    x = np.abs(_x((2, 3, 8, 9), dtype)) + 0.1
    check_op(lambda x: F.lp_pool2d(x, p, 2), lambda x: TF.lp_pool2d(x, p, 2), [x],
             atol=1e-4 if dtype == np.float32 else None)
    check_op(lambda x: F.lp_pool2d(x, p, (3, 2), 2, ceil_mode=True),
             lambda x: TF.lp_pool2d(x, p, (3, 2), 2, ceil_mode=True), [x],
             atol=1e-4 if dtype == np.float32 else None)
    x1 = x[:, :, 0]
    check_op(lambda x: F.lp_pool1d(x, p, 3, 2), lambda x: TF.lp_pool1d(x, p, 3, 2), [x1],
             atol=1e-4 if dtype == np.float32 else None)


def test_avg_pool2d_gradcheck():
    x = _x((1, 2, 6, 5), np.float64)
    check_gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), [x])
    check_gradcheck(lambda x: F.sum_pool2d(x, 2, 1), [x])


def test_avg_pool_on_channels_last_memory():
    x = _x((2, 3, 6, 6), np.float32)
    xt = _channels_last(x)
    y = F.avg_pool2d(xt, 3, 1, 1)
    np.testing.assert_allclose(y.detach().numpy(), TF.avg_pool2d(torch.tensor(x), 3, 1, 1).numpy(),
                               atol=1e-6)
    y.sum().backward()


# ------------------------------------------------------------------ adaptive and global pooling


@pytest.mark.parametrize("shape,out", [((2, 3, 8, 8), 4), ((2, 3, 10, 7), (3, 5)),
                                       ((1, 2, 7, 9), (7, 9)), ((1, 2, 5, 5), (8, 3)),
                                       ((2, 3, 6, 7), 1), ((1, 2, 9, 6), (None, 4))])
def test_adaptive_avg_pool2d_vs_torch(shape, out, dtype):
    check_op(lambda x: F.adaptive_avg_pool2d(x, out),
             lambda x: TF.adaptive_avg_pool2d(x, out), [_x(shape, dtype)])


@pytest.mark.parametrize("shape,out", [((2, 3, 8, 8), 4), ((2, 3, 10, 7), (3, 5)),
                                       ((1, 2, 5, 5), (8, 3)), ((2, 3, 6, 7), 1)])
def test_adaptive_max_pool2d_vs_torch(shape, out, dtype):
    x = _x(shape, dtype)
    check_op(lambda x: F.adaptive_max_pool2d(x, out),
             lambda x: TF.adaptive_max_pool2d(x, out), [x])
    _, idx = F.adaptive_max_pool2d(rb.tensor(x), out, return_indices=True)
    _, tidx = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_adaptive_pool_gradcheck():
    x = _x((1, 2, 7, 5), np.float64, seed=4)
    check_gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [x])
    check_gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 2)), [x])


def test_global_avg_pool2d(dtype):
    x = _x((2, 3, 5, 6), dtype)
    check_op(lambda x: F.global_avg_pool2d(x), lambda x: x.mean((2, 3)), [x])
    check_op(lambda x: nn.GlobalAvgPool2d(keepdim=True)(x),
             lambda x: TF.adaptive_avg_pool2d(x, 1), [x])


# ------------------------------------------------------------------ fractional max pooling


@pytest.mark.parametrize("shape,k,out,ratio", [((2, 3, 11, 9), 2, (5, 4), None),
                                               ((2, 2, 16, 13), 3, None, (0.5, 0.5)),
                                               ((1, 2, 10, 10), (2, 3), (9, 8), None),
                                               ((1, 1, 7, 7), 2, (1, 1), None)])
def test_fractional_max_pool2d_matches_torch_given_samples(shape, k, out, ratio, dtype):
    x = _x(shape, dtype)
    u = rng(7).random((shape[0], shape[1], 2)).astype(dtype)
    check_op(lambda x: F.fractional_max_pool2d(x, k, out, ratio, _random_samples=u),
             lambda x: TF.fractional_max_pool2d(x, k, out, ratio,
                                                _random_samples=torch.tensor(u)), [x])
    _, idx = F.fractional_max_pool2d(rb.tensor(x), k, out, ratio, True, _random_samples=u)
    _, tidx = TF.fractional_max_pool2d(torch.tensor(x), k, out, ratio, True,
                                       _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_fractional_max_pool2d_seeded_and_sized():
    x = rb.tensor(_x((2, 3, 12, 12), np.float32))
    rb.manual_seed(5)
    a = F.fractional_max_pool2d(x, 2, output_ratio=0.5)
    rb.manual_seed(5)
    b = F.fractional_max_pool2d(x, 2, output_ratio=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == (2, 3, 6, 6)
    layer = nn.FractionalMaxPool2d(3, output_size=(7, 5))
    assert layer(x).shape == (2, 3, 7, 5)
    with pytest.raises(ValueError, match="does not fit"):
        F.fractional_max_pool2d(x, 3, output_size=(11, 11))
    with pytest.raises(ValueError, match="either"):
        nn.FractionalMaxPool2d(2)


def test_fractional_max_pool2d_gradcheck():
    x = _x((1, 2, 7, 6), np.float64, seed=5)
    u = rng(8).random((1, 2, 2))
    check_gradcheck(lambda x: F.fractional_max_pool2d(x, 2, (4, 4), _random_samples=u), [x])


# ------------------------------------------------------------------ output sizes and errors


def test_pool_output_size_formula():
    assert F.pool_output_size(55, 3, 2) == 27  # AlexNet's first max pool: 55 → 27
    assert F.pool_output_size(7, 2) == 3
    assert F.pool_output_size(7, 2, ceil_mode=True) == 4
    assert F.pool_output_size(7, 2, 3, ceil_mode=True) == 3  # last window would start outside
    y = nn.MaxPool2d(3, 2)(rb.zeros(1, 96, 55, 55))
    assert y.shape == (1, 96, 27, 27)


def test_window_that_does_not_fit_names_layer_and_geometry():
    x = rb.zeros(1, 2, 3, 3)
    with pytest.raises(ValueError) as err:
        nn.MaxPool2d(5)(x)
    msg = str(err.value)
    assert msg.startswith("MaxPool2d(kernel_size=5, stride=5")
    assert "input size (3, 3)" in msg and "kernel_size=(5, 5)" in msg
    assert "stride=(5, 5)" in msg and "padding=(0, 0)" in msg
    with pytest.raises(ValueError, match=r"avg_pool2d: .*input size \(3, 3\)"):
        F.avg_pool2d(x, 4)
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"AvgPool2d\(.*expected input of shape \(N, C, H, W\)"):
        nn.AvgPool2d(2)(rb.zeros(4, 4))


# ------------------------------------------------------------------ layers


def test_pool_layers_repr_as_torch():
    pairs = [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.MaxPool1d(3), torch.nn.MaxPool1d(3)),
        (nn.AvgPool2d((2, 3), 1), torch.nn.AvgPool2d((2, 3), 1)),
        (nn.AvgPool1d(2), torch.nn.AvgPool1d(2)),
        (nn.AdaptiveAvgPool2d((3, 4)), torch.nn.AdaptiveAvgPool2d((3, 4))),
        (nn.AdaptiveMaxPool2d(2), torch.nn.AdaptiveMaxPool2d(2)),
        (nn.LPPool2d(2, 3), torch.nn.LPPool2d(2, 3)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("layer,torch_layer", [
    (lambda: nn.MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
    (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     lambda: torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: torch.nn.AdaptiveAvgPool2d((2, 3))),
    (lambda: nn.AdaptiveMaxPool2d(3), lambda: torch.nn.AdaptiveMaxPool2d(3)),
    (lambda: nn.LPPool2d(2, 2), lambda: torch.nn.LPPool2d(2, 2)),
])
def test_pool_layers_vs_torch_and_config(layer, torch_layer):
    x = np.abs(_x((2, 3, 9, 8), np.float32)) + 0.1
    ours, theirs = layer(), torch_layer()
    check_op(ours, theirs, [x], atol=1e-4)
    assert ours.state_dict() == {} and not list(ours.parameters())
    clone = type(ours).from_config(json.loads(json.dumps(ours.get_config())))
    assert repr(clone) == repr(ours)


def test_pool1d_layers_vs_torch():
    x = _x((2, 3, 10), np.float64)
    check_op(nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), [x])
    check_op(nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1), [x])
    for layer in (nn.MaxPool1d(3, 2, 1), nn.AvgPool1d(3, 2, 1), nn.SumPool2d(2),
                  nn.GlobalAvgPool2d(), nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.6))):
        clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
        assert repr(clone) == repr(layer)


def test_max_pool_layer_return_indices():
    x = _x((1, 2, 6, 6), np.float32)
    y, idx = nn.MaxPool2d(2, return_indices=True)(rb.tensor(x))
    ty, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
