"""Indexing against PyTorch: basic (ints, slices with steps, None, Ellipsis), advanced (integer
arrays, lists and Tensors with repeated entries, whose gradients must accumulate), boolean masks
and gather. Forward values and gradients, float32 and float64; then finite differences."""

import numpy as np
import pytest
import torch
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb

A = np.array


def _x(shape, dtype=np.float64, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


def _id(value):
    """A short, one-line test id for an index."""
    if isinstance(value, tuple):
        return "(" + ",".join(_id(v) for v in value) + ")"
    if isinstance(value, np.ndarray):
        return f"a{value.tolist()}".replace(" ", "")
    if isinstance(value, slice):
        text = f"{'' if value.start is None else value.start}:"
        text += f"{'' if value.stop is None else value.stop}"
        return text + ("" if value.step is None else f":{value.step}")
    return "..." if value is Ellipsis else str(value).replace(" ", "")


def _convert(index, to):
    """``index`` with every ndarray inside it replaced by ``to(array)``."""
    if isinstance(index, tuple):
        return tuple(_convert(p, to) for p in index)
    return to(index) if isinstance(index, np.ndarray) else index


def _check_index(shape, index, dtype, kind="numpy"):
    """x[index] in rosenblatt (array parts given as ``kind``) and in torch, forward and grad."""
    to_rb = {"numpy": lambda a: a, "list": lambda a: a.tolist(), "tensor": rb.tensor}[kind]
    rb_index = _convert(index, to_rb)
    torch_index = _convert(index, torch.tensor)
    check_op(lambda x: x[rb_index], lambda x: x[torch_index], [_x(shape, dtype)])


# ------------------------------------------------------------------ basic indexing

BASIC = [
    ((5, 4), 2),
    ((5, 4), -1),
    ((5, 4), (1, 3)),
    ((5, 4), (-2, -4)),
    ((2, 3, 4), (1, -1, 0)),  # down to a 0-d result
    ((5, 4), slice(1, 4)),
    ((7, 4), slice(None, None, 2)),
    ((7, 4), slice(1, -1, 3)),
    ((6, 5), (slice(None, None, 2), slice(1, None, 2))),
    ((6, 5), (slice(-4, None), 2)),
    ((5, 4), slice(3, 100)),  # past the end
    ((5, 4), slice(2, 2)),  # empty
    ((5, 4), (slice(None), slice(4, None))),  # empty along dim 1
    ((5, 4), None),
    ((5, 4), (None, 1, None)),
    ((2, 3, 4), (slice(None), None, slice(1, 3))),
    ((2, 3, 4), Ellipsis),
    ((2, 3, 4), (Ellipsis, 1)),
    ((2, 3, 4), (Ellipsis, slice(None, None, 2))),
    ((2, 3, 4), (1, Ellipsis, None)),
    ((2, 3, 4, 5), (0, Ellipsis, slice(1, 3), -1)),
    ((2, 3, 4), ()),
    ((4,), -4),
    ((0, 3), (slice(None), 1)),  # zero-size input
    ((3, 0), 1),
]


@pytest.mark.parametrize("shape,index", BASIC, ids=_id)
def test_basic_indexing_matches_torch(shape, index, dtype):
    _check_index(shape, index, dtype)


@pytest.mark.parametrize("stop", [None, 0, 1])
def test_negative_step_slices(stop, dtype):
    """PyTorch has no negative steps; x[5:stop:-2] picks the same rows as an index list."""
    rows = list(range(6))[5:stop:-2]
    check_op(lambda x: x[5:stop:-2], lambda x: x[torch.tensor(rows)], [_x((6, 3), dtype)])
    check_op(lambda x: x[::-1, ::-1], lambda x: x.flip((0, 1)), [_x((6, 3), dtype)])


def test_basic_index_known_gradient():
    x = rb.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    y = x[1:, ::2]
    assert y.shape == (2, 2)
    (y * rb.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0, 0], [1, 0, 2, 0], [3, 0, 4, 0]])


def test_numpy_integer_scalars_index(dtype):
    check_op(lambda x: x[np.int64(2), np.int32(-1)], lambda x: x[2, -1], [_x((4, 3), dtype)])
    check_op(lambda x: x[rb.tensor(1)], lambda x: x[torch.tensor(1)], [_x((4, 3), dtype)])


def test_overlapping_basic_indexes_accumulate(dtype):
    def ours(x):
        return x[1:3] + x[2:4] + x[2]

    check_op(ours, ours, [_x((5, 2), dtype)])


# ------------------------------------------------------------------ advanced indexing

