"""The two convolution paths: numba's direct kernels (``ops.conv_direct``) and NumPy's im2col +
GEMM. Every key conv2d case of test_conv.py runs on both, against PyTorch (forward and every
gradient, float32 and float64); the two paths agree with each other; finite differences in
float64 through the numba kernels; memory layouts are kept; the switches work (the function,
the environment variable, and the NumPy path without numba)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng
from test_conv import CONV2D, _arrays, check_conv2d_case, check_conv_keeps_the_memory_layout

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F
from rosenblatt.ops import conv as conv_ops
from rosenblatt.ops import conv_direct

HAS_NUMBA = conv_direct.available()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("n,c,h,w,co,k,s,p,d,g,bias", CONV2D)
def test_conv2d_vs_torch_on_both_paths(numba_path, n, c, h, w, co, k, s, p, d, g, bias, dtype):
    check_conv2d_case(n, c, h, w, co, k, s, p, d, g, bias, dtype)


def test_lenet_and_resnet_shapes_vs_torch(numba_path):
    """The benchmark's layer types at a small batch: a 5×5 first layer on one channel, a 3×3
    padded layer, a strided 3×3 and a strided 1×1 shortcut, in float64."""
    for x_shape, w_shape, s, p in [((3, 1, 28, 28), (6, 1, 5, 5), 1, 2),
                                   ((2, 16, 16, 16), (16, 16, 3, 3), 1, 1),
                                   ((2, 16, 16, 16), (32, 16, 3, 3), 2, 1),
                                   ((2, 16, 16, 16), (32, 16, 1, 1), 2, 0)]:
        inputs = _arrays(x_shape, w_shape, np.float64)
        check_op(lambda x, W, b, s=s, p=p: F.conv2d(x, W, b, s, p),
                 lambda x, W, b, s=s, p=p: TF.conv2d(x, W, b, s, p), inputs)


@needs_numba
@pytest.mark.parametrize("seed", range(6))
def test_the_two_paths_agree(seed):
    """Random geometry (stride, dilation, asymmetric padding, groups, odd sizes): the numba and
    NumPy paths give the same y, dx, dW and db (float64, to rounding)."""
    g_ = rng(100 + seed)
    groups = int(g_.choice([1, 1, 2, 3]))
    c, co = groups * int(g_.integers(1, 4)), groups * int(g_.integers(1, 4))
    kh, kw = (int(v) for v in g_.integers(1, 5, 2))
    sh, sw = (int(v) for v in g_.integers(1, 4, 2))
    dh, dw = (int(v) for v in g_.integers(1, 3, 2))
    pads = tuple(int(v) for v in g_.integers(0, 3, 4))
    h = dh * (kh - 1) + 1 + int(g_.integers(0, 7))
    w = dw * (kw - 1) + 1 + int(g_.integers(0, 7))
    x = g_.standard_normal((7, c, h, w))  # 7 images: blocks of several, a partial last one
    W = g_.standard_normal((co, c // groups, kh, kw))
    b = g_.standard_normal(co)
    dy = None
    results = []
    for use in (True, False):
        previous = conv_direct.use_numba(use)
        try:
            xs = [rb.tensor(a, requires_grad=True) for a in (x, W, b)]
            y = conv_ops.Conv2d.apply(*xs, stride=(sh, sw), padding=pads, dilation=(dh, dw),
                                      groups=groups)
            assert y._node.direct is use
            if dy is None:
                dy = g_.standard_normal(y.shape)
            y.backward(rb.tensor(dy))
            results.append([y.data] + [t.grad for t in xs])
        finally:
            conv_direct.use_numba(previous)
    for a, b_ in zip(*results, strict=True):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-10)


@needs_numba
def test_numba_kernels_gradcheck_float64(numba_always):
    x, W, b = _arrays((2, 4, 5, 6), (4, 2, 3, 2), np.float64)
    check_gradcheck(lambda x, W, b: F.conv2d(x, W, b, (2, 1), 1, (1, 2), 2), [x, W, b])
    x, W, b = _arrays((1, 1, 6, 5), (3, 1, 3, 3), np.float64)
    check_gradcheck(lambda x, W, b: F.conv2d(x, W, b, 1, "same"), [x, W, b])
    x, W, b = _arrays((2, 3, 7, 6), (2, 3, 3, 3), np.float64)
    check_gradcheck(lambda x, W, b: F.conv2d(x, W, b, 2, (1, 0)), [x, W, b])


@needs_numba
def test_numba_path_keeps_the_memory_layout_and_only_x(numba_always):
    x_nchw, x_nhwc, y1, y2 = check_conv_keeps_the_memory_layout()
    assert y1._node.direct and y2._node.direct
    saved_x = y1._node.saved_tensors[0]
    assert saved_x is x_nchw.data  # x itself is kept for backward: no padded copy, no im2col
    y1.sum().backward()
    y2.sum().backward()
    assert x_nchw.grad.flags.c_contiguous
    np.testing.assert_allclose(x_nchw.grad, x_nhwc.grad.transpose(0, 3, 1, 2), atol=1e-5)


@needs_numba
def test_lenet_trains_the_same_on_both_paths():
    """A LeNet-style step (one-channel first conv, channels-last second conv): both paths give
    the same loss and weight gradients."""
    grads = []
    for use in (True, False):
        previous = conv_direct.use_numba(use)
        try:
            rb.manual_seed(0)
            model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(16 * 5 * 5, 10)).double()
            x = rb.tensor(rng(4).standard_normal((4, 1, 28, 28)))
            F.cross_entropy(model(x), np.array([1, 2, 3, 4])).backward()
            grads.append([p.grad for p in model.parameters()])
        finally:
            conv_direct.use_numba(previous)
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_the_per_shape_choice():
    assert conv_direct.prefers_direct(16, 3, 3, 32 * 32, 1)  # ResNet-20's first stage
    assert conv_direct.prefers_direct(64, 3, 3, 8 * 8, 1)  # ... and its last
    assert conv_direct.prefers_direct(1, 5, 5, 28 * 28, 1)  # LeNet's first layer
    assert not conv_direct.prefers_direct(256, 3, 3, 8 * 8, 1)  # many channels: GEMM
    assert not conv_direct.prefers_direct(16, 3, 3, 4 * 4, 1)  # tiny images: GEMM
    assert conv_direct.prefers_direct(1, 3, 3, 4 * 4, 32)  # grouped (depthwise)


def test_use_numba_false_forces_the_numpy_path():
    previous = conv_direct.use_numba(False)
    try:
        x = rb.tensor(rng(0).standard_normal((2, 16, 32, 32)).astype(np.float32))
        y = F.conv2d(x, rb.tensor(np.ones((16, 16, 3, 3), np.float32), requires_grad=True),
                     padding=1)
        assert y._node.direct is False
    finally:
        conv_direct.use_numba(previous)


def test_environment_variable_switches_numba_off():
    code = ("from rosenblatt.ops import conv_direct as c; import sys; "
            "print(c.available(), 'rosenblatt.ops.conv_numba' in sys.modules)")
    env = dict(os.environ, ROSENBLATT_NUMBA="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
    failed = subprocess.run([sys.executable, "-c", "from rosenblatt.ops import conv_direct "
                             "as c; c.use_numba(True)"], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "RuntimeError: use_numba(True)" in failed.stderr
    if HAS_NUMBA:
        assert conv_direct.available()


def test_importing_rosenblatt_does_not_load_the_conv_kernels():
    code = "import sys, rosenblatt; print('rosenblatt.ops.conv_numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_without_numba_installed_the_numpy_path_runs():
    """numba made unimportable: conv and batch norm still run (the NumPy path), and agree
    with PyTorch."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'numba' or name.startswith('numba.'):\n"
        "            raise ImportError('no numba here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np, torch, rosenblatt as rb\n"
        "from rosenblatt.nn import functional as F\n"
        "from rosenblatt.ops import jit\n"
        "x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))\n"
        "W = np.random.default_rng(1).standard_normal((4, 3, 3, 3))\n"
        "y = F.batch_norm(F.conv2d(rb.tensor(x), rb.tensor(W), padding=1), None, None,\n"
        "                 training=True)\n"
        "t = torch.nn.functional.batch_norm(torch.nn.functional.conv2d(torch.tensor(x),\n"
        "    torch.tensor(W), padding=1), None, None, training=True)\n"
        "assert np.allclose(y.numpy(), t.numpy(), atol=1e-10)\n"
        "print(jit.available(), 'numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
