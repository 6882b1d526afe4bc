"""Losses written by hand: softmax cross-entropy from logits, negative log-likelihood, and binary
cross-entropy on probabilities and on logits. They sit on every classifier's hot path, and a
composed version would be slower (several intermediate arrays) and less stable.

Every op takes ``reduction``: ``'none'`` returns the per-element loss l, ``'sum'`` returns Σ l and
``'mean'`` returns Σ l / D (D is the number of elements, or the sum of the class weights for the
class-index losses, exactly as PyTorch). ``backward`` first turns ``dy`` into ``g``, the gradient
with respect to each element of l (``dy``, ``dy`` broadcast, or ``dy / D``), then applies the
local derivative. When D = 0 (every target ignored) the loss is nan and the gradient 0, as in
PyTorch.

Class layout (cross-entropy, NLL): classes along axis 1, as PyTorch: x of shape (N, C),
(N, C, d1, …) or (C,); internally viewed as (M, C) with M = N·d1·… rows.

With numba (optional, ``ops/jit.py``), cross-entropy with plain class indices (no weights, no
smoothing, nothing ignored) on C-contiguous NumPy float32/64 logits runs the compiled rows of
``ops/loss_numba.py`` instead: the same formulas in one call forward and one backward (about
10 NumPy calls less each way), equal to the NumPy path within a few units in the last place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from . import jit


def classes_last(x: Any) -> Any:
    """(N, C, d1, …) → (M, C), M = N·d1·…;  (N, C) unchanged;  (C,) → (1, C)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim == 2:
        return x
    xp = get_array_module(x)
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])  # (N, d1, …, C) → (M, C)


def classes_back(g: Any, shape: tuple) -> Any:
    """The inverse of ``classes_last``: (M, C) → ``shape``."""
    if len(shape) <= 2:
        return g.reshape(shape)
    xp = get_array_module(g)
    moved = (shape[0], *shape[2:], shape[1])  # (N, d1, …, C)
    return xp.moveaxis(g.reshape(moved), -1, 1)


def reduce_loss(loss: Any, reduction: str, denom: Any) -> Any:
    """l ('none'), Σ l ('sum') or Σ l / denom ('mean'; nan when denom = 0)."""
    if reduction == "none":
        return loss
    xp = get_array_module(loss)
    total = loss.sum()
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            total = total / denom
    return xp.asarray(total, dtype=loss.dtype)


def element_grad(dy: Any, reduction: str, denom: Any, shape: tuple) -> Any:
    """g = ∂(reduced loss)/∂l, broadcastable to ``shape`` (the shape of l)."""
    if reduction == "none":
        return dy.reshape(shape)
    if reduction == "sum":
        return dy
    if denom == 0:
        return dy * 0
    return dy / denom


def pick_weights(y: Any, weight: Any, ignore_index: int, dtype: Any) -> tuple[Any, Any, Any]:
    """For class indices y (any shape): the flat indices with ignored entries set to 0, the keep
    mask, and w_y = weight[y] · keep (keep itself when there is no weight)."""
    xp = get_array_module(y)
    flat = y.reshape(-1)
    keep = flat != ignore_index
    safe = xp.where(keep, flat, 0)
    wy = keep.astype(dtype) if weight is None else weight[safe] * keep
    return safe, keep, wy


def _compiled(z: Any, t: Any) -> Any:
    """The cross-entropy kernels (``ops/loss_numba.py``) when they may run on logits z (M, C)
    and class indices t: NumPy float32/64 logits, C-contiguous, integer indices, numba on;
    else None."""
    if jit.mode() is False or not jit.supports(z) or not z.flags.c_contiguous \
            or type(t) is not np.ndarray:
        return None
    return jit.kernels("loss_numba")


