"""Smoke test of the benchmark scripts: they run and return sane numbers (no timing assertions),
and the BENCHMARKS.md section writer replaces its own section and nothing else."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import overhead  # noqa: E402
from benchmarks.report import HEADER, format_machine_info, write_section  # noqa: E402


def test_overhead_measure_runs_and_returns_finite_positive_numbers():
    timings = overhead.measure(n_ops=40, rounds=2, warmup=1, freeze_gc=True)
    assert set(timings) == {wl.name for wl in overhead.WORKLOADS}
    for by_fw in timings.values():
        assert set(by_fw) == {"rosenblatt", "torch"}
        for series in by_fw.values():
            for phase in overhead.PHASES:
                values = series[phase]
                assert len(values) == 2
                assert all(math.isfinite(v) and v > 0 for v in values)
    rows = overhead.summarize(timings)
    assert len(rows) == len(overhead.WORKLOADS) * len(overhead.PHASES)
    for row in rows:
        assert math.isfinite(row.ratio.median) and row.ratio.median > 0
    table = overhead.format_table(rows)
    assert table.count("\n") == len(rows) + 1


def test_workloads_agree_between_frameworks():
    """The agreement check itself passes (same loss and gradients in rosenblatt and torch)."""
    import numpy as np

    rng = np.random.default_rng(1)
    for wl in overhead.WORKLOADS:
        overhead._check_agreement(wl, wl.inputs(rng), wl.steps_for(30))


def test_write_section_is_idempotent_and_leaves_other_sections_alone(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    write_section("overhead", "old body", path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER.splitlines()[0])
    assert "<!-- overhead:start -->\nold body\n<!-- overhead:end -->" in text

    write_section("mlp", "mlp numbers", path)
    write_section("overhead", "second\nwith two lines", path)
    once = path.read_text(encoding="utf-8")
    write_section("overhead", "second\nwith two lines", path)
    assert path.read_text(encoding="utf-8") == once  # idempotent
    assert "old body" not in once
    assert once.count("<!-- overhead:start -->") == 1
    assert once.count("<!-- overhead:end -->") == 1
    assert "<!-- mlp:start -->\nmlp numbers\n<!-- mlp:end -->" in once
    assert once.index("overhead:start") < once.index("mlp:start")  # order kept


def test_write_section_refuses_unbalanced_markers(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n<!-- overhead:start -->\nhalf a section\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unbalanced"):
        write_section("overhead", "body", path)


def test_machine_info_line_names_cpu_and_versions():
    line = format_machine_info()
    assert "cores" in line and "NumPy" in line and "PyTorch" in line
