"""rosenblatt: a deep-learning framework written from scratch on NumPy.

>>> import rosenblatt as rb
>>> x = rb.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
array([2., 4., 6.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from . import (  # autograd first: importing it completes the autograd ↔ tensor cycle
    autograd,
    callbacks,
    checkpoint,
    data,
    io,
    metrics,
    nn,
    optim,
    training,
)
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import cuda_is_available
from .checkpoint import (  # noqa: E402,F401
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from .creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functional import (
    abs,
    add,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    concatenate,
    div,
    eq,
    exp,
    expand,
    flatten,
    flip,
    gather,
    ge,
    gt,
    le,
    log,
    logsumexp,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    ne,
    neg,
    pad,
    permute,
    pow,
    reshape,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    transpose,
    unsqueeze,
    var,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .io import UnsafePickleError, WeightsFormatError, load_weights, save_weights
from .random import get_rng_state, initial_seed, manual_seed, set_rng_state
from .tensor import Tensor

float16 = np.float16
float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
bool_ = np.bool_

__version__ = "0.1.0"

# ``io`` stays out of ``from rosenblatt import *``: it would shadow the standard library's io.
__all__ = [name for name in dir() if not name.startswith("_") and name != "io"]
