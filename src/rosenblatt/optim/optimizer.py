"""``Optimizer``: the base class of every optimiser.

PyTorch's layout: ``param_groups`` is a list of dicts, each with ``"params"`` (a list of
Parameters) and every option of the optimiser (``lr``, ``momentum``, ...), so two groups can train
with different settings; ``state`` maps a parameter to its own dict (momentum buffer, moment
estimates, step count). ``state_dict()`` names parameters by their index in parameter order and
holds only NumPy arrays and plain Python numbers, so it can go into a JSON + ``.npz`` checkpoint;
``load_state_dict()`` restores it exactly (a resumed run is bit-identical to an uninterrupted one).

A subclass writes ``_step_group(group)``: the update of every parameter of one group. Updates work
on the parameters' arrays in place (``out=`` and augmented assignment), with ``xp`` the array module
of each parameter, so one body serves NumPy and CuPy; temporaries come from ``_work``, a few
scratch buffers reused by every step, so a step allocates nothing once the first one has run.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Union

import numpy as np

from .. import backend
from ..autograd import enable_grad
from ..tensor import Tensor

ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]]]  # noqa: UP007 (a runtime alias)

# State entries that are numbers even when a checkpoint (e.g. PyTorch's) stores 0-d arrays.
_SCALAR_STATE = ("step", "mu_product")


class Optimizer:
    """Base class of the optimisers.

    ``Optimizer(params, defaults)``: ``params`` is an iterable of Parameters, or of dicts (param
    groups) each with ``"params"`` and any options that override ``defaults`` for that group.

    Parameters whose ``.grad`` is None, and frozen ones (``requires_grad=False``), are skipped
    by ``step()``.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._work_buffers: dict[tuple, Any] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got a single {type(params).__name__}; wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing ones from ``defaults``);
        e.g. the layers of a pre-trained backbone with a smaller ``lr``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("a param group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs; use a list instead"
            )
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one produced by an op)")
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in the future "
                "this will cause an error",
                stacklevel=3,
            )
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: to None (the default, as PyTorch: frees the arrays) or to 0."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient.

        ``closure`` (optional) re-evaluates the model and returns the loss (it runs with grad
        mode on); its result is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _step_group()")

    # ------------------------------------------------------------------ helpers for subclasses
    @staticmethod
    def _active(group: dict[str, Any]) -> list[Tensor]:
        """The parameters of ``group`` that take a step: a gradient, and not frozen."""
        return [p for p in group["params"] if p.grad is not None and p.requires_grad]

    def _work(self, like: Any, slot: int) -> Any:
        """Scratch array shaped like ``like``; ``slot`` tells simultaneous temporaries apart.

        One flat buffer per (slot, dtype, device), grown to the largest parameter and then reused
        through views, so the scratch costs the size of one parameter, not of the model.
        """
        key = (slot, like.dtype, backend.device_of(like))
        flat = self._work_buffers.get(key)
        n = like.size
        if flat is None or flat.size < n:
            xp = backend.get_array_module(like)
            flat = xp.empty(n, dtype=like.dtype)
            self._work_buffers[key] = flat
        return flat[:n].reshape(like.shape)

    def _grad_term(self, x: Any, g: Any, weight_decay: float, maximize: bool) -> Any:
        """The gradient the update uses: ``±g + weight_decay·x`` (coupled L2 decay; minus for
        ``maximize``). Returns ``g`` itself when neither applies, else work slot 0."""
        if not weight_decay and not maximize:
            return g
        xp = backend.get_array_module(x)
        d = self._work(x, 0)
        if weight_decay:
            xp.multiply(x, weight_decay, out=d)
            if maximize:
                d -= g
            else:
                d += g
        else:
            xp.negative(g, out=d)
        return d

    @staticmethod
    def _lerp_(xp: Any, a: Any, b: Any, weight: float, tmp: Any) -> None:
        """``a ← a + weight·(b − a)`` in place, in the same two forms as ``torch.lerp``."""
        xp.subtract(b, a, out=tmp)
        if weight < 0.5:
            tmp *= weight
            a += tmp
        else:
            tmp *= 1.0 - weight
            xp.subtract(b, tmp, out=a)

    @staticmethod
    def _addcmul_(xp: Any, a: Any, b: Any, c: Any, value: float, tmp: Any) -> None:
        """``a ← a + value·b·c`` in place (``tmp`` is scratch, may not alias ``a``)."""
        if value == 1.0:
            xp.multiply(b, c, out=tmp)
        else:
            xp.multiply(b, value, out=tmp)
            tmp *= c
        a += tmp

    @staticmethod
    def _addcdiv_(xp: Any, a: Any, b: Any, c: Any, value: float, tmp: Any) -> None:
        """``a ← a + (value·b) / c`` in place, rounded as PyTorch's ``addcdiv_`` (``tmp`` is
        scratch that aliases none of the others)."""
        if value == 1.0:
            xp.divide(b, c, out=tmp)
        else:
            xp.multiply(b, value, out=tmp)
            tmp /= c
        a += tmp

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Indices count parameters in group order, as PyTorch. Arrays are NumPy copies (taken off
        the GPU when needed) and scalars are Python numbers, so later steps do not change a
        saved dict and it serialises as JSON (scalars, group options) + ``.npz`` (arrays).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _export(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if s and id(p) in index:
                state[index[id(p)]] = {k: _export(v) for k, v in s.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and per-parameter state saved by ``state_dict()`` (or converted from
        PyTorch's, whose tensors are read as arrays). The optimiser must have been built over
        the same parameters in the same groups. Arrays are copied, cast to each parameter's
        floating dtype and moved to its device."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer "
                f"{len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict has {len(saved['params'])} parameters in group {i}, "
                    f"the optimizer's group has {len(group['params'])}"
                )
        by_index: dict[int, Tensor] = {}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            for i, p in zip(saved["params"], group["params"], strict=True):
                by_index[int(i)] = p
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            p = by_index.get(int(key))  # JSON turns the integer keys into strings
            if p is None:
                raise ValueError(f"loaded state refers to parameter {key}, which no group holds")
            state[p] = {k: _import(v, p, k) for k, v in entries.items()}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            # The saved options win; options it lacks (e.g. ours absent from a PyTorch
            # checkpoint, like SGD's momentum_form) keep their current values.
            for key, value in saved.items():
                if key != "params":
                    group[key] = _import_option(value, group.get(key))
        self.state = state

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


# ----------------------------------------------------------------------------------------------
# checkpoint conversion
# ----------------------------------------------------------------------------------------------


def _export(value: Any) -> Any:
    """Arrays → NumPy copies; NumPy scalars → Python numbers; the rest unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.array(backend.to_numpy(value), copy=True)
    return value


def _read_array(value: Any) -> Any:
    """A NumPy/CuPy array for an array-like checkpoint value (PyTorch tensors read, never
    imported); None when ``value`` is a plain Python value."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    return None


def _import(value: Any, p: Tensor, key: str) -> Any:
    array = _read_array(value)
    if array is None:
        if key == "step" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if key in _SCALAR_STATE or (array.size == 1 and tuple(array.shape) != p.shape):
        number = array.item()
        return int(number) if key == "step" and float(number).is_integer() else number
    dtype = p.dtype if array.dtype.kind == "f" else array.dtype
    copied = np.array(backend.to_numpy(array), dtype=dtype, copy=True)
    return backend.move(copied, p.device)


def _import_option(value: Any, current: Any) -> Any:
    array = _read_array(value)
    if array is not None:
        return array.item() if array.size == 1 else value
    if isinstance(value, list) and isinstance(current, tuple):
        return tuple(value)  # JSON stores betas as a list
    return value


def fits_kernel(x: Any, *arrays: Any) -> bool:
    """Whether the parameter array ``x`` and its gradient/state ``arrays`` can go to the
    one-pass kernels of ``ops/optim_numba.py``: NumPy float32/64, C-contiguous, one dtype and
    one shape."""
    from ..ops import jit

    return jit.supports(x) and x.flags.c_contiguous and all(
        type(a) is np.ndarray and a.dtype == x.dtype and a.shape == x.shape
        and a.flags.c_contiguous for a in arrays)


def check_adam_hyperparameters(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    """The checks Adam-family optimisers share, with PyTorch's messages: lr, eps and
    weight_decay ≥ 0, and 0 ≤ β < 1."""
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
