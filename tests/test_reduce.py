"""Reductions against PyTorch: forward values and input gradients (check_op) over dim=None, an
int, a negative int and tuples of dims, with keepdim True and False, in float32 and float64;
ties, zero-size dims, infinities and finite differences (check_gradcheck) in float64."""

import warnings

import numpy as np
import pytest
import torch
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb

# torch warns when n − correction ≤ 0; those cases are compared on purpose (both give nan/inf)
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")

# (shape, dim): all dims, each kind of dim, size-1 and 0-d inputs
REDUCE_CASES = [
    ((3, 4, 5), None),
    ((3, 4, 5), 0),
    ((3, 4, 5), 1),
    ((3, 4, 5), -1),
    ((3, 4, 5), (0, 2)),
    ((3, 4, 5), (-1, 0)),
    ((3, 4, 5), (0, 1, 2)),
    ((6,), 0),
    ((6,), None),
    ((1, 5), 0),
    ((2, 1, 3), (1, -1)),
    ((), None),
    ((), 0),
    ((), -1),
]


def normal(shape, dtype, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


def all_dims(dim, ndim):
    """PyTorch's spelling of rosenblatt's ``dim=None`` for ops whose ``dim`` is required."""
    return tuple(range(ndim)) if dim is None else dim


REDUCTIONS = {
    "sum": (lambda t, d, k: rb.sum(t, d, k),
            lambda t, d, k: torch.sum(t, all_dims(d, t.ndim), keepdim=k)),
    "sum-method": (lambda t, d, k: t.sum(dim=d, keepdim=k),
                   lambda t, d, k: t.sum(dim=all_dims(d, t.ndim), keepdim=k)),
    "mean": (lambda t, d, k: rb.mean(t, d, k),
             lambda t, d, k: torch.mean(t, all_dims(d, t.ndim), keepdim=k)),
    "mean-method": (lambda t, d, k: t.mean(dim=d, keepdim=k),
                    lambda t, d, k: t.mean(dim=all_dims(d, t.ndim), keepdim=k)),
    "amax": (lambda t, d, k: rb.amax(t, d, k),
             lambda t, d, k: torch.amax(t, all_dims(d, t.ndim), keepdim=k)),
    "amin": (lambda t, d, k: t.amin(d, k),
             lambda t, d, k: torch.amin(t, all_dims(d, t.ndim), keepdim=k)),
    "logsumexp": (lambda t, d, k: rb.logsumexp(t, d, k),
                  lambda t, d, k: torch.logsumexp(t, all_dims(d, t.ndim) or 0, keepdim=k)),
    "var0": (lambda t, d, k: rb.var(t, d, k, correction=0),
             lambda t, d, k: torch.var(t, all_dims(d, t.ndim), keepdim=k, correction=0)),
    "var1": (lambda t, d, k: t.var(d, k),
             lambda t, d, k: torch.var(t, all_dims(d, t.ndim), keepdim=k, correction=1)),
    "std0": (lambda t, d, k: rb.std(t, d, k, correction=0),
             lambda t, d, k: torch.std(t, all_dims(d, t.ndim), keepdim=k, correction=0)),
    "std1": (lambda t, d, k: t.std(d, k),
             lambda t, d, k: torch.std(t, all_dims(d, t.ndim), keepdim=k, correction=1)),
}


@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
@pytest.mark.parametrize("shape,dim", REDUCE_CASES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_matches_torch(name, shape, dim, keepdim, dtype):
    rb_fn, torch_fn = REDUCTIONS[name]
    x = normal(shape, dtype, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # var/std of one element: 0/0
        check_op(lambda t: rb_fn(t, dim, keepdim), lambda t: torch_fn(t, dim, keepdim), [x])


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dim", [None, 1, -1, (0, 2)], ids=str)
def test_reduction_gradcheck(name, dim):
    rb_fn, _ = REDUCTIONS[name]
    x = normal((3, 4, 2), np.float64, seed=2)  # continuous values: no ties for amax/amin
    check_gradcheck(lambda t: rb_fn(t, dim, False), [x])


def test_reductions_by_hand():
    x = rb.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]])
    assert x.sum().item() == 24.0
    np.testing.assert_array_equal(x.sum(dim=0).numpy(), [5.0, 7.0, 12.0])
    np.testing.assert_array_equal(x.sum(dim=-1, keepdim=True).numpy(), [[6.0], [18.0]])
    np.testing.assert_array_equal(x.mean(dim=1).numpy(), [2.0, 6.0])
    np.testing.assert_array_equal(rb.amax(x, dim=0).numpy(), [4.0, 5.0, 9.0])
    np.testing.assert_array_equal(rb.amin(x, dim=(0, 1)).numpy(), 1.0)
    np.testing.assert_allclose(x.var(dim=1).numpy(), [1.0, 7.0])
    np.testing.assert_allclose(x.var(dim=1, correction=0).numpy(), [2 / 3, 14 / 3], rtol=1e-6)
    np.testing.assert_allclose(rb.logsumexp(rb.tensor([0.0, 0.0]), 0).item(), np.log(2.0),
                               rtol=1e-6)


