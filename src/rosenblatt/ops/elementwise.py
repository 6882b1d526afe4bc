"""Elementwise ops. Each backward returns ``dx`` in the broadcast shape of ``y``; the autograd
core sums it back to each input's shape, so no op here un-broadcasts by itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module

DEFAULT_FLOAT = np.dtype(np.float32)  # PyTorch's default dtype, and rosenblatt's


class Add(Function):
    """y = a + b;  da = dy,  db = dy."""

    def forward(self, a: Any, b: Any) -> Any:
        return _promote(a + b, a, b)

    def backward(self, dy: Any) -> Any:
        return dy, dy


class Sub(Function):
    """y = a − b;  da = dy,  db = −dy."""

    def forward(self, a: Any, b: Any) -> Any:
        return _promote(a - b, a, b)

    def backward(self, dy: Any) -> Any:
        return dy, (-dy if self.parents[1] is not None else None)


class Mul(Function):
    """y = a · b;  da = dy · b,  db = dy · a."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return _promote(a * b, a, b)

    def backward(self, dy: Any) -> Any:
        a, b = self.saved_tensors
        da = dy * b if self.parents[0] is not None else None
        db = dy * a if self.parents[1] is not None else None
        return da, db


class Div(Function):
    """y = a / b;  da = dy / b,  db = −dy · a / b² = −dy · y / b."""

    def forward(self, a: Any, b: Any) -> Any:
        y = _promote(a / b, a, b)
        self.save_for_backward(b, y)
        return y

    def backward(self, dy: Any) -> Any:
        b, y = self.saved_tensors
        da = dy / b
        db = -da * y if self.parents[1] is not None else None
        return da, db


class Neg(Function):
    """y = −x;  dx = −dy."""

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, dy: Any) -> Any:
        return -dy


class Pow(Function):
    """y = aᵇ;  da = dy · b · aᵇ⁻¹ (0 where b = 0),  db = dy · y · ln a (0 where a = 0, b ≥ 0)."""

    def forward(self, a: Any, b: Any) -> Any:
        y = _promote(a**b, a, b)
        self.save_for_backward(a, b, y)
        return y

    def backward(self, dy: Any) -> Any:
        a, b, y = self.saved_tensors
        xp = get_array_module(dy)
        da = db = None
        if self.parents[0] is not None:
            if isinstance(b, (int, float)):
                da = dy * 0.0 if b == 0 else dy * (b * a ** (b - 1))
            else:
                da = xp.where(b == 0, 0.0, dy * b * a ** (b - 1)).astype(dy.dtype, copy=False)
        if self.parents[1] is not None:
            # ln 0 = −inf is kept: where a = 0 and b < 0, y = inf and db = dy · inf · (−inf)
            with np.errstate(divide="ignore", invalid="ignore"):
                with_log = dy * (y * xp.log(a))
            db = xp.where((a == 0) & (b >= 0), 0.0, with_log).astype(dy.dtype, copy=False)
        return da, db


class Exp(Function):
    """y = eˣ;  dx = dy · y."""

    def forward(self, x: Any) -> Any:
        y = get_array_module(x).exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        return dy * y


class Log(Function):
    """y = ln x;  dx = dy / x."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return get_array_module(x).log(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy / x


class Sqrt(Function):
    """y = √x;  dx = dy / (2y)."""

    def forward(self, x: Any) -> Any:
        y = get_array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, dy: Any) -> Any:
        (y,) = self.saved_tensors
        return dy / (2 * y)


class Abs(Function):
    """y = |x|;  dx = dy · sign(x)  (sign(0) = 0, as in PyTorch)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return get_array_module(x).abs(x)

    def backward(self, dy: Any) -> Any:
        (x,) = self.saved_tensors
        return dy * get_array_module(x).sign(x)


class Clip(Function):
    """y = min(max(x, lo), hi);  dx = dy where lo ≤ x ≤ hi, else 0 (bounds inclusive, as in
    PyTorch's clamp)."""

    def forward(self, x: Any, lo: float | None = None, hi: float | None = None) -> Any:
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        self.save_for_backward(inside)
        return _promote(xp.clip(x, lo, hi), x)

    def backward(self, dy: Any) -> Any:
        (inside,) = self.saved_tensors
        return dy * inside


class Maximum(Function):
    """y = max(a, b);  da = dy where a > b, dy/2 where a = b, else 0 (db likewise)."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        y = _promote(xp.maximum(a, b), a, b)
        self.save_for_backward(a, b)
        return y

    def backward(self, dy: Any) -> Any:
        a, b = self.saved_tensors
        share_a = (a > b) + 0.5 * (a == b)
        da = dy * share_a if self.parents[0] is not None else None
        db = dy * (1.0 - share_a) if self.parents[1] is not None else None
        return _same_dtype(da, dy), _same_dtype(db, dy)


class Minimum(Function):
    """y = min(a, b);  da = dy where a < b, dy/2 where a = b, else 0 (db likewise)."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        y = _promote(xp.minimum(a, b), a, b)
        self.save_for_backward(a, b)
        return y

    def backward(self, dy: Any) -> Any:
        a, b = self.saved_tensors
        share_a = (a < b) + 0.5 * (a == b)
        da = dy * share_a if self.parents[0] is not None else None
        db = dy * (1.0 - share_a) if self.parents[1] is not None else None
        return _same_dtype(da, dy), _same_dtype(db, dy)


class Where(Function):
    """y = a where cond else b;  da = dy · cond,  db = dy · ¬cond."""

    def forward(self, cond: Any, a: Any, b: Any) -> Any:
        xp = get_array_module(cond)
        self.save_for_backward(cond)
        return _promote(xp.where(cond, a, b), a, b)

    def backward(self, dy: Any) -> Any:
        (cond,) = self.saved_tensors
        xp = get_array_module(dy)
        da = xp.where(cond, dy, 0) if self.parents[1] is not None else None
        db = xp.where(cond, 0, dy) if self.parents[2] is not None else None
        return None, _same_dtype(da, dy), _same_dtype(db, dy)


class Cast(Function):
    """y = x converted to ``dtype``;  dx = dy converted back to x's dtype."""

    def forward(self, x: Any, dtype: Any = None) -> Any:
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, dy: Any) -> Any:
        return dy.astype(self.in_dtype)


class ToDevice(Function):
    """y = x copied to another device;  dx = dy copied back."""

    def forward(self, x: Any, device: str = "cpu") -> Any:
        from ..backend import device_of, move

        self.in_device = device_of(x)
        return move(x, device)

    def backward(self, dy: Any) -> Any:
        from ..backend import move

        return move(dy, self.in_device)


def _promote(out: Any, *inputs: Any) -> Any:
    """Give ``out`` PyTorch's result dtype where NumPy's differs: floating arrays win over integer
    ones (float32 · int64 stays float32, NumPy would make float64), and a floating result made
    from integers only (int / int, int + 0.5) is float32, the default dtype."""
    dtype = getattr(out, "dtype", None)
    if dtype is None or dtype.kind != "f":
        return out
    for x in inputs:  # the common case: the result already has an input's dtype
        x_dtype = getattr(x, "dtype", None)  # (None must not be compared: dtype(None) is float64)
        if x_dtype is not None and x_dtype == dtype:
            return out
    floats = [x.dtype for x in inputs if hasattr(x, "dtype") and x.dtype.kind == "f"]
    want = np.result_type(*floats) if floats else DEFAULT_FLOAT
    return out if dtype == want else out.astype(want)


def _same_dtype(g: Any, like: Any) -> Any:
    if g is None or g.dtype == like.dtype:
        return g
    return g.astype(like.dtype)
