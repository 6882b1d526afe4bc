"""On a machine with CuPy and a CUDA device: ops and layers give the CPU's results, and ``fit``
trains on the GPU (``scripts/gpu_smoke.py``). Skipped elsewhere (CI has no GPU)."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

import rosenblatt as rb

pytestmark = pytest.mark.skipif(not rb.cuda_is_available(), reason="needs CuPy and a CUDA device")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_smoke.py"


def test_ops_and_layers_on_the_gpu_match_the_cpu():
    assert runpy.run_path(str(SCRIPT))["main"]() == 0


def test_fit_trains_on_the_gpu():
    from rosenblatt import models
    from rosenblatt.data import Digits

    d = Digits()
    model = models.get("small_cnn").to("cuda")
    model.compile(optimizer=rb.optim.Adam(model.parameters(), lr=1e-3), loss="cross_entropy",
                  metrics=["accuracy"])
    model.fit(d.images[:1400], d.targets[:1400], epochs=3, batch_size=64, verbose=0)
    loss, accuracy = model.evaluate(d.images[1400:], d.targets[1400:], verbose=0)
    assert accuracy > 0.9 and np.isfinite(loss)
