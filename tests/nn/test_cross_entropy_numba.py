"""Cross-entropy with plain class indices on both paths: numba's compiled rows
(``ops/loss_numba.py``) and NumPy's. Each path against PyTorch (forward and input gradient,
every reduction, several layouts, float32 and float64), finite differences through the kernels,
the two paths against each other, proof that each path really ran (the kernels are counted), NaN
propagation and the fallbacks (indices out of range, other options, non-contiguous logits)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, count_kernel_calls, rng

import rosenblatt as rb
from rosenblatt.nn import functional as F
from rosenblatt.ops import jit

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")
SHAPES = [(128, 10), (6, 4), (3, 4, 5), (2, 3, 4, 2), (5,), (1, 1), (4, 1000)]


@pytest.fixture
def calls(monkeypatch):
    """How often each kernel ran (wrapped in place; empty when numba is missing)."""
    return count_kernel_calls(monkeypatch, "loss_numba",
                              ("cross_entropy_forward", "cross_entropy_backward"))


def _data(shape, dtype, seed=0, scale=3.0):
    g = rng(seed)
    classes = shape[1] if len(shape) > 1 else shape[0]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    x = (scale * g.standard_normal(shape)).astype(dtype)
    y = g.integers(0, classes, target_shape).astype(np.int64)
    return x, np.asarray(y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch_on_both_paths(numba_path, reduction, shape, dtype, calls):
    x, y = _data(shape, dtype)
    check_op(lambda a, b: F.cross_entropy(a, b, reduction=reduction),
             lambda a, b: TF.cross_entropy(a, b, reduction=reduction), [x, y])
    expected = 1 if numba_path else 0
    assert calls == {"cross_entropy_forward": expected, "cross_entropy_backward": expected}


@needs_numba
def test_gradcheck_through_the_kernels(calls):
    previous = jit.use_numba(True)
    try:
        for shape in [(5, 4), (3, 4, 2)]:
            x, y = _data(shape, np.float64, seed=1, scale=1.0)
            check_gradcheck(lambda a, y=y: F.cross_entropy(a, y), [x])
            check_gradcheck(lambda a, y=y: F.cross_entropy(a, y, reduction="none"), [x])
    finally:
        jit.use_numba(previous)
    assert calls["cross_entropy_forward"] > 0 and calls["cross_entropy_backward"] > 0


def _loss_and_grad(use, x, y, reduction="mean"):
    previous = jit.use_numba(use)
    try:
        t = rb.tensor(x, requires_grad=True)
        loss = F.cross_entropy(t, y, reduction=reduction)
        loss.backward(rb.tensor(np.ones(loss.shape, x.dtype)))
        return loss.data, t.grad
    finally:
        jit.use_numba(previous)


@needs_numba
@pytest.mark.parametrize("shape", SHAPES)
def test_the_two_paths_agree(shape, dtype):
    """Within a few units in the last place (exp and log are the C library's in the kernels,
    NumPy's own elsewhere; the kernels sum each row in float64)."""
    x, y = _data(shape, dtype, seed=2)
    (fast, fast_dx), (slow, slow_dx) = _loss_and_grad(True, x, y), _loss_and_grad(False, x, y)
    assert fast.dtype == slow.dtype == dtype and fast_dx.dtype == dtype
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(fast, slow, **tol)
    np.testing.assert_allclose(fast_dx, slow_dx, **tol)


@needs_numba
def test_huge_logits_stay_finite_and_nan_propagates(calls):
    x = np.array([[1e4, -1e4, 0.0], [3.0, 1.0, 2.0], [np.nan, 0.0, 1.0], [0.0, np.nan, 1.0]],
                 np.float32)
    y = np.array([0, 2, 1, 2])
    previous = jit.use_numba(True)
    try:
        per_row = F.cross_entropy(rb.tensor(x), y, reduction="none").data
    finally:
        jit.use_numba(previous)
    theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(per_row[:2], theirs[:2], rtol=1e-6)
    assert np.isnan(per_row[2:]).all() and np.isnan(theirs[2:]).all()
    assert calls["cross_entropy_forward"] == 1


@needs_numba
def test_out_of_range_index_is_still_reported(calls):
    x, _ = _data((4, 3), np.float32)
    previous = jit.use_numba(True)
    try:
        with pytest.raises(ValueError, match="class"):
            F.cross_entropy(rb.tensor(x), np.array([0, 1, 3, 2]))
        with pytest.raises(IndexError):  # the op itself, past the functional's check
            from rosenblatt.ops.loss import CrossEntropy
            CrossEntropy.apply(rb.tensor(x), rb.tensor(np.array([0, 1, 7, 2])))
    finally:
        jit.use_numba(previous)


@needs_numba
@pytest.mark.parametrize("case", ["weight", "smoothing", "ignored", "probabilities",
                                  "strided logits", "float16"])
def test_other_cases_take_the_numpy_path(case, calls):
    x, y = _data((6, 4), np.float16 if case == "float16" else np.float32, seed=3)
    kw = {}
    if case == "weight":
        kw["weight"] = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    elif case == "smoothing":
        kw["label_smoothing"] = 0.1
    elif case == "ignored":
        y[1] = -100
    elif case == "probabilities":
        y = np.full((6, 4), 0.25, np.float32)
    elif case == "strided logits":
        x = np.asfortranarray(x)
    previous = jit.use_numba(True)
    try:
        t = rb.tensor(x, requires_grad=True)
        F.cross_entropy(t, y, **kw).backward()
    finally:
        jit.use_numba(previous)
    assert calls == {"cross_entropy_forward": 0, "cross_entropy_backward": 0}
    tx = torch.tensor(x.astype(np.float32), requires_grad=True)
    TF.cross_entropy(tx, torch.tensor(y), **kw if case != "weight" else
                     {"weight": torch.tensor(kw["weight"])}).backward()
    tol = dict(rtol=1e-2, atol=1e-3) if case == "float16" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.grad.astype(np.float32), tx.grad.numpy(), **tol)