def test_reductions_keep_the_dtype(dtype):
    x = rb.tensor(normal((2, 3), dtype))
    for y in (x.sum(), x.mean(0), rb.amax(x, 1), x.var(), x.std(0), rb.logsumexp(x, 1)):
        assert y.dtype == dtype


def test_sum_backward_of_a_broadcast_gradient_is_writable_and_owned():
    x = rb.tensor(np.ones((2, 3)), requires_grad=True)
    x.sum(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    x.grad += 1  # the stored gradient must be a real array, not a read-only broadcast view
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_duplicate_dims_are_rejected_like_torch():
    x = rb.tensor(np.ones((2, 3)))
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).sum(dim=(0, 0))
    with pytest.raises((ValueError, IndexError), match="multiple times"):
        x.sum(dim=(0, 0))
    with pytest.raises((ValueError, IndexError), match="multiple times"):
        rb.amax(x, dim=(1, -1))


@pytest.mark.parametrize("dim", [2, -3, (0, 5)], ids=str)
def test_dim_out_of_range_raises(dim):
    with pytest.raises(IndexError, match="out of range"):
        rb.tensor(np.ones((2, 3))).sum(dim=dim)


# ------------------------------------------------------------------ ties


TIED = np.array([[1.0, 3.0, 3.0, 0.0],
                 [2.0, 2.0, 2.0, 2.0],
                 [-1.0, 5.0, -1.0, 4.0]])


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
def test_amax_amin_ties_share_the_gradient_evenly(dim, keepdim, dtype):
    x = TIED.astype(dtype)
    td = all_dims(dim, x.ndim)
    check_op(lambda t: rb.amax(t, dim, keepdim), lambda t: torch.amax(t, td, keepdim), [x])
    check_op(lambda t: rb.amin(t, dim, keepdim), lambda t: torch.amin(t, td, keepdim), [x])


def test_amax_tie_gradient_by_hand():
    x = rb.tensor(TIED, requires_grad=True)
    rb.amax(x, dim=1).sum().backward()
    expected = [[0.0, 0.5, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]]
    np.testing.assert_array_equal(x.grad, expected)
    x.grad = None
    rb.amin(x).backward()
    np.testing.assert_array_equal(x.grad, np.where(TIED == -1.0, 0.5, 0.0))


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_min_without_dim_share_ties_like_torch(fn, dtype):
    x = TIED.astype(dtype)
    check_op(getattr(rb, fn), getattr(torch, fn), [x])
    check_op(lambda t: getattr(t, fn)(), lambda t: getattr(t, fn)(), [x])


# ------------------------------------------------------------------ max / min with dim


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1, -3], ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
def test_max_min_with_dim_return_values_and_indices(fn, dim, keepdim, dtype):
    x = normal((3, 4, 5), dtype, seed=3)
    check_op(lambda t: getattr(rb, fn)(t, dim, keepdim),
             lambda t: getattr(torch, fn)(t, dim, keepdim), [x])
    check_op(lambda t: getattr(t, fn)(dim=dim, keepdim=keepdim),
             lambda t: getattr(t, fn)(dim=dim, keepdim=keepdim), [x])


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1], ids=str)
def test_max_min_with_dim_give_ties_to_the_returned_index(fn, dim, dtype):
    x = TIED.astype(dtype)
    check_op(lambda t: getattr(rb, fn)(t, dim), lambda t: getattr(torch, fn)(t, dim), [x])


