"""Normalisation ops: batch norm and layer norm, forward and backward side by side.

Both normalise with the biased variance of the statistics they reduce over and share the one
compact backward of a normalisation (Ioffe & Szegedy, 2015). With M the number of elements
reduced into each mean, x̂ = (x − μ)/σ, σ = √(var + eps), g = dy · γ:

    dx = (1/M) · (1/σ) · (M·g − Σ g − x̂ · Σ(g · x̂))
    dγ = Σ dy · x̂          dβ = Σ dy

(the sums run over the same elements as the statistics; for batch norm γ and σ are per-channel
constants, so g may be replaced by dy and γ/σ factored out). Group and instance norm are built
from these two in ``nn.functional``.

Per-channel sums over (N, C) arrays use the folding trick of PERFORMANCE.md point 4: a reduction
over axis 0 of a tall, narrow array is slow in NumPy; reshaping it to (R/f, f·C), summing over
axis 0 and then over the f folds is ~10× faster and just as precise. On (N, C, S) arrays the
spatial axis S is summed first (contiguous, pairwise), and per-channel dot products use one
batched matrix product, which saves the temporary ``a * b``.

With numba (optional, ``ops/jit.py``), batch norm in training mode on NumPy arrays runs the
compiled loops of ``ops/norm_numba.py`` instead: the same formulas in 3 reads + 2 writes forward
and 4 reads + 1 write backward, channels split over threads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from . import jit


def fold_sum(a: Any) -> Any:
    """Σ over axis 0 of a 2-D array (R, C), with the folding trick when R ≫ C.

    Shapes: (R, C) → (C,). Folding f rows into one, (R, C) → (R/f, f·C) → (f·C,) → (f, C) →
    (C,), makes every inner loop f·C long instead of C.
    """
    rows, cols = a.shape
    if rows * cols < 32768 or cols >= 1024:
        return a.sum(axis=0)
    f = 1
    while rows % (2 * f) == 0 and 2 * f * cols <= 2048:
        f *= 2
    if f == 1:
        return a.sum(axis=0)
    a = get_array_module(a).ascontiguousarray(a)
    return a.reshape(rows // f, f * cols).sum(axis=0).reshape(f, cols).sum(axis=0)


def channel_sum(a: Any) -> Any:
    """Σ over axes 0 and 2 of an (N, C, S) array → (C,)."""
    if a.shape[2] == 1:
        return fold_sum(a.reshape(a.shape[0], a.shape[1]))
    return fold_sum(a.sum(axis=2))


def channel_dot(a: Any, b: Any) -> Any:
    """Σ over axes 0 and 2 of a · b for (N, C, S) arrays → (C,), without forming a · b
    when S > 1 (one batched (1, S) @ (S, 1) product per (n, c))."""
    n, c, s = a.shape
    if s == 1:
        return fold_sum((a * b).reshape(n, c))
    return fold_sum((a[:, :, None, :] @ b[:, :, :, None]).reshape(n, c))


def _compiled(x: Any) -> Any:
    """The batch-norm kernels for x when they may run (NumPy float32/64, numba on), else None."""
    if jit.mode() is False or not jit.supports(x):
        return None
    return jit.kernels("norm_numba")


def _as_ncs(x: Any) -> Any:
    """(N, C, *) → (N, C, S) view, S the product of the trailing dims (1 for (N, C))."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def affine(x_hat: Any, weight: Any, bias: Any, relu: bool) -> Any:
    """y = γ·x̂ + β per channel of an (N, C, S) array (γ, β (C,) or None), then max(y, 0) with
    ``relu`` (NaN kept): a new array, computed the same way by forward and recompute."""
    y = x_hat * weight[:, None] if weight is not None else x_hat.copy()
    if bias is not None:
        y += bias[:, None]
    if relu:
        get_array_module(y).maximum(y, 0, out=y)
    return y


