"""Property-based tests: Hypothesis draws shapes (broadcast-compatible pairs, zero-size and 0-d
included), values, axes and keepdim; every draw is compared with PyTorch through check_op.

``derandomize=True`` makes every run draw the same examples, so the tests are deterministic.
Values come from a grid of quarters: small enough to stay in float32's exact range, and coarse
enough that ties (maximum, amax, |0|, clip at a bound, a constant slice for std) come up often.
"""

import warnings

import numpy as np
import pytest
import torch
from helpers import check_op
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, mutually_broadcastable_shapes

import rosenblatt as rb

SETTINGS = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

DTYPES = st.sampled_from([np.float32, np.float64])
QUARTERS = st.integers(-12, 12).map(lambda k: k / 4)  # −3 … 3 in steps of 0.25
POSITIVE_QUARTERS = st.integers(1, 12).map(lambda k: k / 4)  # 0.25 … 3


def quarter_arrays(dtype, shape, elements=QUARTERS):
    return arrays(dtype, shape, elements=elements)


def quiet_check_op(rb_fn, torch_fn, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan/inf cases compared with torch
        warnings.filterwarnings("ignore", message=".*degrees of freedom")
        check_op(rb_fn, torch_fn, inputs)


# ------------------------------------------------------------------ elementwise, binary


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, QUARTERS),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, QUARTERS),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, QUARTERS),
    "div": (lambda a, b: a / b, lambda a, b: a / b, POSITIVE_QUARTERS),
    "rdiv": (lambda a, b: b / a, lambda a, b: b / a, POSITIVE_QUARTERS),
    "pow": (lambda a, b: b**a, lambda a, b: b**a, POSITIVE_QUARTERS),
    "maximum": (rb.maximum, torch.maximum, QUARTERS),
    "minimum": (rb.minimum, torch.minimum, QUARTERS),
}


@pytest.mark.parametrize("name", list(BINARY))
@SETTINGS
@given(data=st.data(), dtype=DTYPES)
def test_binary_ops_on_broadcast_shapes(name, data, dtype):
    rb_fn, torch_fn, b_values = BINARY[name]
    shapes = data.draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                     min_side=0, max_side=4), label="shapes")
    a = data.draw(quarter_arrays(dtype, shapes.input_shapes[0]), label="a")
    b = data.draw(quarter_arrays(dtype, shapes.input_shapes[1], b_values), label="b")
    quiet_check_op(rb_fn, torch_fn, [a, b])


@SETTINGS
@given(data=st.data(), dtype=DTYPES)
def test_where_on_three_broadcast_shapes(data, dtype):
    shapes = data.draw(mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                     min_side=0, max_side=3), label="shapes")
    cond = data.draw(arrays(np.bool_, shapes.input_shapes[0]), label="cond")
    a = data.draw(quarter_arrays(dtype, shapes.input_shapes[1]), label="a")
    b = data.draw(quarter_arrays(dtype, shapes.input_shapes[2]), label="b")
    quiet_check_op(lambda x, y: rb.where(cond, x, y),
                   lambda x, y: torch.where(torch.tensor(cond), x, y), [a, b])


# ------------------------------------------------------------------ elementwise, unary


def scalar_ops(x):
    """Python numbers on both sides of every operator (reflected ones included)."""
    return (2 - x) * 0.5 + 1 / (x * x + 1) - x / 4 + 3**x


UNARY = {
    "neg": (lambda x: -x, lambda x: -x, QUARTERS),
    "exp": (rb.exp, torch.exp, QUARTERS),
    "log": (rb.log, torch.log, POSITIVE_QUARTERS),
    "sqrt": (rb.sqrt, torch.sqrt, POSITIVE_QUARTERS),
    "abs": (rb.abs, torch.abs, QUARTERS),
    "square": (lambda x: x**2, lambda x: x**2, QUARTERS),
    "clip": (lambda x: rb.clip(x, -1.0, 0.5), lambda x: torch.clamp(x, -1.0, 0.5), QUARTERS),
    "clip-min": (lambda x: x.clamp(min=0.0), lambda x: x.clamp(min=0.0), QUARTERS),
    "scalar-ops": (scalar_ops, scalar_ops, QUARTERS),
}


