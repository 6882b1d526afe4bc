"""Layer ops as functions (PyTorch's ``torch.nn.functional`` names and argument order):
linear, dropout, drop_connect, batch_norm, layer_norm, instance_norm, group_norm, embedding.

Batch and layer norm run the hand-written ``Function``s of ``ops/norm.py``; the others are
composed from primitives and need no backward of their own. Every random mask comes from
``rosenblatt.random.generator()``, so ``rb.manual_seed`` makes them reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import functional as RF
from ...backend import get_array_module
from ...ops.elementwise import Mul
from ...ops.linalg import Linear as LinearOp
from ...ops.norm import BatchNorm as BatchNormOp
from ...ops.norm import LayerNorm as LayerNormOp
from ...random import generator
from ...tensor import Tensor

__all__ = [
    "linear",
    "dropout",
    "drop_connect",
    "batch_norm",
    "layer_norm",
    "instance_norm",
    "group_norm",
    "embedding",
]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b; x (…, in), W (out, in), b (out,) → y (…, out). One fused op."""
    if bias is None:
        return LinearOp.apply(x, weight)
    return LinearOp.apply(x, weight, bias)


# ------------------------------------------------------------------ dropout


def _check_p(p: float, name: str) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability p must be in [0, 1], got {p}")
    return p