class BatchNorm(Function):
    """Batch normalisation over every axis but the channel axis 1; x is (N, C) or (N, C, *).

    Training (batch statistics, M = N·S elements per channel, S the product of the spatial dims):

        μ = (1/M) Σ x,   var = (1/M) Σ (x − μ)²,   x̂ = (x − μ)/√(var + eps),   y = γ x̂ + β

    and, when ``running_mean``/``running_var`` arrays are given, they are updated in place with
    the *unbiased* variance, as PyTorch does:

        running_mean ← (1 − m)·running_mean + m·μ
        running_var  ← (1 − m)·running_var + m·var·M/(M − 1)

    Backward: dx = (γ/σ)/M · (M·dy − Σdy − x̂ Σ(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy.

    Inference (``training=False``) uses the running statistics, an affine map per channel:
    y = x·s + t with s = γ/√(running_var + eps), t = β − running_mean·s;  dx = dy·s,
    dγ = Σ dy·(x − running_mean)/√(running_var + eps),  dβ = Σ dy.

    ``weight`` (γ) and ``bias`` (β) are (C,) or None.

    ``relu=True`` fuses a ReLU: the output is max(y, 0) and backward first zeroes dy where
    y ≤ 0, the numbers of ``relu(batch_norm(x))``. In training it keeps no mask and no output:
    both are recomputed from x̂ (``recompute_output``), so a convolution reading this output
    keeps nothing of its own for backward either (``Function.keep_input``).
    """

    def forward(
        self,
        x: Any,
        weight: Any = None,
        bias: Any = None,
        running_mean: Any = None,
        running_var: Any = None,
        training: bool = True,
        momentum: float = 0.1,
        eps: float = 1e-5,
        relu: bool = False,
    ) -> Any:
        if x.ndim < 2:
            raise ValueError(f"batch norm expects input of shape (N, C, *), got {tuple(x.shape)}")
        xp = get_array_module(x)
        x3 = _as_ncs(x)  # (N, C, S)
        n, c, s = x3.shape
        m = n * s
        self.training, self.relu = training, relu
        if training:
            if m <= 1:
                raise ValueError(
                    f"expected more than 1 value per channel when training, got input of shape "
                    f"{tuple(x.shape)}"
                )
            self.recomputable = relu
            self.kern = kern = _compiled(x)  # backward and recompute take the same path
            if kern is not None:
                return self.forward_compiled(kern, x, x3, weight, bias, running_mean,
                                             running_var, momentum, eps)
            mean = channel_sum(x3) / m  # (C,)
            xc = x3 - mean[:, None]  # (N, C, S)
            var = channel_dot(xc, xc) / m  # biased, (C,)
            inv_std = 1.0 / xp.sqrt(var + eps)
            x_hat = xc
            x_hat *= inv_std[:, None]
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1.0 - momentum
                running_var += (momentum * m / (m - 1)) * var
            self.save_for_backward(x_hat, inv_std, weight, bias)
            return affine(x_hat, weight, bias, relu).reshape(x.shape)
        if running_mean is None or running_var is None:
            raise ValueError("batch norm with training=False needs running_mean and running_var")
        inv_std = (1.0 / xp.sqrt(running_var + eps)).astype(x.dtype, copy=False)
        scale = inv_std if weight is None else weight * inv_std
        y = x3 * scale[:, None]
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        y += shift.astype(x.dtype, copy=False)[:, None]
        if relu:
            xp.maximum(y, 0, out=y)
        self.save_for_backward(x3, running_mean.astype(x.dtype, copy=False), inv_std, scale,
                               y if relu else None)  # y > 0 is the ReLU's mask
        return y.reshape(x.shape)

    def recompute_output(self) -> Any:
        """The training output max(γx̂ + β, 0) again, from the saved x̂ (``relu=True``)."""
        x_hat, _, weight, bias = self.saved_tensors
        if self.kern is None:
            return affine(x_hat, weight, bias, True).reshape(self.out_shape)
        return self.recompute_output_compiled(self.kern, self.saved_x_hat(), weight,
                                              bias).reshape(self.out_shape)

    @staticmethod
    def recompute_output_compiled(kern: Any, x_hat: Any, weight: Any, bias: Any) -> Any:
        """max(γx̂ + β, 0) by ``norm_numba.batch_norm_relu_output`` (forward and recompute)."""
        y = np.empty_like(x_hat)

        def run(i: int, c0: int, c1: int) -> None:
            kern.batch_norm_relu_output(x_hat, weight, bias, y, c0, c1)

        jit.parallel(run, jit.chunks(x_hat.shape[1]))
        return y

    def backward(self, dy: Any) -> Any:
        dy3 = _as_ncs(dy)  # (N, C, S)
        need_x, need_w = self.parents[0] is not None, self.parents[1] is not None
        need_b = self.parents[2] is not None
        dx = dw = db = None
        if not self.training:
            x3, mean, inv_std, scale, y = self.saved_tensors
            if y is not None:
                dy3 = dy3 * (y > 0)
            if need_x:
                dx = (dy3 * scale[:, None]).reshape(dy.shape)
            if need_w or need_b:
                sum_dy = channel_sum(dy3)
                db = sum_dy if need_b else None
                if need_w:  # Σ dy·(x − μ)/σ = (Σ dy·x − μ Σ dy)/σ
                    dw = (channel_dot(dy3, x3) - mean * sum_dy) * inv_std
            return dx, dw, db
        kern = self.kern if jit.supports(dy) else None
        if kern is not None:
            return self.backward_compiled(kern, dy, need_x, need_w, need_b)
        _, inv_std, weight, bias = self.saved_tensors
        x_hat = self.saved_x_hat()
        n, c, s = x_hat.shape
        m = n * s
        if self.relu:
            dy3 = dy3 * (affine(x_hat, weight, bias, False) > 0)
        sum_dy = channel_sum(dy3)
        sum_dy_xhat = channel_dot(dy3, x_hat)
        if need_x:
            k = inv_std if weight is None else weight * inv_std  # γ/σ, (C,)
            dx = dy3 * k[:, None]
            dx -= x_hat * (k * sum_dy_xhat / m)[:, None]
            dx -= (k * sum_dy / m)[:, None]
            dx = dx.reshape(dy.shape)
        dw = sum_dy_xhat if need_w else None
        db = sum_dy if need_b else None
        return dx, dw, db


    def forward_compiled(self, kern: Any, x: Any, x3: Any, weight: Any, bias: Any,
                         running_mean: Any, running_var: Any, momentum: float,
                         eps: float) -> Any:
        """Training forward by ``norm_numba.batch_norm_forward`` (same formulas, fewer passes),
        channels split over threads.

        When x comes from an op that can recompute it (a cheap convolution,
        ``Function.recomputable_input``), x̂ is not kept: backward normalises x again with the
        same kernel (``saved_x_hat``), which gives the same bits. y is then made from x̂ in a
        second pass, as with ``relu``."""
        x3 = np.ascontiguousarray(x3)  # (N, C, S)
        n, c, s = x3.shape
        m = n * s
        w = np.ones(c, x.dtype) if weight is None else np.ascontiguousarray(weight, x.dtype)
        b = np.zeros(c, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
        source = self.recomputable_input(0)
        x_hat_only = self.relu or source is not None  # then the kernel leaves y alone
        x_hat = np.empty_like(x3)
        y = x_hat if x_hat_only else np.empty_like(x3)
        mean, var = np.empty(c), np.empty(c)  # float64

        def run(i: int, c0: int, c1: int) -> None:
            kern.batch_norm_forward(x3, w, b, eps, x_hat_only, x_hat, y, mean, var, c0, c1)

        jit.parallel(run, jit.chunks(c))
        if self.relu:
            y = self.recompute_output_compiled(kern, x_hat, w, b)
        elif x_hat_only:
            y = affine(x_hat, w, b, False)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += (momentum * mean).astype(running_mean.dtype)
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * m / (m - 1) * var).astype(running_var.dtype)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        self.eps = eps
        self.save_for_backward(x_hat if source is None else source, inv_std, w, b)
        return y.reshape(x.shape)

    def saved_x_hat(self) -> Any:
        """x̂ (N, C, S) as forward made it: kept, or (when forward kept the op that made x
        instead) normalised again from x by the forward's kernel, x̂ only."""
        x_hat = self.saved_tensors[0]
        if not isinstance(x_hat, Function):
            return x_hat
        x = self.kept(x_hat)
        x3 = np.ascontiguousarray(_as_ncs(x))
        x_hat = np.empty_like(x3)
        c = x3.shape[1]
        w, mean, var = np.ones(c, x3.dtype), np.empty(c), np.empty(c)

        def run(i: int, c0: int, c1: int) -> None:
            self.kern.batch_norm_forward(x3, w, w, self.eps, True, x_hat, x_hat, mean, var,
                                         c0, c1)

        jit.parallel(run, jit.chunks(c))
        return x_hat

    def backward_compiled(self, kern: Any, dy: Any, need_x: bool, need_w: bool,
                          need_b: bool) -> Any:
        """Training backward by ``norm_numba.batch_norm_backward``."""
        _, inv_std, weight, bias = self.saved_tensors
        x_hat = self.saved_x_hat()
        c = x_hat.shape[1]
        dy3 = np.ascontiguousarray(_as_ncs(dy))  # (N, C, S)
        scale = inv_std if weight is None else weight * inv_std  # γ/σ, (C,)
        dx = np.empty_like(dy3) if need_x else None
        sum_dy, sum_dy_xhat = np.empty(c), np.empty(c)  # float64
        out = dx if need_x else dy3

        def run(i: int, c0: int, c1: int) -> None:
            if self.relu:
                kern.batch_norm_relu_backward(dy3, x_hat, scale, weight, bias, out, sum_dy,
                                              sum_dy_xhat, need_x, c0, c1)
            else:
                kern.batch_norm_backward(dy3, x_hat, scale, out, sum_dy, sum_dy_xhat, need_x,
                                         c0, c1)

        jit.parallel(run, jit.chunks(c))
        dx = dx.reshape(dy.shape) if need_x else None
        dw = sum_dy_xhat.astype(dy.dtype) if need_w else None
        db = sum_dy.astype(dy.dtype) if need_b else None
        return dx, dw, db


