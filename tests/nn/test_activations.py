"""Activations (issue 3): every one PyTorch has against PyTorch (forward and every input and
parameter gradient, float32 and float64, values on the kinks and thresholds); the others against
their formula and derivative in NumPy and by finite differences; one stability test per promise;
the special functions' accuracy; the registry; config round trips; errors that name the layer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op

import rosenblatt as rb
import rosenblatt.nn as nn
import rosenblatt.nn.functional as F
from rosenblatt.nn.layers import activation as layers
from rosenblatt.nn.module import REGISTRY
from rosenblatt.ops import activation as ops

SHAPES = [(8,), (3, 6), (2, 3, 4)]


def _x(shape, dtype, kinks=(), scale=3.0, low=None, high=None, seed=0):
    """Seeded inputs of ``shape``; the first entries are the exact ``kinks`` values."""
    gen = np.random.default_rng(seed)
    if low is None:
        x = gen.standard_normal(shape) * scale
    else:
        x = gen.uniform(low, high, shape)
    flat = x.reshape(-1)
    flat[: len(kinks)] = kinks[: flat.size]
    return x.astype(dtype)


# ----------------------------------------------------------------------------------------------
# against PyTorch: (id, ours, torch's, kink values, input range)
# ----------------------------------------------------------------------------------------------

TORCH_CASES = [
    ("sigmoid", F.sigmoid, torch.sigmoid, [0.0, 30.0, -30.0], {}),
    ("tanh", F.tanh, torch.tanh, [0.0, 15.0, -15.0], {}),
    ("relu", F.relu, TF.relu, [0.0, -0.0], {}),
    ("relu6", F.relu6, TF.relu6, [0.0, 6.0, 5.5, 6.5], {"scale": 5.0}),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu, [0.0], {}),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), [0.0], {}),
    ("elu", F.elu, TF.elu, [0.0], {}),
    ("elu_0.5", lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5), [0.0], {}),
    ("selu", F.selu, TF.selu, [0.0], {}),
    ("celu_0.5", lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5), [0.0], {}),
    ("softplus", F.softplus, TF.softplus, [0.0, 20.0, 19.5, 20.5, 40.0, -40.0], {"scale": 8.0}),
    ("softplus_b2_t5", lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0),
     [2.5, 2.0, 3.0, 0.0], {}),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, [0.0, 30.0, -30.0], {}),
    ("gelu", F.gelu, TF.gelu, [0.0, -6.0, 6.0], {}),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh"),
     [0.0, -6.0, 6.0], {}),
    ("gelu_sigmoid", lambda x: F.gelu(x, "sigmoid"), lambda x: x * torch.sigmoid(1.702 * x),
     [0.0], {}),
    ("silu", F.silu, TF.silu, [0.0, 30.0, -30.0], {}),
    ("swish_1.5", lambda x: F.swish(x, 1.5), lambda x: x * torch.sigmoid(1.5 * x), [0.0], {}),
    ("mish", F.mish, TF.mish, [0.0, 25.0, -25.0], {}),
    ("hardtanh", F.hardtanh, TF.hardtanh, [-1.0, 1.0, 0.0], {}),
    ("hardtanh_-2_3", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0),
     [-2.0, 3.0], {}),
    ("softsign", F.softsign, TF.softsign, [0.0], {}),
    # PyTorch's float64 hardsigmoid gradient uses a float32 1/6 (3e-8 off): looser rtol
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, [-3.0, 3.0, 0.0], {"rtol": 1e-7}),
    ("hardswish", F.hardswish, TF.hardswish, [-3.0, 3.0, 0.0], {}),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink, [0.0], {}),
    ("softshrink", F.softshrink, TF.softshrink, [-0.5, 0.5, 0.0], {}),
    ("hardshrink", F.hardshrink, TF.hardshrink, [-0.5, 0.5, 0.0], {}),
    ("threshold", lambda x: F.threshold(x, 0.5, -1.0), lambda x: TF.threshold(x, 0.5, -1.0),
     [0.5, 0.0], {}),
    ("softmax", F.softmax, lambda x: TF.softmax(x, -1), [], {}),
    ("softmax_dim0", lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), [], {}),
    ("log_softmax", F.log_softmax, lambda x: TF.log_softmax(x, -1), [], {}),
    ("log_softmax_dim0", lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0), [], {}),
    ("softmin", F.softmin, lambda x: TF.softmin(x, -1), [], {}),
    ("glu", F.glu, TF.glu, [], {}),
    ("maxout_2", lambda x: F.maxout(x, 2),
     lambda x: x.reshape(x.shape[:-1] + (x.shape[-1] // 2, 2)).amax(-1), [], {}),
    ("logit", F.logit, torch.logit, [0.5], {"low": 0.01, "high": 0.99}),
    ("logit_eps", lambda x: F.logit(x, 0.1), lambda x: torch.logit(x, 0.1),
     [0.05, 0.95, 0.25], {"low": 0.01, "high": 0.99}),
    ("probit", F.probit, torch.special.ndtri, [0.5, 1e-6, 0.999], {"low": 0.001, "high": 0.999}),
    ("erf", F.erf, torch.erf, [0.0, 0.49, 0.51, 5.0, -5.0], {}),
    ("erfc", F.erfc, torch.erfc, [0.0, 0.49, 0.51, 5.0, -5.0], {}),
    ("ndtr", F.ndtr, torch.special.ndtr, [0.0, -5.0, 5.0], {}),
    ("sine", F.sine, lambda x: torch.sin(30.0 * x), [0.0], {"scale": 0.2}),
    ("arctan", F.arctan, torch.atan, [0.0], {}),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(case, shape, dtype):
    _, ours, theirs, kinks, kw = case
    kw = dict(kw)
    rtol = kw.pop("rtol", None)
    rtol = rtol if dtype == np.float64 else None
    check_op(ours, theirs, [_x(shape, dtype, kinks, **kw)], rtol=rtol)


@pytest.mark.parametrize("weight_shape", [(1,), (3,)])
def test_prelu_matches_torch_with_weight_grad(weight_shape, dtype):
    x = _x((4, 3, 5), dtype, [0.0, -0.0])
    w = np.array([0.25, -0.1, 0.6][: weight_shape[0]], dtype=dtype)
    check_op(F.prelu, TF.prelu, [x, w])


def test_prelu_on_1d_and_2d_inputs(dtype):
    check_op(F.prelu, TF.prelu, [_x((6,), dtype, [0.0]), np.array([0.3], dtype)])
    check_op(F.prelu, TF.prelu, [_x((5, 4), dtype, [0.0]), np.linspace(0.1, 0.4, 4).astype(dtype)])


def test_trainable_swish_beta_grad_matches_torch(dtype):
    check_op(F.swish, lambda x, b: x * torch.sigmoid(b * x),
             [_x((3, 5), dtype, [0.0]), np.array(1.3, dtype)])


def test_maxout_layer_matches_torch(dtype):
    layer = nn.Maxout(4, 3, pieces=2).to(dtype)
    x = _x((5, 4), dtype)
    W, b = layer.weight.data.copy(), layer.bias.data.copy()
    xt = torch.tensor(x, requires_grad=True)
    Wt, bt = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = (xt @ Wt.T + bt).reshape(5, 3, 2).amax(-1)
    xr = rb.tensor(x, requires_grad=True)
    y = layer(xr)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    (y * rb.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    tol = {"atol": 1e-5, "rtol": 1e-4} if dtype == np.float32 else {}
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(xr.grad, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.weight.grad, Wt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), **tol)


def test_prelu_layer_matches_torch():
    ours, theirs = nn.PReLU(3), torch.nn.PReLU(3)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())
    x = _x((2, 3, 4), np.float32, [0.0])
    xr, xt = rb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(xr).sum().backward()
    theirs(xt).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(xr.grad, xt.grad.numpy())


# ----------------------------------------------------------------------------------------------
# no PyTorch counterpart: formula and derivative in NumPy, finite differences in float64
# ----------------------------------------------------------------------------------------------

C = 1.5
FORMULA_CASES = [
    ("identity", F.identity, lambda x: x, lambda x: np.ones_like(x), []),
    ("binary_step", F.binary_step, lambda x: (x >= 0).astype(x.dtype),
     lambda x: np.zeros_like(x), [0.0]),
    ("arctan", F.arctan, np.arctan, lambda x: 1 / (1 + x * x), []),
    ("lecun_tanh", F.lecun_tanh, lambda x: 1.7159 * np.tanh(2 * x / 3),
     lambda x: 1.7159 * 2 / 3 * (1 - np.tanh(2 * x / 3) ** 2), []),
    ("absolute", F.absolute, np.abs, np.sign, [0.0]),
    ("gaussian", F.gaussian, lambda x: np.exp(-x * x), lambda x: -2 * x * np.exp(-x * x), []),
    ("multiquadratic", lambda x: F.multiquadratic(x, C), lambda x: np.sqrt(x * x + C * C),
     lambda x: x / np.sqrt(x * x + C * C), []),
    ("inverse_multiquadratic", lambda x: F.inverse_multiquadratic(x, C),
     lambda x: 1 / np.sqrt(x * x + C * C), lambda x: -x / (x * x + C * C) ** 1.5, []),
    ("cosine", F.cosine, np.cos, lambda x: -np.sin(x), []),
    ("sine_w1", lambda x: F.sine(x, 1.0), np.sin, np.cos, []),
    ("sine_w30", F.sine, lambda x: np.sin(30 * x), lambda x: 30 * np.cos(30 * x), []),
    ("piecewise_linear", F.piecewise_linear, lambda x: np.clip(x + 0.5, 0, 1),
     lambda x: ((x >= -0.5) & (x <= 0.5)).astype(x.dtype), [-0.5, 0.5]),
    ("piecewise_linear_-1_3", lambda x: F.piecewise_linear(x, -1.0, 3.0),
     lambda x: np.clip((x + 1) / 4, 0, 1),
     lambda x: ((x >= -1) & (x <= 3)).astype(x.dtype) / 4, [-1.0, 3.0]),
    ("elu_derivative_is_f_plus_alpha", lambda x: F.elu(x, 0.7),
     lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
     lambda x: np.where(x > 0, 1.0, 0.7 * np.expm1(x) + 0.7), []),
    ("sigmoid_derivative_is_s_1_minus_s", F.sigmoid, lambda x: 1 / (1 + np.exp(-x)),
     lambda x: 1 / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x))), []),
    ("softplus_derivative_is_sigmoid", F.softplus, lambda x: np.log1p(np.exp(x)),
     lambda x: 1 / (1 + np.exp(-x)), []),
]


@pytest.mark.parametrize("case", FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_formula_and_derivative(case, dtype):
    name, fn, f, df, kinks = case
    x = _x((4, 5), dtype, kinks, scale=0.3 if "w30" in name else 2.5)
    xr = rb.tensor(x, requires_grad=True)
    y = fn(xr)
    assert y.dtype == x.dtype
    y.sum().backward()
    tol = {"atol": 1e-5, "rtol": 1e-4} if dtype == np.float32 else {"atol": 1e-12, "rtol": 1e-10}
    np.testing.assert_allclose(y.detach().numpy(), f(x.astype(np.float64)), **tol)
    np.testing.assert_allclose(xr.grad, df(x.astype(np.float64)), **tol)
    assert xr.grad.dtype == x.dtype


def _away_from(x, kinks, gap=0.01):
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, x + 2 * gap, x)
    return x


GRADCHECK_CASES = [
    ("sigmoid", F.sigmoid, []), ("tanh", F.tanh, []), ("arctan", F.arctan, []),
    ("relu", F.relu, [0.0]), ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), [0.0]),
    ("elu", lambda x: F.elu(x, 0.7), [0.0]), ("selu", F.selu, [0.0]),
    ("celu", lambda x: F.celu(x, 0.5), [0.0]),
    ("softplus", lambda x: F.softplus(x, 1.5, 3.0), [2.0]), ("logsigmoid", F.logsigmoid, []),
    ("gelu", F.gelu, []), ("gelu_tanh", lambda x: F.gelu(x, "tanh"), []),
    ("gelu_sigmoid", lambda x: F.gelu(x, "sigmoid"), []), ("silu", F.silu, []),
    ("mish", F.mish, []), ("softsign", F.softsign, [0.0]),
    ("hardtanh", F.hardtanh, [-1.0, 1.0]), ("relu6", F.relu6, [0.0, 6.0]),
    ("hardsigmoid", F.hardsigmoid, [-3.0, 3.0]), ("hardswish", F.hardswish, [-3.0, 3.0]),
    ("tanhshrink", F.tanhshrink, []), ("softshrink", F.softshrink, [-0.5, 0.5]),
    ("hardshrink", F.hardshrink, [-0.5, 0.5]), ("threshold", lambda x: F.threshold(x, 0.2, 3.0),
                                                 [0.2]),
    ("softmax", lambda x: F.softmax(x, 0), []), ("log_softmax", F.log_softmax, []),
    ("softmin", F.softmin, []), ("glu", F.glu, []), ("maxout", lambda x: F.maxout(x, 3), []),
    ("erf", F.erf, []), ("erfc", F.erfc, []), ("ndtr", F.ndtr, []),
    ("binary_step", F.binary_step, [0.0]), ("sine", F.sine, []), ("cosine", F.cosine, []),
    ("lecun_tanh", F.lecun_tanh, []), ("absolute", F.absolute, [0.0]),
    ("gaussian", F.gaussian, []), ("multiquadratic", F.multiquadratic, []),
    ("inverse_multiquadratic", F.inverse_multiquadratic, []),
    ("piecewise_linear", F.piecewise_linear, [-0.5, 0.5]),
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck_float64(case):
    _, fn, kinks = case
    x = _away_from(_x((3, 6), np.float64, scale=2.0), kinks)
    if case[0] == "sine":
        x = x / 15.0
    check_gradcheck(fn, [x])


def test_gradcheck_probit_logit_prelu_swish():
    p = _x((3, 4), np.float64, [1e-4, 0.9999], low=0.02, high=0.98)
    check_gradcheck(F.probit, [p])
    check_gradcheck(F.logit, [p])
    check_gradcheck(F.prelu, [_away_from(_x((2, 3, 2), np.float64), [0.0]),
                              np.array([0.2, -0.3, 0.7])])
    check_gradcheck(F.swish, [_x((3, 4), np.float64), np.array(0.8)])


# ----------------------------------------------------------------------------------------------
# stability promises: |x| up to 1e4, float32 and float64, no overflow, no NaN/Inf, finite grads
# ----------------------------------------------------------------------------------------------

BIG = [-1e4, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 1e4]


def _forward_backward(fn, x, dtype):
    """fn on x with every floating-point warning turned into an error; returns (y, dx)."""
    xr = rb.tensor(np.asarray(x, dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = fn(xr)
        g = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
        y.backward(g)
    y = y.detach().numpy()
    assert y.dtype == dtype and xr.grad.dtype == dtype
    assert np.isfinite(y).all(), y
    assert np.isfinite(xr.grad).all(), xr.grad
    return y, xr.grad


def test_sigmoid_stable_for_large_inputs(dtype):
    y, dx = _forward_backward(F.sigmoid, BIG, dtype)
    assert y[0] == 0.0 and y[-1] == 1.0 and y[5] == 0.5
    assert np.all(np.diff(y) >= 0) and np.all((y >= 0) & (y <= 1))
    assert dx[0] == 0.0 and dx[-1] == 0.0


def test_softplus_stable_for_large_inputs(dtype):
    y, dx = _forward_backward(F.softplus, BIG, dtype)
    assert y[0] == 0.0 and y[-1] == 1e4 and np.all(y >= 0)
    np.testing.assert_allclose(y[5], math.log(2.0), rtol=1e-6)
    # with no linear branch (threshold = inf) and a large β it must still not overflow
    y, _ = _forward_backward(lambda x: F.softplus(x, beta=50.0, threshold=math.inf), BIG, dtype)
    np.testing.assert_allclose(y[-1], 1e4, rtol=1e-6)
    y, _ = _forward_backward(F.logsigmoid, BIG, dtype)
    assert y[0] == -1e4 and y[-1] == 0.0


def test_softmax_stable_for_large_inputs(dtype):
    x = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [1e3, 1e3 + 1, 1e3]])
    y, _ = _forward_backward(lambda t: F.softmax(t, -1), x, dtype)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[0], [0, 0, 1], atol=1e-7)
    np.testing.assert_allclose(y[1], [0.5, 0.5, 0], atol=1e-7)
    np.testing.assert_allclose(y[2], [1 / 3] * 3, rtol=1e-6)
    e = np.exp([0.0, 1.0, 0.0])
    np.testing.assert_allclose(y[3], e / e.sum(), rtol=1e-5)
    _forward_backward(lambda t: F.softmax(t, 0), x, dtype)
    _forward_backward(lambda t: F.softmin(t, -1), x, dtype)


def test_log_softmax_stable_for_large_inputs(dtype):
    x = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]])
    y, dx = _forward_backward(lambda t: F.log_softmax(t, -1), x, dtype)
    np.testing.assert_allclose(y[0], [-2e4, -1e4, 0.0], rtol=1e-6)
    np.testing.assert_allclose(y[1], [-math.log(2), -math.log(2), -2e4 - math.log(2)], rtol=1e-6)
    assert np.all(y <= 0)


@pytest.mark.parametrize("name", ["tanh", "silu", "mish", "elu", "selu", "gelu", "erf", "ndtr",
                                  "hardswish", "softsign", "gaussian", "lecun_tanh"])
def test_other_activations_finite_for_large_inputs(name, dtype):
    _forward_backward(getattr(F, name), BIG, dtype)


# ----------------------------------------------------------------------------------------------
# special functions: accuracy beyond what the torch comparison's tolerance shows
# ----------------------------------------------------------------------------------------------


def test_erf_erfc_accuracy_against_math():
    x = np.concatenate([np.linspace(-7, 7, 20001), np.geomspace(1e-300, 1e-3, 200)])
    ref_erf = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(ops.erf_array(x) - ref_erf)) < 2e-15
    small = np.abs(x) < 1e-3
    np.testing.assert_allclose(ops.erf_array(x[small]), ref_erf[small], rtol=1e-15, atol=0)
    z = np.linspace(0, 26, 20001)
    ref_erfc = np.array([math.erfc(v) for v in z])
    rel = np.abs(ops.erfc_array(z) - ref_erfc) / ref_erfc
    assert rel[z < 5].max() < 2e-14 and rel.max() < 5e-13
    assert ops.erfc_array(np.array([40.0, 1e4, np.inf]))[0] == 0.0
    assert np.isnan(ops.erf_array(np.array([np.nan])))[0]


def test_probit_accuracy_and_edges():
    p = np.concatenate([np.linspace(0, 1, 10001)[1:-1], np.geomspace(1e-300, 0.4, 500)])
    y = ops.ndtri_array(p)
    ref = torch.special.ndtri(torch.tensor(p)).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(ops.ndtr_array(y), p, rtol=1e-12)  # round trip Φ(Φ⁻¹(p)) = p
    assert ops.ndtri_array(np.array([0.5]))[0] == 0.0
    edges = ops.ndtri_array(np.array([0.0, 1.0, -0.5, 1.5, np.nan]))
    assert edges[0] == -np.inf and edges[1] == np.inf and np.isnan(edges[2:]).all()
    p32 = p[p > 1e-30].astype(np.float32)
    y32 = ops.ndtri_array(p32)
    assert y32.dtype == np.float32
    ref32 = torch.special.ndtri(torch.tensor(p32.astype(np.float64))).numpy()
    np.testing.assert_allclose(y32, ref32, rtol=1e-6, atol=2e-6)


def test_float32_stays_float32_everywhere():
    x = rb.tensor(_x((2, 6), np.float32), requires_grad=True)
    p = rb.tensor(_x((2, 6), np.float32, low=0.05, high=0.95), requires_grad=True)
    for name in F.activation.__all__:
        if name in ("prelu", "threshold", "maxout"):
            continue
        arg = p if name in ("probit", "ndtri", "logit") else x
        y = getattr(F, name)(arg)
        assert y.dtype == np.float32, name
        y.sum().backward()
        assert arg.grad.dtype == np.float32, name
        arg.grad = None


def test_aliases_are_the_same_functions():
    assert F.logistic is F.sigmoid and F.soft_step is F.sigmoid
    assert F.smooth_rectifier is F.softplus and F.ndtri is F.probit
    assert nn.Logistic is nn.Sigmoid and nn.SoftStep is nn.Sigmoid
    assert nn.SmoothRectifier is nn.Softplus


def test_relu6_is_the_notes_difference_of_two_relus():
    x = rb.tensor(np.linspace(-3, 9, 49))
    np.testing.assert_allclose(F.relu6(x).numpy(), (F.relu(x) - F.relu(x - 6.0)).numpy())


# ----------------------------------------------------------------------------------------------
# layers: each calls its function; configs rebuild; parameters
# ----------------------------------------------------------------------------------------------

LAYER_CASES = [  # (layer, constructor kwargs that differ from the defaults, functional twin)
    (nn.BinaryStep, {}, F.binary_step),
    (nn.Sigmoid, {}, F.sigmoid), (nn.Tanh, {}, F.tanh), (nn.ArcTan, {}, F.arctan),
    (nn.LeCunTanh, {}, F.lecun_tanh),
    (nn.Hardtanh, {"min_val": -2.0, "max_val": 0.5}, lambda x: F.hardtanh(x, -2.0, 0.5)),
    (nn.Hardsigmoid, {}, F.hardsigmoid),
    (nn.PiecewiseLinear, {"x_min": -1.0, "x_max": 2.0},
     lambda x: F.piecewise_linear(x, -1.0, 2.0)),
    (nn.Softsign, {}, F.softsign), (nn.Probit, {}, F.probit),
    (nn.Logit, {"eps": 0.01}, lambda x: F.logit(x, 0.01)),
    (nn.ReLU, {}, F.relu), (nn.ReLU6, {}, F.relu6),
    (nn.LeakyReLU, {"negative_slope": 0.2}, lambda x: F.leaky_relu(x, 0.2)),
    (nn.PReLU, {"num_parameters": 6, "init": 0.1}, None),
    (nn.ELU, {"alpha": 0.5}, lambda x: F.elu(x, 0.5)), (nn.SELU, {}, F.selu),
    (nn.CELU, {"alpha": 0.5}, lambda x: F.celu(x, 0.5)),
    (nn.Softplus, {"beta": 2.0, "threshold": 10.0}, lambda x: F.softplus(x, 2.0, 10.0)),
    (nn.LogSigmoid, {}, F.logsigmoid),
    (nn.GELU, {"approximate": "tanh"}, lambda x: F.gelu(x, "tanh")),
    (nn.SiLU, {}, F.silu),
    (nn.Swish, {"beta": 1.5, "trainable": True}, lambda x: F.swish(x, 1.5)),
    (nn.Mish, {}, F.mish),
    (nn.Threshold, {"threshold": 0.1, "value": 2.0}, lambda x: F.threshold(x, 0.1, 2.0)),
    (nn.Hardswish, {}, F.hardswish), (nn.Tanhshrink, {}, F.tanhshrink),
    (nn.Softshrink, {"lambd": 0.3}, lambda x: F.softshrink(x, 0.3)),
    (nn.Hardshrink, {"lambd": 0.3}, lambda x: F.hardshrink(x, 0.3)),
    (nn.Absolute, {}, F.absolute), (nn.Gaussian, {}, F.gaussian),
    (nn.Multiquadratic, {"c": 2.0}, lambda x: F.multiquadratic(x, 2.0)),
    (nn.InverseMultiquadratic, {"c": 2.0}, lambda x: F.inverse_multiquadratic(x, 2.0)),
    (nn.Cosine, {}, F.cosine), (nn.Sine, {"w0": 2.0}, lambda x: F.sine(x, 2.0)),
    (nn.Softmax, {"dim": 1}, lambda x: F.softmax(x, 1)),
    (nn.LogSoftmax, {"dim": 0}, lambda x: F.log_softmax(x, 0)),
    (nn.Softmin, {"dim": 1}, lambda x: F.softmin(x, 1)),
    (nn.GLU, {"dim": 1}, lambda x: F.glu(x, 1)),
    (nn.Maxout, {"in_features": 6, "out_features": 3, "pieces": 4, "bias": False}, None),
    (nn.SineLayer, {"in_features": 6, "out_features": 2, "is_first": True, "omega_0": 10.0},
     None),
    (nn.ActivationFunction, {"fn": "rosenblatt.functional.exp"}, rb.exp),
]


def test_every_layer_has_a_case():
    covered = {cls for cls, _, _ in LAYER_CASES}
    exported = {getattr(layers, n) for n in layers.__all__}
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, nn.Module)}
    assert classes == covered
    assert "Identity" not in layers.__all__  # it lives in layers.linear; the registry uses it


@pytest.mark.parametrize("case", LAYER_CASES, ids=[c[0].__name__ for c in LAYER_CASES])
def test_layer_config_round_trip_and_forward(case):
    cls, kwargs, twin = case
    layer = cls(**kwargs)
    config = json.loads(json.dumps(layer.get_config()))
    for key, value in kwargs.items():
        assert config[key] == value
    rebuilt = REGISTRY[cls.__name__].from_config(config)
    assert type(rebuilt) is cls and rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    rebuilt.load_state_dict(layer.state_dict())
    low, high = (0.05, 0.95) if cls in (nn.Probit, nn.Logit) else (-4.0, 4.0)
    x = rb.tensor(_x((4, 6), np.float32, low=low, high=high))
    y = layer(x).detach()
    np.testing.assert_array_equal(rebuilt(x).detach().numpy(), y.numpy())
    if twin is not None:
        np.testing.assert_array_equal(twin(x).numpy(), y.numpy())


def test_parameters_of_parametrised_activations():
    assert list(nn.PReLU().state_dict()) == ["weight"]
    assert nn.PReLU(4).weight.shape == (4,) and float(nn.PReLU().weight.data[0]) == 0.25
    swish = nn.Swish(beta=2.0, trainable=True)
    assert list(swish.state_dict()) == ["beta"] and swish.beta.requires_grad
    x = rb.tensor(_x((3, 4), np.float32))
    swish(x).sum().backward()
    assert swish.beta.grad is not None and swish.beta.grad.shape == ()
    assert list(nn.Swish(2.0).parameters()) == []
    assert list(nn.ReLU().parameters()) == [] and nn.ReLU().get_config() == {}
    assert [n for n, _ in nn.Maxout(3, 2, 4).named_parameters()] == ["weight", "bias"]
    assert nn.Maxout(3, 2, 4).weight.shape == (8, 3)


def test_siren_initialisation():
    first, hidden = nn.SineLayer(50, 64, is_first=True), nn.SineLayer(64, 64)
    assert np.abs(first.weight.data).max() <= 1 / 50
    assert np.abs(hidden.weight.data).max() <= math.sqrt(6 / 64) / 30
    assert np.abs(hidden.weight.data).max() > 0.8 * math.sqrt(6 / 64) / 30  # really uniform
    x = rb.tensor(_x((5, 64), np.float32))
    expected = np.sin(30.0 * (x.numpy() @ hidden.weight.data.T + hidden.bias.data))
    np.testing.assert_allclose(hidden(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    w = nn.Linear(10, 20).weight
    nn.siren_init_(w, omega_0=5.0)
    assert np.abs(w.data).max() <= math.sqrt(6 / 10) / 5
    assert w.dtype == np.float32


# ----------------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,cls", [
    ("relu", nn.ReLU), ("ReLU", nn.ReLU), ("RELU", nn.ReLU), ("leaky_relu", nn.LeakyReLU),
    ("LeakyReLU", nn.LeakyReLU), ("leaky-relu", nn.LeakyReLU), ("hard_tanh", nn.Hardtanh),
    ("hardtanh", nn.Hardtanh), ("linear", nn.Identity), ("softplus", nn.Softplus),
    ("smooth rectifier", nn.Softplus), ("soft step", nn.Sigmoid), ("logistic", nn.Sigmoid),
    ("swish", nn.Swish), ("silu", nn.SiLU), ("gelu", nn.GELU), ("elu", nn.ELU),
    ("selu", nn.SELU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), ("softmax", nn.Softmax),
    ("log_softmax", nn.LogSoftmax), ("hard_sigmoid", nn.Hardsigmoid),
    ("hard_swish", nn.Hardswish), ("hard_silu", nn.Hardswish), ("mish", nn.Mish),
    ("relu6", nn.ReLU6), ("log_sigmoid", nn.LogSigmoid), ("prelu", nn.PReLU),
    ("tanh_shrink", nn.Tanhshrink), ("soft_shrink", nn.Softshrink), ("probit", nn.Probit),
    ("logit", nn.Logit), ("lecun_tanh", nn.LeCunTanh), ("binary_step", nn.BinaryStep),
    ("arctan", nn.ArcTan), ("absolute", nn.Absolute), ("gaussian", nn.Gaussian),
    ("multiquadratic", nn.Multiquadratic), ("inverse_multiquadratic", nn.InverseMultiquadratic),
    ("cosine", nn.Cosine), ("sine", nn.Sine), ("piecewise_linear", nn.PiecewiseLinear),
    ("softsign", nn.Softsign), ("celu", nn.CELU), ("glu", nn.GLU), ("softmin", nn.Softmin),
])
def test_get_activation_by_name(name, cls):
    assert type(nn.get_activation(name)) is cls


def test_get_activation_other_forms():
    assert type(nn.get_activation(None)) is nn.Identity
    x = rb.tensor([1.0, -2.0])
    assert nn.get_activation(None)(x) is x
    layer = nn.get_activation("leaky_relu", negative_slope=0.2)
    assert layer.negative_slope == 0.2
    assert nn.get_activation("gelu", approximate="tanh").approximate == "tanh"
    assert nn.get_activation("maxout", in_features=4, out_features=2, pieces=3).pieces == 3
    relu = nn.ReLU()
    assert nn.get_activation(relu) is relu
    assert type(nn.get_activation(nn.ELU, alpha=0.3)) is nn.ELU
    assert type(nn.get_activation(F.relu)) is nn.ReLU
    assert type(nn.get_activation(F.leaky_relu, negative_slope=0.3)) is nn.LeakyReLU
    wrapped = nn.get_activation(rb.exp)
    assert type(wrapped) is nn.ActivationFunction
    np.testing.assert_allclose(wrapped(x).numpy(), np.exp([1.0, -2.0]), rtol=1e-6)
    assert wrapped.get_config() == {"fn": "rosenblatt.functional.exp"}
    with pytest.raises(ValueError, match="lambda"):
        nn.get_activation(lambda t: t * 2.0).get_config()


def test_get_activation_errors():
    with pytest.raises(ValueError, match="unknown activation 'relu7'.*leakyrelu.*relu6.*sigmoid"):
        nn.get_activation("relu7")
    with pytest.raises(TypeError, match="int"):
        nn.get_activation(42)
    with pytest.raises(TypeError, match="keyword"):
        nn.get_activation(nn.ReLU(), inplace=True)


# ----------------------------------------------------------------------------------------------
# errors name the layer or the function
# ----------------------------------------------------------------------------------------------


def test_softmax_dim_errors():
    np.testing.assert_allclose(nn.Softmax()(rb.tensor(2.0)).numpy(), 1.0)
    assert F.log_softmax(rb.tensor(2.0), 0).item() == 0.0
    with pytest.raises(IndexError, match=r"Softmax\(dim=1\).*0-d"):
        nn.Softmax(dim=1)(rb.tensor(2.0))
    with pytest.raises(IndexError, match=r"LogSoftmax\(dim=2\)"):
        nn.LogSoftmax(dim=2)(rb.randn(3, 4))
    with pytest.raises(IndexError, match="softmax: dim 5"):
        F.softmax(rb.randn(3, 4), 5)


def test_maxout_errors():
    with pytest.raises(ValueError, match="maxout.*7 features.*pieces=2"):
        F.maxout(rb.randn(3, 7), 2)
    with pytest.raises(ValueError, match=r"Maxout\(in_features=4.*\(\.\.\., 4\)"):
        nn.Maxout(4, 2)(rb.randn(3, 5))
    with pytest.raises(ValueError, match="pieces"):
        F.maxout(rb.randn(3, 4), 0)


def test_other_shape_and_dtype_errors():
    with pytest.raises(ValueError, match=r"PReLU\(num_parameters=3.*3 channels"):
        nn.PReLU(3)(rb.randn(2, 4, 5))
    with pytest.raises(ValueError, match="prelu: weight has 3 elements"):
        F.prelu(rb.randn(2, 4), nn.PReLU(3).weight)
    with pytest.raises(ValueError, match=r"GLU\(dim=-1\).*even"):
        nn.GLU()(rb.randn(2, 5))
    with pytest.raises(TypeError, match=r"ReLU\(\): expected a floating-point input.*int64"):
        nn.ReLU()(rb.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="sigmoid: expected a floating-point tensor"):
        F.sigmoid(rb.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(rb.randn(3), "fast")