ADVANCED = [
    ((5, 3), A([0, 2, 0, 0, 4])),  # repeated rows
    ((5, 3), A([-1, 0, -1])),  # negative and repeated
    ((5,), A([1, 1, 1, 1])),
    ((5, 3), A([[0, 1], [1, 1], [4, 0]])),  # 2-D index array → 3-D result
    ((4, 3), (A([0, 1, 1, 0]), A([2, 0, 0, 2]))),  # repeated (row, col) pairs
    ((4, 3), (A([[0], [3]]), A([0, 2, 2]))),  # broadcasting index arrays
    ((4, 3, 2), (A([1, 1, 3]), A([0, 2, 0]), A([1, 1, 1]))),
    ((4, 3), (slice(None), A([0, 0, 2]))),  # slice then array
    ((4, 3), (slice(1, None), A([2, 2]))),
    ((4, 3, 5), (A([0, 0, 3]), slice(None, 2))),  # array then slice
    ((4, 3, 5), (A([1, 0, 1]), slice(None), A([4, 4, 0]))),  # arrays split by a slice
    ((4, 3, 5), (Ellipsis, A([1, 1]))),
    ((4, 3, 5), (None, A([2, 2, 0]))),
    ((4, 3, 5), (A([3, 3]), 1)),  # array and int
    ((4, 3, 5), (1, slice(None), A([[0, 0], [4, 4]]))),
    ((4, 3), A([], dtype=np.int64)),  # empty index
    ((0, 3), (slice(None), A([1, 1]))),  # zero-size input
    ((4, 3), (A([0, 3]),)),  # a 1-tuple
    # integers select first, as in PyTorch (NumPy would move the array's dims to the front)
    ((4, 3, 5), (slice(None), 1, A([0, 0, 3]))),
    ((4, 3, 5), (1, Ellipsis, A([2, 2]))),
    ((4, 3, 5), (None, 1, slice(None), A([0, 3]))),
    ((4, 3, 5), (A(2), slice(None), A([0, 3, 3]))),  # a 0-d index acts as an int
    ((4, 3, 5), (1, slice(1, None), A([True, False, True, True, False]))),
    ((2, 4, 3, 5), (slice(None), 1, slice(None), A([[0], [4]]))),
    ((2, 4, 3, 5), (A([1, 0, 1]), 2, slice(None), A([4, 4, 0]))),
    ((4, 3, 5), (2, rng(16).random((3, 5)) > 0.5)),  # an int and a 2-D mask
]


@pytest.mark.parametrize("kind", ["numpy", "list", "tensor"])
@pytest.mark.parametrize("shape,index", ADVANCED, ids=_id)
def test_advanced_indexing_matches_torch(shape, index, kind, dtype):
    _check_index(shape, index, dtype, kind)


def test_repeated_indices_accumulate_known_values():
    x = rb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[[0, 2, 0, 0]]
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 3.0, 1.0, 1.0])
    (y * rb.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [1101.0, 0.0, 10.0])


def test_repeated_pairs_accumulate_known_values():
    x = rb.tensor(np.zeros((2, 3)), requires_grad=True)
    x[rb.tensor([1, 1, 0]), rb.tensor([2, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0, 0], [0, 0, 2]])


def test_index_tensor_not_requiring_grad_is_left_alone():
    idx = rb.tensor([0, 0, 1])
    x = rb.tensor([5.0, 6.0], requires_grad=True)
    x[idx].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 1.0])
    assert idx.grad is None


# ------------------------------------------------------------------ boolean masks

MASKS = [
    ((3, 4), lambda s: rng(11).random(s) > 0.5),  # full-shape mask
    ((4, 3), lambda s: A([True, False, True, True])),  # mask over the first dim
    ((2, 3, 4), lambda s: rng(12).random(s[:2]) > 0.4),  # mask over the first two dims
    ((3, 4), lambda s: np.zeros(s, bool)),  # selects nothing
    ((3, 4), lambda s: np.ones(s, bool)),  # selects everything
]


@pytest.mark.parametrize("kind", ["numpy", "tensor"])
@pytest.mark.parametrize("case", range(len(MASKS)))
def test_boolean_mask_matches_torch(case, kind, dtype):
    shape, make = MASKS[case]
    _check_index(shape, make(shape), dtype, kind)


@pytest.mark.parametrize("kind", ["numpy", "tensor"])
def test_boolean_mask_mixed_with_slices(kind, dtype):
    cols = A([True, False, False, True])
    _check_index((3, 4), (slice(None), cols), dtype, kind)
    _check_index((3, 4), (slice(1, None), cols), dtype, kind)
    _check_index((2, 3, 4), (Ellipsis, cols), dtype, kind)


def test_mask_from_comparison(dtype):
    def fn(x):
        return x[x > 0.2]

    check_op(fn, fn, [_x((4, 5), dtype)])


def test_mask_known_gradient():
    x = rb.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    y = x[x.detach() > 0]
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 4.0])
    (y * rb.tensor([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0], [0.0, 3.0]])


# ------------------------------------------------------------------ gradcheck

GRADCHECK = [
    ((4, 3), (slice(1, None, 2), -1)),
    ((3, 4), (None, Ellipsis, slice(None, None, 3))),
    ((4, 3), A([0, 3, 0, 0])),
    ((4, 3), (A([1, 1, 2]), A([0, 0, 2]))),
    ((3, 2, 4), (A([2, 0, 2]), slice(None), A([1, 1, 3]))),
    ((3, 4), rng(13).random((3, 4)) > 0.5),
    ((3, 2, 4), (1, slice(None), A([3, 0, 3]))),
]


