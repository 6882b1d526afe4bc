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