def test_max_with_dim_by_hand():
    x = rb.tensor(TIED, requires_grad=True)
    out = rb.max(x, dim=1)
    values, indices = out
    assert out.values is values and out.indices is indices
    np.testing.assert_array_equal(values.detach().numpy(), [3.0, 2.0, 5.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0, 1])  # first of the tied maxima
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("dim", [0, -1], ids=str)
def test_max_min_with_dim_on_a_0d_tensor(fn, dim, dtype):
    x = np.array(1.5, dtype)
    check_op(lambda t: getattr(rb, fn)(t, dim), lambda t: getattr(torch, fn)(t, dim), [x])
    check_op(lambda t: getattr(rb, fn)(t, dim, True), lambda t: getattr(torch, fn)(t, dim, True),
             [x])


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_min_with_dim_gradcheck(fn):
    x = normal((3, 4), np.float64, seed=4)
    check_gradcheck(lambda t: getattr(rb, fn)(t, 1).values, [x])
    check_gradcheck(lambda t: getattr(rb, fn)(t, 0, True).values, [x])


# ------------------------------------------------------------------ argmax / argmin


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
def test_argmax_argmin_match_torch(fn, dim, keepdim, dtype):
    for x in (normal((3, 4), dtype, seed=5), TIED.astype(dtype)):
        check_op(lambda t: getattr(rb, fn)(t, dim, keepdim),
                 lambda t: getattr(torch, fn)(t, dim, keepdim), [x], grad=[False])
        check_op(lambda t: getattr(t, fn)(dim, keepdim),
                 lambda t: getattr(t, fn)(dim, keepdim), [x], grad=[False])


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, -1], ids=str)
def test_argmax_argmin_of_a_0d_tensor(fn, dim):
    x = np.array(2.0, np.float32)
    check_op(lambda t: getattr(rb, fn)(t, dim), lambda t: getattr(torch, fn)(t, dim), [x],
             grad=[False])


def test_argmax_by_hand():
    x = rb.tensor(TIED)
    assert rb.argmax(x).item() == 9  # flat index of the 5.0
    assert rb.argmin(x).item() == 8  # first of the two -1.0
    np.testing.assert_array_equal(rb.argmax(x, 1).numpy(), [1, 0, 1])
    np.testing.assert_array_equal(x.argmin(0, keepdim=True).numpy(), [[2, 1, 2, 0]])
    assert rb.argmax(x).dtype == np.int64


# ------------------------------------------------------------------ zero-size dims


ZERO_SIZE_CASES = [
    ((0, 3), 0),
    ((0, 3), None),
    ((0, 3), 1),
    ((2, 0, 3), (0, 1)),
    ((2, 0, 3), -1),
]


@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
@pytest.mark.parametrize("shape,dim", ZERO_SIZE_CASES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_over_zero_size_dims(name, shape, dim, keepdim, dtype):
    """Sum is 0, mean/var/std are nan, logsumexp is −inf over an empty axis (as in PyTorch);
    amax/amin are only defined when the reduced axes are not empty."""
    rb_fn, torch_fn = REDUCTIONS[name]
    x = np.zeros(shape, dtype)
    axes = range(len(shape)) if dim is None else np.atleast_1d(dim)
    empty_reduced = any(shape[a] == 0 for a in axes)
    if name in ("amax", "amin") and empty_reduced:
        with pytest.raises(IndexError, match="non-zero size"):
            torch_fn(torch.tensor(x), dim, keepdim)
        with pytest.raises(ValueError):
            rb_fn(rb.tensor(x), dim, keepdim)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of an empty slice
        check_op(lambda t: rb_fn(t, dim, keepdim), lambda t: torch_fn(t, dim, keepdim), [x])


def test_empty_reductions_by_hand():
    x = rb.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    y = x.sum(dim=0)
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 0.0, 0.0])
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    assert rb.logsumexp(x, 0).detach().numpy().tolist() == [-np.inf] * 3
    assert x.sum().item() == 0.0


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_min_with_dim_over_a_nonempty_dim_of_an_empty_tensor(fn, dtype):
    x = np.zeros((0, 3), dtype)
    check_op(lambda t: getattr(rb, fn)(t, 1), lambda t: getattr(torch, fn)(t, 1), [x])


