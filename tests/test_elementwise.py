"""Elementwise ops against PyTorch: forward values and every input gradient (check_op), on
broadcast, size-1, zero-size and 0-d shapes in float32 and float64, plus finite differences
(check_gradcheck) in float64 with inputs kept away from the kinks and outside the domain."""

import warnings

import numpy as np
import pytest
import torch
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb

# (shape of a, shape of b): same shape, broadcasting both ways, scalars, size-1 and zero-size dims
BINARY_SHAPES = [
    ((4,), (4,)),
    ((3, 1, 4), (5, 1)),
    ((2, 3), ()),
    ((), (2, 3)),
    ((), ()),
    ((1, 1), (3, 1)),
    ((0, 3), (1, 3)),
    ((2, 0, 1), (5,)),
]
UNARY_SHAPES = [(), (1,), (5,), (3, 4), (2, 1, 3), (0, 3)]


def normal(shape, dtype, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


def away_from_zero(shape, dtype, seed=0):
    """Values with |v| in [0.5, 2.5): safe divisors."""
    r = rng(seed)
    sign = np.where(r.random(shape) < 0.5, -1.0, 1.0)
    return (sign * r.uniform(0.5, 2.5, shape)).astype(dtype)


def positive(shape, dtype, seed=0):
    return rng(seed).uniform(0.5, 2.0, shape).astype(dtype)


def torch_const(value, like):
    """A constant torch tensor with the dtype of ``like`` (for ops torch only takes tensors)."""
    return torch.tensor(value, dtype=like.dtype)


# ------------------------------------------------------------------ binary arithmetic


BINARY_OPS = {
    "add": (rb.add, torch.add, normal),
    "sub": (rb.sub, torch.sub, normal),
    "mul": (rb.mul, torch.mul, normal),
    "div": (rb.div, torch.div, away_from_zero),
    "maximum": (rb.maximum, torch.maximum, normal),
    "minimum": (rb.minimum, torch.minimum, normal),
}


@pytest.mark.parametrize("name", list(BINARY_OPS))
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary_op_matches_torch(name, shapes, dtype):
    rb_fn, torch_fn, make_b = BINARY_OPS[name]
    a = normal(shapes[0], dtype, seed=1)
    b = make_b(shapes[1], dtype, seed=2)
    check_op(rb_fn, torch_fn, [a, b])


@pytest.mark.parametrize("name", list(BINARY_OPS))
@pytest.mark.parametrize("which", [(True, False), (False, True)], ids=["a-only", "b-only"])
def test_binary_op_with_one_input_requiring_grad(name, which, dtype):
    rb_fn, torch_fn, make_b = BINARY_OPS[name]
    a = normal((3, 1, 4), dtype, seed=3)
    b = make_b((5, 1), dtype, seed=4)
    check_op(rb_fn, torch_fn, [a, b], grad=list(which))


@pytest.mark.parametrize("name", list(BINARY_OPS))
def test_binary_op_gradcheck(name):
    rb_fn, _, make_b = BINARY_OPS[name]
    a = normal((3, 1, 4), np.float64, seed=5)
    b = make_b((5, 1), np.float64, seed=6)
    check_gradcheck(rb_fn, [a, b])


def test_binary_op_values_by_hand():
    a = rb.tensor([[1.0], [2.0]])
    b = rb.tensor([10.0, 20.0, 40.0])
    np.testing.assert_array_equal((a + b).numpy(), [[11, 21, 41], [12, 22, 42]])
    np.testing.assert_array_equal((b - a).numpy(), [[9, 19, 39], [8, 18, 38]])
    np.testing.assert_array_equal((a * b).numpy(), [[10, 20, 40], [20, 40, 80]])
    np.testing.assert_array_equal((b / a).numpy(), [[10, 20, 40], [5, 10, 20]])


def test_broadcast_gradient_is_summed_over_the_stretched_axes():
    a = rb.tensor(np.ones((3, 1)), requires_grad=True)
    b = rb.tensor(np.arange(4.0), requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[6.0], [6.0], [6.0]])
    np.testing.assert_array_equal(b.grad, [3.0, 3.0, 3.0, 3.0])


def test_incompatible_shapes_raise():
    with pytest.raises(ValueError, match="Add"):
        rb.tensor(np.ones((2, 3))) + rb.tensor(np.ones((4,)))