@pytest.mark.parametrize("name", list(UNARY))
@SETTINGS
@given(data=st.data(), dtype=DTYPES)
def test_unary_ops_on_random_shapes(name, data, dtype):
    rb_fn, torch_fn, values = UNARY[name]
    shape = data.draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), label="shape")
    x = data.draw(quarter_arrays(dtype, shape, values), label="x")
    quiet_check_op(rb_fn, torch_fn, [x])


# ------------------------------------------------------------------ reductions


def all_dims(dim, ndim):
    return tuple(range(ndim)) if dim is None else dim


REDUCTIONS = {
    "sum": (rb.sum, lambda t, d, k: torch.sum(t, all_dims(d, t.ndim), keepdim=k)),
    "mean": (rb.mean, lambda t, d, k: torch.mean(t, all_dims(d, t.ndim), keepdim=k)),
    "amax": (rb.amax, lambda t, d, k: torch.amax(t, all_dims(d, t.ndim), keepdim=k)),
    "amin": (rb.amin, lambda t, d, k: torch.amin(t, all_dims(d, t.ndim), keepdim=k)),
    "logsumexp": (rb.logsumexp,
                  lambda t, d, k: torch.logsumexp(t, all_dims(d, t.ndim) or 0, keepdim=k)),
    "var": (lambda t, d, k: rb.var(t, d, k, correction=0),
            lambda t, d, k: torch.var(t, all_dims(d, t.ndim), keepdim=k, correction=0)),
    "std": (lambda t, d, k: rb.std(t, d, k, correction=1),
            lambda t, d, k: torch.std(t, all_dims(d, t.ndim), keepdim=k, correction=1)),
}


@st.composite
def shape_and_dim(draw):
    """A shape and the dims to reduce: None, one int or a tuple, each dim maybe negative."""
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), label="shape")
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]) if ndim else st.just("none"))
    if kind == "none":
        return shape, None
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    dims = [d - ndim if draw(st.booleans()) else d for d in dims]
    return shape, (dims[0] if kind == "int" else tuple(dims))


@pytest.mark.parametrize("name", list(REDUCTIONS))
@SETTINGS
@given(data=st.data(), case=shape_and_dim(), keepdim=st.booleans(), dtype=DTYPES)
def test_reductions_over_random_dims(name, data, case, keepdim, dtype):
    rb_fn, torch_fn = REDUCTIONS[name]
    shape, dim = case
    x = data.draw(quarter_arrays(dtype, shape), label="x")
    reduced = range(len(shape)) if dim is None else np.atleast_1d(dim)
    if name in ("amax", "amin") and any(shape[d] == 0 for d in reduced):
        return  # undefined over an empty axis; test_reduce checks that both sides raise
    quiet_check_op(lambda t: rb_fn(t, dim, keepdim), lambda t: torch_fn(t, dim, keepdim), [x])


@pytest.mark.parametrize("fn", ["max", "min"])
@SETTINGS
@given(data=st.data(), keepdim=st.booleans(), dtype=DTYPES)
def test_max_min_with_dim_over_random_shapes(fn, data, keepdim, dtype):
    shape = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), label="shape")
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = data.draw(quarter_arrays(dtype, shape), label="x")
    quiet_check_op(lambda t: getattr(rb, fn)(t, dim, keepdim),
                   lambda t: getattr(torch, fn)(t, dim, keepdim), [x])


@SETTINGS
@given(data=st.data(), case=shape_and_dim(), keepdim=st.booleans(), dtype=DTYPES,
       offset=st.sampled_from([1e4, -1e4, 80.0, -np.inf]))
def test_logsumexp_of_shifted_values_does_not_overflow(data, case, keepdim, dtype, offset):
    """Values near ±1e4 (where a naive exp overflows or underflows to 0), and −inf entries."""
    shape, dim = case
    x = data.draw(quarter_arrays(dtype, shape), label="x")
    if offset == -np.inf:  # some entries −inf, the others as drawn
        x = np.where(x < 0, dtype(-np.inf), x)
    else:
        x = np.asarray(x + dtype(offset))
    quiet_check_op(lambda t: rb.logsumexp(t, dim, keepdim),
                   lambda t: torch.logsumexp(t, all_dims(dim, t.ndim) or 0, keepdim=keepdim), [x])
