"""Metric objects that accumulate over batches, for the training loop (Keras' ``metrics``).

``update(y_pred, y_true)`` after every batch, ``result()`` for the epoch's value, ``reset()`` at
the start of the next epoch. Each object keeps the counts its ratio needs — correct and total,
or a confusion matrix — never per-batch results, so ``result()`` equals the metric of the
concatenated batches exactly (macro F1 included, which is not the mean of per-batch F1s)::

    acc = Accuracy()
    for x, y in batches:
        acc.update(model(x), y)
    print(acc.name, acc.result())

``get_metric("acc")`` resolves Keras-style names.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import functional as F


class Metric:
    """Base class: a value accumulated over batches.

    Subclasses set ``default_name`` and implement ``update``, ``result`` and ``reset``;
    ``name`` is the key under which the training loop logs the value.
    """

    default_name = "metric"

    def __init__(self, name: str | None = None) -> None:
        self.name = name if name is not None else self.default_name
        self.reset()

    def update(self, y_pred: Any, y_true: Any) -> None:
        """Add one batch of predictions and targets."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    def result(self) -> float:
        """The metric over everything added since the last ``reset``."""
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def reset(self) -> None:
        """Forget everything added so far."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset()")

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}(name={self.name!r}{', ' + extra if extra else ''})"


class _Ratio(Metric):
    """A metric of the form Σ numerator / Σ denominator over batches (0 before any data)."""

    def reset(self) -> None:
        self.total: float = 0
        self.count: float = 0

    def counts(self, y_pred: Any, y_true: Any) -> tuple[float, float]:
        raise NotImplementedError

    def update(self, y_pred: Any, y_true: Any) -> None:
        num, den = self.counts(y_pred, y_true)
        self.total += num
        self.count += den

    def result(self) -> float:
        return float(self.total) / float(self.count) if self.count else 0.0


class Accuracy(_Ratio):
    """Fraction of correct predictions, (1/N) Σ [ŷ = y]; see ``functional.accuracy``."""

    default_name = "accuracy"

    def counts(self, y_pred: Any, y_true: Any) -> tuple[float, float]:
        return F.accuracy_counts(y_pred, y_true)


class TopKAccuracy(_Ratio):
    """Fraction of samples whose true class is among the ``k`` highest scores."""

    default_name = "top_k_accuracy"

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        if int(k) < 1:
            raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k = int(k)
        super().__init__(name if name is not None else f"top_{self.k}_accuracy")

    def counts(self, y_pred: Any, y_true: Any) -> tuple[float, float]:
        return F.top_k_counts(y_pred, y_true, self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


class BinaryAccuracy(_Ratio):
    """Fraction of correct yes/no predictions, p > threshold against y > ½ (``from_logits``:
    σ(z) > threshold)."""

    default_name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, from_logits: bool = False,
                 name: str | None = None) -> None:
        self.threshold = float(threshold)
        self.from_logits = bool(from_logits)
        super().__init__(name)

    def counts(self, y_pred: Any, y_true: Any) -> tuple[float, float]:
        return F.binary_counts(y_pred, y_true, self.threshold, self.from_logits)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, from_logits={self.from_logits}"


class MeanAbsoluteError(_Ratio):
    """MAE = Σ|ŷ − y| / N over every element of every batch."""

    default_name = "mean_absolute_error"

    def counts(self, y_pred: Any, y_true: Any) -> tuple[float, float]:
        abs_sum, _, n = F.error_sums(y_pred, y_true, self.name)
        return abs_sum, n


class MeanSquaredError(_Ratio):
    """MSE = Σ(ŷ − y)² / N over every element of every batch."""

    default_name = "mean_squared_error"

    def counts(self, y_pred: Any, y_true: Any) -> tuple[float, float]:
        _, sq_sum, n = F.error_sums(y_pred, y_true, self.name)
        return sq_sum, n


class Mean(_Ratio):
    """A running (weighted) mean, Σ wᵢvᵢ / Σ wᵢ — for the loss, logged per epoch.

    ``update(value, weight=None)``: ``value`` is a number, Tensor or array (every element counts
    once); ``weight`` (a number or an array broadcastable to ``value``) scales the elements, e.g.
    ``update(batch_loss, batch_size)`` so the epoch loss is the per-sample mean even when the last
    batch is short.
    """

    default_name = "mean"

    def update(self, value: Any, weight: Any = None) -> None:  # type: ignore[override]
        v = F.as_array(value).astype(np.float64)
        w = np.ones_like(v) if weight is None else np.broadcast_to(
            F.as_array(weight).astype(np.float64), v.shape)
        self.total += float((v * w).sum())
        self.count += float(w.sum())


class _FromConfusion(Metric):
    """Precision, recall or F1 from a confusion matrix summed over batches."""

    metric = "f1_score"

    def __init__(self, num_classes: int | None = None, average: str | None = "macro",
                 name: str | None = None) -> None:
        if average not in F.AVERAGES:
            raise ValueError(f"{type(self).__name__}: average must be one of {F.AVERAGES}, got "
                             f"{average!r}")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.average = average
        super().__init__(name)

    def reset(self) -> None:
        c = self.num_classes or 0
        self.confusion = np.zeros((c, c), dtype=np.int64)

    def update(self, y_pred: Any, y_true: Any) -> None:
        cm = F.confusion_matrix(y_true, y_pred, self.num_classes)
        c = max(len(cm), len(self.confusion))  # without num_classes the matrix grows
        if len(self.confusion) < c:
            self.confusion = np.pad(self.confusion, (0, c - len(self.confusion)))
        self.confusion[: len(cm), : len(cm)] += cm

    def result(self) -> Any:
        """A float; a per-class NumPy array when ``average=None``."""
        return F.scores_from_confusion(self.confusion, self.metric, self.average)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, average={self.average!r}"


class Precision(_FromConfusion):
    """Precision = TP / (TP + FP), averaged as ``average``; see ``functional.precision``."""

    default_name = "precision"
    metric = "precision"


class Recall(_FromConfusion):
    """Recall = TP / (TP + FN), averaged as ``average``; see ``functional.recall``."""

    default_name = "recall"
    metric = "recall"


class F1Score(_FromConfusion):
    """F1 = 2TP / (2TP + FP + FN) per class, averaged as ``average``; see
    ``functional.f1_score``."""

    default_name = "f1_score"
    metric = "f1_score"


_NAMES: dict[str, type[Metric]] = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "sparse_categorical_accuracy": Accuracy,
    "top_k": TopKAccuracy,
    "top_k_accuracy": TopKAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "precision": Precision,
    "recall": Recall,
    "f1": F1Score,
    "f1_score": F1Score,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}
_TOP_N = re.compile(r"top_?(\d+)(_accuracy)?")


def get_metric(identifier: str | Metric) -> Metric:
    """A fresh metric object for a Keras-style name (the object is named as asked, so
    ``"acc"`` logs as ``acc``), or ``identifier`` itself when it already is a ``Metric``.

    Names: accuracy/acc, top_k (k = 5) or topN/top_N (e.g. ``"top5"``), binary_accuracy,
    precision, recall, f1/f1_score (macro), mae, mse (and their long forms).
    """
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"get_metric: expected a metric name or a Metric, got "
                        f"{type(identifier).__name__} ({identifier!r})")
    key = identifier.strip().lower()
    match = _TOP_N.fullmatch(key)
    if match:
        return TopKAccuracy(k=int(match.group(1)), name=identifier)
    if key not in _NAMES:
        raise ValueError(f"unknown metric {identifier!r}; known names: "
                         f"{', '.join(sorted(_NAMES))}, topN (e.g. 'top5')")
    return _NAMES[key](name=identifier)
