"""Smoke test of ``benchmarks/mlp.py`` (and the report of ``benchmarks/amp.py``): the quick path
runs and returns finite positive numbers, and the first-batch guard agrees. No timing assertions."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import amp, mlp  # noqa: E402


def _finite_positive(values: object) -> bool:
    return all(math.isfinite(v) and v > 0 for v in values)  # type: ignore[attr-defined]


def test_quick_measure_returns_finite_positive_numbers():
    timings, losses = mlp.measure(n_samples=1024, steps=2, rounds=2, warmup=1, pause=0.0)
    assert set(timings) == {"rosenblatt", "torch", mlp.GEMM}
    for series in timings.values():
        assert len(series) == 2 and _finite_positive(series)
    summary = mlp.summarize(timings, 2 * mlp.BATCH)
    assert _finite_positive([summary.ratio.median, summary.bound.median, summary.ratio_of_means])
    assert _finite_positive(s.median for s in summary.speed.values())
    table = mlp.format_speed(summary)
    assert table.count("\n") == 6
    assert "rosenblatt / PyTorch" in table
    assert set(losses) == {"rosenblatt", "torch"}


def test_first_batch_guard_agrees():
    x, y = mlp.synthetic_data(mlp.BATCH)
    losses = mlp.check_first_batch(mlp.initial_weights(), x, y)
    (rb_before, rb_after), (t_before, t_after) = losses["rosenblatt"], losses["torch"]
    assert rb_before == pytest.approx(t_before, rel=1e-5)
    assert rb_after == pytest.approx(t_after, rel=1e-5)
    assert rb_after < rb_before  # the SGD step lowered the loss on its own batch


def test_first_batch_guard_catches_a_difference(monkeypatch):
    x, y = mlp.synthetic_data(mlp.BATCH)
    monkeypatch.setattr(mlp, "batch_losses",
                        lambda *a: {"rosenblatt": (2.0, 1.9), "torch": (2.1, 1.9)})
    with pytest.raises(RuntimeError, match="different computations"):
        mlp.check_first_batch(mlp.initial_weights(), x, y)


def test_breakdown_and_memory_child_return_sane_numbers():
    parts = mlp.breakdown(n_samples=512, steps=2, rounds=1, pause=0.0)
    assert _finite_positive(parts["torch"].values())
    mine = parts["rosenblatt"]
    assert _finite_positive(mine.values())
    assert mine["total"] > mine[mlp._PARTS[0][0]]
    assert "**total**" in mlp.format_breakdown(parts)
    mem = mlp.memory_child("rosenblatt", 512)  # in this process: sane, not representative
    assert mem["process_peak"] >= mem["peak"] > 0 and mem["growth"] >= 0
    text = mlp.format_memory({"rosenblatt": mem, "torch": dict(mem, growth=2 * mem["growth"] + 1)})
    assert "rosenblatt / torch" in text


def test_synthetic_data_is_float32_and_reproducible():
    x, y = mlp.synthetic_data(300, seed=3)
    x2, y2 = mlp.synthetic_data(300, seed=3)
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (300, 784)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert set(np.unique(y)) <= set(range(10))


def test_amp_report_formats():
    res = {"samples": 256, "seconds": {"float32": [0.01, 0.02], "mixed": [2.0, 3.0]},
           "loss": {"float32": 2.2, "mixed": 2.21}, "accuracy": {"float32": 0.5, "mixed": 0.49},
           "test_samples": 100, "scale": 65536.0, "skipped": 0}
    one = {"samples": 256.0, "growth": 1e6, "process_peak": 6e7, "rss_before": 5.9e7,
           "peak": 6e7, "peak_reset": 1.0, "traced_step_128": 3e6}
    mem = {"float32": one, "mixed": dict(one, traced_step_128=2e6)}
    text = amp.build_section(res, mem, (128,), "Settings: test.")
    assert "<!--" not in text and "C11" in text
    assert "at batch 128 it holds" in text
