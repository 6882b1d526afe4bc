"""Smoke test of benchmarks/lstm.py: the workload agrees between frameworks, the timing and the
profile run and give sane numbers (no timing assertions), and ``--quick`` writes a section only
where it is told to."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import lstm  # noqa: E402


def test_frameworks_agree_on_loss_and_gradients():
    assert lstm.check_agreement(seq=6, batch=4) <= 1e-3


def test_measure_and_summarize():
    rates = lstm.measure(rounds=2, steps=1, warmup=1, seq=5, batch=4)
    assert set(rates) == {"rosenblatt", "torch"}
    assert all(len(v) == 2 and all(math.isfinite(r) and r > 0 for r in v) for v in rates.values())
    s = lstm.summarize(rates)
    assert s.ratio.median > 0 and s.ratio_of_means > 0
    table = lstm.format_speed([("2", s)])
    assert table.count("\n") == 2


def test_profile_counts_numpy_calls_per_step():
    p = lstm.profile(steps=1, seq=4, batch=3)
    # one recurrent GEMM per time step each way, less the first step's from the zero initial
    # state and the last one's for dh0 (not asked for)
    assert p.forward_calls["matmul (per step)"] == 3
    assert p.backward_calls["matmul (per step)"] == 3
    if p.kernels:  # numba: one kernel call per time step each way
        assert p.forward_calls["numba kernel lstm_forward_step"] == 4
        assert p.backward_calls["numba kernel lstm_backward_step"] == 4
    else:
        assert p.forward_calls["exp"] == 4
    assert p.step_s > p.op_forward_s + p.op_backward_s > 0
    text = "\n".join(lstm.format_profile(p))
    assert "NumPy calls" in text and "| part |" in text


def test_quick_run_writes_only_the_given_file(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    assert lstm.main(["--quick", "--rounds", "2", "--steps", "1", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<!-- lstm:start -->" in text and "<!-- lstm:end -->" in text
    assert "QUICK RUN" in text
