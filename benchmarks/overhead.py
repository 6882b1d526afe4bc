"""Autograd overhead per op: rosenblatt against PyTorch eager on tiny tensors.

What is measured
    On 10-element float32 tensors (10×10 for matmul) the arithmetic is nothing, so the time of an
    op is the framework's fixed cost: dispatch, making the output tensor, recording the graph node,
    and in the backward pass walking the graph, calling the node's backward and adding gradients.
    Three workloads, each about ``n_ops`` = 10,000 recorded ops followed by ``.sum().backward()``:

    * ``elementwise``: ``y = y * b + a`` (2 binary ops per step; ``a``, ``b`` and ``x`` are leaves
      that require grad, so the leaves also accumulate 5,000 gradients each);
    * ``unary mix``: ``tanh(y) = 1 - 2 / (exp(2y) + 1)`` composed from primitives, then
      ``s = t.reshape(2, 5)[1].sum()`` and ``y = t + 0.01 * s`` (10 ops per step: mul, exp, add,
      div, sub, reshape, getitem, sum, mul, broadcasting add);
    * ``matmul``: ``y = y @ W`` with 10×10 ``y`` and ``W`` (1 op per step; ``W`` orthogonal so the
      values stay bounded).

    The workload code is the same Python function for both frameworks (only the leaves differ),
    so the loop itself costs both the same. Per round and per framework we time the forward (all
    ops, including the final sum), the backward (``loss.backward()``) and the total (forward +
    backward + dropping the outputs), each divided by the number of recorded ops: µs per op.

How
    Both frameworks run interleaved in one process (see ``/work/shared/PERFORMANCE.md``): in every
    round each workload runs once per framework, alternating which goes first; after a warm-up
    (whose first round also checks that both frameworks compute the same loss and gradients) come
    ``rounds`` timed rounds. We quote the median µs/op with its interquartile range, the median of
    the per-round ratios rosenblatt/PyTorch (the number the ≤ 1.5× target is about) and the ratio of
    the mean times (which amortises rare pauses such as a full garbage collection).
    ``torch.set_num_threads(2)``.

The garbage-collector detail
    With torch imported, CPython's cyclic GC walks torch's ~170k module-level objects on every full
    collection. Full collections are triggered by surviving container objects; rosenblatt's graph
    nodes are Python objects (PyTorch's are C++), so those scans land on rosenblatt's ops, ~4 µs
    each. The primary numbers are taken after ``gc.collect(); gc.freeze()``, which moves everything
    alive at that point out of the GC's scans: this is what a program that does not import torch
    sees, and it applies to both frameworks. The numbers without the freeze are reported too.

Memory (optional, skipped with ``--quick``)
    For a 100,000-op elementwise chain, each framework runs in a fresh child process: the growth
    of the resident set size while the graph is alive, and the growth of the peak RSS over
    forward + backward. For rosenblatt also ``tracemalloc`` (Python objects plus NumPy buffers,
    which NumPy reports to tracemalloc); PyTorch's C++ allocations are invisible to tracemalloc.

Run ``python3 benchmarks/overhead.py`` (about 1–2 minutes) to print the tables and write the
``overhead`` section of BENCHMARKS.md; ``--quick`` is a few-second smoke run that only prints.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rosenblatt as rb

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import (  # noqa: E402
    BENCHMARKS_MD,
    Spread,
    cpu_pressure_seconds,
    format_machine_info,
    publish,
    wrap_paragraph,
)

SECTION = "overhead"
PHASES = ("forward", "backward", "total")
TARGET_RATIO = 1.5  # from the issue: at most 1.5× PyTorch's per-op overhead
THREADS = 2

# ----------------------------------------------------------------------------------------------
# frameworks: how to make a leaf and read a gradient back
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Framework:
    name: str
    leaf: Callable[[np.ndarray], Any]  # a leaf tensor holding a copy, requires_grad=True
    grad: Callable[[Any], np.ndarray]  # a leaf's .grad as a NumPy array


RB = Framework(
    "rosenblatt",
    lambda a: rb.tensor(a, requires_grad=True),
    lambda t: np.asarray(t.grad),
)
TORCH = Framework(
    "torch",
    lambda a: torch.tensor(a, requires_grad=True),
    lambda t: t.grad.detach().numpy(),
)
FRAMEWORKS = {fw.name: fw for fw in (RB, TORCH)}

# ----------------------------------------------------------------------------------------------
# workloads: one Python function serves both frameworks
# ----------------------------------------------------------------------------------------------


def elementwise_chain(leaves: Sequence[Any], steps: int) -> Any:
    """``y = y * b + a`` ``steps`` times from ``y = x``; returns ``y.sum()``."""
    x, a, b = leaves
    y = x
    for _ in range(steps):
        y = y * b + a
    return y.sum()


def unary_mix(leaves: Sequence[Any], steps: int) -> Any:
    """A tanh composed from primitives, a reshape, a getitem, a sum and a broadcasting add."""
    (y,) = leaves
    for _ in range(steps):
        e = (y * 2.0).exp()
        t = 1.0 - 2.0 / (e + 1.0)  # tanh(y)
        s = t.reshape(2, 5)[1].sum()
        y = t + s * 0.01
    return y.sum()


def matmul_chain(leaves: Sequence[Any], steps: int) -> Any:
    """``y = y @ W`` ``steps`` times from ``y = x`` (10×10 each); returns ``y.sum()``."""
    x, w = leaves
    y = x
    for _ in range(steps):
        y = y @ w
    return y.sum()


def _elementwise_inputs(rng: np.random.Generator) -> list[np.ndarray]:
    x = rng.uniform(-1.0, 1.0, 10)
    a = rng.uniform(-0.1, 0.1, 10)
    b = rng.uniform(0.9, 1.0, 10)  # |b| < 1: y converges to a / (1 - b), no overflow
    return [v.astype(np.float32) for v in (x, a, b)]


def _unary_inputs(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.uniform(-1.0, 1.0, 10).astype(np.float32)]


def _matmul_inputs(rng: np.random.Generator) -> list[np.ndarray]:
    x = rng.uniform(-1.0, 1.0, (10, 10))
    q, _ = np.linalg.qr(rng.standard_normal((10, 10)))  # orthogonal: y @ W keeps the norm
    return [x.astype(np.float32), q.astype(np.float32)]


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    ops_per_step: int
    inputs: Callable[[np.random.Generator], list[np.ndarray]]
    run: Callable[[Sequence[Any], int], Any]  # (leaves, steps) -> scalar loss

    def steps_for(self, n_ops: int) -> int:
        return max(1, n_ops // self.ops_per_step)

    def ops_for(self, steps: int) -> int:
        """Ops recorded by ``steps`` steps, counting the final sum."""
        return steps * self.ops_per_step + 1


WORKLOADS = (
    Workload("elementwise", "`y = y*b + a`, 10 floats", 2, _elementwise_inputs, elementwise_chain),
    Workload(
        "unary mix",
        "tanh by composition, reshape, getitem, sum; 10 floats",
        10,
        _unary_inputs,
        unary_mix,
    ),
    Workload("matmul", "`y = y @ W`, 10×10", 1, _matmul_inputs, matmul_chain),
)

# ----------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------

# timings[workload][framework][phase] = per-round µs per op
Timings = dict[str, dict[str, dict[str, list[float]]]]


def run_once(
    fw: Framework, wl: Workload, arrays: Sequence[np.ndarray], steps: int
) -> tuple[float, float, float, Any, list[Any]]:
    """One forward + backward: (forward s, backward s, teardown s, loss value, leaves)."""
    leaves = [fw.leaf(a) for a in arrays]
    clock = time.perf_counter
    t0 = clock()
    loss = wl.run(leaves, steps)
    t1 = clock()
    loss.backward()
    t2 = clock()
    value = float(loss.detach())
    t3 = clock()
    del loss
    t4 = clock()
    return t1 - t0, t2 - t1, t4 - t3, value, leaves


def _check_agreement(wl: Workload, arrays: Sequence[np.ndarray], steps: int) -> None:
    """Both frameworks must compute the same loss and leaf gradients (else the race is unfair)."""
    *_, v_rb, leaves_rb = run_once(RB, wl, arrays, steps)
    *_, v_t, leaves_t = run_once(TORCH, wl, arrays, steps)
    pairs = [(np.array(v_rb), np.array(v_t))]
    pairs += [(RB.grad(a), TORCH.grad(b)) for a, b in zip(leaves_rb, leaves_t, strict=True)]
    for got, want in pairs:
        scale = max(1.0, float(np.max(np.abs(want))))
        err = float(np.max(np.abs(got - want))) / scale
        if not err <= 1e-3:
            raise RuntimeError(
                f"{wl.name}: rosenblatt and torch disagree (relative error {err:.2e}); the "
                "benchmark would compare different computations"
            )


def measure(
    n_ops: int = 10_000,
    rounds: int = 31,
    warmup: int = 3,
    freeze_gc: bool = True,
    workloads: Sequence[Workload] = WORKLOADS,
    seed: int = 0,
) -> Timings:
    """Time every workload in both frameworks, interleaved; per-round µs per op.

    ``freeze_gc``: after warm-up, ``gc.collect(); gc.freeze()`` so that objects alive before the
    timed rounds (torch's modules above all) are out of the collector's scans; the freeze is undone
    at the end. Before the (unrecorded) warm-up rounds, one run per framework checks that both
    compute the same loss and gradients.
    """
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(seed)
    plan = [(wl, wl.inputs(rng), wl.steps_for(n_ops)) for wl in workloads]
    timings: Timings = {
        wl.name: {fw.name: {p: [] for p in PHASES} for fw in (RB, TORCH)} for wl in workloads
    }
    for wl, arrays, steps in plan:
        _check_agreement(wl, arrays, steps)
    for _ in range(warmup):
        for wl, arrays, steps in plan:
            for fw in (RB, TORCH):
                run_once(fw, wl, arrays, steps)
    if freeze_gc:
        gc.collect()
        gc.freeze()
    try:
        for r in range(rounds):
            for w, (wl, arrays, steps) in enumerate(plan):
                order = (RB, TORCH) if (r + w) % 2 == 0 else (TORCH, RB)
                ops = wl.ops_for(steps)
                for fw in order:
                    fwd, bwd, teardown, _, _ = run_once(fw, wl, arrays, steps)
                    series = timings[wl.name][fw.name]
                    series["forward"].append(fwd / ops * 1e6)
                    series["backward"].append(bwd / ops * 1e6)
                    series["total"].append((fwd + bwd + teardown) / ops * 1e6)
    finally:
        if freeze_gc:
            gc.unfreeze()
    return timings


# ----------------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    workload: str
    phase: str
    rb_us: Spread
    torch_us: Spread
    ratio: Spread  # of the per-round ratios rosenblatt / torch
    ratio_of_means: float


def summarize(timings: Timings) -> list[Row]:
    """One row per workload and phase."""
    rows = []
    for name, by_fw in timings.items():
        for phase in PHASES:
            mine, theirs = by_fw[RB.name][phase], by_fw[TORCH.name][phase]
            ratios = [m / t for m, t in zip(mine, theirs, strict=True)]
            rows.append(
                Row(
                    name,
                    phase,
                    Spread.of(mine),
                    Spread.of(theirs),
                    Spread.of(ratios),
                    statistics.fmean(mine) / statistics.fmean(theirs),
                )
            )
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """A markdown table: µs per op median [IQR] for each framework, and the ratios."""
    lines = [
        "| workload | phase | rosenblatt µs/op | PyTorch µs/op | rosenblatt / PyTorch "
        "(median of per-round ratios) | ratio of means |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.workload} | {r.phase} | {_us(r.rb_us)} | {_us(r.torch_us)} | "
            f"{r.ratio.median:.2f}× [{r.ratio.q1:.2f}–{r.ratio.q3:.2f}] | {r.ratio_of_means:.2f}× |"
        )
    return "\n".join(lines)


def _us(s: Spread) -> str:
    return f"{s.median:.2f} [{s.q1:.2f}–{s.q3:.2f}]"


def verdict(rows: Sequence[Row]) -> str:
    """Each workload's per-op ratio against the ≤ 1.5× target: total, and forward alone."""
    ratios = {(r.workload, r.phase): r.ratio.median for r in rows}
    parts = []
    for name in dict.fromkeys(r.workload for r in rows):
        total, fwd = ratios[(name, "total")], ratios[(name, "forward")]
        parts.append(f"{name} {total:.2f}× ({_met(total)}; forward alone {fwd:.2f}×, {_met(fwd)})")
    return (
        f"Target ≤ {TARGET_RATIO}× PyTorch's per-op overhead (median ratio, GC frozen), "
        "forward + backward: " + "; ".join(parts) + "."
    )


def _met(ratio: float) -> str:
    return "met" if round(ratio, 2) <= TARGET_RATIO else "NOT met"  # judged as printed


# ----------------------------------------------------------------------------------------------
# memory of a long chain (each framework in a fresh child process)
# ----------------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def memory_child(framework: str, n_ops: int, traced: bool) -> dict[str, float]:
    """In this (fresh) process: memory held by a ``n_ops`` elementwise chain's graph."""
    torch.set_num_threads(THREADS)
    fw, wl = FRAMEWORKS[framework], WORKLOADS[0]
    arrays = wl.inputs(np.random.default_rng(0))
    steps = wl.steps_for(n_ops)
    run_once(fw, wl, arrays, wl.steps_for(1000))  # warm up lazy initialisation
    gc.collect()
    gc.freeze()
    leaves = [fw.leaf(a) for a in arrays]
    if traced:
        tracemalloc.start()
    rss0, max0 = _rss_bytes(), _maxrss_bytes()
    loss = wl.run(leaves, steps)
    out = {"ops": float(wl.ops_for(steps)), "rss_graph": float(_rss_bytes() - rss0)}
    if traced:
        out["traced_graph"] = float(tracemalloc.get_traced_memory()[0])
    loss.backward()
    out["maxrss_growth"] = float(max(0, _maxrss_bytes() - max0))
    if traced:
        out["traced_peak"] = float(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return out


def measure_memory(n_ops: int = 100_000) -> dict[str, dict[str, float]]:
    """Run :func:`memory_child` in child processes: rosenblatt and torch by RSS, rosenblatt
    again under tracemalloc (tracemalloc's own bookkeeping would inflate the RSS numbers)."""
    results = {}
    for key, framework, traced in (
        ("rosenblatt", "rosenblatt", False),
        ("torch", "torch", False),
        ("rosenblatt traced", "rosenblatt", True),
    ):
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--memory-child",
            framework,
            "--ops",
            str(n_ops),
        ] + (["--traced"] if traced else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


def format_memory(mem: dict[str, dict[str, float]]) -> str:
    mb = 1 / 2**20
    ops = mem["rosenblatt"]["ops"]
    lines = [
        f"Memory of one {ops:,.0f}-op elementwise chain (fresh process per framework):",
        "",
        "| framework | RSS growth while the graph is alive | peak-RSS growth over forward + "
        "backward | tracemalloc: graph alive / peak |",
        "|---|---|---|---|",
    ]
    for name in ("rosenblatt", "torch"):
        m = mem[name]
        traced = "not visible to tracemalloc (C++ allocator)"
        if name == "rosenblatt":
            t = mem["rosenblatt traced"]
            traced = (
                f"{t['traced_graph'] * mb:.1f} MB ({t['traced_graph'] / t['ops']:.0f} B/op) / "
                f"{t['traced_peak'] * mb:.1f} MB"
            )
        lines.append(
            f"| {name} | {m['rss_graph'] * mb:.1f} MB ({m['rss_graph'] / m['ops']:.0f} B/op) | "
            f"{m['maxrss_growth'] * mb:.1f} MB | {traced} |"
        )
    lines += [
        "",
        "RSS deltas are approximate (the allocators may reuse memory freed earlier, and the peak "
        "RSS only grows when the chain exceeds the high-water mark left by the imports); "
        "tracemalloc counts rosenblatt's Python objects and NumPy buffers exactly.",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------


def build_section(
    frozen: list[Row],
    unfrozen: list[Row],
    mem: dict[str, dict[str, float]] | None,
    settings: str,
) -> str:
    workloads = "\n".join(
        f"- **{wl.name}**: {wl.description} ({wl.ops_per_step} op{'s' * (wl.ops_per_step > 1)} "
        "per step)"
        for wl in WORKLOADS
    )
    parts = [
        "## Autograd overhead per op (`benchmarks/overhead.py`)",
        "",
        "Per-op cost of recording and back-propagating through tiny tensors, where the arithmetic "
        "is negligible and the framework's fixed cost is everything. Each workload records about "
        "10,000 ops, then `loss = y.sum(); loss.backward()`; the same Python function drives both "
        "frameworks. Times are µs per recorded op: median [IQR] over the rounds; the backward is "
        "divided by the number of forward ops; total = forward + backward + dropping the outputs.",
        "",
        workloads,
        "",
        format_machine_info(),
        settings,
        "",
        "### With the GC's import-time objects frozen (primary)",
        "",
        "`gc.collect(); gc.freeze()` after imports and warm-up: with torch imported, CPython's "
        "cyclic GC otherwise scans torch's ~170k module objects on every full collection, and "
        "those collections are triggered by (and charged to) rosenblatt's graph nodes, which are "
        "Python objects where PyTorch's are C++. The freeze applies to both frameworks and matches "
        "a program that does not import torch.",
        "",
        format_table(frozen),
        "",
        verdict(frozen),
        "",
        "### Without the freeze (Python's default GC, torch imported)",
        "",
        "Full collections come every few rounds here, so the ratio of means (which spreads them "
        "over all ops) is the fairer summary of this table than the median.",
        "",
        format_table(unfrozen),
        "",
    ]
    if mem is not None:
        for block in format_memory(mem).split("\n\n"):
            parts += [block, ""]
    return "\n".join(wrap_paragraph(p) for p in parts)



def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: few rounds, no memory runs; prints but does not write "
        "BENCHMARKS.md unless --output is given",
    )
    parser.add_argument("--ops", type=int, default=None, help="ops per workload (10,000)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (31)")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"markdown file to write the section into ({BENCHMARKS_MD.name})",
    )
    parser.add_argument("--memory-child", choices=sorted(FRAMEWORKS), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.ops or 100_000, args.traced)))
        return 0

    n_ops = args.ops or (2_000 if args.quick else 10_000)
    rounds = args.rounds or (3 if args.quick else 31)
    warmup = 1 if args.quick else 3
    start, pressure0 = time.perf_counter(), cpu_pressure_seconds()
    # The secondary (default GC) measurement first, then the primary one, which freezes the GC's
    # view of everything imported and set up so far.
    unfrozen = summarize(measure(n_ops, rounds, warmup, freeze_gc=False))
    frozen = summarize(measure(n_ops, rounds, warmup, freeze_gc=True))
    mem = None if args.quick else measure_memory()
    elapsed, pressure1 = time.perf_counter() - start, cpu_pressure_seconds()
    contention = ""
    if pressure0 is not None and pressure1 is not None:
        contention = (
            f" Some task was waiting for a CPU {100 * (pressure1 - pressure0) / elapsed:.0f}% of "
            "that time (`/proc/pressure/cpu`): a measure of how busy the machine was."
        )
    settings = (
        f"Settings: {n_ops:,} ops per workload, {warmup} warm-up + {rounds} timed rounds per GC "
        f"mode, `torch.set_num_threads({THREADS})`, float32; the whole script took "
        f"{elapsed:.0f} s.{contention}"
    )
    section = build_section(frozen, unfrozen, mem, settings)
    print(section)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
