"""The one helper every op test uses: run an op in rosenblatt and in PyTorch on the same seeded
inputs, compare the forward and the gradient of every input; and check it by finite differences.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import rosenblatt as rb

TOL = {np.float32: (1e-5, 1e-4), np.float64: (1e-10, 1e-8)}  # dtype -> (atol, rtol)

#: Where ``check_op`` runs rosenblatt's side: ``ROSENBLATT_TEST_DEVICE=cuda`` on a GPU machine
#: runs every op test on CuPy against PyTorch on the CPU.
DEVICE = os.environ.get("ROSENBLATT_TEST_DEVICE", "cpu")


def tolerances(dtype: Any) -> tuple[float, float]:
    return TOL[np.dtype(dtype).type]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def check_op(
    rb_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    inputs: Sequence[Any],
    grad: Sequence[bool] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> None:
    """Compare ``rb_fn(*tensors)`` with ``torch_fn(*tensors)``: forward values, then the gradient
    of ``Σ g·y`` (g a seeded random array) with respect to every floating input.

    ``inputs`` are NumPy arrays (or other constants passed as they are); ``grad`` says which
    floating arrays require grad (default: all floating ones). The op may return a Tensor or a
    tuple/list of Tensors (each compared, and each given its own g).
    """
    flags = []
    for i, x in enumerate(inputs):
        is_float = isinstance(x, np.ndarray) and x.dtype.kind == "f"
        flags.append(is_float and (grad is None or grad[i]))
    dtype = next((x.dtype for x in inputs if isinstance(x, np.ndarray) and x.dtype.kind == "f"),
                 np.dtype(np.float32))
    a_tol, r_tol = tolerances(dtype)
    atol = a_tol if atol is None else atol
    rtol = r_tol if rtol is None else rtol

    ours = [rb.tensor(x, requires_grad=f, device=DEVICE) if isinstance(x, np.ndarray) else x
            for x, f in zip(inputs, flags, strict=True)]
    theirs = [torch.tensor(x, requires_grad=f) if isinstance(x, np.ndarray) else x
              for x, f in zip(inputs, flags, strict=True)]
    y_ours = _as_list(rb_fn(*ours))
    y_theirs = _as_list(torch_fn(*theirs))
    assert len(y_ours) == len(y_theirs), "different number of outputs"
    for k, (a, b) in enumerate(zip(y_ours, y_theirs, strict=True)):
        b_np = b.detach().numpy()
        assert a.shape == tuple(b_np.shape), f"output {k}: shape {a.shape} != torch {b_np.shape}"
        assert a.dtype == b_np.dtype, f"output {k}: dtype {a.dtype} != torch {b_np.dtype}"
        np.testing.assert_allclose(_np(a), b_np, atol=atol, rtol=rtol,
                                   err_msg=f"forward output {k}")
    if not any(flags):
        return

    gen = rng(seed + 1)
    loss_ours, loss_theirs = None, None
    for a, b in zip(y_ours, y_theirs, strict=True):
        if not (a.requires_grad and b.requires_grad):
            continue
        g = gen.standard_normal(a.shape).astype(a.dtype)
        term_ours = (a * rb.tensor(g, device=DEVICE)).sum()
        term_theirs = (b * torch.tensor(g)).sum()
        loss_ours = term_ours if loss_ours is None else loss_ours + term_ours
        loss_theirs = term_theirs if loss_theirs is None else loss_theirs + term_theirs
    assert loss_ours is not None, "no output requires grad"
    loss_ours.backward()
    loss_theirs.backward()
    for i, (a, b, f) in enumerate(zip(ours, theirs, flags, strict=True)):
        if not f:
            continue
        g_theirs = np.zeros(tuple(b.shape)) if b.grad is None \
            else b.grad.numpy()
        g_ours = np.zeros(a.shape) if a.grad is None else _host(a.grad)
        assert g_ours.shape == tuple(a.shape), f"grad {i}: shape {g_ours.shape} != {a.shape}"
        if a.grad is not None:
            assert a.grad.dtype == a.dtype, f"grad {i}: dtype {a.grad.dtype} != {a.dtype}"
        np.testing.assert_allclose(g_ours, g_theirs, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i}")


def check_gradcheck(rb_fn: Callable[..., Any], inputs: Sequence[Any], **kw: Any) -> None:
    """Finite differences in float64 on every floating input (see ``rosenblatt.gradcheck``)."""
    ts = [rb.tensor(np.asarray(x, np.float64), requires_grad=True)
          if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x for x in inputs]

    def single(*xs: Any) -> Any:
        out = rb_fn(*xs)
        return out if isinstance(out, rb.Tensor) else rb.cat([o.reshape(-1) for o in out])

    assert rb.gradcheck(single, ts, **kw)


def _as_list(y: Any) -> list:
    if isinstance(y, (tuple, list)):
        return list(y)
    return [y]


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy()


def _host(a: Any) -> np.ndarray:
    """A NumPy or CuPy array as a NumPy array."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def count_kernel_calls(monkeypatch: Any, module: str, names: Sequence[str]) -> dict[str, int]:
    """Wrap the numba kernels ``names`` of ``rosenblatt.ops.<module>`` so that each call is
    counted (proof that a path really ran); the counts stay 0 when numba is missing."""
    from rosenblatt.ops import jit

    counts = dict.fromkeys(names, 0)
    kern = jit.kernels(module)
    if kern is not None:
        for name in names:
            original = getattr(kern, name)

            def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
                counts[_name] += 1
                return _original(*args)

            monkeypatch.setattr(kern, name, counted)
    return counts