# ------------------------------------------------------------------ neg and unary functions


UNARY_OPS = {
    "neg": (rb.neg, torch.neg, normal),
    "exp": (rb.exp, torch.exp, normal),
    "log": (rb.log, torch.log, positive),
    "sqrt": (rb.sqrt, torch.sqrt, positive),
    "abs": (rb.abs, torch.abs, normal),
}


@pytest.mark.parametrize("name", list(UNARY_OPS))
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
def test_unary_op_matches_torch(name, shape, dtype):
    rb_fn, torch_fn, make = UNARY_OPS[name]
    check_op(rb_fn, torch_fn, [make(shape, dtype, seed=7)])


@pytest.mark.parametrize("name", list(UNARY_OPS))
def test_unary_op_gradcheck(name):
    rb_fn, _, make = UNARY_OPS[name]
    x = make((2, 3), np.float64, seed=8)
    if name == "abs":
        x = away_from_zero((2, 3), np.float64, seed=8)  # stay clear of the kink at 0
    check_gradcheck(rb_fn, [x])


def test_unary_methods_and_builtin_abs(dtype):
    x = positive((2, 3), dtype, seed=9)
    check_op(lambda t: t.exp() + t.log() + t.sqrt() + abs(-t) + t.abs(),
             lambda t: t.exp() + t.log() + t.sqrt() + abs(-t) + t.abs(), [x])


def test_abs_at_exact_zero_has_zero_gradient(dtype):
    x = np.array([-2.0, -0.0, 0.0, 0.0, 3.0], dtype)
    check_op(rb.abs, torch.abs, [x])
    t = rb.tensor(x, requires_grad=True)
    rb.abs(t).sum().backward()
    np.testing.assert_array_equal(t.grad, [-1.0, 0.0, 0.0, 0.0, 1.0])


