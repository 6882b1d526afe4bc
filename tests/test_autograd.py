"""The autograd core: graph recording, the backward walk, freeing, leaf semantics, grad mode."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import rosenblatt as rb
from rosenblatt import autograd, backend


def test_gradient_of_a_tensor_used_twice_accumulates():
    x = rb.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x + x  # x feeds three places
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)


def test_repeated_backward_accumulates_into_leaf_grad_like_torch():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
        (xt * xt).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy())


def test_non_leaf_has_no_grad_unless_retained():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    k = h * 2
    k.retain_grad()
    (k * k).sum().backward()
    assert not h.is_leaf and h.grad is None
    np.testing.assert_allclose(k.grad, 2 * k.data)
    assert x.is_leaf and x.grad is not None


def test_leaf_grads_are_not_aliased():
    """a + b hands the same dy to both leaves; each must own its .grad."""
    a = rb.tensor([1.0, 2.0], requires_grad=True)
    b = rb.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_grad_given_to_backward_is_not_aliased_by_a_leaf():
    a = rb.tensor([1.0, 2.0], requires_grad=True)
    g = np.ones(2, np.float32)
    a.backward(g)
    a.grad *= 5
    np.testing.assert_allclose(g, [1.0, 1.0])


def test_second_backward_through_freed_graph_raises():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_backward_on_non_scalar_needs_grad():
    y = rb.randn(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs.*shape \\(3,\\)"):
        y.backward()
    with pytest.raises(RuntimeError, match="grad has shape \\(2,\\)"):
        y.backward(np.ones(2))


def test_backward_without_graph_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        rb.tensor([1.0]).sum().backward()


def test_no_grad_builds_no_graph_and_enable_grad_restores():
    x = rb.tensor([1.0], requires_grad=True)
    with rb.no_grad():
        y = x * 2
        with rb.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert rb.is_grad_enabled()

    @rb.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with rb.set_grad_enabled(False):
        assert not rb.is_grad_enabled()
    assert rb.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_memory():
    x = rb.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="floating-point"):
        rb.tensor([1, 2, 3], requires_grad=True)


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad():
    w = rb.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with rb.no_grad():
        w.sub_(rb.tensor([0.5, 0.5]))
    np.testing.assert_allclose(w.data, [0.5, 1.5])


def test_a_100000_op_chain_backpropagates():
    """The walk is iterative: depth is not limited by Python's recursion limit."""
    x = rb.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0  # 200,000 nodes
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0])
    del y  # freeing such a chain must not overflow the C stack either
    gc.collect()


def test_graph_is_freed_after_backward():
    x = rb.randn(100, requires_grad=True)
    h = x.exp()
    node = weakref.ref(h.grad_fn)
    loss = (h * h).sum()
    del h
    loss.backward()
    # the Exp node was released by backward (its consumer dropped it) ...
    assert node() is None
    # ... and its saved arrays are gone from the nodes still referenced by loss
    assert loss.grad_fn.parents is None


def test_memory_does_not_grow_over_repeated_passes():
    gc.collect()
    w = rb.randn(64, 64, requires_grad=True)
    x = rb.randn(32, 64)

    def step():
        h = (x @ w).exp().clip(0, 5)
        loss = (h * h).mean() + h.var()
        loss.backward()
        w.grad = None

    for _ in range(20):  # warm caches and allocator
        step()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(1000):
        step()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current - base < 64 * 1024, f"memory grew by {current - base} bytes over 1000 passes"
    assert peak - base < 2 * 1024 * 1024


def test_graph_has_no_reference_cycles():
    """Intermediates are freed by reference counting alone (no garbage collector needed)."""
    gc.collect()
    gc.disable()
    try:
        x = rb.randn(10, requires_grad=True)
        h = x.exp()
        probe = weakref.ref(h)
        node = weakref.ref(h.grad_fn)
        loss = (h * 2).sum()
        del h
        loss.backward()
        del loss
        assert probe() is None and node() is None
    finally:
        gc.enable()


def test_broadcast_error_names_both_shapes():
    a = rb.randn(2, 3)
    b = rb.randn(4)
    with pytest.raises(ValueError, match=r"Add: .*\(2, 3\).*\(4,\)"):
        _ = a + b


def test_matmul_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        rb.randn(2, 3) @ rb.randn(4, 5)


def test_cuda_without_cupy_is_a_clear_error():
    if rb.cuda_is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="CuPy"):
        rb.zeros(3, device="cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        rb.tensor([1.0]).to("cuda")


def test_op_on_different_devices_names_both(monkeypatch):
    """Simulate a CUDA tensor (no GPU needed): the op must name both devices."""
    a = rb.tensor([1.0, 2.0], requires_grad=True)
    b = rb.tensor([3.0, 4.0])
    real = backend.device_of
    monkeypatch.setattr(backend, "device_of", lambda arr: "cuda" if arr is b.data else real(arr))
    monkeypatch.setattr(autograd, "_multi_device", True)
    with pytest.raises(RuntimeError, match="'cpu' and one on 'cuda'"):
        _ = a * b


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="unknown device"):
        rb.zeros(2, device="tpu")


def test_float16_and_float64_keep_their_dtype_through_backward():
    for dt in (np.float16, np.float64):
        x = rb.tensor(np.array([0.5, 1.5], dtype=dt), requires_grad=True)
        y = (x * x).exp().sum()
        assert y.dtype == dt
        y.backward()
        assert x.grad.dtype == dt
        np.testing.assert_allclose(x.grad, 2 * x.data * np.exp(x.data**2), rtol=1e-2)


def test_float32_stays_float32_with_python_and_numpy_scalars():
    x = rb.randn(3)
    assert (x * 2.5).dtype == np.float32
    assert (x * np.float64(2.5)).dtype == np.float32
    assert (np.float64(2.5) - x).dtype == np.float32


def test_a_function_that_returns_none_for_an_input():
    class Half(autograd.Function):
        """y = a · stop_gradient(b): b receives nothing."""

        def forward(self, a, b):
            self.save_for_backward(b)
            return a * b

        def backward(self, dy):
            (b,) = self.saved_tensors
            return dy * b, None

    a = rb.tensor([1.0, 2.0], requires_grad=True)
    b = rb.tensor([3.0, 4.0], requires_grad=True)
    c = Half.apply(a, b * 1.0)
    c.sum().backward()
    np.testing.assert_allclose(a.grad, [3.0, 4.0])
    assert b.grad is None


def test_full_reductions_hold_arrays_not_numpy_scalars():
    x = rb.tensor([1.0, 2.0])
    for y in (x.sum(), x.mean(), x.amax(), rb.logsumexp(x)):
        assert isinstance(y.data, np.ndarray) and y.shape == ()
    s = x.sum()
    s.zero_()
    assert s.item() == 0.0


def test_a_backward_with_the_wrong_number_of_gradients_is_named():
    class Bad(autograd.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, dy):
            return (dy,)

    y = Bad.apply(rb.ones(2, requires_grad=True), rb.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradients for 2 inputs"):
        y.sum().backward()
