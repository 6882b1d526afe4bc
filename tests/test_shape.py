"""Shape ops against PyTorch: reshape/view, transpose, permute, .T, expand, squeeze, unsqueeze,
flatten, cat, stack, split, pad, flip. Forward values and every input's gradient, float32 and
float64, zero-size dims; then finite differences in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, check_op, rng

import rosenblatt as rb


def _x(shape, dtype=np.float64, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


def _same(fn):
    """A case whose rosenblatt and torch spellings are identical."""
    return fn, fn


# ------------------------------------------------------------------ single-input view ops

# (id, input shape, rosenblatt fn, torch fn)
UNARY = [
    ("reshape-args", (2, 3, 4), *_same(lambda x: x.reshape(4, 6))),
    ("reshape-tuple", (2, 3, 4), *_same(lambda x: x.reshape((6, 4)))),
    ("reshape-list", (2, 3, 4), *_same(lambda x: x.reshape([3, 8]))),
    ("reshape-minus1", (2, 3, 4), *_same(lambda x: x.reshape(-1, 2))),
    ("reshape-minus1-mid", (2, 3, 4), *_same(lambda x: x.reshape(2, -1, 3))),
    ("reshape-flat", (2, 3, 4), *_same(lambda x: x.reshape(-1))),
    ("reshape-to-0d", (1, 1), *_same(lambda x: x.reshape(()))),
    ("reshape-from-0d", (), *_same(lambda x: x.reshape(1, 1, 1))),
    ("reshape-fn", (2, 6), lambda x: rb.reshape(x, (3, 4)), lambda x: torch.reshape(x, (3, 4))),
    ("view-args", (2, 3, 4), *_same(lambda x: x.view(3, 8))),
    ("view-tuple", (2, 3, 4), *_same(lambda x: x.view((4, -1)))),
    ("reshape-zero", (0, 3), *_same(lambda x: x.reshape(3, 0))),
    ("reshape-zero-minus1", (2, 0, 3), *_same(lambda x: x.reshape(2, 3, 0))),
    ("transpose-default", (3, 4), lambda x: x.transpose(), lambda x: x.transpose(-2, -1)),
    ("transpose-01", (2, 3, 4), *_same(lambda x: x.transpose(0, 1))),
    ("transpose-neg", (2, 3, 4), *_same(lambda x: x.transpose(0, -1))),
    ("transpose-same", (2, 3), *_same(lambda x: x.transpose(1, 1))),
    ("transpose-fn", (2, 3, 4), lambda x: rb.transpose(x, 2, 1),
     lambda x: torch.transpose(x, 2, 1)),
    ("transpose-zero", (2, 0, 3), *_same(lambda x: x.transpose(1, 2))),
    ("permute-args", (2, 3, 4), *_same(lambda x: x.permute(2, 0, 1))),
    ("permute-tuple", (2, 3, 4), *_same(lambda x: x.permute((1, 2, 0)))),
    ("permute-neg", (2, 3, 4, 5), *_same(lambda x: x.permute(-1, 0, -3, 2))),
    ("permute-identity", (2, 3), *_same(lambda x: x.permute(0, 1))),
    ("permute-fn", (2, 3, 4), lambda x: rb.permute(x, [1, 0, 2]),
     lambda x: torch.permute(x, [1, 0, 2])),
    ("permute-zero", (0, 2, 3), *_same(lambda x: x.permute(2, 0, 1))),
    ("T-2d", (3, 5), *_same(lambda x: x.T)),
    ("T-1d", (4,), lambda x: x.T, lambda x: x.permute(0)),
    ("mT-like-T-3d", (2, 3, 4), lambda x: x.T, lambda x: x.permute(2, 1, 0)),
    ("expand-same-ndim", (3, 1), *_same(lambda x: x.expand(3, 4))),
    ("expand-tuple", (1, 4), *_same(lambda x: x.expand((5, 4)))),
    ("expand-minus1", (3, 1), *_same(lambda x: x.expand(-1, 5))),
    ("expand-new-lead", (3, 1), *_same(lambda x: x.expand(2, 3, 4))),
    ("expand-new-lead-minus1", (1, 4), *_same(lambda x: x.expand(2, 6, -1))),
    ("expand-many", (1, 3, 1), *_same(lambda x: x.expand(2, 2, 3, 5))),
    ("expand-noop", (2, 3), *_same(lambda x: x.expand(2, 3))),
    ("expand-0d", (), *_same(lambda x: x.expand(3, 2))),
    ("expand-to-zero", (1, 3), *_same(lambda x: x.expand(0, 3))),
    ("expand-fn", (3, 1), lambda x: rb.expand(x, (3, 2)), lambda x: x.expand(3, 2)),
    ("squeeze-all", (1, 3, 1, 4, 1), *_same(lambda x: x.squeeze())),
    ("squeeze-one", (1, 3, 1, 4), *_same(lambda x: x.squeeze(2))),
    ("squeeze-neg", (2, 3, 1), *_same(lambda x: x.squeeze(-1))),
    ("squeeze-non1-noop", (2, 3, 1), *_same(lambda x: x.squeeze(0))),
    ("squeeze-tuple", (1, 3, 1, 1), *_same(lambda x: x.squeeze((0, 3)))),
    ("squeeze-all-ones", (1, 1), *_same(lambda x: x.squeeze())),
    ("squeeze-zero", (0, 1, 3), *_same(lambda x: x.squeeze())),
    ("squeeze-zero-dim-noop", (0, 1, 3), *_same(lambda x: x.squeeze(0))),
    ("squeeze-fn", (1, 3), lambda x: rb.squeeze(x, 0), lambda x: torch.squeeze(x, 0)),
    ("unsqueeze-0", (2, 3), *_same(lambda x: x.unsqueeze(0))),
    ("unsqueeze-mid", (2, 3), *_same(lambda x: x.unsqueeze(1))),
    ("unsqueeze-end", (2, 3), *_same(lambda x: x.unsqueeze(2))),
    ("unsqueeze-minus1", (2, 3), *_same(lambda x: x.unsqueeze(-1))),
    ("unsqueeze-minus3", (2, 3), *_same(lambda x: x.unsqueeze(-3))),
    ("unsqueeze-minus2", (2, 3), *_same(lambda x: x.unsqueeze(-2))),
    ("unsqueeze-0d", (), *_same(lambda x: x.unsqueeze(0))),
    ("unsqueeze-zero", (0, 3), *_same(lambda x: x.unsqueeze(1))),
    ("unsqueeze-fn", (4,), lambda x: rb.unsqueeze(x, -1), lambda x: torch.unsqueeze(x, -1)),
    ("flatten-all", (2, 3, 4), *_same(lambda x: x.flatten())),
    ("flatten-start", (2, 3, 4, 5), *_same(lambda x: x.flatten(1))),
    ("flatten-start-end", (2, 3, 4, 5), *_same(lambda x: x.flatten(1, 2))),
    ("flatten-neg", (2, 3, 4, 5), *_same(lambda x: x.flatten(-3, -2))),
    ("flatten-single-dim", (2, 3, 4), *_same(lambda x: x.flatten(1, 1))),
    ("flatten-0d", (), *_same(lambda x: x.flatten())),
    ("flatten-1d", (5,), *_same(lambda x: x.flatten())),
    ("flatten-zero", (2, 0, 3), *_same(lambda x: x.flatten(1))),
    ("flatten-fn", (2, 3, 4), lambda x: rb.flatten(x, 0, 1), lambda x: torch.flatten(x, 0, 1)),
    ("flip-0", (3, 4), *_same(lambda x: x.flip(0))),
    ("flip-neg", (2, 3, 4), *_same(lambda x: x.flip(-1))),
    ("flip-two", (2, 3, 4), *_same(lambda x: x.flip((0, 2)))),
    ("flip-list", (2, 3, 4), *_same(lambda x: x.flip([-1, 1, 0]))),
    ("flip-fn", (3, 4), lambda x: rb.flip(x, 1), lambda x: torch.flip(x, [1])),
    ("flip-fn-dims", (2, 3, 4), lambda x: rb.flip(x, (1, -1)), lambda x: torch.flip(x, (1, -1))),
    ("flip-zero", (0, 3), *_same(lambda x: x.flip((0, 1)))),
    ("chain", (2, 3, 4), *_same(lambda x: x.permute(2, 0, 1).reshape(4, 6).T.unsqueeze(0))),
]


@pytest.mark.parametrize("shape,rb_fn,torch_fn", [c[1:] for c in UNARY],
                         ids=[c[0] for c in UNARY])
def test_unary_shape_op_matches_torch(shape, rb_fn, torch_fn, dtype):
    check_op(rb_fn, torch_fn, [_x(shape, dtype)])


GRADCHECK_UNARY = ["reshape-minus1-mid", "view-tuple", "transpose-neg", "permute-neg", "T-2d",
                   "expand-new-lead-minus1", "expand-many", "squeeze-all", "unsqueeze-minus2",
                   "flatten-neg", "flip-list", "chain"]


@pytest.mark.parametrize("name", GRADCHECK_UNARY)
def test_unary_shape_op_gradcheck(name):
    (_, shape, rb_fn, _), = [c for c in UNARY if c[0] == name]
    check_gradcheck(rb_fn, [_x(shape)])


def test_expand_gradient_sums_over_copies():
    x = rb.tensor([[1.0], [2.0]], requires_grad=True)
    y = x.expand(3, 2, 4)
    np.testing.assert_array_equal(y.detach().numpy(), np.broadcast_to([[1.0], [2.0]], (3, 2, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[12.0], [12.0]])


def test_reshape_and_view_agree_with_numpy_order():
    x = rb.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(x.view(4, 6).numpy(), np.arange(24).reshape(4, 6))
    np.testing.assert_array_equal(x.reshape((3, -1)).numpy(), np.arange(24).reshape(3, 8))
    assert rb.reshape(x, [6, 4]).shape == (6, 4)


def test_squeeze_and_unsqueeze_are_inverse():
    x = rb.tensor(_x((3, 4)), requires_grad=True)
    for d in range(-3, 3):
        y = x.unsqueeze(d)
        assert y.shape.count(1) == 1
        z = y.squeeze(d)
        assert z.shape == (3, 4)
        np.testing.assert_array_equal(z.detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize("bad", [
    lambda x: x.reshape(5, -1),
    lambda x: x.reshape(-1, -1),
    lambda x: x.permute(0, 0, 1),
    lambda x: x.permute(0, 1),
    lambda x: x.permute(0, 1, 3),
    lambda x: x.permute(0, 1, -4),
    lambda x: x.expand(2, 5, 4),
    lambda x: x.expand(4),
    lambda x: x.expand(-1, 2, 3, 4),
    lambda x: x.squeeze(3),
    lambda x: x.unsqueeze(4),
    lambda x: x.unsqueeze(-5),
    lambda x: x.flatten(2, 1),
    lambda x: x.flatten(0, 3),
    lambda x: x.flip(3),
    lambda x: x.transpose(0, 3),
], ids=["reshape-size", "reshape-two-minus1", "permute-repeat", "permute-short",
        "permute-out-of-range", "permute-neg-out-of-range", "expand-non1", "expand-fewer-dims",
        "expand-lead-minus1", "squeeze-range", "unsqueeze-range", "unsqueeze-neg-range",
        "flatten-start-after-end", "flatten-range", "flip-range", "transpose-range"])
def test_invalid_shape_arguments_raise_like_torch(bad):
    data = _x((2, 3, 4))
    with pytest.raises((RuntimeError, IndexError)):
        bad(torch.tensor(data))
    with pytest.raises((ValueError, IndexError)):
        bad(rb.tensor(data))


# ------------------------------------------------------------------ cat / concatenate

CAT = [
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 5)], 1),
    ([(2, 3), (2, 4)], -1),
    ([(2, 3, 4), (2, 1, 4), (2, 2, 4)], -2),
    ([(3,), (1,), (2,)], 0),
    ([(2, 3)], 0),  # a single tensor
    ([(2, 3), (0, 3), (1, 3)], 0),  # a zero-size piece
    ([(0, 3), (0, 3)], 0),  # all empty
    ([(2, 0), (2, 0)], 0),  # zero-size along another dim
]


@pytest.mark.parametrize("shapes,dim", CAT, ids=str)
def test_cat_matches_torch(shapes, dim, dtype):
    xs = [_x(s, dtype, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda *t: rb.cat(list(t), dim), lambda *t: torch.cat(t, dim), xs)
    check_op(lambda *t: rb.concatenate(t, dim=dim), lambda *t: torch.concatenate(t, dim=dim), xs)


def test_cat_only_some_inputs_require_grad(dtype):
    xs = [_x((2, 3), dtype, 0), _x((1, 3), dtype, 1), _x((3, 3), dtype, 2)]
    check_op(lambda *t: rb.cat(t), lambda *t: torch.cat(t), xs, grad=[True, False, True])


def test_cat_same_tensor_twice_accumulates(dtype):
    check_op(lambda x: rb.cat([x, x * 2, x], 1), lambda x: torch.cat([x, x * 2, x], 1),
             [_x((2, 3), dtype)])


def test_cat_gradcheck():
    check_gradcheck(lambda a, b, c: rb.cat([a, b, c], -1),
                    [_x((2, 2), seed=0), _x((2, 3), seed=1), _x((2, 1), seed=2)])


def test_cat_errors():
    with pytest.raises(ValueError):
        rb.cat([])
    with pytest.raises(ValueError):
        rb.cat([rb.zeros(2, 3), rb.zeros(3, 2)], 0)


# ------------------------------------------------------------------ stack

STACK = [
    ([(2, 3)] * 3, 0),
    ([(2, 3)] * 2, 1),
    ([(2, 3)] * 4, 2),
    ([(2, 3)] * 2, -1),
    ([(2, 3)] * 3, -2),
    ([(2, 3)] * 2, -3),
    ([(4,)] * 3, 0),
    ([()] * 3, 0),  # scalars → vector
    ([(2, 3)], 1),  # a single tensor
    ([(0, 3)] * 2, 1),  # zero-size inputs
]


@pytest.mark.parametrize("shapes,dim", STACK, ids=str)
def test_stack_matches_torch(shapes, dim, dtype):
    xs = [_x(s, dtype, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda *t: rb.stack(list(t), dim), lambda *t: torch.stack(t, dim), xs)


def test_stack_only_some_inputs_require_grad(dtype):
    xs = [_x((3, 2), dtype, i) for i in range(3)]
    check_op(lambda *t: rb.stack(t, -1), lambda *t: torch.stack(t, -1), xs,
             grad=[False, True, False])


def test_stack_same_tensor_twice_accumulates(dtype):
    check_op(lambda x: rb.stack([x, x], 1), lambda x: torch.stack([x, x], 1), [_x((2, 3), dtype)])


def test_stack_gradcheck():
    check_gradcheck(lambda a, b: rb.stack([a, b], -2), [_x((3, 2), seed=0), _x((3, 2), seed=1)])


def test_stack_errors():
    with pytest.raises(ValueError):
        rb.stack([])
    with pytest.raises(ValueError):
        rb.stack([rb.zeros(2, 3), rb.zeros(3, 2)])


# ------------------------------------------------------------------ split

SPLIT = [
    ((7, 3), 3, 0),  # 3 + 3 + 1: a smaller last chunk
    ((6, 3), 2, 0),  # even chunks
    ((2, 7), 4, 1),
    ((2, 7), 4, -1),
    ((2, 5, 3), 2, -2),
    ((4, 3), 10, 0),  # one chunk larger than the dim
    ((5,), 1, 0),
    ((7, 3), [2, 4, 1], 0),
    ((2, 6), [1, 0, 5], 1),  # an empty section
    ((2, 3, 5), [2, 3], -1),
    ((2, 3), (3,), 1),
    ((0, 3), 2, 0),  # zero-size dim: one empty chunk
]


@pytest.mark.parametrize("shape,sections,dim", SPLIT, ids=str)
def test_split_matches_torch(shape, sections, dim, dtype):
    check_op(lambda x: rb.split(x, sections, dim), lambda x: torch.split(x, sections, dim),
             [_x(shape, dtype)])
    check_op(lambda x: x.split(sections, dim), lambda x: x.split(sections, dim),
             [_x(shape, dtype)])


def test_split_chunk_sizes():
    chunks = rb.split(rb.tensor(_x((7, 2))), 3)
    assert [c.shape for c in chunks] == [(3, 2), (3, 2), (1, 2)]
    chunks = rb.split(rb.tensor(_x((2, 9))), [4, 5], dim=1)
    assert [c.shape for c in chunks] == [(2, 4), (2, 5)]


def test_split_gradient_flows_through_every_chunk():
    x = rb.tensor(np.arange(10.0), requires_grad=True)
    a, b, c, d = rb.split(x, 3)
    (a * 1 + b * 2).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [1, 1, 1, 2, 2, 2, 0, 0, 0, 0])
    x.grad = None
    loss = a.sum() + 2 * b.sum() + 3 * c.sum() + 4 * d.sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4])


def test_split_gradcheck():
    check_gradcheck(lambda x: rb.split(x, 2, dim=1), [_x((2, 5))])
    check_gradcheck(lambda x: rb.split(x, [1, 3, 1], dim=-1), [_x((2, 5))])


def test_split_errors():
    x = rb.zeros(4, 3)
    with pytest.raises(ValueError):
        rb.split(x, 0)
    with pytest.raises(ValueError):
        rb.split(x, [1, 2])  # does not add up to 4
    with pytest.raises(ValueError):
        rb.split(x, [5, -1])  # adds up, but a section is negative


# ------------------------------------------------------------------ pad

PAD = [
    ((3, 4), (1, 2), 0.0),  # last dim only
    ((3, 4), (0, 0), 0.0),  # nothing
    ((3, 4), (1, 1, 2, 0), 0.0),  # last two dims
    ((2, 3, 4), (1, 0, 0, 2, 1, 1), 0.0),  # all three dims
    ((2, 3, 4), (2, 1), -1.5),  # a value
    ((2, 3, 4), (0, 1, 3, 0), 7.0),
    ((5,), (-1, -2), 0.0),  # negative pads crop
    ((3, 5), (-2, 1, 1, -1), 3.0),  # crop and pad mixed
    ((3, 5), (-1, -1, -1, -1), 0.0),  # crop every border
    ((4,), (-2, -2), 0.0),  # cropped to nothing
    ((2, 4), (-4, 2), 0.5),  # crop all of it, then pad
    ((0, 3), (1, 1, 2, 1), 2.0),  # zero-size input padded
    ((2, 0), (1, 2), 1.0),
    ((2, 3, 4, 5), (1, 1, 0, 1), 0.0),  # leading dims untouched
]


@pytest.mark.parametrize("shape,amounts,value", PAD, ids=str)
def test_pad_matches_torch(shape, amounts, value, dtype):
    check_op(lambda x: rb.pad(x, amounts, value=value),
             lambda x: TF.pad(x, amounts, mode="constant", value=value), [_x(shape, dtype)])


def test_pad_default_value_is_zero_and_known_values():
    x = rb.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = rb.pad(x, (1, 0, 0, 1))
    np.testing.assert_array_equal(y.detach().numpy(), [[0, 1, 2], [0, 3, 4], [0, 0, 0]])
    (y * rb.tensor(np.arange(9.0, dtype=np.float32).reshape(3, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 2], [4, 5]])


@pytest.mark.parametrize("amounts", [(3, -3), (-3, 3), (4, -5), (-5, 4), (5, -7)], ids=str)
def test_pad_then_crop_past_the_data(amounts):
    """A pad on one side and a crop on the other that reaches past the data: the result is the
    padded-then-cropped tensor (all `value`), and the gradient is zero. PyTorch refuses this
    ("narrow(): length must be non-negative"), so the oracle pads and crops in two steps."""
    lo, hi = amounts
    first = (max(lo, 0), max(hi, 0))
    second = (min(lo, 0), min(hi, 0))

    def theirs(x):
        return TF.pad(TF.pad(x, first, value=2.0), second, value=2.0)

    for n in (2, 3, 5):
        if n + lo + hi < 0:
            continue
        check_op(lambda x: rb.pad(x, amounts, value=2.0), theirs, [_x((2, n))])


def test_pad_gradcheck():
    check_gradcheck(lambda x: rb.pad(x, (1, -1, -1, 2), value=0.3), [_x((3, 4))])
    check_gradcheck(lambda x: rb.pad(x, (0, 1, 1, 0, 2, 1)), [_x((1, 2, 2))])


def test_pad_errors():
    x = rb.zeros(2, 3)
    with pytest.raises(ValueError):
        rb.pad(x, (1,))  # not pairs
    with pytest.raises(ValueError):
        rb.pad(x, (1, 1, 1, 1, 1, 1))  # more dims than x has
    with pytest.raises(ValueError):
        rb.pad(x, (-2, -2))  # negative size


# ------------------------------------------------------------------ flip

def test_flip_known_values_and_gradient():
    x = rb.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = x.flip((0, 1))
    np.testing.assert_array_equal(y.detach().numpy(), [[6, 5, 4], [3, 2, 1]])
    (y * rb.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 0, 0], [0, 0, 1]])


def test_flip_twice_is_identity(dtype):
    check_op(lambda x: x.flip((0, 2)).flip((2, 0)), lambda x: x.flip((0, 2)).flip((2, 0)),
             [_x((2, 3, 4), dtype)])