def test_log_and_sqrt_at_zero_match_torch(dtype):
    """ln 0 = −inf with gradient +inf; √0 = 0 with gradient +inf (as in PyTorch)."""
    x = np.array([0.0, 0.25, 4.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_op(rb.log, torch.log, [x])
        check_op(rb.sqrt, torch.sqrt, [x])
        t = rb.tensor(x, requires_grad=True)
        rb.sqrt(t).backward(np.ones(3, dtype))
    np.testing.assert_array_equal(t.grad, [np.inf, 1.0, 0.25])


def test_exp_of_extremes(dtype):
    x = np.array([-np.inf, -200.0, 0.0, 1.0], dtype)
    check_op(rb.exp, torch.exp, [x])


# ------------------------------------------------------------------ pow


@pytest.mark.parametrize("exponent", [2, 3, -1, 0, 1, 0.5, -1.5, 2.5])
@pytest.mark.parametrize("shape", [(), (3, 4), (0, 2)], ids=str)
def test_tensor_pow_scalar(exponent, shape, dtype):
    base = positive(shape, dtype, seed=10)
    check_op(lambda t: t**exponent, lambda t: t**exponent, [base])
    check_op(lambda t: rb.pow(t, exponent), lambda t: torch.pow(t, exponent), [base])


@pytest.mark.parametrize("exponent", [2, 3, 0, 1, -2])
def test_tensor_pow_integer_scalar_on_negative_and_zero_base(exponent, dtype):
    base = np.array([-2.0, -0.5, 0.0, 0.5, 1.5], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** -2
        check_op(lambda t: t**exponent, lambda t: t**exponent, [base])


def test_tensor_pow_zero_has_zero_gradient_even_at_zero_base(dtype):
    x = rb.tensor(np.array([0.0, 2.0, -3.0], dtype), requires_grad=True)
    y = x**0
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("base", [2, 0.5, 2.718281828, 0])
@pytest.mark.parametrize("shape", [(), (3, 4), (0, 2)], ids=str)
def test_scalar_pow_tensor(base, shape, dtype):
    exponent = normal(shape, dtype, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** negative
        check_op(lambda t: base**t, lambda t: base**t, [exponent])
        check_op(lambda t: rb.pow(base, t), lambda t: torch.pow(base, t), [exponent])


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_tensor_pow_tensor(shapes, dtype):
    base = positive(shapes[0], dtype, seed=12)
    exponent = normal(shapes[1], dtype, seed=13)
    check_op(lambda a, b: a**b, lambda a, b: a**b, [base, exponent])
    check_op(rb.pow, torch.pow, [base, exponent], grad=[True, False])
    check_op(rb.pow, torch.pow, [base, exponent], grad=[False, True])


def test_tensor_pow_tensor_with_zero_base_and_zero_exponent(dtype):
    """Every combination of base ∈ {−1.5, 0, 0.5, 2} and exponent ∈ {−1, 0, 0.5, 2, 3}: at base 0
    PyTorch gives ∂/∂b = 0 for b ≥ 0 and y·ln 0 = −inf for b < 0; at b = 0, ∂/∂a = 0."""
    base = np.array([-1.5, 0.0, 0.5, 2.0], dtype).reshape(4, 1)
    exponent = np.array([-1.0, 0.0, 0.5, 2.0, 3.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_op(rb.pow, torch.pow, [base, exponent])
        a = rb.tensor(np.zeros(3, dtype))
        b = rb.tensor(np.array([-1.0, 0.0, 2.0], dtype), requires_grad=True)
        rb.pow(a, b).sum().backward()
    np.testing.assert_array_equal(b.grad, [-np.inf, 0.0, 0.0])


def test_pow_gradcheck():
    base = positive((3, 1), np.float64, seed=14)
    exponent = normal((1, 4), np.float64, seed=15)
    check_gradcheck(rb.pow, [base, exponent])
    check_gradcheck(lambda t: t**3, [normal((2, 3), np.float64, seed=16)])
    check_gradcheck(lambda t: t**-1.5, [base])
    check_gradcheck(lambda t: 2.5**t, [exponent])


# ------------------------------------------------------------------ clip / clamp


CLIP_BOUNDS = [(-0.5, None), (None, 0.5), (-0.5, 0.5), (0.25, 0.25), (1.0, -1.0)]


@pytest.mark.parametrize("lo,hi", CLIP_BOUNDS, ids=str)
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
def test_clip_matches_torch(lo, hi, shape, dtype):
    x = normal(shape, dtype, seed=17)
    check_op(lambda t: rb.clip(t, lo, hi), lambda t: torch.clamp(t, lo, hi), [x])


@pytest.mark.parametrize("lo,hi", CLIP_BOUNDS, ids=str)
def test_clip_values_exactly_at_the_bounds_pass_the_gradient(lo, hi, dtype):
    x = np.array([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0], dtype)
    check_op(lambda t: rb.clamp(t, min=lo, max=hi), lambda t: torch.clamp(t, min=lo, max=hi), [x])
    check_op(lambda t: t.clamp(lo, hi), lambda t: t.clamp(lo, hi), [x])
    check_op(lambda t: t.clip(lo, hi), lambda t: t.clip(lo, hi), [x])


def test_clip_by_hand():
    t = rb.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], requires_grad=True)
    y = rb.clip(t, -0.5, 0.5)
    np.testing.assert_array_equal(y.detach().numpy(), [-0.5, -0.5, 0.0, 0.5, 0.5])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, [0.0, 1.0, 1.0, 1.0, 0.0])  # bounds are inclusive


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="at least one"):
        rb.clip(rb.tensor([1.0]))


def test_clip_gradcheck():
    x = np.array([-2.0, -1.2, -0.3, 0.1, 0.4, 1.7], np.float64)  # none within 1e-6 of a bound
    check_gradcheck(lambda t: rb.clip(t, -1.0, 1.0), [x])
    check_gradcheck(lambda t: rb.clip(t, min=0.0), [x])
    check_gradcheck(lambda t: rb.clip(t, max=0.0), [x])


# ------------------------------------------------------------------ maximum / minimum


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient(fn, dtype):
    a = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]], dtype)
    b = np.array([[1.0, 0.0, 4.0], [-1.0, 0.0, 6.0]], dtype)  # ties at 3 places
    check_op(getattr(rb, fn), getattr(torch, fn), [a, b])
    check_op(lambda x, y: getattr(x, fn)(y), lambda x, y: getattr(x, fn)(y), [a, b])
    ta = rb.tensor(a, requires_grad=True)
    tb = rb.tensor(b, requires_grad=True)
    getattr(rb, fn)(ta, tb).sum().backward()
    tie = a == b
    np.testing.assert_array_equal(ta.grad[tie], 0.5)
    np.testing.assert_array_equal(tb.grad[tie], 0.5)
    np.testing.assert_array_equal(ta.grad + tb.grad, np.ones_like(a))


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_minimum_with_a_broadcast_tie(fn, dtype):
    a = np.array([[0.0], [1.0], [2.0]], dtype)
    b = np.array([1.0, 1.0], dtype)  # ties along the whole middle row
    check_op(getattr(rb, fn), getattr(torch, fn), [a, b])


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_minimum_with_a_python_number(fn, dtype):
    x = np.array([-1.0, 0.0, 0.5, 2.0], dtype)  # 0.0 ties with the number
    check_op(lambda t: getattr(rb, fn)(t, 0.0),
             lambda t: getattr(torch, fn)(t, torch_const(0.0, t)), [x])
    check_op(lambda t: getattr(rb, fn)(0.0, t),
             lambda t: getattr(torch, fn)(torch_const(0.0, t), t), [x])


