"""Adam and AdamW on both paths: numba's one-pass kernel (``ops/optim_numba.py``) and NumPy's
ufunc passes. Each path against ``torch.optim.Adam``/``AdamW`` over 50 steps (amsgrad, coupled
and decoupled weight decay, maximize, both forms of the lerp; float32 and float64), the two paths
bit for bit against each other, proof that each path really ran (the kernel is counted), and the
fallback to NumPy for arrays the kernel does not take."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import count_kernel_calls
from test_optimizers import _run_against_torch

from rosenblatt import nn, optim
from rosenblatt.ops import jit

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")

CASES = [
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-2, maximize=True)),
    ("Adam", dict(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True)),
    ("Adam", dict(lr=1e-2, betas=(0.3, 0.9))),  # 1 − β₁ ≥ 0.5: torch.lerp's second form
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, maximize=True)),
]
# β₂ = 0 (v = g², a step of lr·m/|g|) amplifies the last-bit differences between the two
# frameworks' gradients beyond the tolerances, on either path: compared path against path only.
ONLY_PATHS = [("Adam", dict(lr=1e-2, betas=(0.9, 0.0)))]


def _id(case):
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@pytest.fixture
def calls(monkeypatch):
    """How often the Adam kernel ran (wrapped in place; 0 when numba is missing)."""
    return count_kernel_calls(monkeypatch, "optim_numba", ("adam",))


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_torch_on_both_paths(numba_path, case, dtype, calls):
    name, kwargs = case
    _run_against_torch(name, kwargs, dtype)
    assert calls["adam"] == (6 * 50 if numba_path else 0)  # 6 parameters × 50 steps


def _bits(a):
    return a.view(np.uint64 if a.dtype == np.float64 else np.uint32)


def _trajectory(use, name, kwargs, dtype, steps=12, nan=False):
    """Parameters and state after ``steps`` steps on fixed random gradients (some ±0 and
    extreme values mixed in; with ``nan``, a NaN and infinities at step 5), with numba on (True)
    or off (False)."""
    r = np.random.default_rng(0)
    shapes = [(37, 23), (23,), (5, 4, 3), (1,), ()]
    params = [nn.Parameter(r.standard_normal(s).astype(dtype)) for s in shapes]
    previous = jit.use_numba(use)
    try:
        opt = getattr(optim, name)(params, **kwargs)
        for step in range(steps):
            for p in params:
                g = r.standard_normal(p.shape).astype(dtype)
                if step == 3 and g.size > 4:
                    g.reshape(-1)[:4] = [0.0, -0.0, 1e15, -1e-30]
                if nan and step == 5 and g.size > 4:
                    g.reshape(-1)[-3:] = [np.nan, np.inf, -np.inf]
                p.grad = g
            opt.step()
    finally:
        jit.use_numba(previous)
    out = [p.data.copy() for p in params]
    for p in params:
        out += [v for k, v in sorted(opt.state[p].items()) if k != "step"]
    return out


@needs_numba
@pytest.mark.parametrize("case", CASES + ONLY_PATHS, ids=_id)
def test_the_two_paths_agree_bit_for_bit(case, dtype):
    name, kwargs = case
    fast = _trajectory(True, name, kwargs, dtype)
    slow = _trajectory(False, name, kwargs, dtype)
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_array_equal(_bits(a), _bits(b))


@needs_numba
@pytest.mark.parametrize("case", ["transposed grad", "float16", "grad of another dtype"])
def test_arrays_the_kernel_does_not_take_go_the_numpy_way(case, calls):
    r = np.random.default_rng(2)
    x = r.standard_normal((6, 4))
    g = r.standard_normal((6, 4))
    dtype = np.float16 if case == "float16" else np.float32
    p = nn.Parameter(x.astype(dtype))
    grad = g.astype(np.float64 if case == "grad of another dtype" else dtype)
    p.grad = np.ascontiguousarray(grad.T).T if case == "transposed grad" else grad
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    assert calls["adam"] == 0
    # the first Adam step moves every weight by lr·sign(g) (up to eps)
    tol = dict(rtol=1e-2, atol=1e-2) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.data, x - 0.1 * np.sign(g), **tol)


@needs_numba
@pytest.mark.parametrize("amsgrad", [False, True])
def test_nan_and_inf_gradients_on_both_paths(amsgrad):
    """NaN/inf spread the same way (amsgrad's running maximum keeps a NaN, as np.maximum)."""
    kwargs = dict(lr=1e-2, amsgrad=amsgrad)
    with np.errstate(invalid="ignore", over="ignore"):  # NumPy's path warns, numba's does not
        fast = _trajectory(True, "Adam", kwargs, np.float32, nan=True)
        slow = _trajectory(False, "Adam", kwargs, np.float32, nan=True)
    assert np.isnan(fast[0]).any()
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)  # NaN where the other has NaN
