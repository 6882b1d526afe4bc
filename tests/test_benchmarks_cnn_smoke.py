"""Smoke test of benchmarks/cnn.py: the two models agree with PyTorch, the timing loop, memory
child and report run on tiny batches (no timing assertions), and ``--quick --output`` writes
only the "cnn" section."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cnn  # noqa: E402
from benchmarks.report import write_section  # noqa: E402


def test_models_agree_with_torch_in_float64():
    assert cnn.check_agreement("lenet5", batch=4) < 1e-7
    assert cnn.check_agreement("resnet20", batch=2) < 1e-7


def test_models_have_the_textbook_sizes():
    from rosenblatt import nn

    n_lenet = sum(p.numel() for p in cnn.lenet5(nn).parameters())
    n_resnet = sum(p.numel() for p in cnn.resnet20(nn).parameters())
    assert n_lenet == 61_706  # LeNet-5 with a 28×28 input padded to 32×32 by the first conv
    assert 0.26e6 < n_resnet < 0.28e6  # ResNet-20: 0.27M parameters (He et al., 2016)


def test_measure_and_summary_on_a_tiny_batch():
    timings, agreement = cnn.measure(["lenet5"], rounds=2, warmup=0, steps=1, batch=4)
    rows = cnn.summarize(timings, batch=4)
    assert {(r["model"], r["mode"]) for r in rows} == {("lenet5", "train"),
                                                       ("lenet5", "inference")}
    for r in rows:
        assert math.isfinite(r["ratio"].median) and r["ratio"].median > 0
    table = cnn.format_speed(rows)
    assert table.count("\n") == len(rows) + 1
    assert agreement["lenet5"] < 1e-7


def test_memory_child_reports_a_peak():
    growth = cnn.run_memory_child("rosenblatt", "lenet5", "inference")
    assert growth >= 0


def test_profile_and_quick_run_write_only_the_cnn_section(tmp_path):
    pair = cnn.make_pair("lenet5", batch=4)
    ours = cnn.profile_rosenblatt(pair["rosenblatt"], 1)
    assert ours["(whole step)"] > 0 and any(k.startswith("Conv2d.") for k in ours)
    path = tmp_path / "BENCHMARKS.md"
    write_section("overhead", "other numbers", path)
    assert cnn.main(["--quick", "--models", "lenet5", "--output", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert "<!-- overhead:start -->\nother numbers\n<!-- overhead:end -->" in text
    assert text.count("<!-- cnn:start -->") == 1 and "| lenet5 | train |" in text