class CrossEntropy(Function):
    """Softmax cross-entropy from logits x (N, C, d1, …), fused with a stable log-softmax.

    forward:  log p = (x − m) − ln Σ_c exp(x_c − m),  m = max_c x_c   (never overflows)
              l_i = −Σ_c q_ic log p_ic, where q_i is the target distribution:
                class index y_i:  q_ic = (1 − ε) w_{y_i} [c = y_i] + (ε/C) w_c   (0 if ignored)
                probabilities t:  q_ic = w_c ((1 − ε) t_ic + ε/C)
              (w = 1 without class weights, ε = label_smoothing). 'mean' divides Σ l by
              Σ_i w_{y_i} over the kept targets (index targets) or by M (probability targets).
    backward: dx_i = g_i (p_i Σ_c q_ic − q_i)    (= g_i (p_i − q_i) when q_i sums to 1)
              dt_i = −g_i (1 − ε) w log p_i       (probability targets only)

    Shapes: index targets (N, d1, …) (or () for x of shape (C,)); probability targets like x;
    'none' returns (N, d1, …).
    """

    def forward(
        self,
        x: Any,
        t: Any,
        weight: Any = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> Any:
        xp = get_array_module(x)
        z = classes_last(x)  # (M, C)
        M, C = z.shape
        eps = float(label_smoothing)
        self.x_shape, self.t_shape, self.reduction, self.eps = x.shape, t.shape, reduction, eps
        self.index = t.dtype.kind in "iu"
        self.plain = False
        if self.index and weight is None and not eps:
            y = t.reshape(-1)
            self.plain = bool((y != ignore_index).all())
        kern = _compiled(z, t) if self.plain and M and C else None
        if kern is not None:  # the plain case in one compiled pass (ops/loss_numba.py)
            logp, loss = np.empty_like(z), np.empty(M, z.dtype)
            if not kern.cross_entropy_forward(z, y, logp, loss):
                kern = None  # a class index out of range: NumPy's indexing reports it
        self.kern = kern
        if kern is None:
            if M and C:
                shifted = z - z.max(axis=1, keepdims=True)
                logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
            else:
                logp = z
        if self.plain:  # the common case, q = one-hot: l_i = −log p_{i, y_i}, D = M
            if kern is None:
                loss = -logp[xp.arange(M), y]
            self.denom = z.dtype.type(M)
            self.save_for_backward(logp, y)
            out_shape = t.shape
        elif self.index:
            y, keep, wy = pick_weights(t, weight, ignore_index, z.dtype)
            loss = -(1 - eps) * wy * logp[xp.arange(M), y]
            if eps:
                wlogp = logp if weight is None else logp * weight
                loss = loss - (eps / C) * wlogp.sum(axis=1) * keep
            self.denom = wy.sum()
            self.save_for_backward(logp, y, keep, wy, weight)
            out_shape = t.shape
        else:
            q = classes_last(t)
            if eps:
                q = (1 - eps) * q + eps / C
            if weight is not None:
                q = q * weight
            loss = -(q * logp).sum(axis=1)
            self.denom = M
            self.save_for_backward(logp, q, weight)
            out_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
        self.loss_shape = out_shape
        return reduce_loss(loss.reshape(out_shape), reduction, self.denom)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        eps = self.eps
        g = element_grad(dy, self.reduction, self.denom, self.loss_shape)
        g = g.reshape(-1, 1) if g.ndim else g  # (M, 1) or a scalar
        if self.plain:  # dx_i = g_i (p_i − onehot(y_i))
            logp, y = self.saved_tensors
            if self.kern is not None and g.dtype == logp.dtype:
                dz = np.empty_like(logp)
                self.kern.cross_entropy_backward(logp, y, g.reshape(-1), dz)
                return classes_back(dz, self.x_shape), None
            dz = xp.exp(logp)
            dz[xp.arange(dz.shape[0]), y] -= 1
            dz *= g
            return classes_back(dz, self.x_shape), None
        if self.index:
            logp, y, keep, wy, weight = self.saved_tensors
            M, C = logp.shape
            p = xp.exp(logp)
            q_sum = (1 - eps) * wy
            if eps:
                w_total = C if weight is None else weight.sum()
                q_sum = q_sum + eps / C * w_total * keep
            dz = p * q_sum[:, None]
            dz[xp.arange(M), y] -= (1 - eps) * wy
            if eps:
                w_row = 1 if weight is None else weight
                dz -= (eps / C) * w_row * keep[:, None].astype(dz.dtype)
            dz *= g
            return classes_back(dz, self.x_shape), None
        logp, q, weight = self.saved_tensors
        dx = dt = None
        if self.parents[0] is not None:
            p = xp.exp(logp)
            dx = classes_back((p * q.sum(axis=1, keepdims=True) - q) * g, self.x_shape)
        if self.parents[1] is not None:
            dtz = -(1 - eps) * logp * g
            if weight is not None:
                dtz = dtz * weight
            dt = classes_back(dtz, self.t_shape)
        return dx, dt


class NLL(Function):
    """Negative log-likelihood of class indices; x (N, C, d1, …) holds log-probabilities.

    forward:  l_i = −w_{y_i} x_{i, y_i}   (0 where y_i = ignore_index)
              'mean' divides Σ l by Σ_i w_{y_i} over the kept targets (nan when that is 0)
    backward: dx_{i,c} = −g_i w_{y_i} [c = y_i]
    """

    def forward(
        self,
        x: Any,
        t: Any,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> Any:
        xp = get_array_module(x)
        z = classes_last(x)
        y, _, wy = pick_weights(t, weight, ignore_index, z.dtype)
        loss = -wy * z[xp.arange(z.shape[0]), y]
        self.x_shape, self.t_shape, self.reduction = x.shape, t.shape, reduction
        self.denom = wy.sum()
        self.save_for_backward(y, wy)
        return reduce_loss(loss.reshape(t.shape), reduction, self.denom)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        y, wy = self.saved_tensors
        g = element_grad(dy, self.reduction, self.denom, self.t_shape).reshape(-1)
        M = y.shape[0]
        C = self.x_shape[1] if len(self.x_shape) > 1 else self.x_shape[0]
        dz = xp.zeros((M, C), dtype=dy.dtype)
        dz[xp.arange(M), y] = -wy * g
        return classes_back(dz, self.x_shape), None


class BinaryCrossEntropy(Function):
    """Binary cross-entropy of probabilities p ∈ [0, 1] against targets y (same shape).

    forward:  l = −w (y max(ln p, −100) + (1 − y) max(ln(1 − p), −100))
              (the logs are clamped at −100, as PyTorch, so p = 0 or 1 gives a finite loss)
    backward: dp = g w (p − y) / max(p (1 − p), 1e-12)
              dy = g w (ln(1 − p) − ln p)   (= −g w logit p, unclamped, as PyTorch)
    """

    def forward(self, p: Any, y: Any, weight: Any = None, reduction: str = "mean") -> Any:
        xp = get_array_module(p)
        with np.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log1p(-p), -100)
        loss = -(y * log_p + (1 - y) * log_1mp)
        if weight is not None:
            loss = loss * weight
        self.reduction, self.shape, self.denom = reduction, loss.shape, loss.size
        self.save_for_backward(p, y, weight)
        return reduce_loss(loss, reduction, loss.size)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        p, y, weight = self.saved_tensors
        g = element_grad(dy, self.reduction, self.denom, self.shape)
        if weight is not None:
            g = g * weight
        dp = dt = None
        if self.parents[0] is not None:
            dp = g * (p - y) / xp.maximum(p * (1 - p), 1e-12)
        if self.parents[1] is not None:
            with np.errstate(divide="ignore"):
                dt = g * (xp.log1p(-p) - xp.log(p))
        return dp, dt


class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of logits x against targets y, i.e. BCE(σ(x), y) done stably.

    forward:  s = softplus(−x) = −ln σ(x) = max(−x, 0) + ln(1 + exp(−|x|))   (never overflows)
              l = w ((1 − y) x + (1 + (π − 1) y) s)
              = w (max(x, 0) − x y + ln(1 + exp(−|x|)))   without pos_weight π
    backward: dx = g w ((1 − y) − (1 + (π − 1) y) σ(−x))   (= g w (σ(x) − y) without π)
              dy = g w ((π − 1) s − x)
    σ(x) = exp(−s) and σ(−x) = exp(−(s + x)) are both computed from s, so stay finite.
    ``weight`` broadcasts against x; ``pos_weight`` π against its last axis (one per class).
    """

    def forward(
        self,
        x: Any,
        y: Any,
        weight: Any = None,
        pos_weight: Any = None,
        reduction: str = "mean",
    ) -> Any:
        xp = get_array_module(x)
        s = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            loss = (1 - y) * x + s
        else:
            loss = (1 - y) * x + (1 + (pos_weight - 1) * y) * s
        if weight is not None:
            loss = loss * weight
        self.reduction, self.shape, self.denom = reduction, loss.shape, loss.size
        self.save_for_backward(x, y, s, weight, pos_weight)
        return reduce_loss(loss, reduction, loss.size)

    def backward(self, dy: Any) -> Any:
        xp = get_array_module(dy)
        x, y, s, weight, pos_weight = self.saved_tensors
        g = element_grad(dy, self.reduction, self.denom, self.shape)
        if weight is not None:
            g = g * weight
        dx = dt = None
        if self.parents[0] is not None:
            if pos_weight is None:
                dx = g * (xp.exp(-s) - y)
            else:
                dx = g * ((1 - y) - (1 + (pos_weight - 1) * y) * xp.exp(-(s + x)))
        if self.parents[1] is not None:
            dt = -g * x if pos_weight is None else g * ((pos_weight - 1) * s - x)
        return dx, dt
