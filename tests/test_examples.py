"""The small examples run and do what they say."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_xor_example_learns_xor(capsys):
    runpy.run_path(str(EXAMPLES / "xor.py"), run_name="__main__")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("XOR predictions:")
    predictions = [float(v) for v in last.split("[")[1].rstrip("]").split(",")]
    assert [round(p) for p in predictions] == [0, 1, 1, 0]
