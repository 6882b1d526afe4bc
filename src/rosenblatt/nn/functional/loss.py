"""Loss functions, PyTorch's names and arguments: ``F.mse_loss(input, target)``, …

``input`` is the prediction ŷ (a Tensor), ``target`` the truth y (a Tensor or an array); the
argument order is PyTorch's (prediction first), the reverse of Keras' ``loss(y_true, y_pred)``.
Every loss takes ``reduction``: ``'none'`` (one loss per element), ``'mean'`` (the default: the
notes' *empirical loss*, the mean over the data) or ``'sum'``.

The cross-entropies, NLL and the two binary cross-entropies are hand-written ops
(``rosenblatt.ops.loss``); the regression and margin losses are composed from primitives and need
no backward of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import functional as rbf
from ...backend import get_array_module
from ...ops.loss import NLL, BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy
from ...tensor import Tensor

__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "hinge_loss",
    "multi_margin_loss",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]

REDUCTIONS = ("none", "mean", "sum")
PROB_EPS = 1e-7  # probabilities are clipped to [PROB_EPS, 1] before the log (as Keras' epsilon)

# ------------------------------------------------------------------ regression


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: l = (ŷ − y)²;  'mean' gives (1/n) Σ (y − ŷ)².

    The notes' L = ½ Σ (Y − Y′)² is ``0.5 * mse_loss(Y, Y′, reduction='sum')``: the ½ only
    cancels the 2 of the derivative, so ∂L/∂Y = Y − Y′; 'mean' divides by n instead (the
    empirical loss, the mean over the data set). Shapes: input and target alike, any shape.
    """
    input, target = _regression_pair("mse_loss", input, target, reduction)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error (MAE): l = |ŷ − y|;  ∂l/∂ŷ = sign(ŷ − y) (0 at a tie, as PyTorch)."""
    input, target = _regression_pair("l1_loss", input, target, reduction)
    return _reduce(rbf.abs(input - target), reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: with d = ŷ − y, l = ½ d² where |d| < δ, else δ (|d| − ½ δ).

    Quadratic near 0, linear (gradient ±δ) beyond δ, so outliers pull less than in MSE.
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _regression_pair("huber_loss", input, target, reduction)
    d = input - target
    a = rbf.abs(d)
    loss = rbf.where(a.data < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _reduce(loss, reduction)


def smooth_l1_loss(
    input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """Smooth L1: with d = ŷ − y, l = ½ d² / β where |d| < β, else |d| − ½ β.

    It equals huber_loss / β (δ = β); β = 0 gives the L1 loss.
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _regression_pair("smooth_l1_loss", input, target, reduction)
    d = input - target
    a = rbf.abs(d)
    if beta == 0:
        return _reduce(a, reduction)
    loss = rbf.where(a.data < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ binary classification


def binary_cross_entropy(
    input: Tensor, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities p = ŷ ∈ [0, 1] (a sigmoid's output):

        l = −w (y ln p + (1 − y) ln(1 − p)),   each log clamped at −100 as PyTorch.

    Targets y ∈ [0, 1], same shape as p (several columns: multi-label classification, one
    independent yes/no per class). ``weight`` broadcasts against p. Prefer
    ``binary_cross_entropy_with_logits`` on the raw scores: it is exact where σ saturates.
    """
    input, target = _regression_pair("binary_cross_entropy", input, target, reduction)
    p = input.data
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(
            "binary_cross_entropy: input must hold probabilities in [0, 1], got values in "
            f"[{float(p.min()):.4g}, {float(p.max()):.4g}]; pass raw scores to "
            "binary_cross_entropy_with_logits instead"
        )
    w = _array(weight, input, "binary_cross_entropy", "weight")
    return BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy of logits x (before the sigmoid), computed stably:

        l = w (max(x, 0) − x y + ln(1 + exp(−|x|)))            = BCE(σ(x), y)
        l = w ((1 − y) x + (1 + (π − 1) y) ln(1 + exp(−x)))   with pos_weight π

    π > 1 weighs the positives up (π = #negatives / #positives balances a class); it has one
    entry per class (the last axis). Never overflows, for any |x|; ∂l/∂x = w (σ(x) − y).
    Shapes: input and target alike; ``weight`` broadcasts against input.
    """
    input, target = _regression_pair(
        "binary_cross_entropy_with_logits", input, target, reduction
    )
    w = _array(weight, input, "binary_cross_entropy_with_logits", "weight")
    pw = _array(pos_weight, input, "binary_cross_entropy_with_logits", "pos_weight")
    return BinaryCrossEntropyWithLogits.apply(
        input, target, weight=w, pos_weight=pw, reduction=reduction
    )


# ------------------------------------------------------------------ multi-class classification


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits (softmax is applied inside, stably): as PyTorch's.

        l_i = −Σ_c q_ic log softmax(x_i)_c,  ∂l_i/∂x_i = softmax(x_i) − q_i

    where q_i is the target distribution: a one-hot at the class index y_i, or the given
    probabilities t_i (soft labels, e.g. mixup's 0.4 cat / 0.6 dog). Label smoothing ε mixes in
    the uniform distribution: q ← (1 − ε) q + ε/C. Class weights w (C,) scale class c's term; with
    index targets 'mean' is the weighted mean Σ_i w_{y_i} l_i / Σ_i w_{y_i}, and targets equal to
    ``ignore_index`` count nowhere (all ignored: nan, as PyTorch). With probability targets
    'mean' divides by the number of samples N·d1·….

    Shapes: input (N, C), (N, C, d1, …) or (C,); target class indices, int64, of shape (N,),
    (N, d1, …) or (); or probabilities of the input's shape. 'none' returns (N, d1, …).
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    input = _tensor(input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    w = _class_weight(name, weight, input)
    target = _tensor(target, input)
    if target.dtype.kind == "f" and target.shape == input.shape:
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index is not supported with probability targets")
        target = _cast(target, input)
    else:
        _check_class_indices(name, input, target, ignore_index)
    return CrossEntropy.apply(
        input,
        target,
        weight=w,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: l_i = −w_{y_i} x_{i, y_i}, input x holding log-probabilities
    (a log_softmax's output), so ``nll_loss(log_softmax(z), y) == cross_entropy(z, y)``.

    Weights, ``ignore_index`` and 'mean' (= Σ w_{y_i} l_i / Σ w_{y_i}) as in ``cross_entropy``.
    Shapes: input (N, C), (N, C, d1, …) or (C,); target int64 (N,), (N, d1, …) or ().
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    input = _tensor(input)
    w = _class_weight(name, weight, input)
    target = _tensor(target, input)
    _check_class_indices(name, input, target, ignore_index)
    return NLL.apply(input, target, weight=w, ignore_index=ignore_index, reduction=reduction)


def categorical_crossentropy(
    input: Tensor,
    target: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Keras' categorical cross-entropy: targets are probabilities (one-hot rows), the class
    axis is axis 1, and by default ``input`` holds probabilities (a softmax's output):

        l_i = −Σ_c t_ic ln p_ic    (p clipped to [1e-7, 1] before the log, as Keras)

    This is the notes' L_CE = −Σ_i T_i log(S_i). The probabilities are used as given (Keras
    first rescales each row to sum to 1; we do not, so the notes' example reproduces exactly).
    In bits (the notes' log₂) divide by ln 2: log₂ a = ln a / ln 2. The notes' slide formula
    with the extra (1 − y) log(1 − ŷ) term is binary cross-entropy summed over the classes
    (multi-label; see ``binary_cross_entropy``), not the softmax loss.

    ``from_logits=True`` applies the softmax inside: ``cross_entropy`` with probability targets.
    Shapes: input and target (N, C) or (N, C, d1, …) or (C,).
    """
    name = "categorical_crossentropy"
    _check_reduction(name, reduction)
    input = _tensor(input)
    target = _tensor(target, input)
    if target.dtype.kind != "f" or target.shape != input.shape:
        raise ValueError(
            f"{name}: expects probability (one-hot) targets of the input's shape "
            f"{input.shape}, got {target.dtype} target of shape {target.shape}; for class "
            "indices use sparse_categorical_crossentropy"
        )
    if from_logits:
        return cross_entropy(input, target, reduction=reduction, label_smoothing=label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _cast(target, input)
    if label_smoothing:
        classes = input.shape[1] if input.ndim > 1 else input.shape[0]
        target = (1 - label_smoothing) * target + label_smoothing / classes
    log_p = rbf.log(rbf.clip(input, PROB_EPS, 1.0))
    loss = -rbf.sum(target * log_p, dim=1 if input.ndim > 1 else 0)
    return _reduce(loss, reduction)


def sparse_categorical_crossentropy(
    input: Tensor,
    target: Any,
    from_logits: bool = False,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Keras' sparse categorical cross-entropy: targets are class indices (int64), ``input``
    holds probabilities (class axis 1) unless ``from_logits=True``:

        l_i = −ln p_{i, y_i}   (p clipped to [1e-7, 1]),  i.e. nll_loss(ln p, y)

    ``from_logits=True`` is ``cross_entropy(input, target)``.
    """
    name = "sparse_categorical_crossentropy"
    _check_reduction(name, reduction)
    if from_logits:
        return cross_entropy(input, target, ignore_index=ignore_index, reduction=reduction)
    input = _tensor(input)
    _check_class_indices(name, input, _tensor(target, input), ignore_index)
    log_p = rbf.log(rbf.clip(input, PROB_EPS, 1.0))
    return nll_loss(log_p, target, ignore_index=ignore_index, reduction=reduction)


def kl_div(
    input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """Kullback–Leibler divergence KL(t ‖ p), as PyTorch: ``input`` is log p (log-probabilities,
    a log_softmax's output), ``target`` is t (or log t with ``log_target=True``):

        l = t (ln t − ln p)   (0 where t = 0)      or   l = eᵗ (t − ln p)  with log_target

    'batchmean' (Σ l / N, the true KL divergence per sample) is what one usually wants; 'mean'
    divides by the number of elements instead (PyTorch's default). ∂l/∂(ln p) = −t;
    ∂l/∂t = ln t + 1 − ln p (for t > 0). Shapes: input and target alike.
    """
    name = "kl_div"
    _check_reduction(name, reduction, extra=("batchmean",))
    input, target = _regression_pair(name, input, target, "none")
    if log_target:
        loss = rbf.exp(target) * (target - input)
    else:
        positive = target.data > 0
        safe = rbf.where(positive, target, 1.0)  # t ln t → 0 at t = 0
        loss = target * (rbf.log(safe) - input)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ margins


def hinge_loss(
    input: Tensor, target: Any, squared: bool = False, reduction: str = "mean"
) -> Tensor:
    """Binary hinge loss (the linear SVM, as R-CNN's per-class classifiers):

        l = max(0, 1 − y ŷ)        or  max(0, 1 − y ŷ)²  with ``squared=True``

    Targets y ∈ {−1, +1}; targets that are all 0 or 1 are mapped to −1/+1 first, as Keras does.
    ŷ is a raw score (no sigmoid). ∂l/∂ŷ = −y where y ŷ < 1, else 0 (0 exactly at the hinge).
    Shapes: input and target alike.
    """
    name = "hinge_loss"
    input, target = _regression_pair(name, input, target, reduction)
    y = target.data
    if y.size and bool(((y == 0) | (y == 1)).all()):
        target = 2.0 * target - 1.0
    margin = 1.0 - target * input
    loss = rbf.where(margin.data > 0, margin, 0.0)
    if squared:
        loss = loss * loss
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss, as PyTorch's ``multi_margin_loss`` (Weston–Watkins SVM):

        l_i = (1/C) Σ_{c ≠ y_i} w_{y_i} max(0, margin − x_{i, y_i} + x_{i, c})ᵖ,   p ∈ {1, 2}

    The score of the true class must beat every other by ``margin``. 'mean' averages over N.
    Shapes: input (N, C) or (C,); target int64 (N,) or ().
    """
    name = "multi_margin_loss"
    _check_reduction(name, reduction)
    if p not in (1, 2):
        raise ValueError(f"{name}: p must be 1 or 2, got {p}")
    input = _tensor(input)
    if input.ndim not in (1, 2):
        raise ValueError(f"{name}: input must have shape (N, C) or (C,), got {input.shape}")
    target = _tensor(target, input)
    _check_class_indices(name, input, target, ignore_index=None)
    w = _class_weight(name, weight, input)
    classes = input.shape[-1]
    x = input if input.ndim == 2 else rbf.reshape(input, (1, classes))  # (N, C)
    y = target.data.reshape(-1, 1)  # (N, 1)
    x_true = rbf.gather(x, 1, y)  # (N, 1)
    z = margin - x_true + x  # (N, C)
    xp = get_array_module(y)
    other = xp.arange(classes)[None, :] != y  # (N, C): False at the true class
    h = rbf.where(other & (z.data > 0), z, 0.0)
    if p == 2:
        h = h * h
    if w is not None:
        h = h * w[y]
    loss = rbf.reshape(rbf.sum(h, dim=1) / classes, target.shape)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ helpers


def _check_reduction(name: str, reduction: str, extra: tuple[str, ...] = ()) -> None:
    valid = REDUCTIONS + extra
    if reduction not in valid:
        raise ValueError(
            f"{name}: reduction must be one of {', '.join(map(repr, valid))}, got {reduction!r}"
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=None if like is None else like.device)


def _cast(t: Tensor, like: Tensor) -> Tensor:
    """``t`` in ``like``'s floating dtype (differentiably)."""
    return t if t.dtype == like.dtype else t.to(like.dtype)


def _regression_pair(name: str, input: Any, target: Any, reduction: str) -> tuple[Tensor, Tensor]:
    """Input and target as Tensors of the same shape and floating dtype, or a ValueError that
    names the loss and both shapes."""
    _check_reduction(name, reduction)
    input = _tensor(input)
    target = _tensor(target, input)
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target.shape} must be the same"
        )
    if input.dtype.kind != "f":
        raise ValueError(f"{name}: input must be floating point, got {input.dtype}")
    return input, _cast(target, input)


def _array(value: Any, like: Tensor, name: str, what: str) -> Any:
    """An optional constant (weight, pos_weight) as an array of ``like``'s dtype and device."""
    if value is None:
        return None
    arr = Tensor(value.data if isinstance(value, Tensor) else value, dtype=like.dtype,
                 device=like.device).data
    try:
        np.broadcast_shapes(tuple(arr.shape), like.shape)
    except ValueError:
        raise ValueError(
            f"{name}: {what} of shape {tuple(arr.shape)} does not broadcast against input "
            f"shape {like.shape}"
        ) from None
    return arr


def _class_weight(name: str, weight: Any, input: Tensor) -> Any:
    if weight is None:
        return None
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    arr = Tensor(weight.data if isinstance(weight, Tensor) else weight, dtype=input.dtype,
                 device=input.device).data
    if arr.shape != (classes,):
        raise ValueError(
            f"{name}: weight must have one entry per class, shape ({classes},), "
            f"got {tuple(arr.shape)}"
        )
    return arr


def _check_class_indices(name: str, input: Tensor, target: Tensor, ignore_index: Any) -> None:
    """Targets must be integer class indices of shape (N, d1, …) in [0, C) (or ignore_index)."""
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a 0-d input")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if target.dtype.kind not in "iu":
        hint = (f", or probabilities of the input's shape {input.shape}"
                if name == "cross_entropy" else "")
        raise ValueError(
            f"{name}: target must hold integer class indices (int64) of shape {expected}"
            f"{hint}; got a {target.dtype} target of shape {target.shape}"
        )
    if target.shape != expected:
        raise ValueError(
            f"{name}: input shape {input.shape} expects class-index targets of shape "
            f"{expected}, got target shape {target.shape}"
        )
    y = target.data
    if y.size == 0:
        return
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    bad = (y < 0) | (y >= classes)
    if ignore_index is not None:
        bad &= y != ignore_index
    if bool(bad.any()):
        value = int(y[bad].reshape(-1)[0])
        allowed = f"0 … {classes - 1}"
        if ignore_index is not None:
            allowed += f" (or ignore_index={ignore_index})"
        raise ValueError(
            f"{name}: target class index {value} is out of range for {classes} classes; "
            f"expected {allowed}"
        )
