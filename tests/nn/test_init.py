"""Initialisers: PyTorch's formulas (bounds and standard deviations), gains and fans equal to
torch's, orthogonality, Keras names, seeded reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rosenblatt as rb
from rosenblatt.nn import Parameter, init


def _empty(*shape, dtype=np.float32):
    return Parameter(np.empty(shape, dtype))


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("leaky_relu", math.sqrt(5)),
    ("selu", None),
])
def test_calculate_gain_equals_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(
        nonlinearity, param)


def test_calculate_gain_errors_like_torch():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)
    assert init.calculate_gain("selu") == 0.75


@pytest.mark.parametrize("shape", [(3, 5), (16, 8, 3, 3), (4, 2, 5), (6, 3, 2, 2, 2)])
def test_fans_equal_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(_empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert ours == theirs
    if len(shape) == 4:  # conv weight (out, in, kh, kw): fan_in = in·kh·kw, fan_out = out·kh·kw
        assert ours == (shape[1] * 9, shape[0] * 9)


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_empty(5))


def _check_uniform(data, bound):
    assert np.abs(data).max() <= bound * (1 + 1e-6)
    assert np.abs(data).max() > 0.98 * bound
    assert abs(data.var() / (bound**2 / 3) - 1) < 0.03
    assert abs(data.mean()) < 0.02 * bound


def _check_normal(data, std):
    assert abs(data.std() / std - 1) < 0.03
    assert abs(data.mean()) < 0.02 * std


@pytest.mark.parametrize("shape", [(256, 512), (64, 32, 3, 3)])
def test_xavier_formulas(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(_empty(*shape))
    gain = 5 / 3
    _check_uniform(init.xavier_uniform_(_empty(*shape), gain).data,
                   gain * math.sqrt(6 / (fan_in + fan_out)))
    _check_normal(init.xavier_normal_(_empty(*shape), gain).data,
                  gain * math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a,nonlinearity", [(0, "relu"), (math.sqrt(5), "leaky_relu"),
                                            (0.1, "leaky_relu"), (0, "tanh")])
def test_kaiming_formulas(mode, a, nonlinearity):
    shape = (128, 64, 3, 3)
    fan_in, fan_out = 64 * 9, 128 * 9
    fan = fan_in if mode == "fan_in" else fan_out
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    _check_uniform(init.kaiming_uniform_(_empty(*shape), a, mode, nonlinearity).data,
                   gain * math.sqrt(3 / fan))
    _check_normal(init.kaiming_normal_(_empty(*shape), a, mode, nonlinearity).data,
                  gain / math.sqrt(fan))


def test_kaiming_bad_mode():
    with pytest.raises(ValueError, match="fan_avg not supported"):
        init.kaiming_uniform_(_empty(3, 4), mode="fan_avg")


def test_kaiming_a_sqrt5_is_linear_default_bound():
    w = init.kaiming_uniform_(_empty(300, 400), a=math.sqrt(5))
    _check_uniform(w.data, 1 / math.sqrt(400))


def test_lecun_formulas():
    _check_uniform(init.lecun_uniform_(_empty(300, 500)).data, math.sqrt(3 / 500))
    _check_normal(init.lecun_normal_(_empty(300, 500)).data, math.sqrt(1 / 500))


def test_constant_uniform_normal_trunc_normal():
    t = _empty(200, 300)
    assert (init.zeros_(t).data == 0).all()
    assert (init.ones_(t).data == 1).all()
    assert (init.constant_(t, 0.25).data == 0.25).all()
    u = init.uniform_(t, -2.0, 3.0).data
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.02
    n = init.normal_(t, 1.0, 0.5).data
    assert abs(n.mean() - 1) < 0.01 and abs(n.std() - 0.5) < 0.01
    tn = init.trunc_normal_(t, 0.0, 1.0, -1.0, 2.0).data
    assert tn.min() >= -1 and tn.max() <= 2
    # the mean of N(0,1) truncated to [−1, 2]: (φ(−1) − φ(2)) / (Φ(2) − Φ(−1))
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    assert abs(tn.mean() - (phi(-1) - phi(2)) / (cdf(2) - cdf(-1))) < 0.01
    assert (init.eye_(_empty(3, 4)).data == np.eye(3, 4)).all()


def test_init_is_in_place_keeps_dtype_and_needs_no_grad_context():
    p = Parameter(np.zeros((4, 5), np.float64))
    data = p.data
    out = init.kaiming_normal_(p)
    assert out is p and p.data is data and p.dtype == np.float64 and p.requires_grad
    assert p.grad is None and p.is_leaf


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (8, 3, 2, 2), (3, 2, 2, 2)])
def test_orthogonal(shape):
    w = init.orthogonal_(_empty(*shape, dtype=np.float64), gain=2.0).data
    rows = shape[0]
    m = w.reshape(rows, -1) / 2.0
    if rows >= m.shape[1]:
        np.testing.assert_allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-12)  # QᵀQ = I
    else:
        np.testing.assert_allclose(m @ m.T, np.eye(rows), atol=1e-12)  # QQᵀ = I
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(_empty(3))


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_,
                                init.trunc_normal_, init.lecun_uniform_])
def test_seeded_reproducibility(fn):
    rb.manual_seed(123)
    a = fn(_empty(7, 9)).data.copy()
    b = fn(_empty(7, 9)).data.copy()
    rb.manual_seed(123)
    c = fn(_empty(7, 9)).data.copy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_get_initializer_keras_names():
    fan_in, fan_out = 400, 600
    shape = (fan_out, fan_in)
    _check_uniform(init.get_initializer("glorot_uniform")(_empty(*shape)).data,
                   math.sqrt(6 / (fan_in + fan_out)))
    _check_uniform(init.get_initializer("he_uniform")(_empty(*shape)).data,
                   math.sqrt(6 / fan_in))
    _check_uniform(init.get_initializer("lecun_uniform")(_empty(*shape)).data,
                   math.sqrt(3 / fan_in))
    _check_uniform(init.get_initializer("random_uniform")(_empty(*shape)).data, 0.05)
    _check_normal(init.get_initializer("random_normal")(_empty(*shape)).data, 0.05)
    # Keras' normal variants are truncated at 2σ' but keep the variance of the plain formula
    for name, std in [("glorot_normal", math.sqrt(2 / (fan_in + fan_out))),
                      ("he_normal", math.sqrt(2 / fan_in)),
                      ("lecun_normal", math.sqrt(1 / fan_in))]:
        w = init.get_initializer(name)(_empty(*shape)).data
        _check_normal(w, std)
        assert np.abs(w).max() <= 2 * std / 0.87962566103423978 * (1 + 1e-6)
    assert (init.get_initializer("zeros")(_empty(2, 2)).data == 0).all()
    assert (init.get_initializer("ones")(_empty(2, 2)).data == 1).all()
    assert (init.get_initializer("constant", val=3.0)(_empty(2, 2)).data == 3).all()
    w = init.get_initializer("orthogonal")(_empty(5, 5, dtype=np.float64)).data
    np.testing.assert_allclose(w.T @ w, np.eye(5), atol=1e-12)


def test_get_initializer_torch_names_callables_and_unknown():
    assert init.get_initializer("xavier_uniform_") is init.xavier_uniform_
    assert init.get_initializer("kaiming_normal") is init.kaiming_normal_
    assert init.get_initializer("lecun_normal_") is init.lecun_normal_
    assert init.get_initializer(init.zeros_) is init.zeros_
    assert init.get_initializer(None) is None
    with pytest.raises(ValueError, match="glorot_uniform"):
        init.get_initializer("glorot")
