"""Metrics as plain functions of predictions and targets (NumPy; no autograd, nothing recorded).

Every function takes ``(y_pred, y_true)`` — predictions first, as the losses do — except
``confusion_matrix(y_true, y_pred)``, which keeps scikit-learn's order and layout. Inputs may be
Tensors, NumPy or CuPy arrays (copied to the host: metrics are computed with NumPy), or nested
lists; results are Python floats (or NumPy arrays for per-class results).

Classification predictions come in two forms, told apart by shape:

* **class scores** (logits or probabilities), shape ``(..., C)`` with targets of shape ``(...)``:
  the predicted class is the argmax over the last dimension;
* **class indices**, the same shape as the targets.

Targets are class indices (a trailing dimension of size 1 is dropped, as Keras does); for one-hot
targets pass ``y_true.argmax(-1)``. A ratio whose denominator is zero is 0 (scikit-learn's
``zero_division=0``), so an empty batch gives 0.0 rather than NaN.

Each ratio is computed from counts that the stateful metrics in ``rosenblatt.metrics`` add up
over batches, so a metric accumulated batch by batch equals the metric of the whole data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor

AVERAGES = ("macro", "micro", "weighted", "binary", None)


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------


def as_array(x: Any) -> np.ndarray:
    """``x`` as a NumPy array: a Tensor's data, a CuPy array copied to the host, a PyTorch tensor
    read into NumPy, anything else through ``np.asarray`` (NumPy arrays are not copied)."""
    if isinstance(x, Tensor):
        x = x.data
    if type(x).__module__.split(".")[0] == "cupy":
        return x.get()
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch.Tensor: read, never import torch
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _drop_unit_dim(y_pred: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Targets ``(..., 1)`` against predictions of the same rank but another shape: drop the 1."""
    if (y_true.ndim >= 1 and y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
            and y_true.shape != y_pred.shape):
        y_true = y_true.reshape(y_true.shape[:-1])
    return y_pred, y_true


def _is_distributions(y_pred: np.ndarray, y_true: np.ndarray) -> bool:
    """True for class scores ``(..., C)`` against targets of the same shape that are class
    distributions (one-hot or soft labels: non-negative float rows summing to 1)."""
    return (y_pred.shape == y_true.shape and y_true.ndim >= 2 and y_true.shape[-1] >= 2
            and y_true.dtype.kind == "f" and y_pred.dtype.kind == "f"
            and bool((y_true >= 0).all())
            and bool(np.allclose(y_true.sum(axis=-1), 1.0, atol=1e-3)))


def _is_scores(y_pred: np.ndarray, y_true: np.ndarray, fn: str) -> bool:
    """True for class scores ``(..., C)`` against targets ``(...)``; False for labels of the
    targets' shape; ValueError (repeating both shapes) for anything else."""
    if y_pred.shape == y_true.shape:
        if y_pred.dtype.kind == "f" and bool((y_pred != np.round(y_pred)).any()):
            raise ValueError(
                f"{fn}: y_pred has the shape of y_true {tuple(y_true.shape)} but holds "
                "non-integer values, so it is neither class indices nor class scores (which "
                "need a class dimension). For probabilities of one class use binary_accuracy; "
                "targets that are class distributions (one-hot, soft labels) must be float "
                "rows summing to 1"
            )
        return False
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[:-1] == y_true.shape:
        if y_pred.shape[-1] < 2:
            raise ValueError(
                f"{fn}: y_pred of shape {tuple(y_pred.shape)} has a single score per sample; "
                "an argmax over it is always 0. Use binary_accuracy (threshold) instead"
            )
        return True
    raise ValueError(
        f"{fn}: y_pred of shape {tuple(y_pred.shape)} does not fit y_true of shape "
        f"{tuple(y_true.shape)}: expected class scores of shape y_true.shape + (C,) or class "
        "indices of shape y_true.shape"
    )