# ------------------------------------------------------------------ where


WHERE_SHAPES = [
    ((3, 4), (3, 4), (3, 4)),
    ((3, 1), (1, 4), (3, 4)),
    ((2, 3, 4), (4,), ()),
    ((), (2, 3), (2, 3)),
    ((0, 3), (1, 3), (3,)),
]


@pytest.mark.parametrize("shapes", WHERE_SHAPES, ids=str)
@pytest.mark.parametrize("cond_kind", ["tensor", "array"])
def test_where_matches_torch(shapes, cond_kind, dtype):
    cond = rng(18).random(shapes[0]) < 0.5
    a = normal(shapes[1], dtype, seed=19)
    b = normal(shapes[2], dtype, seed=20)
    cond_rb = rb.tensor(cond) if cond_kind == "tensor" else cond
    cond_torch = torch.tensor(cond)
    check_op(lambda x, y: rb.where(cond_rb, x, y), lambda x, y: torch.where(cond_torch, x, y),
             [a, b])
    check_op(lambda x, y: x.where(cond_rb, y), lambda x, y: x.where(cond_torch, y), [a, b])


def test_where_gradient_goes_to_the_chosen_branch(dtype):
    cond = np.array([True, False, True, False])
    a = rb.tensor(np.ones(4, dtype), requires_grad=True)
    b = rb.tensor(np.full(4, 2.0, dtype), requires_grad=True)
    y = rb.where(rb.tensor(cond), a, b)
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0, 1.0, 2.0])
    y.backward(np.array([1.0, 2.0, 3.0, 4.0], dtype))
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 2.0, 0.0, 4.0])
    assert a.grad.dtype == dtype and b.grad.dtype == dtype


def test_where_with_python_number_branches(dtype):
    cond = np.array([[True, False, False]])
    x = normal((2, 3), dtype, seed=21)
    check_op(lambda t: rb.where(cond, t, 0.0), lambda t: torch.where(torch.tensor(cond), t, 0.0),
             [x])
    check_op(lambda t: rb.where(cond, -1.0, t), lambda t: torch.where(torch.tensor(cond), -1.0, t),
             [x])


def test_where_condition_from_a_comparison(dtype):
    x = normal((3, 4), dtype, seed=22)
    check_op(lambda t: rb.where(t > 0, t, t * 0.1), lambda t: torch.where(t > 0, t, t * 0.1), [x])


def test_where_gradcheck():
    cond = rng(23).random((3, 1)) < 0.5
    check_gradcheck(lambda a, b: rb.where(cond, a, b),
                    [normal((1, 4), np.float64, seed=24), normal((3, 4), np.float64, seed=25)])


# ------------------------------------------------------------------ comparisons


COMPARISONS = ["lt", "le", "gt", "ge", "eq", "ne"]


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2,)), ((0, 2), (2,))],
                         ids=str)
def test_comparison_matches_torch(name, shapes, dtype):
    r = rng(26)
    a = r.integers(-2, 3, shapes[0]).astype(dtype)  # small integers: plenty of ties
    b = r.integers(-2, 3, shapes[1]).astype(dtype)
    check_op(getattr(rb, name), getattr(torch, name), [a, b], grad=[False, False])
    y = getattr(rb, name)(rb.tensor(a, requires_grad=True), rb.tensor(b))
    assert y.dtype == np.bool_
    assert not y.requires_grad