# ------------------------------------------------------------------ var / std


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)], ids=str)
def test_var_std_corrections(correction, dim, dtype):
    x = normal((4, 5), dtype, seed=6)
    td = all_dims(dim, 2)
    check_op(lambda t: rb.var(t, dim, correction=correction),
             lambda t: torch.var(t, td, correction=correction), [x])
    check_op(lambda t: t.std(dim, True, correction=correction),
             lambda t: t.std(td, keepdim=True, correction=correction), [x])


def test_var_std_of_a_single_element_with_correction_1_are_nan(dtype):
    x = np.array([[2.0], [3.0]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_op(lambda t: rb.var(t, 1), lambda t: torch.var(t, 1), [x])
        check_op(lambda t: rb.std(t, 1), lambda t: torch.std(t, 1), [x])
        assert np.isnan(rb.var(rb.tensor(x), 1).numpy()).all()


@pytest.mark.parametrize("correction", [0, 1])
def test_std_of_constant_input_has_zero_gradient_like_torch(correction, dtype):
    """σ = 0: PyTorch masks the gradient dy / 2σ to 0 instead of 0 · inf = nan."""
    x = np.full((3, 4), 1.5, dtype)
    x[0] = [1.0, 2.0, 3.0, 4.0]  # one row that does vary
    check_op(lambda t: rb.std(t, 1, correction=correction),
             lambda t: torch.std(t, 1, correction=correction), [x])
    t = rb.tensor(x, requires_grad=True)
    rb.std(t, correction=correction, dim=1).sum().backward()
    np.testing.assert_array_equal(t.grad[1:], 0.0)


def test_var_std_by_hand():
    x = rb.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    np.testing.assert_allclose(x.var().item(), 5 / 3, rtol=1e-6)
    np.testing.assert_allclose(x.std(correction=0).item(), np.sqrt(1.25), rtol=1e-6)
    x.var(correction=0).backward()
    np.testing.assert_allclose(x.grad, [-0.75, -0.25, 0.25, 0.75], rtol=1e-6)


# ------------------------------------------------------------------ logsumexp


@pytest.mark.parametrize("dim", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["drop", "keep"])
def test_logsumexp_of_huge_values_does_not_overflow(dim, keepdim, dtype):
    x = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4 + 2.0, -1e4], [3.0, 1e4, 50.0]], dtype)
    td = all_dims(dim, 2)
    check_op(lambda t: rb.logsumexp(t, dim, keepdim), lambda t: torch.logsumexp(t, td, keepdim),
             [x])
    y = rb.logsumexp(rb.tensor(x), dim, keepdim).numpy()
    assert np.isfinite(y).all()


def test_logsumexp_huge_values_by_hand():
    y = rb.logsumexp(rb.tensor(np.array([1e4, 1e4], np.float64)), 0)
    np.testing.assert_allclose(y.item(), 1e4 + np.log(2.0), rtol=1e-12)


@pytest.mark.parametrize("dim", [None, 0, 1], ids=str)
def test_logsumexp_with_minus_inf_entries(dim, dtype):
    """−inf entries contribute nothing; a slice that is all −inf gives −inf (and, as in PyTorch,
    a nan gradient)."""
    x = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [2.0, -np.inf, 2.0]], dtype)
    td = all_dims(dim, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_op(lambda t: rb.logsumexp(t, dim), lambda t: torch.logsumexp(t, td), [x])
        y = rb.logsumexp(rb.tensor(x), 1).numpy()
    np.testing.assert_allclose(y, [np.log(1 + np.e), -np.inf, 2 + np.log(2.0)], rtol=1e-6)


def test_logsumexp_with_plus_inf_entries(dtype):
    x = np.array([[np.inf, 1.0], [0.0, 1.0]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_op(lambda t: rb.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), [x])


def test_logsumexp_gradient_is_softmax():
    x = normal((3, 5), np.float64, seed=7)
    t = rb.tensor(x, requires_grad=True)
    rb.logsumexp(t, 1).sum().backward()
    softmax = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(t.grad, softmax, rtol=1e-12)
    check_gradcheck(lambda u: rb.logsumexp(u, 1), [x + 500.0])