def class_labels(
    y_pred: Any, y_true: Any, fn: str = "metric"
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``(predicted labels, true labels, C)``: the argmax of class scores (C = their number of
    classes) or the labels as given (C = None)."""
    y_pred, y_true = _drop_unit_dim(as_array(y_pred), as_array(y_true))
    if _is_distributions(y_pred, y_true):  # one-hot or soft (Mixup) targets: Keras' categorical
        return y_pred.argmax(axis=-1), y_true.argmax(axis=-1), int(y_pred.shape[-1])
    if _is_scores(y_pred, y_true, fn):
        return y_pred.argmax(axis=-1), y_true, int(y_pred.shape[-1])
    return y_pred, y_true, None


def _int_labels(a: np.ndarray, what: str, fn: str) -> np.ndarray:
    """Class indices as a flat int64 array; non-integer or negative values raise."""
    a = np.asarray(a).reshape(-1)
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or bool((a != np.round(a)).any()):
            raise ValueError(f"{fn}: {what} must hold class indices, got non-integer values")
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{fn}: {what} must hold class indices, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"{fn}: {what} holds a negative class index ({a.min()})")
    return a


# ---------------------------------------------------------------------------------------------
# counts: (numerator, denominator) pairs that add up over batches
# ---------------------------------------------------------------------------------------------


def accuracy_counts(y_pred: Any, y_true: Any) -> tuple[int, int]:
    """(number of correct predictions, number of predictions)."""
    labels, y_true, _ = class_labels(y_pred, y_true, "accuracy")
    return int((labels == y_true).sum()), int(y_true.size)


def top_k_counts(y_pred: Any, y_true: Any, k: int = 5) -> tuple[int, int]:
    """(samples whose true class is among the k highest scores, samples)."""
    if int(k) < 1:
        raise ValueError(f"top_k_accuracy: k must be >= 1, got {k}")
    scores, y_true = _drop_unit_dim(as_array(y_pred), as_array(y_true))
    if not (scores.ndim == y_true.ndim + 1 and scores.shape[:-1] == y_true.shape):
        raise ValueError(
            f"top_k_accuracy: y_pred must be class scores of shape y_true.shape + (C,), got "
            f"y_pred {tuple(scores.shape)} and y_true {tuple(y_true.shape)}"
        )
    num_classes = scores.shape[-1]
    idx = _int_labels(y_true, "y_true", "top_k_accuracy")
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"top_k_accuracy: class index {idx.max()} in y_true, but y_pred has "
                         f"{num_classes} classes")
    flat = scores.reshape(-1, num_classes)  # (N, C)
    true_score = np.take_along_axis(flat, idx[:, None], axis=-1)  # (N, 1)
    # rank = classes scored strictly higher than the true one: ties count in its favour (Keras)
    rank = (flat > true_score).sum(axis=-1)
    return int((rank < int(k)).sum()), int(idx.size)


def binary_counts(y_pred: Any, y_true: Any, threshold: float = 0.5,
                  from_logits: bool = False) -> tuple[int, int]:
    """(correct thresholded predictions, predictions)."""
    p, t = as_array(y_pred), as_array(y_true)
    if p.shape != t.shape:
        if p.ndim == t.ndim + 1 and p.shape[-1] == 1:
            p = p.reshape(p.shape[:-1])
        elif t.ndim == p.ndim + 1 and t.shape[-1] == 1:
            t = t.reshape(t.shape[:-1])
    if p.shape != t.shape:
        raise ValueError(f"binary_accuracy: y_pred of shape {tuple(p.shape)} does not match "
                         f"y_true of shape {tuple(t.shape)}")
    cut = float(threshold)
    if from_logits:
        if not 0.0 < cut < 1.0:
            raise ValueError(f"binary_accuracy: threshold must lie in (0, 1), got {threshold}")
        cut = float(np.log(cut) - np.log1p(-cut))  # σ(z) > t  ⇔  z > log(t / (1 − t))
    return int(((p > cut) == (t > 0.5)).sum()), int(t.size)


def error_sums(y_pred: Any, y_true: Any, fn: str) -> tuple[float, float, int]:
    """(Σ|ŷ − y|, Σ(ŷ − y)², number of elements), summed in float64."""
    p, t = as_array(y_pred), as_array(y_true)
    if p.shape != t.shape:
        raise ValueError(f"{fn}: y_pred of shape {tuple(p.shape)} does not match y_true of "
                         f"shape {tuple(t.shape)}")
    d = p.astype(np.float64) - t.astype(np.float64)
    return float(np.abs(d).sum()), float((d * d).sum()), int(d.size)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


# ---------------------------------------------------------------------------------------------
# the metrics
# ---------------------------------------------------------------------------------------------


def accuracy(y_pred: Any, y_true: Any) -> float:
    """Fraction of correct predictions: (1/N) Σᵢ [ŷᵢ = yᵢ].

    ``y_pred``: class scores ``(..., C)`` (ŷ = argmax over the last dimension) or class indices
    of ``y_true``'s shape. ``y_true``: class indices ``(...)``.
    """
    return _ratio(*accuracy_counts(y_pred, y_true))


def top_k_accuracy(y_pred: Any, y_true: Any, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    A sample counts as a hit when fewer than k classes score strictly higher than its true class
    (so ties at the k-th place count as hits, as in Keras). ``y_pred``: scores ``(..., C)``;
    ``y_true``: class indices ``(...)``. k = 1 is ``accuracy`` up to ties.
    """
    return _ratio(*top_k_counts(y_pred, y_true, k))


def binary_accuracy(y_pred: Any, y_true: Any, threshold: float = 0.5,
                    from_logits: bool = False) -> float:
    """Fraction of correct yes/no predictions: (1/N) Σᵢ [(pᵢ > threshold) = (yᵢ > ½)].

    ``y_pred``: probabilities, or logits z with ``from_logits=True`` (then σ(z) > threshold, i.e.
    z > log(t/(1−t))). ``y_true``: 0/1 targets (bool, int or float; soft targets count as positive
    above ½). A trailing dimension of size 1 on either side is dropped.
    """
    return _ratio(*binary_counts(y_pred, y_true, threshold, from_logits))


def mean_absolute_error(y_pred: Any, y_true: Any) -> float:
    """MAE = (1/N) Σᵢ |ŷᵢ − yᵢ| over every element (shapes must match)."""
    abs_sum, _, n = error_sums(y_pred, y_true, "mean_absolute_error")
    return _ratio(abs_sum, n)


def mean_squared_error(y_pred: Any, y_true: Any) -> float:
    """MSE = (1/N) Σᵢ (ŷᵢ − yᵢ)² over every element (shapes must match)."""
    _, sq_sum, n = error_sums(y_pred, y_true, "mean_squared_error")
    return _ratio(sq_sum, n)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """The C × C count matrix M with Mᵢⱼ = #samples of true class i predicted as class j.

    Rows are true classes, columns predicted classes, as scikit-learn — and, like scikit-learn,
    **targets come first**. ``y_pred`` may be class scores ``(..., C)`` or class indices.
    ``num_classes`` defaults to the number of scores, else to the largest index + 1; an index
    ≥ ``num_classes`` raises. Returns int64.
    """
    labels, truth, n_scores = class_labels(y_pred, y_true, "confusion_matrix")
    t = _int_labels(truth, "y_true", "confusion_matrix")
    p = _int_labels(labels, "y_pred", "confusion_matrix")
    if num_classes is None:
        num_classes = n_scores if n_scores is not None else (
            int(max(t.max(initial=-1), p.max(initial=-1))) + 1)
    c = int(num_classes)
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and a.max() >= c:
            raise ValueError(f"confusion_matrix: class index {a.max()} in {name}, but "
                             f"num_classes={c}")
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c)


