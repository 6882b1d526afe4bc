import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rosenblatt as rb  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same seed: deterministic."""
    rb.manual_seed(0)
    yield


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


def _devices():
    out = ["cpu"]
    if rb.cuda_is_available():
        out.append("cuda")
    return out


@pytest.fixture(params=_devices())
def device(request):
    return request.param


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="run the long experiments (tests marked slow) in full; without it "
                     "they run a short version (also: ROSENBLATT_FULL=1)")


@pytest.fixture
def full(request) -> bool:
    """True when the long experiments run in full (``--full`` or ``ROSENBLATT_FULL=1``)."""
    return bool(request.config.getoption("--full")) or os.environ.get("ROSENBLATT_FULL") == "1"


def _numba_available() -> bool:
    from rosenblatt.ops import jit

    return jit.available()


@pytest.fixture(params=[
    pytest.param(True, id="numba", marks=pytest.mark.skipif(not _numba_available(),
                                                            reason="numba is not installed")),
    pytest.param(False, id="numpy"),
])
def numba_path(request):
    """Runs a test twice: with every supported op on numba's kernels (``use_numba(True)``) and
    with none (NumPy everywhere); the previous setting comes back afterwards."""
    from rosenblatt.ops import jit

    previous = jit.use_numba(request.param)
    yield request.param
    jit.use_numba(previous)


@pytest.fixture
def numba_always():
    """Every supported op on numba's kernels for this test (``use_numba(True)``; the direct
    convolution for every shape), the previous setting back afterwards."""
    from rosenblatt.ops import jit

    previous = jit.use_numba(True)
    yield
    jit.use_numba(previous)
