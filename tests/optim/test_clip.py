"""Gradient clipping against torch.nn.utils: total norms of every order, clipped gradients,
non-finite handling, parameters without gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)

SHAPES = [(7, 5), (5,), (3, 4, 2), (1,)]


def _pair(grads, dtype=np.float32):
    ours = [nn.Parameter(np.zeros(g.shape, dtype)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float32 if dtype == np.float32 else torch.float64,
                          requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = g.astype(dtype)
        q.grad = torch.tensor(g.astype(dtype))
    return ours, theirs


def _grads(seed=0, scale=1.0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s) * scale for s in SHAPES]


def _same_grads(ours, theirs, **tol):
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0, 0.5, -math.inf, 0.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])  # clipping and not
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ours, theirs = _pair(_grads(), dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, rb.Tensor) and total.shape == () and total.dtype == dtype
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(total.item(), ttotal.item(), **tol)
    _same_grads(ours, theirs, **tol)


def test_clip_grad_norm_clips_to_max_norm():
    ours, _ = _pair(_grads(scale=10.0), np.float64)
    before = clip_grad_norm_(ours, 2.0).item()
    after = get_total_norm(ours).item()
    assert before > 2.0 and math.isclose(after, 2.0 * before / (before + 1e-6), rel_tol=1e-12)


def test_skips_missing_gradients_and_accepts_one_tensor():
    grads = _grads()
    ours, theirs = _pair(grads)
    ours.append(nn.Parameter(np.zeros(3, np.float32)))
    theirs.append(torch.zeros(3, requires_grad=True))
    total = clip_grad_norm_(iter(ours), 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(iter(theirs), 1.0)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=2e-6)
    assert ours[-1].grad is None
    p = nn.Parameter(np.array([3.0, 4.0]))
    p.grad = np.array([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-6)
    assert clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
def test_non_finite_gradients(bad, norm_type):
    grads = _grads()
    grads[1][2] = bad
    ours, theirs = _pair(grads)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type,
                                       error_if_nonfinite=True)
    # Without the check both scale by the non-finite norm: the same NaNs and zeros.
    total = clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    np.testing.assert_equal(total.item(), ttotal.item())
    _same_grads(ours, theirs, rtol=0, atol=0)


def test_clip_grads_with_norm_uses_a_given_norm():
    ours, theirs = _pair(_grads())
    clip_grads_with_norm_(ours, 1.0, 10.0)
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, torch.tensor(10.0))
    _same_grads(ours, theirs, rtol=1e-6, atol=0)


@pytest.mark.parametrize("clip_value", [0.1, 0.7, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    grads = _grads(seed=3)
    grads[0][1, 1] = math.nan
    grads[2][0, 0, 0] = math.inf
    ours, theirs = _pair(grads)
    before = [p.grad for p in ours]
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _same_grads(ours, theirs, rtol=0, atol=0)
    assert all(p.grad is g for p, g in zip(ours, before, strict=True))  # in place
    assert np.nanmax(np.abs(ours[0].grad)) <= np.float32(clip_value)


def test_clipping_inside_a_training_step():
    model = nn.Linear(4, 3)
    x = rb.tensor(np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32) * 100)
    (model(x) ** 2).mean().backward()
    total = clip_grad_norm_(model.parameters(), max_norm=1.0)
    assert total.item() > 1.0
    assert get_total_norm(model.parameters()).item() <= 1.0 + 1e-5