def scores_from_confusion(cm: np.ndarray, metric: str, average: str | None) -> Any:
    """Precision, recall or F1 (``metric``) from a confusion matrix, averaged as ``average``.

    Per class c, with TPc = Mcc, FPc = Σᵢ Mic − TPc, FNc = Σⱼ Mcj − TPc:
    precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN) (their harmonic mean), each
    0 where its denominator is 0. Averages: ``None`` the per-class array; ``'micro'`` the ratio
    of the summed counts; ``'macro'`` the plain mean over the classes that occur in the targets
    or the predictions (TP+FP+FN > 0; scikit-learn's default labels); ``'weighted'`` the mean
    weighted by support (TP+FN); ``'binary'`` the score of class 1 (at most two classes).
    """
    if average not in AVERAGES:
        raise ValueError(f"{metric}: average must be one of {AVERAGES}, got {average!r}")
    if metric not in ("precision", "recall", "f1_score"):
        raise ValueError(f"unknown metric {metric!r}: expected precision, recall or f1_score")
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp

    def score(tp: Any, fp: Any, fn: Any) -> Any:
        num = {"precision": tp, "recall": tp, "f1_score": 2 * tp}[metric]
        den = {"precision": tp + fp, "recall": tp + fn, "f1_score": 2 * tp + fp + fn}[metric]
        num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    if average == "micro":
        return float(score(tp.sum(), fp.sum(), fn.sum()))
    per_class = score(tp, fp, fn)
    if average is None:
        return per_class
    if average == "binary":
        if len(cm) > 2:
            raise ValueError(f"{metric}: average='binary' needs at most 2 classes, got "
                             f"{len(cm)}; choose 'macro', 'micro', 'weighted' or None")
        return float(per_class[1]) if len(cm) == 2 else 0.0
    if average == "weighted":
        support = tp + fn
        return _ratio(float((per_class * support).sum()), float(support.sum()))
    present = (tp + fp + fn) > 0
    return float(per_class[present].mean()) if present.any() else 0.0


