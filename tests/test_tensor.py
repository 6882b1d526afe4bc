"""Tensor construction, attributes, conversion, creation functions, seeding and gradcheck."""

import numpy as np
import pytest
import torch

import rosenblatt as rb


def test_python_floats_default_to_float32_and_ints_to_int64_like_torch():
    for data in ([1.0, 2.0], 3.5, [[1, 2], [3, 4]], [True, False]):
        assert rb.tensor(data).dtype == torch.tensor(data).numpy().dtype
    assert rb.tensor(np.zeros(2, np.float64)).dtype == np.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, s = rb.tensor(a), rb.from_numpy(a)
    a[0] = 7
    assert t.data[0] == 0 and s.data[0] == 7


def test_attributes():
    x = rb.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dtype == np.float32
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.numel() == 24
    assert x.device == "cpu" and len(x) == 2
    assert rb.tensor(2.5).item() == 2.5
    with pytest.raises(ValueError, match="one-element"):
        x.item()


def test_numpy_refuses_a_tensor_that_requires_grad():
    x = rb.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert isinstance(x.detach().numpy(), np.ndarray)


def test_to_dtype_is_differentiable():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(rb.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    assert x.to("cpu") is x
    assert x.double().dtype == np.float64 and x.half().dtype == np.float16


def test_creation_functions_match_numpy_semantics():
    assert rb.ones(2, 3).data.sum() == 6
    assert rb.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert rb.arange(5).dtype == np.int64 and rb.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(rb.eye(3).data, np.eye(3))
    x = rb.randn(4, 5, dtype=rb.float64)
    for like in (rb.zeros_like, rb.ones_like, rb.randn_like, rb.rand_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == np.float64
    assert rb.full_like(x, 3.0).data.mean() == 3.0
    assert rb.zeros((2, 3)).shape == (2, 3)
    r = rb.randint(0, 10, (100,))
    assert r.dtype == np.int64 and 0 <= r.data.min() and r.data.max() < 10
    assert sorted(rb.randperm(6).tolist()) == list(range(6))
    assert rb.linspace(0, 1, 5).data[-1] == 1.0


def test_manual_seed_makes_random_ops_reproducible():
    rb.manual_seed(123)
    a = (rb.randn(3, 4).data.copy(), rb.rand(5).data.copy(), rb.randint(0, 9, (4,)).data.copy())
    rb.manual_seed(123)
    b = (rb.randn(3, 4).data, rb.rand(5).data, rb.randint(0, 9, (4,)).data)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    rb.manual_seed(124)
    assert not np.array_equal(rb.randn(3, 4).data, a[0])


def test_rng_state_round_trips():
    state = rb.get_rng_state()
    first = rb.randn(4).data.copy()
    rb.set_rng_state(state)
    np.testing.assert_array_equal(rb.randn(4).data, first)


def test_rand_is_in_unit_interval_and_randn_is_standard():
    u = rb.rand(100_000).data
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = rb.randn(100_000).data
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


def test_gradcheck_passes_on_composite_and_names_the_wrong_element():
    x = rb.randn(3, 4, requires_grad=True)
    w = rb.randn(4, 2, requires_grad=True)
    assert rb.gradcheck(lambda a, b: (a @ b).exp().logsumexp(1), [x, w])

    class Wrong(rb.Function):
        def forward(self, a):
            return a * 3

        def backward(self, dy):
            return dy * 2

    # its backward is 2/3 of the true gradient, so the check must point at element 0
    with pytest.raises(rb.GradcheckError, match=r"input 0 \(shape \(1,\)\) is wrong at \(0,\)"):
        rb.gradcheck(Wrong.apply, [rb.ones(1, requires_grad=True)])
    assert rb.gradcheck(Wrong.apply, [rb.ones(1, requires_grad=True)],
                        raise_exception=False) is False
    with pytest.raises(ValueError, match="no input has requires_grad"):
        rb.gradcheck(lambda a: a * 2, [rb.ones(2)])


def test_repr_and_comparisons():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<Mul>" in repr(x * 2)
    assert (x > 1.5).data.tolist() == [False, True]
    assert (x == x).data.all()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x > 0)


def test_setitem_on_plain_tensor():
    x = rb.zeros(3)
    x[1] = 5.0
    x[rb.tensor([0, 2])] = rb.tensor([1.0, 2.0])
    assert x.tolist() == [1.0, 5.0, 2.0]