@pytest.mark.parametrize("shape,index", GRADCHECK, ids=_id)
def test_indexing_gradcheck(shape, index):
    check_gradcheck(lambda x: x[index], [_x(shape)])


# ------------------------------------------------------------------ errors

def test_out_of_range_indices_raise():
    x = rb.zeros(3, 2)
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[[0, 3]]
    with pytest.raises(IndexError):
        x[:, -3]
    with pytest.raises(IndexError):
        x[np.ones(4, bool)]  # mask of the wrong length


# ------------------------------------------------------------------ gather

GATHER = [
    ((3, 4), 0, A([[0, 1, 2, 0], [2, 2, 2, 2]])),  # repeated indices along dim 0
    ((3, 4), 1, A([[3, 3, 0], [1, 0, 1], [2, 2, 2]])),  # repeated along dim 1
    ((3, 4), -1, A([[0], [3], [1]])),  # negative dim
    ((3, 4), -2, A([[2, 0, 0, 1]])),
    ((3, 4), 1, A([[0, 1], [1, 1]])),  # index smaller on the non-gather dim 0
    ((3, 4), 1, A([[0, 0, 0, 0, 0, 3]])),  # longer than x along the gather dim
    ((2, 3, 4), 0, A([[[1, 0], [1, 1]]])),  # smaller on dims 0 and 2
    ((2, 3, 4), 1, rng(14).integers(0, 3, (2, 5, 4))),
    ((2, 3, 4), 2, rng(15).integers(0, 4, (1, 3, 6))),
    ((2, 3, 4), -1, A([[[3], [3], [3]], [[0], [0], [0]]])),
    ((5,), 0, A([4, 4, 0, 1, 4])),
    ((3, 4), 1, np.zeros((3, 0), np.int64)),  # empty index
    ((0, 4), 1, np.zeros((0, 2), np.int64)),  # zero-size input
    ((), 0, A(0)),  # a 0-d input acts as shape (1,)
    ((), -1, A(0)),
]


@pytest.mark.parametrize("shape,dim,index", GATHER, ids=_id)
def test_gather_matches_torch(shape, dim, index, dtype):
    check_op(lambda x: rb.gather(x, dim, index),
             lambda x: torch.gather(x, dim, torch.tensor(index)), [_x(shape, dtype)])
    check_op(lambda x: x.gather(dim, rb.tensor(index)),
             lambda x: x.gather(dim, torch.tensor(index)), [_x(shape, dtype)])


def test_gather_accepts_a_list_index(dtype):
    idx = [[1, 1, 0], [0, 0, 0]]
    check_op(lambda x: rb.gather(x, 1, idx), lambda x: torch.gather(x, 1, torch.tensor(idx)),
             [_x((2, 3), dtype)])


def test_gather_known_values():
    x = rb.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = rb.gather(x, 1, [[0, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(y.detach().numpy(), [[1, 1, 2], [4, 3, 4]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 1.0], [1.0, 2.0]])


@pytest.mark.parametrize("shape,dim,index", [GATHER[1], GATHER[6], GATHER[9]], ids=_id)
def test_gather_gradcheck(shape, dim, index):
    check_gradcheck(lambda x: rb.gather(x, dim, index), [_x(shape)])


def test_gather_errors():
    x = rb.zeros(3, 4)
    with pytest.raises(ValueError, match="dims"):
        rb.gather(x, 1, [0, 1])  # index has fewer dims than x
    with pytest.raises(ValueError, match="larger"):
        rb.gather(x, 1, np.zeros((4, 1), np.int64))  # larger than x on dim 0
    with pytest.raises(IndexError):
        rb.gather(x, 1, [[4], [0], [0]])  # past the end of the gather dim
    with pytest.raises(IndexError):
        rb.gather(x, 1, [[-1], [0], [0]])  # negative, as in torch
    with pytest.raises(IndexError):
        rb.gather(x, 2, [[0], [0], [0]])  # no dim 2
    with pytest.raises(IndexError):
        rb.gather(rb.tensor(1.0), 1, 0)
    with pytest.raises(IndexError):
        rb.gather(rb.tensor(1.0), 0, 1)


def test_integers_select_before_arrays_known_shapes():
    """PyTorch applies integers first; NumPy would broadcast them with the arrays."""
    x = rb.tensor(_x((4, 3, 5)), requires_grad=True)
    assert x[1, :, [0, 2]].shape == (3, 2)
    assert x[:, 1, [[0, 2, 2]]].shape == (4, 1, 3)
    assert x[rb.tensor(1), :, rb.tensor([0, 2])].shape == (3, 2)
    y = x[2, :, [4, 4]]
    y.sum().backward()
    expected = np.zeros((4, 3, 5))
    expected[2, :, 4] = 2.0
    np.testing.assert_array_equal(x.grad, expected)


def test_empty_list_and_nested_tuple_indexes(dtype):
    check_op(lambda x: x[[]], lambda x: x[[]], [_x((3, 2), dtype)])
    check_op(lambda x: x[(0, 2, 2), 1], lambda x: x[(0, 2, 2), 1], [_x((3, 2), dtype)])
