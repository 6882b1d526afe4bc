"""Batch norm in training mode on both paths: numba's compiled loops (``ops/norm_numba.py``) and
NumPy's. Each runs the key cases against PyTorch (forward, every gradient, running statistics,
float32 and float64), by finite differences in float64, and the two paths agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng
from test_norm import _params

import rosenblatt as rb
from rosenblatt.nn import functional as F
from rosenblatt.ops import jit

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")
SHAPES = [(16, 5), (6, 4, 7), (4, 3, 5, 6), (2, 16, 32, 32), (3, 7, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_vs_torch_on_both_paths(numba_path, shape, dtype):
    x, w, b = _params(shape, dtype)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
             [x, w, b], atol=1e-4 if dtype == np.float32 else None)


def test_batch_norm_no_affine_and_some_grads_on_both_paths(numba_path):
    x, w, b = _params((5, 3, 4, 4), np.float64)
    check_op(lambda x: F.batch_norm(x, None, None, training=True),
             lambda x: TF.batch_norm(x, None, None, training=True), [x])
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
             [x, w, b], grad=[False, True, False])


def test_batch_norm_running_stats_on_both_paths(numba_path, dtype):
    x, _, _ = _params((7, 3, 4, 5), dtype)
    ours_m, ours_v = rb.zeros(3, dtype=dtype), rb.ones(3, dtype=dtype)
    theirs_m = torch.zeros(3, dtype=torch.from_numpy(x).dtype)
    theirs_v = torch.ones(3, dtype=theirs_m.dtype)
    for _ in range(3):
        F.batch_norm(rb.tensor(x), ours_m, ours_v, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), theirs_m, theirs_v, training=True, momentum=0.3)
        x = x * 1.5 + 0.5
    assert ours_m.dtype == dtype and ours_v.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours_m.numpy(), theirs_m.numpy(), rtol=rtol)
    np.testing.assert_allclose(ours_v.numpy(), theirs_v.numpy(), rtol=rtol)


@needs_numba
def test_batch_norm_gradcheck_through_the_kernels(numba_always):
    for shape in [(6, 4, 7), (4, 3, 5, 6)]:
        x, w, b = _params(shape, np.float64)
        check_gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                        [x, w, b])


@needs_numba
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_the_two_paths_agree(layout):
    x, w, b = _params((8, 6, 9, 7), np.float64, seed=3)
    x = x * 100 + 1e3  # a large mean: the variance must not cancel
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    dy = rng(4).standard_normal(x.shape)
    results = []
    for use in (True, False):
        previous = jit.use_numba(use)
        try:
            ts = [rb.tensor(a, requires_grad=True) for a in (x, w, b)]
            y = F.batch_norm(ts[0], None, None, ts[1], ts[2], training=True)
            y.backward(rb.tensor(dy))
            results.append([y.data] + [t.grad for t in ts])
        finally:
            jit.use_numba(previous)
    for a, b_ in zip(*results, strict=True):
        np.testing.assert_allclose(a, b_, rtol=1e-9, atol=1e-11)
