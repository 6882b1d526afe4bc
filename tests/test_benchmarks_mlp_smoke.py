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


def test_numba_note_follows_the_switch():
    from rosenblatt.ops import jit

    previous = jit.use_numba(False)
    try:
        assert mlp.numba_note() == "numba off (rosenblatt's NumPy paths)"
    finally:
        jit.use_numba(previous)
    if jit.available():
        assert mlp.numba_note().startswith("numba ") and "compiled" in mlp.numba_note()


def test_memory_report_with_and_without_numba():
    one = {"samples": 512.0, "growth": 2e6, "process_peak": 2.6e8, "rss_before": 2.58e8,
           "peak": 2.6e8, "peak_reset": 1.0}
    mem = {"rosenblatt": dict(one, growth=1.3e8, process_peak=3.9e8), mlp.NO_NUMBA: one,
           "torch": dict(one, growth=2.3e7, process_peak=5.3e8)}
    table = mlp.format_memory(mem)
    assert table.count("\n") == 6  # header, rule, 3 runs, 2 ratios
    assert "rosenblatt (numba) / torch | 5.65× | 0.74×" in table
    assert "`ROSENBLATT_NUMBA=0` / torch | 0.09× | 0.49×" in table
    assert "124 MB more in the absolute peak" in mlp.numba_memory_note(mem)
    timings = {"rosenblatt": [1.0, 1.1], "torch": [1.2, 1.2], mlp.GEMM: [0.8, 0.8]}
    text = mlp.verdict(mlp.summarize(timings, 256), mem)
    assert "0.74× of the absolute peak, NOT met" in text
    assert "without numba (`ROSENBLATT_NUMBA=0`): 0.49× of the absolute peak, met" in text
    del mem[mlp.NO_NUMBA]  # numba absent or off: the two-row report
    assert mlp.format_memory(mem).count("\n") == 4 and mlp.numba_memory_note(mem) == ""
    assert "without numba" not in mlp.verdict(mlp.summarize(timings, 256), mem)
