import numpy as np
import torch
from helpers import check_gradcheck, check_op, rng


def test_check_op_mul_broadcast(dtype):
    r = rng(1)
    a = r.standard_normal((3, 1, 4)).astype(dtype)
    b = r.standard_normal((5, 1)).astype(dtype)
    check_op(lambda x, y: x * y, lambda x, y: x * y, [a, b])
    check_gradcheck(lambda x, y: x * y, [a, b])


def test_check_op_detects_a_wrong_gradient():
    """The helper itself must be able to fail: a deliberately wrong backward is caught."""
    from rosenblatt.autograd import Function

    class WrongSquare(Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, dy):
            (x,) = self.saved_tensors
            return dy * x  # should be 2·x·dy

    a = rng(2).standard_normal((4,)).astype(np.float64)
    try:
        check_op(WrongSquare.apply, lambda x: x * x, [a])
    except AssertionError:
        pass
    else:  # pragma: no cover
        raise AssertionError("check_op accepted a wrong gradient")
    try:
        check_gradcheck(WrongSquare.apply, [a])
    except AssertionError:
        pass
    else:  # pragma: no cover
        raise AssertionError("gradcheck accepted a wrong gradient")
    assert torch is not None
