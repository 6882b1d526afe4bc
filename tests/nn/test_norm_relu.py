"""Batch norm with a fused ReLU (``bn(x, relu=True)``, ``F.batch_norm(..., relu=True)``) on both
paths, numba's and NumPy's: against PyTorch's ``relu(batch_norm(x))`` (forward and every
gradient, training and eval), by finite differences, and the memory contract: the output is
recomputed bit for bit, and a convolution reading it keeps the batch-norm node, not the array."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng
from test_norm import _params
from test_norm_numba import needs_numba

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F
from rosenblatt.ops import jit
from rosenblatt.ops.norm import BatchNorm

SHAPES = [(16, 5), (6, 4, 7), (4, 3, 5, 6), (2, 16, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_relu_training_vs_torch(numba_path, shape, dtype):
    x, w, b = _params(shape, dtype)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, relu=True),
             lambda x, w, b: TF.relu(TF.batch_norm(x, None, None, w, b, training=True)),
             [x, w, b], atol=1e-4 if dtype == np.float32 else None)


def test_fused_relu_without_affine_and_with_negative_gamma(numba_path):
    x, w, b = _params((5, 3, 4, 4), np.float64)
    w[1] = -w[1]
    w[2] = 0.0  # γ = 0: the output is relu(β), and x̂ still gives x its gradient
    check_op(lambda x: F.batch_norm(x, None, None, training=True, relu=True),
             lambda x: TF.relu(TF.batch_norm(x, None, None, training=True)), [x])
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, relu=True),
             lambda x, w, b: TF.relu(TF.batch_norm(x, None, None, w, b, training=True)),
             [x, w, b])


def test_fused_relu_eval_vs_torch(numba_path, dtype):
    x, w, b = _params((6, 4, 5, 5), dtype)
    g = rng(1)
    mean, var = g.standard_normal(4).astype(dtype), g.uniform(0.5, 2, 4).astype(dtype)
    check_op(lambda x, w, b: F.batch_norm(x, rb.tensor(mean), rb.tensor(var), w, b,
                                          training=False, relu=True),
             lambda x, w, b: TF.relu(TF.batch_norm(x, torch.tensor(mean), torch.tensor(var),
                                                   w, b, training=False)),
             [x, w, b], atol=1e-5 if dtype == np.float32 else None)


def test_fused_relu_finite_differences(numba_path):
    x, w, b = _params((4, 3, 3, 5), np.float64)
    check_gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True,
                                                 relu=True), [x, w, b])


def test_layer_call_with_relu_equals_relu_of_layer(numba_path):
    x, _, _ = _params((8, 6, 9, 9), np.float32)
    layer = nn.BatchNorm2d(6)
    layer.weight.data[:] = rng(2).uniform(-1, 2, 6)
    layer.bias.data[:] = rng(3).standard_normal(6)
    fused = layer(rb.tensor(x), relu=True)
    plain = F.relu(layer(rb.tensor(x)))
    np.testing.assert_allclose(fused.data, plain.data, rtol=1e-6, atol=1e-6)
    assert (fused.data >= 0).all()
    assert int(layer.num_batches_tracked.item()) == 2  # the running statistics moved twice


@pytest.mark.parametrize("dtype_", [np.float32, np.float64])
def test_recomputed_output_is_bit_identical(numba_path, dtype_):
    x, w, b = _params((16, 8, 12, 12), dtype_)
    y = F.batch_norm(rb.tensor(x, requires_grad=True), None, None, rb.tensor(w), rb.tensor(b),
                     training=True, relu=True)
    node = y._node
    assert isinstance(node, BatchNorm) and node.recomputable
    again = node.recompute_output()
    assert again.shape == y.shape and again.dtype == y.dtype
    assert np.array_equal(again, y.data)


def test_plain_batch_norm_is_not_recomputable():
    x, w, b = _params((4, 3, 5, 5), np.float32)
    y = F.batch_norm(rb.tensor(x, requires_grad=True), None, None, rb.tensor(w), rb.tensor(b),
                     training=True)
    assert not y._node.recomputable


@needs_numba
def test_conv_after_fused_relu_keeps_the_node_and_gets_the_same_gradients(numba_always):
    g = rng(4)
    x = g.standard_normal((4, 6, 10, 10)).astype(np.float32)
    bn, conv = nn.BatchNorm2d(6), nn.Conv2d(6, 5, 3, padding=1)
    bn.weight.data[:] = g.uniform(0.5, 1.5, 6)
    bn.bias.data[:] = g.standard_normal(6)
    grads = []
    for fused in (True, False):
        for p in (*bn.parameters(), *conv.parameters()):
            p.grad = None
        xt = rb.tensor(x, requires_grad=True)
        h = bn(xt, relu=True) if fused else F.relu(bn(xt))
        y = conv(h)
        kept = y._node.saved_tensors[0]
        if fused:
            assert kept is h._node  # not the array: it is freed after forward
        else:
            assert kept is h.data
        (y * rb.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(np.float32))
         ).sum().backward()
        grads.append([xt.grad, bn.weight.grad, bn.bias.grad, conv.weight.grad])
    for ours, plain in zip(*grads, strict=True):
        np.testing.assert_allclose(ours, plain, rtol=1e-4, atol=1e-5)


@needs_numba
def test_conv_after_fused_relu_vs_torch(numba_always):
    x, w, b = _params((4, 6, 10, 10), np.float64)
    k = rng(5).standard_normal((5, 6, 3, 3))
    check_op(lambda x, w, b, k: F.conv2d(F.batch_norm(x, None, None, w, b, training=True,
                                                      relu=True), k, padding=1),
             lambda x, w, b, k: TF.conv2d(TF.relu(TF.batch_norm(x, None, None, w, b,
                                                                training=True)), k,
                                          padding=1),
             [x, w, b, k])


def test_backward_after_the_node_was_freed_says_so(numba_path):
    x, w, b = _params((4, 3, 10, 10), np.float32)
    y = F.batch_norm(rb.tensor(x, requires_grad=True), None, None, rb.tensor(w), rb.tensor(b),
                     training=True, relu=True)
    z = F.conv2d(y, rb.tensor(rng(6).standard_normal((2, 3, 3, 3)).astype(np.float32),
                              requires_grad=True))
    y.sum().backward()  # frees the batch-norm node's x̂
    with pytest.raises(RuntimeError, match="second time"):
        z.sum().backward()


@needs_numba
def test_backward_mask_matches_the_output_where_the_pre_activation_is_near_zero():
    """Where γx̂ + β is within rounding of 0, the backward kernel's mask must be exactly the
    forward's y > 0: with dy = 1 and scale 1, dx = mask − a·x̂ − b elementwise."""
    kern = jit.kernels("norm_numba")
    g = rng(7)
    n, c, s = 16, 32, 257
    x_hat = g.standard_normal((n, c, s)).astype(np.float32)
    gamma = g.uniform(-2, 2, c).astype(np.float32)
    beta = np.empty(c, np.float32)
    for ch in range(c):
        pivot = x_hat[0, ch, ch]
        beta[ch] = -np.float32(np.float64(gamma[ch]) * np.float64(pivot))
        near = pivot * (1 + g.integers(-3, 4, x_hat[:, ch, ::3].shape) * np.float32(1e-7))
        x_hat[:, ch, ::3] = near
    y = np.empty_like(x_hat)
    kern.batch_norm_relu_output(x_hat, gamma, beta, y, 0, c)
    assert (np.abs(y) < 1e-6).sum() > 10_000  # the test does probe the boundary
    dx, sum_dy, sum_dy_xhat = np.empty_like(x_hat), np.empty(c), np.empty(c)
    kern.batch_norm_relu_backward(np.ones_like(x_hat), x_hat, np.ones(c, np.float32), gamma,
                                  beta, dx, sum_dy, sum_dy_xhat, True, 0, c)
    positive = y > 0
    assert np.array_equal(sum_dy, positive.sum(axis=(0, 2)))
    a = (sum_dy_xhat / (n * s)).astype(np.float32)[None, :, None]
    b = (sum_dy / (n * s)).astype(np.float32)[None, :, None]
    np.testing.assert_allclose(dx, positive - a * x_hat - b, atol=1e-6)


def test_nan_propagates_like_relu_of_batch_norm(numba_path):
    x, w, b = _params((4, 3, 5, 5), np.float32)
    x[0, 1, 2, 2] = np.nan
    ours = F.batch_norm(rb.tensor(x), None, None, rb.tensor(w), rb.tensor(b), training=True,
                        relu=True).numpy()
    theirs = TF.relu(TF.batch_norm(torch.tensor(x), None, None, torch.tensor(w),
                                   torch.tensor(b), training=True)).numpy()
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours[:, [0, 2]], theirs[:, [0, 2]], rtol=1e-5, atol=1e-5)