def _prf(y_pred: Any, y_true: Any, metric: str, num_classes: int | None,
         average: str | None) -> Any:
    if average not in AVERAGES:  # checked before the data, so a typo fails fast
        raise ValueError(f"{metric}: average must be one of {AVERAGES}, got {average!r}")
    return scores_from_confusion(confusion_matrix(y_true, y_pred, num_classes), metric, average)


def precision(y_pred: Any, y_true: Any, num_classes: int | None = None,
              average: str | None = "macro") -> Any:
    """Precision = TP / (TP + FP): of the samples predicted as class c, the fraction that are c.

    ``average``: ``'macro'`` (default), ``'micro'``, ``'weighted'``, ``'binary'`` (class 1) or
    ``None`` (an array of one precision per class); see ``scores_from_confusion``. Micro
    precision of single-label predictions equals accuracy.
    """
    return _prf(y_pred, y_true, "precision", num_classes, average)


def recall(y_pred: Any, y_true: Any, num_classes: int | None = None,
           average: str | None = "macro") -> Any:
    """Recall = TP / (TP + FN): of the samples of class c, the fraction predicted as c.

    ``average`` as for ``precision``; ``'weighted'`` recall equals accuracy.
    """
    return _prf(y_pred, y_true, "recall", num_classes, average)


def f1_score(y_pred: Any, y_true: Any, num_classes: int | None = None,
             average: str | None = "macro") -> Any:
    """F1 = 2·P·R / (P + R) = 2TP / (2TP + FP + FN), per class, then averaged.

    ``average`` as for ``precision``. Macro F1 is the mean of the per-class F1 scores — not the F1
    of macro precision and macro recall, and not the mean of per-batch F1 scores.
    """
    return _prf(y_pred, y_true, "f1_score", num_classes, average)
