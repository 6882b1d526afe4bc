"""What ops keep for backward, and what they recompute instead (``Function.keep_input``):
a cheap direct convolution (K ≤ 32) is recomputed by the batch norm that reads it instead of
keeping x̂; a ReLU whose output a later op keeps drops its mask. Values and gradients stay
those of PyTorch, and recomputed arrays are the forward's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as TF
from helpers import check_op, rng

import rosenblatt as rb
from rosenblatt.nn import functional as F
from rosenblatt.ops import conv_direct, jit
from rosenblatt.ops.conv import Conv2d

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")


def _stem(k_in: int = 3, dtype=np.float32, seed: int = 0):
    g = rng(seed)
    x = g.standard_normal((4, k_in, 10, 10)).astype(dtype)
    w1 = (g.standard_normal((6, k_in, 3, 3)) * 0.3).astype(dtype)  # K = 9·k_in
    gamma, beta = g.uniform(0.5, 1.5, 6).astype(dtype), g.standard_normal(6).astype(dtype)
    w2 = (g.standard_normal((5, 6, 3, 3)) * 0.3).astype(dtype)
    return x, w1, gamma, beta, w2


def _net(relu: bool):
    def rb_fn(x, w1, gamma, beta, w2):
        h = F.batch_norm(F.conv2d(x, w1, padding=1), None, None, gamma, beta, training=True,
                         relu=relu)
        return F.conv2d(h if relu else F.relu(h), w2, padding=1)

    def torch_fn(x, w1, gamma, beta, w2):
        h = TF.batch_norm(TF.conv2d(x, w1, padding=1), None, None, gamma, beta, training=True)
        return TF.conv2d(TF.relu(h), w2, padding=1)

    return rb_fn, torch_fn


@needs_numba
@pytest.mark.parametrize("relu", [True, False], ids=["fused", "separate"])
def test_conv_bn_relu_conv_with_a_recomputed_conv_vs_torch(numba_always, relu, dtype):
    inputs = _stem(dtype=dtype)
    assert conv_direct.cheap_to_recompute(inputs[1])
    rb_fn, torch_fn = _net(relu)
    check_op(rb_fn, torch_fn, list(inputs), atol=1e-4 if dtype == np.float32 else None)


@needs_numba
def test_batch_norm_keeps_the_cheap_conv_not_x_hat(numba_always):
    x, w1, gamma, beta, _ = _stem()
    c = F.conv2d(rb.tensor(x, requires_grad=True), rb.tensor(w1, requires_grad=True), padding=1)
    assert isinstance(c._node, Conv2d) and c._node.recomputable
    y = F.batch_norm(c, None, None, rb.tensor(gamma), rb.tensor(beta), training=True)
    assert y._node.saved_tensors[0] is c._node
    assert np.array_equal(c._node.recompute_output(), c.data)


@needs_numba
def test_wide_conv_is_not_recomputed(numba_always):
    x, _, gamma, beta, _ = _stem(k_in=4)  # K = 36 > 32
    w = rng(1).standard_normal((6, 4, 3, 3)).astype(np.float32)
    c = F.conv2d(rb.tensor(x, requires_grad=True), rb.tensor(w), padding=1)
    assert not c._node.recomputable
    y = F.batch_norm(c, None, None, rb.tensor(gamma), rb.tensor(beta), training=True)
    assert isinstance(y._node.saved_tensors[0], np.ndarray)  # x̂ itself


@needs_numba
def test_recomputed_x_hat_equals_the_kept_one_and_gradients_agree(numba_always, monkeypatch):
    x, w1, gamma, beta, w2 = _stem()
    rb_fn, _ = _net(relu=True)
    runs = []
    for limit in (conv_direct.RECOMPUTE_MAX_K, 0):  # recomputed, then kept
        monkeypatch.setattr(conv_direct, "RECOMPUTE_MAX_K", limit)
        ts = [rb.tensor(a, requires_grad=True) for a in (x, w1, gamma, beta, w2)]
        y = rb_fn(*ts)
        bn = y._node.parents[0]
        runs.append((bn.saved_x_hat().copy(), y.data.copy()))
        (y * rb.tensor(np.sin(np.arange(y.numel())).reshape(y.shape).astype(np.float32))
         ).sum().backward()
        runs[-1] += tuple(t.grad.copy() for t in ts)
    recomputed, kept = runs
    assert np.array_equal(recomputed[0], kept[0])  # x̂: the same kernel on the same x
    for a, b in zip(recomputed[1:], kept[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_relu_keeps_its_output_once_a_later_op_keeps_it():
    x = rng(2).standard_normal((3, 4)).astype(np.float32)
    w = rng(3).standard_normal((5, 4)).astype(np.float32)
    h = F.relu(rb.tensor(x, requires_grad=True))
    assert h._node.saved_tensors[0].dtype == bool  # the mask, while nobody keeps h
    y = rb.matmul(h, rb.tensor(w.T))  # keeps both operands (not via keep_input): mask stays
    assert h._node.saved_tensors[0].dtype == bool
    h._node.output_kept(h.data)  # what Conv2d's keep_input does
    assert h._node.saved_tensors[0] is h.data
    y.sum().backward()


@needs_numba
def test_relu_before_a_direct_conv_shares_the_conv_input(numba_always):
    inputs = _stem(k_in=4)
    x = rb.tensor(inputs[0], requires_grad=True)
    h = F.relu(x)
    y = F.conv2d(h, rb.tensor(rng(4).standard_normal((3, 4, 3, 3)).astype(np.float32)),
                 padding=1)
    assert h._node.saved_tensors[0] is h.data and y._node.saved_tensors[0] is h.data
    check_op(lambda x, w: F.conv2d(F.relu(x), w, padding=1),
             lambda x, w: TF.conv2d(TF.relu(x), w, padding=1),
             [inputs[0], rng(4).standard_normal((3, 4, 3, 3)).astype(np.float32)])


@needs_numba
def test_retained_graph_recomputes_again_with_the_same_gradients(numba_always):
    x, w1, gamma, beta, w2 = _stem()
    rb_fn, _ = _net(relu=True)
    ts = [rb.tensor(a, requires_grad=True) for a in (x, w1, gamma, beta, w2)]
    y = rb_fn(*ts).sum()
    y.backward(retain_graph=True)
    first = [t.grad.copy() for t in ts]
    for t in ts:
        t.grad = None
    y.backward()  # the conv and the batch norm recompute from what the first pass left
    for a, t in zip(first, ts, strict=True):
        assert np.array_equal(a, t.grad)
