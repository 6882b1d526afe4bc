"""Metrics: hand-computed cases, accumulation over batches equal to the whole data, Keras-style
names, and scikit-learn as the oracle where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import metrics as M

# A 3-class example worked by hand.
#   y_true = 0 1 2 2 1 0 2
#   y_pred = 0 2 2 2 0 0 1
# confusion (rows true, cols predicted): [[2,0,0],[1,0,1],[0,1,2]]
# TP = [2,0,2]  FP = [1,1,1]  FN = [0,2,1]  support = [2,2,3]
# precision = [2/3, 0, 2/3]  recall = [1, 0, 2/3]  F1 = 2TP/(2TP+FP+FN) = [4/5, 0, 4/6]
Y_TRUE = np.array([0, 1, 2, 2, 1, 0, 2])
Y_PRED = np.array([0, 2, 2, 2, 0, 0, 1])
CM = np.array([[2, 0, 0], [1, 0, 1], [0, 1, 2]])
P_CLASS = np.array([2 / 3, 0, 2 / 3])
R_CLASS = np.array([1, 0, 2 / 3])
F_CLASS = np.array([4 / 5, 0, 4 / 6])
SUPPORT = np.array([2, 2, 3])


def one_hot_scores(labels, num_classes, seed=0):
    """Random scores whose argmax is ``labels``."""
    s = np.random.default_rng(seed).uniform(0, 1, (len(labels), num_classes))
    s[np.arange(len(labels)), labels] += 2.0
    return s.astype(np.float32)


# ------------------------------------------------------------------------------ functions
def test_confusion_matrix_by_hand():
    cm = M.confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, CM)
    assert cm.dtype == np.int64
    big = M.confusion_matrix(Y_TRUE, Y_PRED, num_classes=5)
    assert big.shape == (5, 5) and big[:3, :3].tolist() == CM.tolist() and big[3:].sum() == 0
    scores = one_hot_scores(Y_PRED, 4)  # scores: the size comes from their class dimension
    assert M.confusion_matrix(Y_TRUE, scores).shape == (4, 4)


def test_precision_recall_f1_by_hand():
    np.testing.assert_allclose(M.precision(Y_PRED, Y_TRUE, average=None), P_CLASS)
    np.testing.assert_allclose(M.recall(Y_PRED, Y_TRUE, average=None), R_CLASS)
    np.testing.assert_allclose(M.f1_score(Y_PRED, Y_TRUE, average=None), F_CLASS)
    for fn, per_class in ((M.precision, P_CLASS), (M.recall, R_CLASS), (M.f1_score, F_CLASS)):
        assert fn(Y_PRED, Y_TRUE) == pytest.approx(per_class.mean())  # macro is the default
        assert fn(Y_PRED, Y_TRUE, average="weighted") == pytest.approx(
            (per_class * SUPPORT).sum() / SUPPORT.sum())
        assert fn(Y_PRED, Y_TRUE, average="micro") == pytest.approx(4 / 7)  # = accuracy
    assert M.accuracy(Y_PRED, Y_TRUE) == pytest.approx(4 / 7)
    # class scores give the same as their argmax
    scores = one_hot_scores(Y_PRED, 3)
    assert M.f1_score(scores, Y_TRUE) == pytest.approx(F_CLASS.mean())


def test_zero_division_and_absent_classes():
    # class 1 is never predicted: precision 0/0 -> 0; class 3 never occurs at all
    y_true, y_pred = np.array([0, 1, 1]), np.array([0, 0, 0])
    np.testing.assert_allclose(M.precision(y_pred, y_true, num_classes=4, average=None),
                               [1 / 3, 0, 0, 0])
    # macro averages over the classes that occur (0 and 1), as scikit-learn's default labels
    assert M.precision(y_pred, y_true, num_classes=4) == pytest.approx(1 / 6)
    assert M.recall(y_pred, y_true, num_classes=4) == pytest.approx(0.5)
    # empty input: every ratio is 0, never NaN
    empty = np.array([], dtype=np.int64)
    for fn in (M.accuracy, M.precision, M.recall, M.f1_score, M.mean_squared_error):
        assert fn(empty, empty) == 0.0


def test_binary_average():
    y_true = np.array([1, 0, 1, 1, 0, 0])
    y_pred = np.array([1, 1, 0, 1, 0, 0])  # TP=2 FP=1 FN=1
    assert M.precision(y_pred, y_true, average="binary") == pytest.approx(2 / 3)
    assert M.recall(y_pred, y_true, average="binary") == pytest.approx(2 / 3)
    assert M.f1_score(y_pred, y_true, average="binary") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at most 2 classes"):
        M.precision(Y_PRED, Y_TRUE, average="binary")


def test_accuracy_forms():
    y = np.array([0, 2, 1, 1])
    scores = np.array([[5, 1, 0], [0, 1, 3], [0, 2, 1], [9, 0, 0]], dtype=np.float32)
    assert M.accuracy(scores, y) == 0.75
    assert M.accuracy(scores, y[:, None]) == 0.75  # (N, 1) targets, as Keras
    assert M.accuracy(np.array([0, 2, 1, 0]), y) == 0.75  # class indices
    assert M.accuracy(np.array([0.0, 2.0, 1.0, 0.0]), y) == 0.75  # float-valued indices
    seq = np.zeros((2, 3, 4))  # (batch, time, classes): argmax over the last dim
    seq[..., 1] = 1
    assert M.accuracy(seq, np.array([[1, 1, 0], [1, 1, 1]])) == pytest.approx(5 / 6)
    # Tensors that require grad are read, nothing is recorded
    t = rb.tensor(scores, requires_grad=True)
    assert M.accuracy(t, rb.tensor(y)) == 0.75 and t.grad is None


def test_accuracy_errors_repeat_the_shapes():
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(5,\)"):
        M.accuracy(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="binary_accuracy"):  # probabilities, not indices
        M.accuracy(np.array([0.2, 0.9]), np.array([0, 1]))
    with pytest.raises(ValueError, match="single score"):
        M.accuracy(np.array([[0.2], [0.9]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="num_classes=3"):
        M.confusion_matrix(np.array([0, 3]), np.array([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="negative"):
        M.confusion_matrix(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="average"):
        M.f1_score(Y_PRED, Y_TRUE, average="samples")


def test_top_k_accuracy():
    scores = np.array([[0.1, 0.5, 0.3, 0.1],
                       [0.6, 0.2, 0.1, 0.1],
                       [0.2, 0.2, 0.5, 0.1],
                       [0.25, 0.25, 0.25, 0.25]])
    y = np.array([2, 3, 2, 0])
    # ranks of the true class (classes scored strictly higher): 1, 2 (its tie with class 2 at
    # 0.1 does not count against it), 0, 0 (a four-way tie)
    assert M.top_k_accuracy(scores, y, k=1) == 0.5
    assert M.top_k_accuracy(scores, y, k=2) == 0.75
    assert M.top_k_accuracy(scores, y, k=3) == 1.0
    assert M.top_k_accuracy(scores, y, k=10) == 1.0
    with pytest.raises(ValueError, match="k must be"):
        M.top_k_accuracy(scores, y, k=0)
    with pytest.raises(ValueError, match="class index 4"):
        M.top_k_accuracy(scores, np.array([0, 0, 0, 4]), k=1)


def test_binary_accuracy():
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.5])
    y = np.array([1, 0, 0, 0, 1])
    assert M.binary_accuracy(p, y) == pytest.approx(3 / 5)  # 0.5 is not > 0.5
    assert M.binary_accuracy(p[:, None], y) == pytest.approx(3 / 5)  # (N, 1) outputs
    assert M.binary_accuracy(p, y, threshold=0.45) == pytest.approx(4 / 5)
    z = np.log(p / (1 - p))  # the same decisions from logits
    assert M.binary_accuracy(z, y, from_logits=True) == pytest.approx(3 / 5)
    assert M.binary_accuracy(z, y, threshold=0.45, from_logits=True) == pytest.approx(4 / 5)
    assert M.binary_accuracy(p, y.astype(bool)) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="does not match"):
        M.binary_accuracy(p, y[:3])


def test_regression_errors():
    p = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    y = np.array([[1.5, 2.0], [2.0, 1.0]], dtype=np.float32)
    assert M.mean_absolute_error(p, y) == pytest.approx((0.5 + 0 + 1 + 4) / 4)
    assert M.mean_squared_error(p, y) == pytest.approx((0.25 + 0 + 1 + 16) / 4)
    assert M.mean_squared_error(rb.tensor(p), rb.tensor(y)) == pytest.approx(17.25 / 4)
    with pytest.raises(ValueError, match="does not match"):
        M.mean_absolute_error(p, y[0])


# ------------------------------------------------------------------------------ objects
def _batches(n=203, num_classes=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, n)
    scores = rng.normal(size=(n, num_classes)).astype(np.float32)
    scores[np.arange(n), y] += rng.uniform(0, 1.5, n).astype(np.float32)  # better than chance
    cuts = [0, 7, 40, 41, 120, 180, n]  # uneven, one batch of a single sample
    return scores, y, [(scores[a:b], y[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


@pytest.mark.parametrize("make, fn", [
    (lambda: M.Accuracy(), M.accuracy),
    (lambda: M.TopKAccuracy(k=2), lambda p, y: M.top_k_accuracy(p, y, k=2)),
    (lambda: M.Precision(), M.precision),
    (lambda: M.Recall(average="weighted"), lambda p, y: M.recall(p, y, average="weighted")),
    (lambda: M.F1Score(), M.f1_score),
    (lambda: M.F1Score(num_classes=5, average="micro"),
     lambda p, y: M.f1_score(p, y, average="micro")),
], ids=["acc", "top2", "precision", "recall-weighted", "f1-macro", "f1-micro"])
def test_accumulated_equals_whole(make, fn):
    scores, y, batches = _batches()
    metric = make()
    for p, t in batches:
        metric.update(p, t)
    assert metric.result() == pytest.approx(fn(scores, y), rel=1e-12)
    metric.reset()
    assert metric.result() == 0.0
    metric.update(*batches[1])
    assert metric.result() == pytest.approx(fn(*batches[1]), rel=1e-12)


def test_macro_f1_is_not_the_mean_of_batch_f1s():
    scores, y, batches = _batches()
    metric = M.F1Score()
    for p, t in batches:
        metric.update(p, t)
    whole = M.f1_score(scores, y)
    batch_mean = np.mean([M.f1_score(p, t) for p, t in batches])
    assert metric.result() == pytest.approx(whole, rel=1e-12)
    assert abs(batch_mean - whole) > 1e-3  # the test would notice averaging per batch
    per_class = M.F1Score(average=None)
    for p, t in batches:
        per_class.update(p, t)
    np.testing.assert_allclose(per_class.result(), M.f1_score(scores, y, average=None))


def test_confusion_grows_without_num_classes():
    metric = M.Recall(average=None)
    metric.update(np.array([0, 1]), np.array([0, 1]))
    metric.update(np.array([3, 0]), np.array([3, 2]))  # classes 2 and 3 appear later
    y_true, y_pred = np.array([0, 1, 3, 2]), np.array([0, 1, 3, 0])
    np.testing.assert_array_equal(metric.confusion, M.confusion_matrix(y_true, y_pred))
    np.testing.assert_allclose(metric.result(), M.recall(y_pred, y_true, average=None))


def test_binary_and_regression_objects_accumulate():
    rng = np.random.default_rng(1)
    p, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    pairs = [(p[:13], y[:13]), (p[13:14], y[13:14]), (p[14:], y[14:])]
    for metric, fn in ((M.MeanAbsoluteError(), M.mean_absolute_error),
                       (M.MeanSquaredError(), M.mean_squared_error)):
        for a, b in pairs:
            metric.update(rb.tensor(a), b)
        assert metric.result() == pytest.approx(fn(p, y), rel=1e-12)
    z, t = rng.normal(size=60), rng.integers(0, 2, 60)
    metric = M.BinaryAccuracy(from_logits=True)
    for a, b in ((z[:25], t[:25]), (z[25:], t[25:])):
        metric.update(a, b)
    assert metric.result() == pytest.approx(np.mean((z > 0) == (t == 1)))


def test_mean_weighted_by_batch_size():
    loss = M.Mean(name="loss")
    assert loss.result() == 0.0
    loss.update(rb.tensor(2.0), 32)
    loss.update(4.0, 8)  # a short last batch counts for its 8 samples
    assert loss.result() == pytest.approx((2 * 32 + 4 * 8) / 40)
    plain = M.Mean()
    plain.update(np.array([1.0, 2.0, 3.0]))
    plain.update(5.0)
    assert plain.result() == pytest.approx(11 / 4)
    assert loss.name == "loss" and plain.name == "mean"


def test_get_metric_names():
    assert isinstance(M.get_metric("accuracy"), M.Accuracy)
    acc = M.get_metric("acc")
    assert isinstance(acc, M.Accuracy) and acc.name == "acc"  # logged as asked
    assert M.get_metric("top_k").k == 5
    assert M.get_metric("top5").k == 5 and M.get_metric("top_3").k == 3
    assert isinstance(M.get_metric("binary_accuracy"), M.BinaryAccuracy)
    assert isinstance(M.get_metric("Precision"), M.Precision)
    assert isinstance(M.get_metric("recall"), M.Recall)
    assert isinstance(M.get_metric("f1"), M.F1Score)
    assert isinstance(M.get_metric("mae"), M.MeanAbsoluteError)
    assert isinstance(M.get_metric("mse"), M.MeanSquaredError)
    a, b = M.get_metric("mse"), M.get_metric("mse")
    assert a is not b  # a fresh object each time
    metric = M.F1Score(num_classes=3)
    assert M.get_metric(metric) is metric
    with pytest.raises(ValueError, match=r"'auc'.*accuracy.*mse"):
        M.get_metric("auc")
    with pytest.raises(TypeError, match="int"):
        M.get_metric(3)
    assert "k=5" in repr(M.TopKAccuracy()) and "average='macro'" in repr(metric)


# ------------------------------------------------------------------------------ scikit-learn
@pytest.fixture
def sk():
    return pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_prf_against_sklearn(sk, seed, average):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 6, 300)
    y_pred = np.where(rng.uniform(size=300) < 0.5, y_true, rng.integers(0, 7, 300))
    y_pred[y_pred == 4] = 5  # class 4 is never predicted: zero_division matters
    for ours, theirs in ((M.precision, sk.precision_score), (M.recall, sk.recall_score),
                         (M.f1_score, sk.f1_score)):
        np.testing.assert_allclose(ours(y_pred, y_true, average=average),
                                   theirs(y_true, y_pred, average=average, zero_division=0),
                                   rtol=1e-12)
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred),
                                  sk.confusion_matrix(y_true, y_pred))
    assert M.accuracy(y_pred, y_true) == pytest.approx(sk.accuracy_score(y_true, y_pred))


def test_binary_and_topk_against_sklearn(sk):
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    for ours, theirs in ((M.precision, sk.precision_score), (M.recall, sk.recall_score),
                         (M.f1_score, sk.f1_score)):
        assert ours(y_pred, y_true, average="binary") == pytest.approx(
            theirs(y_true, y_pred, zero_division=0))
    scores, y = rng.normal(size=(200, 6)), rng.integers(0, 6, 200)  # no ties
    for k in (1, 2, 4):
        assert M.top_k_accuracy(scores, y, k=k) == pytest.approx(
            sk.top_k_accuracy_score(y, scores, k=k, labels=np.arange(6)))
    p, t = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    assert M.mean_absolute_error(p, t) == pytest.approx(sk.mean_absolute_error(t, p))
    assert M.mean_squared_error(p, t) == pytest.approx(sk.mean_squared_error(t, p))


def test_accuracy_with_one_hot_and_soft_targets_is_categorical():
    """Keras' "accuracy" against one-hot or Mixup-soft targets compares argmaxes."""
    from rosenblatt.metrics.functional import accuracy

    scores = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 0.5]], np.float32)
    one_hot = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    soft = np.array([[0.7, 0.3, 0.0], [0.0, 0.4, 0.6], [0.2, 0.8, 0.0]], np.float32)
    assert accuracy(scores, one_hot) == pytest.approx(2 / 3)
    assert accuracy(scores, soft) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="class distributions"):
        accuracy(scores, soft * 2)  # rows that do not sum to 1 are not distributions
