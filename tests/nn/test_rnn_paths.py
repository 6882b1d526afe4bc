"""The two paths of the recurrent ops: numba's compiled step kernels (``ops/rnn_numba.py``) and
plain array calls (``ops/rnn.py``, also CuPy's). Key layer cases of test_recurrent.py run on both
against PyTorch (outputs, final states, every gradient; float32 and float64); the two paths agree
with each other; finite differences in float64 through the kernels; the float32 activations of
the kernels against NumPy's; the switches work (the function, the environment variable, and
``use_numba(True)`` without numba)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import test_recurrent
from helpers import rng
from test_recurrent import KINDS, LENGTHS, _compare_layer

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.ops import rnn as rnn_ops
from rosenblatt.ops import rnn_numba

HAS_NUMBA = rnn_numba.available()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
PATHS = [pytest.param(True, id="numba", marks=needs_numba), pytest.param(False, id="numpy")]


@pytest.fixture
def path(request):
    """Force one path for the test, then restore the previous setting."""
    previous = rnn_numba.use_numba(request.param)
    yield request.param
    rnn_numba.use_numba(previous)


@pytest.fixture
def kern():
    """The compiled kernels, switched on for the test (whatever ``ROSENBLATT_NUMBA`` says)."""
    previous = rnn_numba.use_numba(True)
    yield rnn_numba.kernels()
    rnn_numba.use_numba(previous)


def _np(t):
    return t.detach().numpy()


# ------------------------------------------------------------------ each path against torch


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers,bidirectional,lengths", [
    (1, False, None), (2, True, None), (2, True, LENGTHS), (1, False, LENGTHS)],
    ids=["1-uni-full", "2-bi-full", "2-bi-lengths", "1-uni-lengths"])
def test_layer_matches_torch_on_both_paths(path, kind, num_layers, bidirectional, lengths,
                                           dtype):
    _compare_layer(kind, dtype, num_layers, bidirectional, lengths=lengths)


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("kind", KINDS)
def test_long_sequence_without_bias_on_both_paths(path, kind):
    """50 steps in float32 (errors must not pile up), and no biases (the kernels get zeros)."""
    _compare_layer(kind, np.float32, 2, True, True, np.array([50, 17, 33, 1]), T=50,
                   tol=(5e-5, 1e-4))
    _compare_layer(kind, np.float64, 1, bias=False, with_hx=False)


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_float64_on_both_paths(path, kind):
    """Finite differences through both directions with variable lengths (test_recurrent's)."""
    test_recurrent.test_gradcheck_float64(kind)


# ------------------------------------------------------------------ the paths agree


def _run(kind, x, lengths, dtype, use):
    """Output, final states and every gradient of one seeded layer on one path."""
    previous = rnn_numba.use_numba(use)
    try:
        rb.manual_seed(0)
        name = "RNN" if kind.startswith("RNN") else kind
        kw = {"nonlinearity": kind[4:].lower()} if name == "RNN" else {}
        layer = getattr(nn, name)(x.shape[2], 16, num_layers=2, bidirectional=True, **kw)
        if dtype == np.float64:
            layer.double()
        xr = rb.tensor(x.astype(dtype), requires_grad=True)
        out, state = layer(xr, lengths=lengths)
        states = list(state) if kind == "LSTM" else [state]
        g = rng(7)
        loss = (out * rb.tensor(g.standard_normal(out.shape).astype(dtype))).sum()
        for s in states:
            loss = loss + (s * rb.tensor(g.standard_normal(s.shape).astype(dtype))).sum()
        loss.backward()
        return ([_np(out), *(_np(s) for s in states), np.array(xr.grad)]
                + [np.array(p.grad) for p in layer.parameters()])
    finally:
        rnn_numba.use_numba(previous)


@needs_numba
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lengths", [None, [9, 3, 0, 12, 5]], ids=["full", "lengths"])
def test_paths_agree(kind, lengths, dtype):
    """Same layer, same data: the kernels and the array calls give the same outputs, states and
    gradients (float64 to rounding; float32 within the rational tanh's few ulp)."""
    x = rng(8).standard_normal((12, 5, 7))
    a = _run(kind, x, lengths, dtype, True)
    b = _run(kind, x, lengths, dtype, False)
    atol, rtol = (1e-12, 1e-10) if dtype == np.float64 else (2e-5, 1e-4)
    for k, (u, v) in enumerate(zip(a, b, strict=True)):
        assert u.dtype == v.dtype == dtype
        np.testing.assert_allclose(u, v, atol=atol, rtol=rtol, err_msg=f"array {k}")


# ------------------------------------------------------------------ the kernels themselves


@needs_numba
def test_float32_activations_against_numpy(kern):
    """tanh and σ of the float32 kernels on a dense grid (and far out): within 5e-7 of the exact
    values, saturating to exactly ±1 / 0, 1 without NaN; float64 is libm's."""
    grid = np.concatenate([np.linspace(-12, 12, 200_001), [-1e30, -88.0, 0.0, 88.0, 1e30]])
    for dt, atol in [(np.float32, 5e-7), (np.float64, 1e-15)]:
        a = grid.astype(dt)[None, :]
        zero = np.zeros_like(a)
        y = np.empty_like(a)
        kern.rnn_forward_step(np.zeros(a.shape[1], dt), False, a, zero, y)
        exact = np.tanh(a.astype(np.float64))
        np.testing.assert_allclose(y, exact, atol=atol, rtol=0)
        assert np.all(np.abs(y) <= 1) and y[0, -1] == 1 and y[0, -5] == -1
        # σ through the LSTM's input gate: a (1, 4, n) with only gate i non-zero
        n = a.shape[1]
        a4 = np.zeros((n, 4, 1), dt)
        a4[:, 0, 0] = a[0]
        s = np.empty((4, n, 1), dt)
        c, tc, h = (np.empty((n, 1), dt) for _ in range(3))
        kern.lstm_forward_step(np.zeros((4, 1), dt), a4, np.zeros_like(a4),
                                    np.zeros((n, 1), dt), s, c, tc, h)
        with np.errstate(over="ignore"):
            sig = 1 / (1 + np.exp(-a[0].astype(np.float64)))
        np.testing.assert_allclose(s[0, :, 0], sig, atol=atol, rtol=0)
        assert np.isfinite(s).all() and s[0, -1, 0] == 1 and s[0, -5, 0] == 0


@needs_numba
def test_relu_rnn_kernel_matches_maximum(kern):
    a = rng(9).standard_normal((3, 8)).astype(np.float32)
    b = rng(10).standard_normal(8).astype(np.float32)
    y = np.empty_like(a)
    kern.rnn_forward_step(b, True, a, np.zeros_like(a), y)
    np.testing.assert_array_equal(y, np.maximum(a + b, 0))


# ------------------------------------------------------------------ the switches


def test_use_numba_switch_and_kernels_choice(monkeypatch):
    previous = rnn_numba.use_numba(False)
    try:
        assert not rnn_numba.enabled() and rnn_ops._kernels(np) is None
        if HAS_NUMBA:
            assert rnn_numba.use_numba(True) is False
            assert rnn_numba.enabled() and rnn_ops._kernels(np) is rnn_numba.kernels()
            assert all(hasattr(rnn_ops._kernels(np), k) for k in rnn_numba.KERNELS)
        assert rnn_ops._kernels(object()) is None, "only NumPy arrays go to the kernels"
        monkeypatch.setattr(rnn_numba, "_compiled", False)  # as if numba were missing
        assert not rnn_numba.available() and not rnn_numba.enabled()
        assert rnn_numba.kernels() is None
        with pytest.raises(RuntimeError, match="numba is not installed"):
            rnn_numba.use_numba(True)
    finally:
        monkeypatch.undo()
        rnn_numba.use_numba(previous)


def test_kernels_are_built_on_first_use_only():
    """``import rosenblatt`` neither imports numba for the recurrent ops nor compiles their
    kernels (that costs ~0.2 s); the first recurrent op on NumPy arrays does."""
    code = ("import rosenblatt as rb; from rosenblatt.ops import rnn_numba as k; "
            "print(k._compiled is None); rb.nn.GRU(2, 3)(rb.zeros(4, 1, 2)); "
            "print(k._compiled is None)")
    env = {k: v for k, v in os.environ.items() if k != "ROSENBLATT_NUMBA"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "False"]


@needs_numba
def test_environment_variable_turns_the_kernels_off():
    code = ("from rosenblatt.ops import rnn_numba, rnn; import numpy as np; "
            "print(rnn_numba.available(), rnn_numba.enabled(), rnn._kernels(np) is None)")
    env = dict(os.environ, ROSENBLATT_NUMBA="off")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "False", "True"]


def test_the_package_wide_switch_turns_the_recurrent_kernels_off_too():
    from rosenblatt.ops import jit

    previous = jit.use_numba(False)
    try:
        assert rnn_numba.kernels() is None and not rnn_numba.enabled()
    finally:
        jit.use_numba(previous)
    assert (rnn_numba.kernels() is not None) == rnn_numba.enabled()
