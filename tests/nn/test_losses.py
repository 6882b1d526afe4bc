"""Losses (issue 3) against PyTorch: forward and every gradient (input, and target where PyTorch
defines one), all reductions, class weights, ignore_index, label smoothing, probability targets
and pos_weight, in float32 and float64; finite differences in float64; stability for huge
logits; the notes' worked example; the Keras-style registry; error messages; config round trips.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F

REDUCTIONS = ["none", "mean", "sum"]


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    return np.log(softmax(z, axis))


def class_shape(shape: tuple) -> tuple:
    """The shape of class-index targets for an input of ``shape`` (classes on axis 1)."""
    return shape[:1] + shape[2:] if len(shape) > 1 else ()


def index_target(shape: tuple, classes: int, seed: int = 3, ignore: int | None = None) -> Any:
    g = rng(seed)
    y = g.integers(0, classes, class_shape(shape)).astype(np.int64)
    if ignore is not None and y.ndim:
        y[g.random(y.shape) < 0.3] = ignore
    return np.asarray(y)


# ------------------------------------------------------------------ regression


REGRESSION = {
    "mse": (F.mse_loss, TF.mse_loss, {}),
    "l1": (F.l1_loss, TF.l1_loss, {}),
    "huber": (F.huber_loss, TF.huber_loss, {"delta": 0.7}),
    "smooth_l1": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    "smooth_l1_beta0": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
}


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
def test_regression_losses_match_torch(name, reduction, shape, dtype):
    ours, theirs, kw = REGRESSION[name]
    g = rng(1)
    x = g.standard_normal(shape).astype(dtype)
    y = g.standard_normal(shape).astype(dtype)
    check_op(lambda a, b: ours(a, b, reduction=reduction, **kw),
             lambda a, b: theirs(a, b, reduction=reduction, **kw), [x, y])


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_losses_gradcheck(name):
    ours, _, kw = REGRESSION[name]
    g = rng(2)
    check_gradcheck(lambda a, b: ours(a, b, **kw), [g.standard_normal((3, 4)),
                                                    g.standard_normal((3, 4))])


def test_notes_half_sum_of_squares_is_half_mse_sum():
    # L = ½ Σ (Y − Y′)² with ∂L/∂Y = Y − Y′; the empirical loss is the mean over the data set.
    g = rng(4)
    y_pred = rb.tensor(g.standard_normal((5, 2)), requires_grad=True)
    y_true = g.standard_normal((5, 2))
    L = 0.5 * F.mse_loss(y_pred, y_true, reduction="sum")
    L.backward()
    np.testing.assert_allclose(L.item(), 0.5 * ((y_pred.data - y_true) ** 2).sum())
    np.testing.assert_allclose(y_pred.grad, y_pred.data - y_true)
    empirical = nn.MSELoss()(y_pred, y_true).item()
    np.testing.assert_allclose(empirical, ((y_pred.data - y_true) ** 2).mean())


def test_mae_alias_and_mean_absolute_error():
    assert nn.MAELoss is nn.L1Loss
    x, y = rb.tensor([1.0, -2.0, 3.0]), rb.tensor([0.0, 0.0, 1.0])
    assert nn.MAELoss()(x, y).item() == pytest.approx((1 + 2 + 2) / 3)


# ------------------------------------------------------------------ binary cross-entropy


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 5)])
def test_bce_matches_torch(reduction, weighted, shape, dtype):
    g = rng(5)
    p = g.uniform(0.05, 0.95, shape).astype(dtype)
    y = g.uniform(0, 1, shape).astype(dtype)  # soft targets; target gradient defined
    w = g.uniform(0.5, 2, shape[-1:]).astype(dtype) if weighted else None
    check_op(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
             lambda a, b: TF.binary_cross_entropy(
                 a, b, weight=None if w is None else torch.tensor(w), reduction=reduction),
             [p, y])


def test_bce_clamps_log_like_torch(dtype):
    p = np.array([0.0, 1.0, 0.5, 1e-30], dtype)
    y = np.array([1.0, 0.0, 0.3, 1.0], dtype)
    check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"),
             lambda a, b: TF.binary_cross_entropy(a, b, reduction="sum"), [p, y],
             grad=[True, False], rtol=1e-4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
@pytest.mark.parametrize("shape", [(6,), (5, 3), (2, 3, 4)])
def test_bce_with_logits_matches_torch(reduction, options, shape, dtype):
    g = rng(6)
    x = (3 * g.standard_normal(shape)).astype(dtype)
    y = (g.random(shape) < 0.4).astype(dtype)  # multi-label 0/1 targets
    y[..., 0] = 0.25  # and a soft one
    w = g.uniform(0.5, 2, shape).astype(dtype) if options in ("weight", "both") else None
    pw = g.uniform(0.5, 4, shape[-1:]).astype(dtype) if options in ("pos_weight", "both") else None

    def t(a):
        return None if a is None else torch.tensor(a)

    check_op(lambda a, b: F.binary_cross_entropy_with_logits(
                 a, b, weight=w, reduction=reduction, pos_weight=pw),
             lambda a, b: TF.binary_cross_entropy_with_logits(
                 a, b, weight=t(w), reduction=reduction, pos_weight=t(pw)),
             [x, y])


def test_bce_gradcheck():
    g = rng(7)
    p, y = g.uniform(0.1, 0.9, (3, 4)), g.uniform(0, 1, (3, 4))
    check_gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight=[1.0, 2.0, 0.5, 1.0]),
                    [p, y])
    x = 2 * g.standard_normal((3, 4))
    check_gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b), [x, y])
    check_gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, weight=np.full((3, 1), 0.7), pos_weight=[3.0, 1.0, 0.5, 2.0]), [x, y])


def test_bce_with_logits_is_bce_of_sigmoid():
    x = rb.tensor(rng(8).standard_normal((4, 2)), requires_grad=True)
    y = np.array([[0, 1], [1, 1], [0, 0], [1, 0]], np.float64)
    a = F.binary_cross_entropy_with_logits(x, y)
    b = F.binary_cross_entropy(1 / (1 + rb.exp(-x)), y)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)


# ------------------------------------------------------------------ cross-entropy


CE_SHAPES = [(6, 4), (3, 4, 5), (2, 3, 4, 2), (5,)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("options", ["plain", "weight", "ignore", "smooth", "all"])
def test_cross_entropy_index_targets_match_torch(reduction, shape, options, dtype):
    classes = shape[1] if len(shape) > 1 else shape[0]
    g = rng(9)
    x = (2 * g.standard_normal(shape)).astype(dtype)
    ignore = 1 if options in ("ignore", "all") else -100
    y = index_target(shape, classes, ignore=ignore if options in ("ignore", "all") else None)
    w = g.uniform(0.2, 2, classes).astype(dtype) if options in ("weight", "all") else None
    eps = 0.2 if options in ("smooth", "all") else 0.0
    kw = {"ignore_index": ignore, "reduction": reduction, "label_smoothing": eps}
    check_op(lambda a, b: F.cross_entropy(a, b, weight=w, **kw),
             lambda a, b: TF.cross_entropy(a, b, weight=None if w is None else torch.tensor(w),
                                           **kw),
             [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("options", ["plain", "weight", "smooth", "all"])
def test_cross_entropy_probability_targets_match_torch(reduction, shape, options, dtype):
    classes = shape[1] if len(shape) > 1 else shape[0]
    g = rng(10)
    x = (2 * g.standard_normal(shape)).astype(dtype)
    t = softmax(g.standard_normal(shape), axis=1 if len(shape) > 1 else 0).astype(dtype)
    w = g.uniform(0.2, 2, classes).astype(dtype) if options in ("weight", "all") else None
    eps = 0.1 if options in ("smooth", "all") else 0.0
    kw = {"reduction": reduction, "label_smoothing": eps}
    check_op(lambda a, b: F.cross_entropy(a, b, weight=w, **kw),
             lambda a, b: TF.cross_entropy(a, b, weight=None if w is None else torch.tensor(w),
                                           **kw),
             [x, t])  # the target gradient too


def test_cross_entropy_mixup_soft_labels():
    # mixup: 0.4 cat / 0.6 dog is the same loss as 0.4·CE(cat) + 0.6·CE(dog)
    x = rb.tensor(rng(11).standard_normal((1, 3)))
    soft = F.cross_entropy(x, np.array([[0.4, 0.6, 0.0]], np.float32)).item()
    cat = F.cross_entropy(x, np.array([0])).item()
    dog = F.cross_entropy(x, np.array([1])).item()
    assert soft == pytest.approx(0.4 * cat + 0.6 * dog, rel=1e-5)


@pytest.mark.parametrize("fn, torch_fn, eps", [(F.cross_entropy, TF.cross_entropy, 0.0),
                                               (F.cross_entropy, TF.cross_entropy, 0.1),
                                               (F.nll_loss, TF.nll_loss, 0.0)],
                         ids=["ce", "ce_smooth", "nll"])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_targets_ignored_gives_nan_like_torch(fn, torch_fn, eps, weighted, dtype):
    # PyTorch: 'mean' over zero kept targets is 0/0 = nan, and the gradient is 0
    x = rng(12).standard_normal((3, 4)).astype(dtype)
    y = np.full(3, -100, np.int64)
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype) if weighted else None
    kw = {"label_smoothing": eps} if eps else {}
    check_op(lambda a, b: fn(a, b, weight=w, **kw),
             lambda a, b: torch_fn(a, b, weight=None if w is None else torch.tensor(w), **kw),
             [x, y])
    assert math.isnan(fn(rb.tensor(x), y, weight=w, **kw).item())


def test_cross_entropy_equals_nll_of_log_softmax():
    g = rng(13)
    z = g.standard_normal((5, 4))
    y = g.integers(0, 4, 5)
    a = F.cross_entropy(rb.tensor(z), y).item()
    b = F.nll_loss(rb.tensor(log_softmax(z)), y).item()
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("options", ["plain", "weight", "ignore"])
def test_nll_loss_matches_torch(reduction, shape, options, dtype):
    classes = shape[1] if len(shape) > 1 else shape[0]
    g = rng(14)
    x = log_softmax(g.standard_normal(shape), axis=1 if len(shape) > 1 else 0).astype(dtype)
    ignore = 2 if options == "ignore" else -100
    y = index_target(shape, classes, ignore=ignore if options == "ignore" else None)
    w = g.uniform(0.2, 2, classes).astype(dtype) if options == "weight" else None
    check_op(lambda a, b: F.nll_loss(a, b, weight=w, ignore_index=ignore, reduction=reduction),
             lambda a, b: TF.nll_loss(a, b, weight=None if w is None else torch.tensor(w),
                                      ignore_index=ignore, reduction=reduction),
             [x, y])


def test_cross_entropy_and_nll_gradcheck():
    g = rng(15)
    x = g.standard_normal((3, 4, 2))
    y = index_target((3, 4, 2), 4, ignore=-100)
    w = [0.5, 1.0, 2.0, 1.5]
    check_gradcheck(lambda a: F.cross_entropy(a, y), [x])
    check_gradcheck(lambda a: F.cross_entropy(a, y, weight=w, label_smoothing=0.2), [x])
    check_gradcheck(lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.1),
                    [x, softmax(g.standard_normal((3, 4, 2)))])
    check_gradcheck(lambda a: F.cross_entropy(a, y, reduction="none"), [x])
    check_gradcheck(lambda a: F.nll_loss(a, y, weight=w), [x])


# ------------------------------------------------------------------ numerical stability


@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4])
def test_cross_entropy_stable_for_huge_logits(scale, dtype):
    x = np.array([[1.0, -1.0, 0.0], [-1.0, 0.5, 1.0], [0.3, 0.2, -0.9]], dtype) * scale
    y = np.array([0, 0, 2])
    t = np.array([[0.2, 0.3, 0.5]] * 3, dtype)
    for target in (y, t):
        xt = rb.tensor(x, requires_grad=True)
        loss = F.cross_entropy(xt, target, label_smoothing=0.1)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(xt.grad).all()
        ref = TF.cross_entropy(torch.tensor(x), torch.tensor(target), label_smoothing=0.1)
        np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)


@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4])
def test_bce_with_logits_stable_for_huge_logits(scale, dtype):
    x = np.array([1.0, -1.0, 0.5, -0.5], dtype) * scale
    y = np.array([1.0, 1.0, 0.0, 0.0], dtype)
    for pw in (None, np.array([2.0], dtype)):
        check_op(lambda a, b, pw=pw: F.binary_cross_entropy_with_logits(
                     a, b, reduction="none", pos_weight=pw),
                 lambda a, b, pw=pw: TF.binary_cross_entropy_with_logits(
                     a, b, reduction="none", pos_weight=None if pw is None else torch.tensor(pw)),
                 [x, y], rtol=1e-5)
        xt = rb.tensor(x, requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(xt, y, pos_weight=pw)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(xt.grad).all()


# ------------------------------------------------------------------ the notes' worked example


def test_notes_categorical_cross_entropy_in_bits_is_0_3677():
    # Seed 004: target class 0, softmax output S = [0.775, 0.126, 0.039, 0.070]:
    # L_CE = −Σ T_i log₂ S_i = −log₂ 0.775 = 0.3677. Our losses use the natural log, so the loss
    # in bits is the loss in nats divided by ln 2 (log₂ a = ln a / ln 2).
    S = rb.tensor([[0.775, 0.126, 0.039, 0.070]])
    T = np.array([[1.0, 0.0, 0.0, 0.0]], np.float32)
    bits = F.categorical_crossentropy(S, T) / math.log(2)
    assert round(bits.item(), 4) == 0.3677
    # the same through the class-index losses: NLL of ln S, and the Keras names
    assert round(F.nll_loss(rb.log(S), np.array([0])).item() / math.log(2), 4) == 0.3677
    assert round(nn.get_loss("categorical_crossentropy")(S, T).item() / math.log(2), 4) == 0.3677
    sparse = nn.get_loss("sparse_categorical_crossentropy")(S, np.array([0]))
    assert round(sparse.item() / math.log(2), 4) == 0.3677


# ------------------------------------------------------------------ Keras-style cross-entropies


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_categorical_crossentropy_on_probabilities(reduction, eps, dtype):
    g = rng(16)
    p = softmax(g.standard_normal((5, 4))).astype(dtype)
    t = softmax(3 * g.standard_normal((5, 4))).astype(dtype)

    def theirs(a, b):
        b = (1 - eps) * b + eps / 4
        loss = -(b * torch.log(torch.clamp(a, 1e-7, 1.0))).sum(1)
        return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]

    check_op(lambda a, b: F.categorical_crossentropy(a, b, label_smoothing=eps,
                                                     reduction=reduction), theirs, [p, t])
    z = g.standard_normal((5, 4)).astype(dtype)
    check_op(lambda a, b: F.categorical_crossentropy(a, b, from_logits=True, label_smoothing=eps,
                                                     reduction=reduction),
             lambda a, b: TF.cross_entropy(a, b, label_smoothing=eps, reduction=reduction),
             [z, t])


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(from_logits, dtype):
    g = rng(17)
    z = g.standard_normal((6, 3)).astype(dtype)
    p = softmax(z).astype(dtype)
    y = g.integers(0, 3, 6)
    if from_logits:
        check_op(lambda a, b: F.sparse_categorical_crossentropy(a, b, from_logits=True),
                 TF.cross_entropy, [z, y])
    else:
        check_op(F.sparse_categorical_crossentropy,
                 lambda a, b: TF.nll_loss(torch.log(torch.clamp(a, 1e-7, 1.0)), b), [p, y])


def test_keras_cross_entropies_gradcheck():
    g = rng(25)
    p = softmax(g.standard_normal((4, 3)))
    t = softmax(2 * g.standard_normal((4, 3)))
    y = g.integers(0, 3, 4)
    check_gradcheck(lambda a, b: F.categorical_crossentropy(a, b, label_smoothing=0.1), [p, t])
    check_gradcheck(lambda a: F.sparse_categorical_crossentropy(a, y), [p])


# ------------------------------------------------------------------ KL divergence


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # torch's note on 'mean'
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)])
def test_kl_div_matches_torch(reduction, log_target, shape, dtype):
    g = rng(18)
    x = log_softmax(g.standard_normal(shape)).astype(dtype)
    t = softmax(g.standard_normal(shape))
    t = (np.log(t) if log_target else t).astype(dtype)
    check_op(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
             lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t])


def test_kl_div_zero_target_and_gradcheck():
    x = log_softmax(rng(19).standard_normal((2, 3)))
    t = np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    check_op(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
             lambda a, b: TF.kl_div(a, b, reduction="batchmean"), [x, t], grad=[True, False])
    check_gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"), [x, softmax(x)])
    check_gradcheck(lambda a, b: F.kl_div(a, b, log_target=True), [x, log_softmax(2 * x)])


# ------------------------------------------------------------------ margins


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (4,)])
def test_multi_margin_matches_torch(reduction, p, weighted, shape, dtype):
    g = rng(20)
    x = g.standard_normal(shape).astype(dtype)
    y = index_target(shape, shape[-1])
    w = g.uniform(0.5, 2, shape[-1]).astype(dtype) if weighted else None
    check_op(lambda a, b: F.multi_margin_loss(a, b, p=p, margin=0.8, weight=w,
                                              reduction=reduction),
             lambda a, b: TF.multi_margin_loss(a, b, p=p, margin=0.8,
                                               weight=None if w is None else torch.tensor(w),
                                               reduction=reduction),
             [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("squared", [False, True])
def test_hinge_matches_formula(reduction, squared, dtype):
    g = rng(21)
    x = (2 * g.standard_normal((5, 3))).astype(dtype)
    y = np.where(g.random((5, 3)) < 0.5, -1.0, 1.0).astype(dtype)

    def theirs(a, b):
        loss = torch.clamp(1 - a * b, min=0)
        loss = loss * loss if squared else loss
        return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]

    check_op(lambda a, b: F.hinge_loss(a, b, squared=squared, reduction=reduction), theirs,
             [x, y])
    # 0/1 labels are mapped to −1/+1, as Keras
    a = F.hinge_loss(rb.tensor(x), (y + 1) / 2, squared=squared, reduction=reduction)
    b = F.hinge_loss(rb.tensor(x), y, squared=squared, reduction=reduction)
    np.testing.assert_allclose(a.data, b.data)


def test_margin_losses_gradcheck():
    g = rng(22)
    x = g.standard_normal((5, 4))
    y = g.integers(0, 4, 5)
    check_gradcheck(lambda a: F.multi_margin_loss(a, y), [x])
    check_gradcheck(lambda a: F.multi_margin_loss(a, y, p=2, weight=[1.0, 2.0, 0.5, 1.0]), [x])
    s = np.array([0.3, -2.0, 1.7, 0.2, -0.4])
    t = np.array([1, -1, -1, -1, 1])
    check_gradcheck(lambda a: F.hinge_loss(a, t), [s])
    check_gradcheck(lambda a: F.hinge_loss(a, t, squared=True), [s])


# ------------------------------------------------------------------ modules


MODULES = [
    (nn.MSELoss(), F.mse_loss, {}),
    (nn.L1Loss(reduction="sum"), F.l1_loss, {"reduction": "sum"}),
    (nn.HuberLoss(delta=0.5), F.huber_loss, {"delta": 0.5}),
    (nn.SmoothL1Loss(beta=2.0), F.smooth_l1_loss, {"beta": 2.0}),
    (nn.KLDivLoss(reduction="batchmean", log_target=True), F.kl_div,
     {"reduction": "batchmean", "log_target": True}),
    (nn.HingeLoss(squared=True), F.hinge_loss, {"squared": True}),
]


@pytest.mark.parametrize("module, fn, kw", MODULES, ids=lambda v: type(v).__name__)
def test_modules_call_their_function(module, fn, kw):
    g = rng(23)
    x, y = g.standard_normal((4, 3)), g.standard_normal((4, 3))
    np.testing.assert_allclose(module(rb.tensor(x), y).data, fn(rb.tensor(x), y, **kw).data)


CONFIG_CASES = [
    nn.MSELoss(reduction="sum"),
    nn.L1Loss(),
    nn.HuberLoss(delta=2.0),
    nn.SmoothL1Loss(beta=0.5),
    nn.BCELoss(weight=[1.0, 2.0]),
    nn.BCELoss(weight=[[1, 2], [3, 4]]),
    nn.BCEWithLogitsLoss(weight=[0.5, 1.0], pos_weight=[3.0, 1.0], reduction="sum"),
    nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0], ignore_index=1, label_smoothing=0.1),
    nn.NLLLoss(weight=[1.0, 0.5, 2.0], reduction="none"),
    nn.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
    nn.SparseCategoricalCrossentropy(ignore_index=0),
    nn.HingeLoss(squared=True),
    nn.MultiMarginLoss(p=2, margin=0.5, weight=[1.0, 2.0, 3.0]),
    nn.KLDivLoss(reduction="batchmean", log_target=True),
]


@pytest.mark.parametrize("loss", CONFIG_CASES, ids=lambda m: type(m).__name__)
def test_config_round_trip_and_repr(loss):
    import json

    config = json.loads(json.dumps(loss.get_config()))
    rebuilt = type(loss).from_config(config)
    assert type(rebuilt) is type(loss) and rebuilt.get_config() == loss.get_config()
    text = repr(loss)
    assert text.startswith(type(loss).__name__ + "(") and "reduction=" in text


def test_weighted_module_matches_torch_and_keeps_weight_as_buffer():
    g = rng(24)
    x, y = g.standard_normal((6, 3)), g.integers(0, 3, 6)
    w = [0.2, 1.0, 3.0]
    ours = nn.CrossEntropyLoss(weight=w, label_smoothing=0.05)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float64),
                                       label_smoothing=0.05)
    assert ours(rb.tensor(x), y).item() == pytest.approx(theirs(torch.tensor(x),
                                                                torch.tensor(y)).item())
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    bce = nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 0.5])
    tb = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64))
    t = (g.random((6, 3)) < 0.5).astype(np.float64)
    assert bce(rb.tensor(x), t).item() == pytest.approx(tb(torch.tensor(x),
                                                           torch.tensor(t)).item())


# ------------------------------------------------------------------ registry


@pytest.mark.parametrize("name, cls", [
    ("mse", nn.MSELoss), ("mean_squared_error", nn.MSELoss), ("mae", nn.L1Loss),
    ("mean_absolute_error", nn.L1Loss), ("huber", nn.HuberLoss),
    ("binary_crossentropy", nn.BCELoss), ("bce_with_logits", nn.BCEWithLogitsLoss),
    ("categorical_crossentropy", nn.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", nn.SparseCategoricalCrossentropy),
    ("hinge", nn.HingeLoss), ("kld", nn.KLDivLoss), ("cross_entropy", nn.CrossEntropyLoss),
    ("CrossEntropyLoss", nn.CrossEntropyLoss), ("MSE", nn.MSELoss),
])
def test_get_loss_names(name, cls):
    assert type(nn.get_loss(name)) is cls


def test_get_loss_options_and_passthrough():
    assert nn.get_loss("huber", delta=2.5).delta == 2.5
    assert nn.get_loss("squared_hinge").squared is True
    assert nn.get_loss("kld").reduction == "batchmean"
    assert nn.get_loss("categorical_crossentropy", from_logits=True).from_logits is True
    assert nn.get_loss(nn.HuberLoss, delta=3.0).delta == 3.0
    loss = nn.MSELoss()
    assert nn.get_loss(loss) is loss
    assert nn.get_loss(F.mse_loss) is F.mse_loss


def test_get_loss_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'mean_sqared_error'") as err:
        nn.get_loss("mean_sqared_error")
    for name in ("mse", "mean_squared_error", "categorical_crossentropy", "hinge", "kld"):
        assert name in str(err.value)


# ------------------------------------------------------------------ errors


def test_shape_mismatch_names_loss_and_shapes():
    x = rb.tensor(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"MSELoss \(mse_loss\).*\(4, 3\).*\(4,\)"):
        nn.MSELoss()(x, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"l1_loss.*\(4, 3\).*\(3, 4\)"):
        F.l1_loss(x, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss.*\(4, 3\).*\(4, 1\)"):
        nn.BCEWithLogitsLoss()(x, np.zeros((4, 1), np.float32))


def test_class_index_errors_name_the_loss():
    x = rb.tensor(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss \(cross_entropy\).*integer class "
                                         r"indices.*float32"):
        nn.CrossEntropyLoss()(x, np.array([0.0, 1.0, 2.0, 1.0], np.float32))
    with pytest.raises(ValueError, match=r"cross_entropy: target class index 3 is out of range "
                                         r"for 3 classes"):
        F.cross_entropy(x, np.array([0, 1, 3, 1]))
    with pytest.raises(ValueError, match=r"NLLLoss \(nll_loss\).*index -1 is out of range"):
        nn.NLLLoss()(x, np.array([0, -1, 2, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy.*expects class-index targets of shape "
                                         r"\(4,\), got target shape \(4, 1\)"):
        F.cross_entropy(x, np.zeros((4, 1), np.int64))
    with pytest.raises(ValueError, match=r"weight must have one entry per class"):
        F.cross_entropy(x, np.array([0, 1, 2, 1]), weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy"):
        F.categorical_crossentropy(x, np.array([0, 1, 2, 1]))


def test_other_errors():
    x = rb.tensor(np.full((2, 2), 0.5, np.float32))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(x, x, reduction="batchmean")
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities"):
        F.binary_cross_entropy(x * 3, x)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is not supported"):
        F.cross_entropy(x, x, ignore_index=0)