def _keep_mask(shape: tuple[int, ...], p: float, dtype: Any, device: str) -> Any:
    """m / (1 − p) with m ~ Bernoulli(1 − p): ``1/(1−p)`` where kept, 0 where dropped."""
    u = generator(device).random(shape, dtype=np.float32)
    scale = np.dtype(dtype).type(1.0 / (1.0 - p))
    return (u >= p) * scale  # the mask's dtype is x's dtype (bool · scalar of that dtype)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: y = x · m / (1 − p), m ~ Bernoulli(1 − p) elementwise; identity when
    not training (or p = 0).

    Each element is zeroed with probability p and the kept ones are scaled by 1/(1 − p), so
    E[y] = x and inference needs no rescaling. dx = dy · m / (1 − p): the gradient flows only
    through the kept units. Any shape; p = 1 gives zeros.
    """
    p = _check_p(p, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return RF.mul(x, 0.0)
    return Mul.apply(x, _keep_mask(x.shape, p, x.dtype, x.device))


def drop_connect(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, p: float = 0.5, training: bool = True
) -> Tensor:
    """DropConnect (Wan et al., 2013) on a fully connected layer: y = x (W ⊙ M / (1 − p))ᵀ + b.

    M ~ Bernoulli(1 − p) has W's shape (out, in) and is drawn once per call (one mask for the
    whole mini-batch); the bias is not dropped. Scaling the kept weights by 1/(1 − p) keeps
    E[y] unchanged, so inference (``training=False``) uses W as it is. dW = (dyᵀ x) ⊙ M/(1 − p):
    dropped weights get no gradient from this step.
    """
    p = _check_p(p, "drop_connect")
    if training and p > 0.0:
        if p == 1.0:
            weight = RF.mul(weight, 0.0)
        else:
            weight = Mul.apply(weight, _keep_mask(weight.shape, p, weight.dtype, weight.device))
    return linear(x, weight, bias)


# ------------------------------------------------------------------ normalisation


def _array(t: Tensor | None) -> Any:
    return None if t is None else t.data


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    *,
    relu: bool = False,
) -> Tensor:
    """Batch normalisation of x (N, C) or (N, C, *) per channel (see ``ops.norm.BatchNorm``).

    training=True: normalise with the batch mean and biased variance over N and the spatial
    dims; the running statistics (if given) are updated in place,
    r ← (1 − momentum)·r + momentum·statistic, with the unbiased variance. training=False:
    normalise with ``running_mean``/``running_var``. ``momentum`` is a number here (the layers
    turn PyTorch's ``momentum=None``, a cumulative average, into 1/num_batches_tracked).

    ``relu=True`` returns max(y, 0), the numbers of ``relu(batch_norm(...))``, fused: in
    training nothing more is kept for backward than x̂, and a convolution that reads the result
    keeps nothing either (it is recomputed from x̂ when needed), one activation less per
    conv → BN → ReLU → conv.
    """
    if momentum is None:
        raise ValueError("batch_norm: momentum must be a number (BatchNorm layers handle None)")
    return BatchNormOp.apply(
        x,
        weight,
        bias,
        running_mean=_array(running_mean),
        running_var=_array(running_var),
        training=bool(training),
        momentum=float(momentum),
        eps=float(eps),
        relu=bool(relu),
    )


def layer_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation over the trailing dims ``normalized_shape`` of each sample:
    y = (x − μ)/√(var + eps) · γ + β with μ, var (biased) over those dims; γ and β have shape
    ``normalized_shape`` (see ``ops.norm.LayerNorm``)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise ValueError(
            f"layer_norm: expected input of shape (*, {', '.join(map(str, shape))}), "
            f"got {x.shape}"
        )
    return LayerNormOp.apply(x, weight, bias, normalized_ndim=k, eps=float(eps))


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """y · γ + β with γ, β (C,) broadcast over (N, C, *)."""
    view = (1, -1) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * RF.reshape(weight, view)
    if bias is not None:
        y = y + RF.reshape(bias, view)
    return y


def group_norm(
    x: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation: the C channels of x (N, C, *) split into ``num_groups`` groups of
    C/G; each (sample, group) is normalised over its channels and spatial positions, then a
    per-channel affine γ, β (C,) is applied.

    Composed: x → (N, G, C/G·S) → layer norm over the last axis → (N, C, *) → · γ + β.
    """
    if x.ndim < 2 or x.shape[1] % num_groups != 0:
        raise ValueError(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, "
            f"got {x.shape}"
        )
    n = x.shape[0]
    y = LayerNormOp.apply(RF.reshape(x, (n, num_groups, -1)), normalized_ndim=1, eps=float(eps))
    return _affine(RF.reshape(y, x.shape), weight, bias)


def instance_norm(
    x: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation: each (sample, channel) of x (N, C, *) normalised over its
    spatial dims, then a per-channel affine γ, β (C,).

    As in PyTorch this is batch norm on x viewed as (1, N·C, *): with ``use_input_stats`` the
    running statistics (if given) move towards the mean over the batch of the per-instance
    statistics (unbiased variance); without it they normalise every instance.
    """
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, *), got {x.shape}")
    n, c = x.shape[0], x.shape[1]
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    rm = rv = None
    if running_mean is not None:
        rm = _tile(running_mean.data, n)  # (N·C,): one copy per sample
    if running_var is not None:
        rv = _tile(running_var.data, n)
    y = BatchNormOp.apply(
        RF.reshape(x, (1, n * c) + x.shape[2:]),
        None,
        None,
        running_mean=rm,
        running_var=rv,
        training=True,
        momentum=float(momentum),
        eps=float(eps),
    )
    if rm is not None:
        running_mean.data[...] = rm.reshape(n, c).mean(axis=0)
    if rv is not None:
        running_var.data[...] = rv.reshape(n, c).mean(axis=0)
    return _affine(RF.reshape(y, x.shape), weight, bias)


def _tile(a: Any, n: int) -> Any:
    return get_array_module(a).tile(a, n)


# ------------------------------------------------------------------ embedding


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look-up table: y[…] = W[indices[…]]; indices any integer shape (…), W (V, D) → y (…, D).

    Repeated indices accumulate their gradients into the same row (dW[i] = Σ over positions
    with index i of dy). Positions equal to ``padding_idx`` return W[padding_idx] but send it
    no gradient, so the padding row (zero by default in ``Embedding``) never trains.
    """
    idx = indices.data if isinstance(indices, Tensor) else indices
    idx = get_array_module(weight.data).asarray(idx)  # host indices follow a GPU table
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    num = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        bad = int(idx.max()) if int(idx.max()) >= num else int(idx.min())
        raise IndexError(f"embedding: index {bad} is out of range [0, {num})")
    rows = RF.getitem(weight, idx)  # (…, D)
    if padding_idx is None:
        return rows
    pad = padding_idx % num
    keep = Tensor._wrap((idx != pad)[..., None])  # (…, 1)
    return RF.where(keep, rows, RF.getitem(weight.detach(), idx))
