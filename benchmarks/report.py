"""Shared by every benchmark script: the machine description and the BENCHMARKS.md writer.

BENCHMARKS.md is one file with one section per benchmark. Each script owns the text between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` and replaces only that, so the overhead, MLP,
CNN and LSTM scripts can be rerun in any order without touching each other's results.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import subprocess
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"

HEADER = """# Benchmarks

rosenblatt against PyTorch eager on the CPU. Each section below is written by the script named in
its title (run it from the repository root, e.g. `python3 benchmarks/overhead.py`); rerunning a
script replaces its own section and leaves the others alone. Pass `--quick` for a smoke run of a few
seconds (it prints, and does not touch this file).

How the numbers are taken (see `/work/shared/PERFORMANCE.md` for why): these machines are small and
noisy, so both frameworks run **interleaved in one process**, alternating which goes first, for many
rounds after a warm-up; a speed ratio is the **median of the per-round ratios**, and absolute times
are quoted with their spread (median [first quartile – third quartile] over the rounds).
"""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _cpu_simd() -> str:
    """The widest x86 vector extension the kernel reports ('' when unknown or not x86)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    for name in ("avx512f", "avx2", "avx", "sse4_2"):
                        if name in flags:
                            return name
                    return ""
    except OSError:
        pass
    return ""


def _numpy_blas() -> str:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[index]
        return f"{blas['name']} {blas['version']}"
    except Exception:  # older NumPy or an unusual build: the version string is enough
        return "unknown BLAS"


def git_revision() -> str:
    """The repository's short commit, noting uncommitted changes under src/ (the code measured)."""
    try:
        git = ["git", "-C", str(REPO_ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in src/" if dirty else "")


def cpu_pressure_seconds() -> float | None:
    """Seconds, since boot, during which some task waited for a CPU (Linux PSI); None when the
    kernel does not say. The difference over a run tells how contended the machine was."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            for line in f:
                if line.startswith("some"):
                    fields = dict(part.split("=") for part in line.split()[1:])
                    return int(fields["total"]) / 1e6
    except (OSError, KeyError, ValueError):
        pass
    return None


def machine_info() -> dict[str, str]:
    """CPU model, core count, Python/NumPy/PyTorch versions and today's date (UTC), as strings."""
    import numpy as np

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "simd": _cpu_simd() or "unknown",
        "cores": str(os.cpu_count() or 0),
        "cores usable": str(usable or 0),
        "python": platform.python_version(),
        "numpy": f"{np.__version__} ({_numpy_blas()})",
        "rosenblatt": git_revision(),
    }
    try:
        import torch

        info["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        info["torch"] = "not installed"
    return info


def format_machine_info(info: dict[str, str] | None = None) -> str:
    """One markdown line: ``Machine: AMD EPYC (avx2), 2 cores; Python 3.11.7; …``."""
    i = machine_info() if info is None else info
    return (
        f"Machine: {i['cpu']} ({i['simd']}), {i['cores']} cores ({i['cores usable']} usable); "
        f"Python {i['python']}; NumPy {i['numpy']}; PyTorch {i['torch']}; "
        f"rosenblatt {i['rosenblatt']}; run {i['date']}."
    )


def _markers(name: str) -> tuple[str, str]:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"section name must be letters, digits, '-' or '_', got {name!r}")
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, body: str, path: str | os.PathLike[str] = BENCHMARKS_MD) -> Path:
    """Put ``body`` between the ``name`` markers of ``path``, replacing what was there.

    The file is created with the shared header when missing; a section seen for the first time is
    appended at the end. Running it twice with the same body leaves the file unchanged. The file
    is replaced atomically (written beside it, then renamed).
    """
    start, end = _markers(name)
    target = Path(path)
    text = target.read_text(encoding="utf-8") if target.exists() else HEADER
    block = f"{start}\n{body.strip()}\n{end}"
    i, j = text.find(start), text.find(end)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(end) :]
    elif i >= 0 or j >= 0:
        raise ValueError(
            f"{target}: the markers of section {name!r} are unbalanced or out of order; "
            f"fix the file by hand (expected {start!r} … {end!r})"
        )
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, target)
    return target


@dataclass(frozen=True)
class Spread:
    """A median with its interquartile range, as every benchmark table quotes timings."""

    median: float
    q1: float
    q3: float

    @staticmethod
    def of(values: Sequence[float]) -> Spread:
        if len(values) == 1:
            return Spread(values[0], values[0], values[0])
        q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return Spread(med, q1, q3)


def wrap_paragraph(paragraph: str) -> str:
    """Prose wrapped at 100 columns; tables, list items, headings and pre-broken text are left as
    they are."""
    if paragraph.startswith(("|", "-", "#")) or "\n" in paragraph:
        return paragraph
    return textwrap.fill(paragraph, width=100, break_long_words=False, break_on_hyphens=False)


def publish(name: str, section: str, quick: bool, output: str | None) -> None:
    """Write ``section`` into BENCHMARKS.md (or ``output``) unless this is a quick run without an
    explicit ``--output``: a smoke run must never overwrite real results."""
    if output is not None or not quick:
        path = write_section(name, section, output or BENCHMARKS_MD)
        print(f"\nwrote section '{name}' of {path}")
