"""Matrix multiplication, batched and broadcasting, with NumPy's rules for 1-D operands."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module


class MatMul(Function):
    """y = a @ b over the last two axes, batch axes broadcast.

    da = dy @ bᵀ,  db = aᵀ @ dy  (ᵀ swaps the last two axes). A 1-D ``a`` is a row (1, k) and a
    1-D ``b`` a column (k, 1) for the products, and the added axis is dropped again; the
    broadcast batch axes are summed away by the autograd core.
    """

    def forward(self, a: Any, b: Any) -> Any:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands need at least one dimension (use * for scalars)")
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(
                f"cannot multiply shapes {tuple(a.shape)} and {tuple(b.shape)}: a has {k_a} "
                f"columns (its last dim) but b has {k_b} rows (its "
                f"{'only' if b.ndim == 1 else 'second-to-last'} dim)"
            )
        self.save_for_backward(a, b)
        return get_array_module(a).asarray(a @ b)  # 1-D @ 1-D: a 0-d array, not a NumPy scalar

    def backward(self, dy: Any) -> Any:
        a, b = self.saved_tensors
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1:
            dy = dy[..., None, :] if b.ndim > 1 else dy[..., None]
        if b.ndim == 1:
            dy = dy[..., None]
        da = db = None
        if self.parents[0] is not None:
            da = dy @ b2.swapaxes(-1, -2)
            if a.ndim == 1:
                da = da[..., 0, :]
        if self.parents[1] is not None:
            db = a2.swapaxes(-1, -2) @ dy
            if b.ndim == 1:
                db = db[..., 0]
        return da, db


class Linear(Function):
    """y = x Wᵀ + b for x of shape (…, in), W (out, in), b (out,) or None.

    With x and dy flattened to 2-D (N, in) and (N, out):
    dx = dy W,  dW = dyᵀ x,  db = Σₙ dy  — three GEMM-shaped products, no broadcasting.
    """

    def forward(self, x: Any, W: Any, b: Any = None) -> Any:
        if x.ndim == 0 or x.shape[-1] != W.shape[1]:
            raise ValueError(
                f"expected input with last dimension {W.shape[1]} (in_features), got shape "
                f"{tuple(x.shape)}"
            )
        self.save_for_backward(x, W)
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, dy: Any) -> Any:
        x, W = self.saved_tensors
        dx = dW = db = None
        if self.parents[0] is not None:
            dx = dy @ W
        dy2 = dy.reshape(-1, dy.shape[-1])
        if self.parents[1] is not None:
            dW = dy2.T @ x.reshape(-1, x.shape[-1])
        if len(self.parents) > 2 and self.parents[2] is not None:
            db = dy2.sum(axis=0)
        return (dx, dW, db)[: len(self.parents)]  # the bias is an optional input
