"""Convolutions against PyTorch: conv1d, conv2d, conv_transpose1d/2d across strides, paddings
(including "same"), dilations, groups (including depthwise), one input channel, odd sizes and
no bias, forward and every gradient (input, weight, bias) in float32 and float64; finite
differences in float64; output sizes (AlexNet's first layer), parameter counts, errors, and the
layers (state_dict, init, repr, config)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F
from rosenblatt.ops import conv as conv_ops


def _arrays(x_shape, w_shape, dtype, bias=True, seed=0):
    g = rng(seed)
    x = g.standard_normal(x_shape).astype(dtype)
    w = (g.standard_normal(w_shape) / math.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    b = g.standard_normal(w_shape[0] if len(w_shape) else 1).astype(dtype)
    return [x, w, b] if bias else [x, w]


def _tol(dtype):
    return {"atol": 1e-4, "rtol": 1e-4} if dtype == np.float32 else {}


CONV2D = [  # N, C_in, H, W, C_out, kernel, stride, padding, dilation, groups, bias
    (2, 3, 8, 8, 4, 3, 1, 1, 1, 1, True),
    (2, 3, 9, 7, 5, 3, 2, 0, 1, 1, True),
    (2, 1, 11, 10, 6, 5, 1, 2, 1, 1, True),  # one input channel (LeNet's first layer)
    (1, 2, 10, 9, 3, (3, 2), (2, 1), (1, 0), 1, 1, True),
    (2, 4, 12, 11, 6, 3, 1, 2, 2, 2, True),  # dilation, groups
    (2, 4, 9, 8, 4, 3, 1, 1, 1, 4, True),  # depthwise
    (2, 4, 9, 8, 8, 3, 2, 1, 1, 4, False),  # depthwise × 2, strided, no bias
    (1, 3, 7, 8, 2, 4, 1, "same", 1, 1, True),  # even kernel: the extra zero goes at the end
    (1, 3, 9, 8, 2, 3, 1, "same", 2, 1, True),
    (2, 3, 6, 5, 2, 3, 1, "valid", 1, 1, False),
    (2, 6, 7, 7, 6, 1, 1, 0, 1, 3, True),  # 1×1 grouped
    (1, 2, 5, 5, 3, 5, 3, 1, 1, 1, True),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("n,c,h,w,co,k,s,p,d,g,bias", CONV2D)
def test_conv2d_vs_torch(n, c, h, w, co, k, s, p, d, g, bias, dtype):
    check_conv2d_case(n, c, h, w, co, k, s, p, d, g, bias, dtype)


def check_conv2d_case(n, c, h, w, co, k, s, p, d, g, bias, dtype):
    """One row of CONV2D: conv2d against PyTorch, forward and every gradient."""
    kk = (k, k) if isinstance(k, int) else k
    inputs = _arrays((n, c, h, w), (co, c // g) + kk, dtype, bias)
    if bias:
        check_op(lambda x, W, b: F.conv2d(x, W, b, s, p, d, g),
                 lambda x, W, b: TF.conv2d(x, W, b, s, p, d, g), inputs, **_tol(dtype))
    else:
        check_op(lambda x, W: F.conv2d(x, W, None, s, p, d, g),
                 lambda x, W: TF.conv2d(x, W, None, s, p, d, g), inputs, **_tol(dtype))


def test_conv2d_keep_im2col_gives_the_same_gradients(monkeypatch):
    monkeypatch.setattr(conv_ops, "KEEP_IM2COL", True)
    inputs = _arrays((2, 3, 8, 7), (4, 3, 3, 3), np.float64)
    check_op(lambda x, W, b: F.conv2d(x, W, b, 2, 1),
             lambda x, W, b: TF.conv2d(x, W, b, 2, 1), inputs)
    inputs = _arrays((2, 4, 8, 7), (4, 2, 3, 3), np.float64)
    check_op(lambda x, W, b: F.conv2d(x, W, b, 1, 1, 1, 2),
             lambda x, W, b: TF.conv2d(x, W, b, 1, 1, 1, 2), inputs)


def test_conv2d_only_some_inputs_need_grad():
    x, W, b = _arrays((2, 3, 6, 6), (4, 3, 3, 3), np.float64)
    check_op(lambda x, W, b: F.conv2d(x, W, b, 1, 1), lambda x, W, b: TF.conv2d(x, W, b, 1, 1),
             [x, W, b], grad=[False, True, True])
    check_op(lambda x, W, b: F.conv2d(x, W, b, 1, 1), lambda x, W, b: TF.conv2d(x, W, b, 1, 1),
             [x, W, b], grad=[True, False, False])


def test_conv2d_unbatched_and_channels_last_input(dtype):
    x, W, b = _arrays((3, 7, 6), (4, 3, 3, 3), dtype)
    check_op(lambda x, W, b: F.conv2d(x, W, b, padding=1),
             lambda x, W, b: TF.conv2d(x, W, b, padding=1), [x, W, b], **_tol(dtype))
    # a conv's output is channels-last in memory; a second conv and a flatten read it correctly
    x, W, b = _arrays((2, 3, 7, 6), (4, 3, 3, 3), dtype)
    W2 = rng(1).standard_normal((5, 4, 2, 2)).astype(dtype)
    check_op(lambda x, W, b, W2: F.conv2d(F.conv2d(x, W, b, padding=1), W2).flatten(1),
             lambda x, W, b, W2: TF.conv2d(TF.conv2d(x, W, b, padding=1), W2).flatten(1),
             [x, W, b, W2], **_tol(dtype))


CONV1D = [  # N, C_in, L, C_out, k, stride, padding, dilation, groups
    (2, 3, 11, 4, 3, 1, 1, 1, 1),
    (2, 4, 12, 6, 4, 2, 0, 1, 2),
    (1, 2, 10, 3, 3, 1, "same", 3, 1),
    (2, 4, 9, 4, 5, 3, 2, 1, 4),
]


@pytest.mark.parametrize("n,c,length,co,k,s,p,d,g", CONV1D)
def test_conv1d_vs_torch(n, c, length, co, k, s, p, d, g, dtype):
    inputs = _arrays((n, c, length), (co, c // g, k), dtype)
    check_op(lambda x, W, b: F.conv1d(x, W, b, s, p, d, g),
             lambda x, W, b: TF.conv1d(x, W, b, s, p, d, g), inputs, **_tol(dtype))


CONVT2D = [  # N, C_in, H, W, C_out, kernel, stride, padding, output_padding, groups, dilation
    (2, 3, 5, 6, 4, 3, 2, 1, 1, 1, 1),
    (2, 4, 5, 6, 6, (3, 2), (2, 3), (0, 1), (1, 2), 2, (2, 1)),
    (2, 4, 5, 6, 4, 3, 1, 1, 0, 4, 1),
    (1, 1, 4, 5, 3, 2, 2, 0, 0, 1, 1),
    (1, 2, 3, 3, 2, 4, 3, 2, 2, 1, 1),
    (1, 2, 4, 3, 3, 3, 1, 0, 1, 1, 2),  # output_padding < dilation
]


@pytest.mark.parametrize("n,c,h,w,co,k,s,p,op,g,d", CONVT2D)
def test_conv_transpose2d_vs_torch(n, c, h, w, co, k, s, p, op, g, d, dtype):
    kk = (k, k) if isinstance(k, int) else k
    inputs = _arrays((n, c, h, w), (c, co // g) + kk, dtype)
    inputs[2] = rng(2).standard_normal(co).astype(dtype)
    check_op(lambda x, W, b: F.conv_transpose2d(x, W, b, s, p, op, g, d),
             lambda x, W, b: TF.conv_transpose2d(x, W, b, s, p, op, g, d), inputs,
             **_tol(dtype))


def test_conv_transpose1d_vs_torch(dtype):
    x, W, _ = _arrays((2, 4, 7), (4, 3, 3), dtype)
    check_op(lambda x, W: F.conv_transpose1d(x, W, None, 2, 1, 1, 1, 1),
             lambda x, W: TF.conv_transpose1d(x, W, None, 2, 1, 1, 1, 1), [x, W],
             **_tol(dtype))


def test_conv_gradcheck_float64():
    x, W, b = _arrays((2, 4, 5, 6), (4, 2, 3, 2), np.float64)
    check_gradcheck(lambda x, W, b: F.conv2d(x, W, b, (2, 1), 1, (1, 2), 2), [x, W, b])
    x, W, b = _arrays((1, 1, 6, 5), (3, 1, 3, 3), np.float64)
    check_gradcheck(lambda x, W, b: F.conv2d(x, W, b, 1, "same"), [x, W, b])
    x, W, _ = _arrays((2, 2, 3, 4), (2, 3, 3, 3), np.float64)
    b = rng(5).standard_normal(3)
    check_gradcheck(lambda x, W, b: F.conv_transpose2d(x, W, b, 2, 1, 1), [x, W, b])
    x, W, b = _arrays((2, 3, 7), (4, 3, 3), np.float64)
    check_gradcheck(lambda x, W, b: F.conv1d(x, W, b, 2, 1), [x, W, b])


# ------------------------------------------------------------------ sizes, counts, errors


def test_output_size_formula_and_alexnet_first_layer():
    assert F.conv_output_size(227, 11, stride=4) == 55  # the notes: 55 × 55 × 96
    assert F.conv_output_size(32, 3, 1, 1) == 32
    assert F.conv_output_size(32, 3, 2, 1) == 16
    assert F.conv_output_size(10, 3, 1, 0, dilation=2) == 6
    assert F.conv_transpose_output_size(5, 3, 2, 1, 1) == 10
    layer = nn.Conv2d(3, 96, 11, stride=4)
    y = layer(rb.zeros(1, 3, 227, 227))
    assert y.shape == (1, 96, 55, 55)


def test_ten_3x3x3_filters_have_280_parameters():
    layer = nn.Conv2d(3, 10, 3)
    assert sum(p.numel() for p in layer.parameters()) == 280
    assert sum(p.numel() for p in nn.Conv2d(3, 10, 3, bias=False).parameters()) == 270


def test_conv_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError) as err:
        nn.Conv2d(3, 16, 3)(rb.zeros(8, 1, 28, 28))
    assert str(err.value) == ("Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): expected input "
                              "of shape (N, 3, H, W), got (8, 1, 28, 28)")
    with pytest.raises(ValueError) as err:
        nn.Conv2d(3, 4, 5, stride=2)(rb.zeros(1, 3, 4, 4))
    msg = str(err.value)
    assert msg.startswith("Conv2d(3, 4, kernel_size=(5, 5), stride=(2, 2)): ")
    for part in ("input size (4, 4)", "kernel_size=(5, 5)", "stride=(2, 2)", "padding=(0, 0)"):
        assert part in msg
    with pytest.raises(ValueError, match=r"conv2d: .*expected input \(2, 4, 5, 5\) to have 3"):
        F.conv2d(rb.zeros(2, 4, 5, 5), rb.zeros(6, 3, 3, 3))
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(rb.zeros(1, 3, 5, 5), rb.zeros(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match=r"Conv1d\(2, 3, .*\(N, 2, L\), got \(4, 3, 9\)"):
        nn.Conv1d(2, 3, 3)(rb.zeros(4, 3, 9))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(rb.zeros(1, 2, 3, 3), rb.zeros(2, 2, 3, 3), stride=1,
                           output_padding=1)


# ------------------------------------------------------------------ layers


LAYERS = [
    (lambda: nn.Conv2d(3, 8, 3, padding=1), lambda: torch.nn.Conv2d(3, 8, 3, padding=1), 2),
    (lambda: nn.Conv2d(4, 8, (3, 2), (2, 1), "valid", groups=2, bias=False),
     lambda: torch.nn.Conv2d(4, 8, (3, 2), (2, 1), "valid", groups=2, bias=False), 2),
    (lambda: nn.Conv2d(3, 5, 3, padding="same", dilation=2),
     lambda: torch.nn.Conv2d(3, 5, 3, padding="same", dilation=2), 2),
    (lambda: nn.Conv1d(3, 5, 3, stride=2, padding=1),
     lambda: torch.nn.Conv1d(3, 5, 3, stride=2, padding=1), 1),
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
     lambda: torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), 2),
    (lambda: nn.ConvTranspose1d(3, 4, 3, stride=2),
     lambda: torch.nn.ConvTranspose1d(3, 4, 3, stride=2), 1),
]


@pytest.mark.parametrize("make,make_torch,dims", LAYERS)
def test_conv_layers_match_torch(make, make_torch, dims):
    ours, theirs = make(), make_torch()
    assert repr(ours) == repr(theirs)
    keys = [k for k, _ in theirs.state_dict().items()]
    assert list(ours.state_dict()) == keys
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape)
    ours.load_state_dict(theirs.state_dict())
    shape = (2, ours.in_channels) + ((9,) if dims == 1 else (9, 8))
    x = rng(3).standard_normal(shape).astype(np.float32)
    xr, xt = rb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yr, yt = ours(xr), theirs(xt)
    np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), atol=1e-5, rtol=1e-4)
    yr.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xr.grad, xt.grad.numpy(), atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-4, rtol=1e-4)
    clone = type(ours).from_config(json.loads(json.dumps(ours.get_config())))
    assert repr(clone) == repr(ours)


def test_conv_default_init_is_kaiming_uniform_like_torch():
    layer = nn.Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)  # kaiming_uniform_(a=√5) gives U(−1/√fan_in, 1/√fan_in)
    w, b = layer.weight.data, layer.bias.data
    assert w.dtype == np.float32 and w.shape == (32, 16, 3, 3)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(float(w.std()) - bound / math.sqrt(3)) < 0.1 * bound
    t = nn.ConvTranspose2d(16, 8, 3, groups=2)
    assert t.weight.shape == (16, 4, 3, 3)
    assert np.abs(t.weight.data).max() <= 1 / math.sqrt(4 * 9)


def test_lenet_style_stack_trains_like_torch():
    """Conv → ReLU → pool → conv → ReLU → pool → flatten → linear, one SGD step each."""
    ours = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 10))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Conv2d(6, 16, 5),
                                 torch.nn.ReLU(), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                                 torch.nn.Linear(16 * 5 * 5, 10))
    ours.load_state_dict(theirs.state_dict())
    x = rng(4).standard_normal((4, 1, 28, 28)).astype(np.float32)
    y = np.array([1, 2, 3, 4])
    loss_r = nn.functional.cross_entropy(ours(rb.tensor(x)), y)
    loss_t = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    loss_r.backward()
    loss_t.backward()
    assert abs(float(loss_r.item()) - float(loss_t.item())) < 1e-5
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-5, rtol=1e-4, err_msg=name)


@pytest.mark.parametrize("keep", [False, True])
def test_conv2d_in_batch_chunks_matches_torch(monkeypatch, keep):
    """With a tiny chunk budget every image is its own im2col block (forward and backward)."""
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "KEEP_IM2COL", keep)
    for x_shape, w_shape, s, p, g in [((3, 4, 7, 6), (6, 2, 3, 3), 2, 1, 2),
                                      ((3, 1, 6, 6), (4, 1, 3, 3), 1, 1, 1),
                                      ((3, 3, 6, 5), (4, 3, 2, 2), 1, 0, 1)]:
        inputs = _arrays(x_shape, w_shape, np.float64)
        check_op(lambda x, W, b, s=s, p=p, g=g: F.conv2d(x, W, b, s, p, 1, g),
                 lambda x, W, b, s=s, p=p, g=g: TF.conv2d(x, W, b, s, p, 1, g), inputs)
    assert conv_ops.batch_chunks(5, 1) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


def check_conv_keeps_the_memory_layout():
    """One conv on the same x in NCHW and in channels-last memory: each output keeps its
    input's layout, and the values agree. Returns (x_nchw, x_nhwc, y_nchw, y_channels_last)."""
    x_nchw = rb.tensor(rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32),
                       requires_grad=True)
    x_nhwc = rb.tensor(np.ascontiguousarray(x_nchw.data.transpose(0, 2, 3, 1)),
                       requires_grad=True)
    layer = nn.Conv2d(3, 4, 3, padding=1)
    y1 = layer(x_nchw)
    y2 = layer(x_nhwc.permute(0, 3, 1, 2))
    assert y1.data.flags.c_contiguous  # NCHW in, NCHW out
    assert y2.data.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last in, channels-last out
    np.testing.assert_allclose(y1.detach().numpy(), y2.detach().numpy(), atol=1e-6)
    return x_nchw, x_nhwc, y1, y2


def test_conv_output_and_gradient_keep_the_input_memory_layout():
    x_nchw, x_nhwc, y1, y2 = check_conv_keeps_the_memory_layout()
    y1.sum().backward()
    y2.sum().backward()
    np.testing.assert_allclose(x_nchw.grad, x_nhwc.grad.transpose(0, 3, 1, 2), atol=1e-5)

