"""matmul / @ against PyTorch: every operand rank NumPy and PyTorch accept, broadcasting batch
dims, size-1 and zero-size dims; forward and both gradients, then finite differences."""

import re

import numpy as np
import pytest
import torch
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb

SHAPES = [
    ((4,), (4,)),  # vector · vector → scalar
    ((4,), (4, 3)),  # row vector times matrix
    ((3, 4), (4,)),  # matrix times column vector
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((1, 4), (4, 1)),  # outer dims of size 1
    ((3, 1), (1, 5)),  # inner dim of size 1: an outer product
    ((2, 3, 4), (2, 4, 5)),  # batched, same batch
    ((2, 3, 4), (4, 5)),  # batched times a single matrix
    ((3, 4), (7, 4, 2)),  # a single matrix times a batch
    ((2, 1, 3, 4), (5, 4, 6)),  # broadcast batch dims: (2,1) with (5,) → (2,5)
    ((1, 3, 3, 4), (2, 1, 4, 2)),  # both batches stretched
    ((2, 3, 4), (4,)),  # batch of matrices times a vector
    ((4,), (2, 3, 4, 5)),  # a vector times a 4-D batch
    ((2, 2, 3, 4), (2, 2, 4, 3)),  # 4-D, nothing broadcast
]

ZERO_SIZE = [
    ((3, 0), (0, 4)),  # k = 0: the product is all zeros
    ((0, 4), (4, 5)),  # m = 0
    ((3, 4), (4, 0)),  # n = 0
    ((0,), (0,)),  # empty dot product = 0
    ((0,), (0, 3)),
    ((3, 0), (0,)),
    ((0, 2, 3), (3, 4)),  # empty batch
    ((2, 3, 0), (1, 0, 5)),  # k = 0 with a broadcast batch
]


def _mm(a, b):
    return a @ b


@pytest.mark.parametrize("sa,sb", SHAPES, ids=str)
def test_matmul_matches_torch(sa, sb, dtype):
    r = rng(3)
    a = r.standard_normal(sa).astype(dtype)
    b = r.standard_normal(sb).astype(dtype)
    check_op(_mm, _mm, [a, b])
    check_op(rb.matmul, torch.matmul, [a, b])


@pytest.mark.parametrize("sa,sb", ZERO_SIZE, ids=str)
def test_matmul_zero_size_matches_torch(sa, sb, dtype):
    r = rng(4)
    a = r.standard_normal(sa).astype(dtype)
    b = r.standard_normal(sb).astype(dtype)
    check_op(_mm, _mm, [a, b])


@pytest.mark.parametrize("sa,sb", SHAPES + ZERO_SIZE[:3], ids=str)
def test_matmul_gradcheck(sa, sb):
    r = rng(5)
    check_gradcheck(_mm, [r.standard_normal(sa), r.standard_normal(sb)])


def test_matmul_known_values():
    a = rb.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = rb.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
    y = a @ b
    np.testing.assert_array_equal(y.detach().numpy(), [[19.0, 22.0], [43.0, 50.0]])
    y.sum().backward()
    # d(Σ a@b)/da = 1 @ bᵀ: row sums of b; d/db = aᵀ @ 1: column sums of a.
    np.testing.assert_array_equal(a.grad, [[11.0, 15.0], [11.0, 15.0]])
    np.testing.assert_array_equal(b.grad, [[4.0, 4.0], [6.0, 6.0]])


def test_vector_dot_is_zero_dim():
    a = rb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = rb.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = a @ b
    assert y.shape == ()
    assert y.item() == 32.0
    assert isinstance(y.data, np.ndarray)  # a 0-d array, not a NumPy scalar
    y.backward()
    np.testing.assert_array_equal(a.grad, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])
    z = a.detach() @ b.detach()
    z.fill_(7.0)  # in-place ops need an array
    assert z.item() == 7.0


def test_zero_k_gives_zeros_and_zero_grads():
    a = rb.tensor(np.ones((3, 0), np.float32), requires_grad=True)
    b = rb.tensor(np.ones((0, 4), np.float32), requires_grad=True)
    y = a @ b
    assert y.shape == (3, 4)
    np.testing.assert_array_equal(y.detach().numpy(), np.zeros((3, 4)))
    y.sum().backward()
    assert a.grad.shape == (3, 0) and b.grad.shape == (0, 4)


@pytest.mark.parametrize("dtype_", [np.float32, np.float64])
def test_output_and_grad_dtype(dtype_):
    r = rng(6)
    a = rb.tensor(r.standard_normal((2, 3)).astype(dtype_), requires_grad=True)
    b = rb.tensor(r.standard_normal((3, 2)).astype(dtype_), requires_grad=True)
    y = a @ b
    assert y.dtype == dtype_
    y.sum().backward()
    assert a.grad.dtype == dtype_ and b.grad.dtype == dtype_


def test_only_one_operand_requires_grad(dtype):
    r = rng(7)
    a = r.standard_normal((2, 3, 4)).astype(dtype)
    b = r.standard_normal((4, 5)).astype(dtype)
    check_op(_mm, _mm, [a, b], grad=[True, False])
    check_op(_mm, _mm, [a, b], grad=[False, True])


def test_matmul_with_constant_array_operand(dtype):
    r = rng(8)
    w = r.standard_normal((4, 3)).astype(dtype)
    x = r.standard_normal((2, 4)).astype(dtype)
    check_op(lambda a: a @ w, lambda a: a @ torch.tensor(w), [x])  # Tensor @ ndarray
    check_op(lambda a: x @ a, lambda a: torch.tensor(x) @ a, [w])  # ndarray @ Tensor (rmatmul)


def test_matmul_method_and_function_agree():
    r = rng(9)
    a = rb.tensor(r.standard_normal((3, 4)))
    b = rb.tensor(r.standard_normal((4, 2)))
    expected = a.numpy() @ b.numpy()
    np.testing.assert_allclose(a.matmul(b).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(rb.matmul(a, b).numpy(), expected, rtol=1e-12)


def test_grad_accumulates_when_operand_reused(dtype):
    r = rng(10)
    a = r.standard_normal((3, 3)).astype(dtype)
    check_op(lambda x: x @ x, lambda x: x @ x, [a])
    check_op(lambda x: (x @ x.T) @ x, lambda x: (x @ x.T) @ x, [a])


@pytest.mark.parametrize(
    "sa,sb",
    [((3, 4), (5, 6)), ((3,), (5,)), ((2, 3), (4,)), ((4,), (3, 2)), ((2, 3, 4), (2, 5, 6))],
    ids=str,
)
def test_mismatched_inner_dims_names_both_shapes(sa, sb):
    a, b = rb.zeros(*sa), rb.zeros(*sb)
    # the op's own message, not only the "(input shapes: …)" suffix the autograd core appends
    pattern = re.escape(f"{tuple(sa)} and {tuple(sb)}")
    with pytest.raises(ValueError, match=pattern):
        a @ b
    with pytest.raises(ValueError, match=pattern):
        rb.matmul(a, b)


def test_zero_dim_operand_is_rejected():
    with pytest.raises(ValueError, match="dimension"):
        rb.tensor(2.0) @ rb.zeros(3)
    with pytest.raises(ValueError, match="dimension"):
        rb.zeros(3) @ rb.tensor(2.0)


def test_incompatible_batch_dims_raise():
    with pytest.raises(ValueError):
        rb.zeros(2, 3, 4) @ rb.zeros(3, 4, 5)