@pytest.mark.parametrize("name,op", [("lt", "__lt__"), ("le", "__le__"), ("gt", "__gt__"),
                                     ("ge", "__ge__"), ("eq", "__eq__"), ("ne", "__ne__")])
def test_comparison_operators_and_python_numbers(name, op, dtype):
    x = np.array([-1.0, 0.0, 0.5, 1.0], dtype)
    t = rb.tensor(x)
    expected = getattr(torch.tensor(x), op)(0.5).numpy()
    np.testing.assert_array_equal(getattr(t, op)(0.5).numpy(), expected)
    np.testing.assert_array_equal(getattr(rb, name)(t, 0.5).numpy(), expected)


def test_reflected_comparisons():
    t = rb.tensor([-1.0, 0.0, 0.5, 1.0])
    arr = np.array([0.0, 0.0, 0.0, 2.0], np.float32)
    for got, expected in [
        (0.5 < t, [False, False, False, True]),
        (0.5 >= t, [True, True, True, False]),
        (arr < t, [False, False, True, False]),
        (arr == t, [False, True, False, False]),
        (arr >= t, [True, True, False, True]),
    ]:
        assert isinstance(got, rb.Tensor)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), expected)


# ------------------------------------------------------------------ Python operators


OPERATOR_CASES = {
    "x+y": lambda x, y: x + y,
    "x-y": lambda x, y: x - y,
    "x*y": lambda x, y: x * y,
    "x/y": lambda x, y: x / y,
    "x**2": lambda x, y: x**2 + y,
    "-x": lambda x, y: -x + y,
    "+x": lambda x, y: +x * y,
    "2-x": lambda x, y: 2 - x + y,
    "1/x": lambda x, y: 1 / x * y,
    "3+x": lambda x, y: 3 + x * y,
    "2*x": lambda x, y: 2 * x - y,
    "2**x": lambda x, y: 2**x / y,
    "x-1.5": lambda x, y: x - 1.5 * y,
    "x/4": lambda x, y: x / 4 + y,
}


@pytest.mark.parametrize("name", list(OPERATOR_CASES))
def test_python_operators_match_torch(name, dtype):
    fn = OPERATOR_CASES[name]
    x = away_from_zero((3, 1), dtype, seed=27)
    y = away_from_zero((4,), dtype, seed=28)
    check_op(fn, fn, [x, y])


@pytest.mark.parametrize("name,fn", [
    ("arr+x", lambda arr, t: arr + t),
    ("arr-x", lambda arr, t: arr - t),
    ("arr*x", lambda arr, t: arr * t),
    ("arr/x", lambda arr, t: arr / t),
    ("x-arr", lambda arr, t: t - arr),
    ("x/arr", lambda arr, t: t / arr),
    ("arr**x", lambda arr, t: abs(arr) ** t),
    ("x**arr", lambda arr, t: abs(t) ** arr),
])
def test_ndarray_op_tensor_defers_to_the_tensor(name, fn, dtype):
    arr = away_from_zero((2, 1, 3), dtype, seed=29)
    x = away_from_zero((4, 1), dtype, seed=30)
    check_op(lambda t: fn(arr, t), lambda t: fn(torch.tensor(arr), t), [x])
    assert isinstance(fn(arr, rb.tensor(x)), rb.Tensor)


def test_reflected_operators_by_hand():
    x = rb.tensor([1.0, 2.0, 4.0], requires_grad=True)
    y = 2 - x
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 0.0, -2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, -1.0, -1.0])
    x.grad = None
    y = 1 / x
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 0.5, 0.25])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, -0.25, -0.0625])


# ------------------------------------------------------------------ NumPy scalars and dtypes


def same(fn):
    """The same expression for both libraries."""
    return fn, fn