class LayerNorm(Function):
    """Layer normalisation over the last ``normalized_ndim`` axes of x, per sample.

    With x viewed as (R, D) (D = the product of the normalised dims, R everything before):

        μ = (1/D) Σ_d x,  var = (1/D) Σ_d (x − μ)²,  x̂ = (x − μ)/√(var + eps),  y = γ ⊙ x̂ + β

    γ and β have the normalised shape (or are None). Backward, g = dy ⊙ γ:

        dx = (1/D)(1/σ)(D·g − Σ_d g − x̂ Σ_d g·x̂),  dγ = Σ_r dy·x̂,  dβ = Σ_r dy
    """

    def forward(
        self,
        x: Any,
        weight: Any = None,
        bias: Any = None,
        normalized_ndim: int = 1,
        eps: float = 1e-5,
    ) -> Any:
        xp = get_array_module(x)
        d = 1
        for size in x.shape[x.ndim - normalized_ndim :]:
            d *= size
        x2 = x.reshape(-1, d)  # (R, D)
        mean = x2.mean(axis=1, keepdims=True)  # (R, 1)
        xc = x2 - mean
        var = (xc * xc).mean(axis=1, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + eps)  # (R, 1)
        x_hat = xc
        x_hat *= inv_std
        w = None if weight is None else weight.reshape(-1)
        self.save_for_backward(x_hat, inv_std, w)
        self.param_shape = x.shape[x.ndim - normalized_ndim :]
        y = x_hat * w if w is not None else x_hat.copy()
        if bias is not None:
            y += bias.reshape(-1)
        return y.reshape(x.shape)

    def backward(self, dy: Any) -> Any:
        x_hat, inv_std, w = self.saved_tensors
        d = x_hat.shape[1]
        dy2 = dy.reshape(-1, d)  # (R, D)
        dx = dw = db = None
        if self.parents[0] is not None:
            g = dy2 * w if w is not None else dy2
            dx = g - g.mean(axis=1, keepdims=True)
            dx -= x_hat * (g * x_hat).mean(axis=1, keepdims=True)
            dx *= inv_std
            dx = dx.reshape(dy.shape)
        if len(self.parents) > 1 and self.parents[1] is not None:
            dw = fold_sum(dy2 * x_hat).reshape(self.param_shape)
        if len(self.parents) > 2 and self.parents[2] is not None:
            db = fold_sum(dy2).reshape(self.param_shape)
        return (dx, dw, db)[: len(self.parents)]  # weight and bias are optional inputs
