"""The optional numba switch of the compiled kernels in ``ops`` (direct convolution
``conv_numba``, batch norm ``norm_numba``, cross-entropy ``loss_numba``, the SGD and Adam steps
``optim_numba``; ``use_numba(False)`` also turns off the recurrent kernels of
``ops/rnn_numba.py``, which have their own finer switch): whether they may run, and the thread
pool they run on.

numba is optional. It is imported once, on the first op that could use it, not with the package;
loading it and the cached kernels adds about 70–110 MB to a process's memory, once.
The kernels stay off without numba, with ``ROSENBLATT_NUMBA=0`` in the environment, or after
``use_numba(False)``; the ops then take their NumPy paths, unchanged (CuPy arrays always do).
``use_numba(None)``, the default, lets each op choose (the convolution by layer shape);
``use_numba(True)``, or ``ROSENBLATT_NUMBA=always``, sends every supported call to numba (a test
suite run that way covers the kernels everywhere).

The kernels release the GIL: an op cuts its work into ``threads()`` contiguous chunks and runs
them with ``parallel`` on a small thread pool, the first chunk on the calling thread.
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

SETTING = os.environ.get("ROSENBLATT_NUMBA", "auto").strip().lower()
_OFF = ("0", "false", "no", "off")

_loaded: dict[str, types.ModuleType | None] = {}
_mode: bool | None = True if SETTING == "always" else None
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0  # the process that made the pool (a forked child makes its own)


def kernels(name: str) -> types.ModuleType | None:
    """The kernel module ``rosenblatt.ops.<name>`` (it imports numba), imported on first use;
    None without numba or with ``ROSENBLATT_NUMBA=0`` (tried once per module)."""
    if name not in _loaded:
        module = None
        if SETTING not in _OFF:
            try:
                module = importlib.import_module(f"{__package__}.{name}")
            except ImportError:
                module = None
        _loaded[name] = module
    return _loaded[name]


def available() -> bool:
    """Whether numba can be used (installed, and not disabled by ``ROSENBLATT_NUMBA=0``)."""
    return kernels("conv_numba") is not None


def mode() -> bool | None:
    """The setting of ``use_numba``: True (always), False (never) or None (the op chooses)."""
    return _mode


def use_numba(flag: bool | None) -> bool | None:
    """True: every supported call runs the numba kernels; False: none does (NumPy everywhere);
    None: each op chooses (the default). Returns the previous setting. True without numba
    raises ``RuntimeError``."""
    global _mode
    if flag and not available():
        raise RuntimeError("use_numba(True): numba is not installed (pip install numba), or "
                           "ROSENBLATT_NUMBA=0 is set")
    previous, _mode = _mode, flag
    return previous


def supports(x: Any) -> bool:
    """Whether the kernels take this array: a NumPy float32 or float64 array (numba has no
    float16 arithmetic; CuPy arrays take the xp path)."""
    return type(x) is np.ndarray and x.dtype in (np.float32, np.float64)


def threads() -> int:
    """How many chunks work is cut into: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunks(n: int) -> list[tuple[int, int]]:
    """``threads()`` contiguous ranges (start, stop) covering range(n), fewer when n is small."""
    k = max(1, min(n, threads()))
    return [(i * n // k, (i + 1) * n // k) for i in range(k)]


def parallel(fn: Callable[[int, int, int], object], parts: Sequence[tuple[int, int]]) -> None:
    """fn(i, start, stop) for every part i, on the thread pool, the first on this thread."""
    global _pool, _pool_pid
    if len(parts) > 1 and (_pool is None or _pool_pid != os.getpid()):
        _pool = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="rosenblatt-jit")
        _pool_pid = os.getpid()
    futures = [_pool.submit(fn, i, a, b) for i, (a, b) in enumerate(parts) if i > 0]
    fn(0, *parts[0])
    for f in futures:
        f.result()