# name -> (rosenblatt expression, torch expression) of a tensor t and a number s
NUMPY_SCALAR_CASES = {
    "x*s": same(lambda t, s: t * s),
    "s*x": same(lambda t, s: s * t),
    "x+s": same(lambda t, s: t + s),
    "s+x": same(lambda t, s: s + t),
    "x-s": same(lambda t, s: t - s),
    "s-x": same(lambda t, s: s - t),
    "x/s": same(lambda t, s: t / s),
    "s/x": same(lambda t, s: s / t),
    "x**s": same(lambda t, s: t**s),
    "s**x": same(lambda t, s: s**t),
    "x.clip": same(lambda t, s: t.clip(-s, s)),
    "maximum": (lambda t, s: rb.maximum(t, s),
                lambda t, s: torch.maximum(t, torch_const(s, t))),
    "minimum": (lambda t, s: rb.minimum(s, t),
                lambda t, s: torch.minimum(torch_const(s, t), t)),
    "where": (lambda t, s: rb.where(t > 1, t, s), lambda t, s: torch.where(t > 1, t, s)),
    "clip-min": (lambda t, s: rb.clip(t, min=s), lambda t, s: torch.clamp(t, min=s)),
    "clamp-max": (lambda t, s: rb.clamp(t, max=s), lambda t, s: torch.clamp(t, max=s)),
}


@pytest.mark.parametrize("scalar_type", [np.float64, np.float32, np.int64],
                         ids=["np.float64", "np.float32", "np.int64"])
@pytest.mark.parametrize("name", list(NUMPY_SCALAR_CASES))
def test_numpy_scalars_keep_the_tensor_dtype(name, scalar_type, dtype):
    """A NumPy scalar acts like a Python number: float32 stays float32, float64 stays float64."""
    rb_fn, torch_fn = NUMPY_SCALAR_CASES[name]
    scalar = scalar_type(2)
    x = positive((2, 3), dtype, seed=31)
    check_op(lambda t: rb_fn(t, scalar), lambda t: torch_fn(t, scalar.item()), [x])
    assert rb_fn(rb.tensor(x), scalar).dtype == dtype


def test_mixed_float_dtypes_promote_like_torch():
    a = rb.tensor(np.ones(2, np.float32), requires_grad=True)
    b = rb.tensor(np.ones(2, np.float64), requires_grad=True)
    y = a * b
    assert torch.promote_types(torch.float32, torch.float64) == torch.float64
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_python_numbers_keep_the_tensor_dtype(name, dtype):
    x = rb.tensor(positive((3,), dtype, seed=32))
    fn = getattr(rb, name)
    assert fn(x, 2.5).dtype == dtype
    assert fn(2.5, x).dtype == dtype
    assert fn(x, 2).dtype == dtype


MIXED_CASES = {
    "float*int": lambda f, i: f * i,
    "int-float": lambda f, i: i - f,
    "float/int": lambda f, i: f / i,
    "int**float": lambda f, i: i**f,
}


@pytest.mark.parametrize("name", list(MIXED_CASES))
def test_float_with_integer_tensor_keeps_the_float_dtype(name, dtype):
    """Floating tensors win over integer ones: float32 · int64 is float32 (NumPy says float64)."""
    fn = MIXED_CASES[name]
    f = positive((2, 3), dtype, seed=33)
    i = np.array([1, 2, 3], np.int64)
    check_op(fn, fn, [f, i])


@pytest.mark.parametrize("name,fn", [
    ("int/int", lambda i: i / i),
    ("int+0.5", lambda i: i + 0.5),
    ("0.5*int", lambda i: 0.5 * i),
    ("int**0.5", lambda i: i**0.5),
    ("int*2", lambda i: i * 2),
    ("int-int", lambda i: i - i),
])
def test_integer_only_operands_promote_like_torch(name, fn):
    """A floating result made from integers alone is float32, PyTorch's default dtype; an
    integer one stays int64."""
    check_op(fn, fn, [np.array([1, 2, 3], np.int64)])


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_minimum_of_float_and_int_tensors(fn, dtype):
    f = np.array([[0.5, 2.0, 3.0]], dtype)
    i = np.array([[1], [2]], np.int64)  # a tie at 2.0
    check_op(getattr(rb, fn), getattr(torch, fn), [f, i])


def test_where_and_clip_with_integer_tensors(dtype):
    f = normal((2, 3), dtype, seed=34)
    i = np.array([1, -2, 3], np.int64)
    check_op(lambda x, y: rb.where(x > 0, x, y), lambda x, y: torch.where(x > 0, x, y), [f, i])
    check_op(lambda y: rb.clip(y, -0.5, 1.5), lambda y: torch.clamp(y, -0.5, 1.5), [i])
