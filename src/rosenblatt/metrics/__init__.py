"""Metrics: plain functions (``accuracy(y_pred, y_true)``) and objects that accumulate over the
batches of an epoch (``Accuracy().update(y_pred, y_true)``), both NumPy-only, no autograd.

Division by zero gives 0 (scikit-learn's ``zero_division=0``). ``confusion_matrix`` takes
``(y_true, y_pred)`` like scikit-learn; every other function takes ``(y_pred, y_true)``.
"""

from __future__ import annotations

from .functional import (
    accuracy,
    binary_accuracy,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision,
    recall,
    top_k_accuracy,
)
from .stateful import (
    Accuracy,
    BinaryAccuracy,
    F1Score,
    Mean,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    Precision,
    Recall,
    TopKAccuracy,
    get_metric,
)

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "F1Score",
    "Mean",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "Recall",
    "TopKAccuracy",
    "accuracy",
    "binary_accuracy",
    "confusion_matrix",
    "f1_score",
    "get_metric",
    "mean_absolute_error",
    "mean_squared_error",
    "precision",
    "recall",
    "top_k_accuracy",
]
