"""SGD on both paths: numba's one-pass kernels (``ops/optim_numba.py``) and NumPy's four ufunc
passes. Each path against ``torch.optim.SGD`` over 50 steps (every option: momentum, dampening,
Nesterov, weight decay, maximize; float32 and float64), the two paths bit for bit against each
other, proof that each path really ran (the kernels are counted), and the fallbacks to NumPy for
arrays the kernels do not take."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import count_kernel_calls
from test_optimizers import _run_against_torch

import rosenblatt as rb
from rosenblatt import nn, optim
from rosenblatt.ops import jit

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")

OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.8, weight_decay=1e-2),
    dict(lr=0.1, weight_decay=1e-2),
    dict(lr=0.02, maximize=True),
    dict(lr=0.02, weight_decay=1e-2, maximize=True),
    dict(lr=0.02, momentum=0.9, maximize=True),
    dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-2, maximize=True),
    dict(lr=0.05, momentum=0.7, dampening=0.5, weight_decay=1e-3),
]
EMA = dict(lr=0.1, momentum=0.8, momentum_form="ema")


def _id(kwargs):
    return ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.fixture
def calls(monkeypatch):
    """How often each kernel ran (wrapped in place; empty when numba is missing)."""
    return count_kernel_calls(monkeypatch, "optim_numba", ("sgd_momentum", "sgd_plain"))


@pytest.mark.parametrize("kwargs", OPTIONS, ids=_id)
def test_matches_torch_on_both_paths(numba_path, kwargs, dtype, calls):
    _run_against_torch("SGD", kwargs, dtype)
    ran = calls["sgd_momentum"] + calls["sgd_plain"]
    if numba_path:  # 6 parameters × 50 steps, every one through the kernels
        assert ran == 6 * 50
        assert calls["sgd_momentum" if kwargs.get("momentum") else "sgd_plain"] == ran
    else:
        assert ran == 0


def _random_params(dtype, seed=0):
    r = np.random.default_rng(seed)
    shapes = [(37, 23), (23,), (5, 4, 3), (1,), ()]
    return [nn.Parameter(r.standard_normal(s).astype(dtype)) for s in shapes]


def _trajectory(use, kwargs, dtype, steps=12, make=optim.SGD):
    """Parameters and momentum buffers after ``steps`` steps on fixed random gradients (some
    with NaN/inf/±0 mixed in), with numba on (True) or off (False)."""
    params = _random_params(dtype)
    r = np.random.default_rng(1)
    previous = jit.use_numba(use)
    try:
        opt = make(params, **kwargs)
        for step in range(steps):
            for p in params:
                g = r.standard_normal(p.shape).astype(dtype)
                if step == 3 and g.size > 4:
                    g.reshape(-1)[:4] = [0.0, -0.0, 1e30, -1e-30]
                p.grad = g
            opt.step()
    finally:
        jit.use_numba(previous)
    bufs = [opt.state[p].get("momentum_buffer") for p in params]
    return [p.data.copy() for p in params], bufs


def _bits(a):
    return a.view(np.uint64 if a.dtype == np.float64 else np.uint32)


@needs_numba
@pytest.mark.parametrize("kwargs", [*OPTIONS, EMA], ids=_id)
def test_the_two_paths_agree_bit_for_bit(kwargs, dtype):
    fast, fast_bufs = _trajectory(True, kwargs, dtype)
    slow, slow_bufs = _trajectory(False, kwargs, dtype)
    for a, b in zip(fast + fast_bufs, slow + slow_bufs, strict=True):
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_array_equal(_bits(a), _bits(b))


@needs_numba
def test_switching_paths_mid_run_is_seamless():
    """A buffer made by one path is continued by the other: same result as either alone."""
    kwargs = dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    ref, _ = _trajectory(True, kwargs, np.float32, steps=6)
    params = _random_params(np.float32)
    r = np.random.default_rng(1)
    opt = optim.SGD(params, **kwargs)
    for step in range(6):
        for p in params:
            g = r.standard_normal(p.shape).astype(np.float32)
            if step == 3 and g.size > 4:
                g.reshape(-1)[:4] = [0.0, -0.0, 1e30, -1e-30]
            p.grad = g
        previous = jit.use_numba(step % 2 == 0)
        try:
            opt.step()
        finally:
            jit.use_numba(previous)
    for a, b in zip(ref, params, strict=True):
        np.testing.assert_array_equal(_bits(a), _bits(b.data))


@needs_numba
def test_ema_form_on_the_kernels_against_the_formula(calls):
    p = nn.Parameter(np.array([1.0, -2.0, 0.5]))
    opt = optim.SGD([p], lr=0.1, momentum=0.8, momentum_form="ema")
    theta, v = p.data.copy(), np.zeros(3)
    for g in ([1.0, 2.0, -1.0], [0.5, -0.5, 3.0], [0.0, 1.0, 1.0]):
        p.grad = np.array(g)
        opt.step()
        v = 0.8 * v + (1 - 0.8) * np.array(g)
        theta = theta - 0.1 * v
        np.testing.assert_allclose(p.data, theta, rtol=1e-15)
    assert calls["sgd_momentum"] == 3


@needs_numba
@pytest.mark.parametrize("case", ["transposed grad", "float16", "grad of another dtype",
                                  "strided parameter"])
def test_arrays_the_kernels_do_not_take_go_the_numpy_way(case, calls):
    r = np.random.default_rng(2)
    x = r.standard_normal((6, 4))
    g = r.standard_normal((6, 4))
    dtype = np.float16 if case == "float16" else np.float32
    p = nn.Parameter(x.astype(dtype))
    if case == "strided parameter":  # a view into a bigger array, as a Parameter's data
        p.data = np.zeros((6, 8), np.float32)[:, ::2]
        p.data[...] = x
    grad = g.astype(np.float64 if case == "grad of another dtype" else dtype)
    p.grad = np.ascontiguousarray(grad.T).T if case == "transposed grad" else grad
    expected = p.data.astype(np.float64)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.step()
    assert calls["sgd_momentum"] == 0
    buf = np.zeros_like(expected)
    for step in range(3):
        buf = g if step == 0 else 0.9 * buf + g
        expected = expected - 0.1 * buf
    tol = dict(rtol=1e-2, atol=1e-2) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.data, expected, **tol)


def test_numpy_path_when_numba_is_off(calls):
    previous = jit.use_numba(False)
    try:
        params = _random_params(np.float32)
        for p in params:
            p.grad = np.ones_like(p.data)
        opt = optim.SGD(params, lr=0.1, momentum=0.9)
        opt.step()
        opt.step()
    finally:
        jit.use_numba(previous)
    assert calls == {"sgd_momentum": 0, "sgd_plain": 0}
    np.testing.assert_allclose(params[1].data, _random_params(np.float32)[1].data - 0.1 - 0.19,
                               rtol=1e-6)


@needs_numba
def test_kernel_step_through_fit_matches_the_numpy_path():
    """The path ``fit`` takes: the same training run with numba on and off ends bit-identical
    (a mean-squared-error loss, whose ops have no numba path: only the step differs)."""
    r = np.random.default_rng(3)
    x = r.standard_normal((96, 12)).astype(np.float32)
    y = r.standard_normal((96, 3)).astype(np.float32)
    finals = []
    for use in (True, False):
        rb.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
        model.compile(optimizer=optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                      loss="mse")
        previous = jit.use_numba(use)
        try:
            model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        finally:
            jit.use_numba(previous)
        finals.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*finals, strict=True):
        np.testing.assert_array_equal(_bits(a), _bits(b))
