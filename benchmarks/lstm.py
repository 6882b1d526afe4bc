"""LSTM training throughput: rosenblatt against PyTorch eager on the CPU.

What is measured
    One training step of a one-layer LSTM (input 32, hidden 128) over sequences of 50 steps in
    batches of 64, a linear head on the last output, mean-squared-error loss and a plain SGD
    step (lr 0.01): forward, backward and update, float32, time-major input (T, B, I). Both
    frameworks start from the same weights (PyTorch's init, copied) and train on the same data;
    the same Python function drives both. Before timing, one step of each is checked to give the
    same loss and gradients.

How
    Interleaved in one process (see ``/work/shared/PERFORMANCE.md``): every round runs one
    untimed and then ``steps`` timed training steps of each framework, alternating which goes
    first, after a warm-up;
    ``gc.collect(); gc.freeze()`` after the warm-up takes the import-time objects out of the
    GC's scans (as in ``overhead.py``). Per round, steps/s for each framework; we quote the
    medians with their interquartile range and the median of the per-round ratios
    rosenblatt/PyTorch (steps/s), the number the ≥ 1.0× target is about.
    ``torch.set_num_threads(2)``; NumPy's BLAS uses its default (2 threads here). With
    ``threadpoolctl`` installed, a second, shorter measurement pins both to one thread. The
    primary measurement runs the ops' default path (numba's compiled step kernels when numba is
    installed); a third, shorter one forces the NumPy path (``rnn_numba.use_numba(False)``).

Profile
    One more run with every NumPy call and every kernel call inside the LSTM op counted and
    timed (the op's module is given counting stand-ins for NumPy and for the kernels): calls per
    training step and per time step, and the time split into the per-step GEMMs, the
    whole-sequence GEMMs, the compiled kernels, the transcendental ufuncs (exp, tanh), the other
    elementwise ufuncs, allocation, and what is left inside the op (Python: the loop, slicing) —
    then the time outside the op (head, loss, autograd walk, SGD). Then the NumPy path's call
    count and op time, for comparison.

Run ``python3 benchmarks/lstm.py`` (under a minute) to print the tables and write the ``lstm``
section of BENCHMARKS.md; ``--quick`` is a few-second smoke run that only prints.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F
from rosenblatt.ops import rnn as rnn_ops
from rosenblatt.ops import rnn_numba

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

SECTION = "lstm"
TARGET_RATIO = 1.0  # from the issue: at least PyTorch's training steps/s
THREADS = 2
SEQ, BATCH, INPUT, HIDDEN = 50, 64, 32, 128
LR = 0.01

# ----------------------------------------------------------------------------------------------
# the workload, once per framework
# ----------------------------------------------------------------------------------------------


@dataclass
class Trainer:
    """A model, its optimiser and one batch, behind one ``step()``."""

    name: str
    step: Callable[[], float]  # one training step; returns the loss
    grads: Callable[[], dict[str, np.ndarray]]  # the parameters' gradients, by torch's names


def make_trainers(seed: int = 0, seq: int = SEQ, batch: int = BATCH) -> tuple[Trainer, Trainer]:
    """rosenblatt and torch trainers with identical weights and data."""
    torch.manual_seed(seed)
    g = np.random.default_rng(seed)
    x = g.standard_normal((seq, batch, INPUT)).astype(np.float32)
    y = g.standard_normal((batch, 1)).astype(np.float32)

    t_lstm, t_head = torch.nn.LSTM(INPUT, HIDDEN), torch.nn.Linear(HIDDEN, 1)
    r_lstm, r_head = nn.LSTM(INPUT, HIDDEN), nn.Linear(HIDDEN, 1)
    r_lstm.load_state_dict(t_lstm.state_dict())
    r_head.load_state_dict(t_head.state_dict())
    t_params = [*t_lstm.parameters(), *t_head.parameters()]
    r_params = [*r_lstm.parameters(), *r_head.parameters()]
    t_opt = torch.optim.SGD(t_params, lr=LR)
    r_opt = rb.optim.SGD(r_params, lr=LR)
    xt, yt = torch.tensor(x), torch.tensor(y)
    xr, yr = rb.tensor(x), rb.tensor(y)

    def torch_step() -> float:
        out, _ = t_lstm(xt)
        loss = torch.nn.functional.mse_loss(t_head(out[-1]), yt)
        t_opt.zero_grad()
        loss.backward()
        t_opt.step()
        return loss.item()

    def rb_step() -> float:
        out, _ = r_lstm(xr)
        loss = F.mse_loss(r_head(out[-1]), yr)
        r_opt.zero_grad()
        loss.backward()
        r_opt.step()
        return loss.item()

    names = [f"lstm.{n}" for n, _ in t_lstm.named_parameters()] + \
        [f"head.{n}" for n, _ in t_head.named_parameters()]

    def torch_grads() -> dict[str, np.ndarray]:
        return {n: p.grad.numpy().copy() for n, p in zip(names, t_params, strict=True)}

    def rb_grads() -> dict[str, np.ndarray]:
        return {n: np.array(p.grad) for n, p in zip(names, r_params, strict=True)}

    return Trainer("rosenblatt", rb_step, rb_grads), Trainer("torch", torch_step, torch_grads)


def check_agreement(seq: int = SEQ, batch: int = BATCH) -> float:
    """One step from the same weights: losses and all gradients must agree (else the race is
    unfair). Returns the largest relative gradient difference."""
    ours, theirs = make_trainers(seq=seq, batch=batch)
    loss_r, loss_t = ours.step(), theirs.step()
    if abs(loss_r - loss_t) > 1e-5 * max(1.0, abs(loss_t)):
        raise RuntimeError(f"losses differ: rosenblatt {loss_r}, torch {loss_t}")
    worst = 0.0
    g_t = theirs.grads()
    for name, g in ours.grads().items():
        scale = max(1e-3, float(np.max(np.abs(g_t[name]))))
        worst = max(worst, float(np.max(np.abs(g - g_t[name]))) / scale)
    if not worst <= 1e-3:
        raise RuntimeError(f"gradients differ (relative {worst:.2e}): the benchmark would compare "
                           "different computations")
    return worst


# ----------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------


def measure(rounds: int = 31, steps: int = 5, warmup: int = 3, seq: int = SEQ,
            batch: int = BATCH) -> dict[str, list[float]]:
    """Steps/s per round for each framework, interleaved (alternating which goes first). Each
    framework's block starts with one untimed step: the other framework's worker threads (torch's
    OpenMP pool, NumPy's OpenBLAS pool) may still be spinning right after a switch, and that
    transient would be charged to whichever framework runs second."""
    trainers = make_trainers(seq=seq, batch=batch)
    rates: dict[str, list[float]] = {tr.name: [] for tr in trainers}
    for _ in range(warmup):
        for tr in trainers:
            tr.step()
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            order = trainers if r % 2 == 0 else trainers[::-1]
            for tr in order:
                tr.step()  # untimed: the switch from the other framework's thread pool
                t0 = time.perf_counter()
                for _ in range(steps):
                    tr.step()
                rates[tr.name].append(steps / (time.perf_counter() - t0))
    finally:
        gc.unfreeze()
    return rates


@contextmanager
def one_thread() -> Iterator[bool]:
    """Both frameworks on one thread (NumPy's BLAS through threadpoolctl); yields False, and
    changes nothing, when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield True
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class Summary:
    rb: Spread  # steps/s
    torch: Spread
    ratio: Spread  # per-round rosenblatt / torch, steps/s
    ratio_of_means: float


def summarize(rates: dict[str, list[float]]) -> Summary:
    mine, theirs = rates["rosenblatt"], rates["torch"]
    ratios = [m / t for m, t in zip(mine, theirs, strict=True)]
    mean_step_torch = statistics.fmean(1 / t for t in theirs)
    mean_step_rb = statistics.fmean(1 / m for m in mine)
    return Summary(Spread.of(mine), Spread.of(theirs), Spread.of(ratios),
                   mean_step_torch / mean_step_rb)


def format_speed(rows: Sequence[tuple[str, Summary]]) -> str:
    lines = [
        "| threads | rosenblatt steps/s | PyTorch steps/s | rosenblatt / PyTorch (median of "
        "per-round ratios) | ratio of mean step times |",
        "|---|---|---|---|---|",
    ]
    for label, s in rows:
        lines.append(
            f"| {label} | {_sp(s.rb)} | {_sp(s.torch)} | {s.ratio.median:.2f}× "
            f"[{s.ratio.q1:.2f}–{s.ratio.q3:.2f}] | {s.ratio_of_means:.2f}× |"
        )
    return "\n".join(lines)


def _sp(s: Spread) -> str:
    return f"{s.median:.1f} [{s.q1:.1f}–{s.q3:.1f}]"


def verdict(s: Summary) -> str:
    met = "met" if round(s.ratio.median, 2) >= TARGET_RATIO else "NOT met"
    return (f"Target ≥ {TARGET_RATIO:.1f}× PyTorch's training steps/s (median ratio, "
            f"{THREADS} threads): {s.ratio.median:.2f}× — {met}.")


# ----------------------------------------------------------------------------------------------
# profile: NumPy calls, kernel calls and where the time goes
# ----------------------------------------------------------------------------------------------

TRANSCENDENTAL = {"exp", "tanh"}
ALLOCATION = {"empty", "zeros", "ones", "full", "concatenate", "copy", "ascontiguousarray"}
KERNEL = "numba kernel "  # prefix of the compiled step kernels' keys


class Counting:
    """Stands in for the ``numpy`` module (or the kernel module ``rnn_numba``) inside
    ``rosenblatt.ops.rnn``: every function call is counted and timed under its name (matmuls
    split into per-step and whole-sequence ones: the per-step ones write a (batch, ·) block;
    kernels under ``KERNEL`` + name). Both stand-ins share one pair of tallies."""

    def __init__(self, batch: int, module: Any = np, prefix: str = "",
                 calls: dict[str, int] | None = None,
                 seconds: dict[str, float] | None = None) -> None:
        self.batch = batch
        self.module = module
        self.prefix = prefix
        self.calls: dict[str, int] = defaultdict(int) if calls is None else calls
        self.seconds: dict[str, float] = defaultdict(float) if seconds is None else seconds

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.module, name)
        if not callable(attr) or isinstance(attr, type) or name in ("enabled", "available"):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            key = self.prefix + name
            if name == "matmul":  # the per-step GEMMs write a (batch, ·) block of a state
                out = kwargs.get("out")
                per_step = out is not None and out.ndim == 2 and out.shape[0] == self.batch
                key = "matmul (per step)" if per_step else "matmul (whole sequence)"
            t0 = time.perf_counter()
            out = attr(*args, **kwargs)
            self.seconds[key] += time.perf_counter() - t0
            self.calls[key] += 1
            return out

        return counted


@dataclass
class Profile:
    steps: int
    seq: int
    kernels: bool  # the compiled step kernels ran (else the NumPy calls)
    step_s: float  # mean seconds per training step (instrumented)
    op_forward_s: float
    op_backward_s: float
    forward_calls: dict[str, int]
    backward_calls: dict[str, int]
    seconds: dict[str, float]  # by function, summed over forward and backward


def profile(steps: int = 10, seq: int = SEQ, batch: int = BATCH) -> Profile:
    """Count and time the NumPy and kernel calls of the LSTM op over ``steps`` training steps."""
    ours, _ = make_trainers(seq=seq, batch=batch)
    ours.step()  # warm-up (and the kernels compiled or loaded)
    counter = Counting(batch)
    kernels = Counting(batch, rnn_numba.kernels(), KERNEL, counter.calls, counter.seconds)
    op = rnn_ops.LSTMSequence
    original = (rnn_ops.get_array_module, rnn_ops._kernels, op.forward, op.backward)
    phase_s = {"forward": 0.0, "backward": 0.0}
    phase_calls: dict[str, dict[str, int]] = {}

    def timed(fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            before = dict(counter.calls)
            t0 = time.perf_counter()
            out = fn(self, *args, **kwargs)
            phase_s[phase] += time.perf_counter() - t0
            calls = phase_calls.setdefault(phase, defaultdict(int))
            for k, v in counter.calls.items():
                calls[k] += v - before.get(k, 0)
            return out

        return run

    use_kernels = original[1](np) is not None
    rnn_ops.get_array_module = lambda a: counter  # type: ignore[assignment]
    rnn_ops._kernels = lambda xp: kernels if use_kernels else None  # type: ignore[assignment]
    op.forward = timed(original[2], "forward")  # type: ignore[method-assign]
    op.backward = timed(original[3], "backward")  # type: ignore[method-assign]
    try:
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(steps):
            ours.step()
        total = time.perf_counter() - t0
    finally:
        (rnn_ops.get_array_module, rnn_ops._kernels, op.forward,  # type: ignore[method-assign]
         op.backward) = original
    return Profile(steps, seq, use_kernels, total / steps, phase_s["forward"] / steps,
                   phase_s["backward"] / steps,
                   {k: v // steps for k, v in phase_calls["forward"].items()},
                   {k: v // steps for k, v in phase_calls["backward"].items()},
                   {k: v / steps for k, v in counter.seconds.items()})


def format_profile(p: Profile) -> list[str]:
    """The profile as markdown paragraphs: the call counts, then the time table."""
    seq = p.seq
    fwd, bwd = sum(p.forward_calls.values()), sum(p.backward_calls.values())
    ms = 1e3

    def group(names: Callable[[str], bool]) -> float:
        return sum(v for k, v in p.seconds.items() if names(k))

    step_gemm = group(lambda k: k == "matmul (per step)")
    seq_gemm = group(lambda k: k == "matmul (whole sequence)")
    kernel = group(lambda k: k.startswith(KERNEL))
    trans = group(lambda k: k in TRANSCENDENTAL)
    alloc = group(lambda k: k in ALLOCATION)
    elementwise = group(lambda k: not k.startswith(("matmul", KERNEL)) and k not in TRANSCENDENTAL
                        and k not in ALLOCATION)
    inside = p.op_forward_s + p.op_backward_s
    python = inside - (step_gemm + seq_gemm + kernel + trans + alloc + elementwise)
    outside = p.step_s - inside
    rows = [
        ("GEMMs, one per time step each way (h Wₕₕᵀ forward, dA Wₕₕ backward)", step_gemm),
        ("GEMMs over the whole sequence (X Wᵢₕᵀ for all steps; dWᵢₕ, dWₕₕ, db)", seq_gemm),
        ("compiled step kernels (numba: gates, c, h forward; gate gradients backward)", kernel),
        ("transcendental ufuncs (exp for the gates, tanh for the cell)", trans),
        ("other elementwise ufuncs (add, multiply, subtract, divide)", elementwise),
        ("allocation and copies (empty, zeros, copy, …)", alloc),
        ("inside the op, not in NumPy or kernel calls (the Python loop, slicing)", python),
        ("outside the LSTM op (head, loss, autograd walk, slicing nodes, SGD)", outside),
    ]
    path = ("the compiled kernels (numba)" if p.kernels
            else "NumPy calls only (numba off or missing)")
    lines = [
        f"Path profiled: {path}. NumPy calls and kernel calls inside the LSTM op per training "
        f"step: {fwd} in forward and {bwd} in backward, {fwd + bwd} in all — about "
        f"{(fwd + bwd) / seq:.1f} per time step (forward {fwd / seq:.1f}, backward "
        f"{bwd / seq:.1f}, the one-off calls included). "
        "By function (forward + backward): "
        + ", ".join(f"{k} {p.forward_calls.get(k, 0) + p.backward_calls.get(k, 0)}"
                    for k in sorted(set(p.forward_calls) | set(p.backward_calls),
                                    key=lambda k: -(p.forward_calls.get(k, 0)
                                                    + p.backward_calls.get(k, 0)))) + ".",
        f"Where a rosenblatt training step's {p.step_s * ms:.1f} ms go (instrumented run: the "
        "counting adds about a microsecond per call; the op's forward "
        f"{p.op_forward_s * ms:.1f} ms, its backward {p.op_backward_s * ms:.1f} ms):",
    ]
    table = ["| part | ms per training step | share |", "|---|---|---|"]
    for label, seconds in rows:
        if seconds == 0.0 and label.startswith(("compiled", "transcendental", "other")):
            continue  # a path's rows only
        table.append(f"| {label} | {seconds * ms:.2f} | {100 * seconds / p.step_s:.0f}% |")
    return [*lines, "\n".join(table)]


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------


TRIED = (
    "Tried and measured without gain (op level, forward + backward, 2 threads unless noted): "
    "numba's parallel loops for the step kernels (`parallel=True`, the batch in two chunks): "
    "420 ms instead of 4.8 ms for the forward loop with the OpenMP layer, whose spinning "
    "threads fight OpenBLAS's, and 10.2 instead of 4.9 ms with the workqueue layer; the input "
    "projection fused into each step's GEMM ([x_t, h] [Wᵢₕ, Wₕₕ]ᵀ, K = 160): 5.6–5.8 vs "
    "5.7 ms forward (it helps only on one thread, 8.6 vs 9.2 ms); one GEMM for [dWᵢₕ | dWₕₕ "
    "| db] over [X, H, 1]: 3.12 vs 3.22 ms, about what copying X and H together costs; "
    "keeping the saved gates as (B, 4, H) rows instead of gate-major (4, B, H) blocks: LLVM "
    "then fails to vectorise the kernel (160 vs 29 µs a step). Not tried: feature-major "
    "states, whose per-step GEMMs are ~5 µs faster each way (51–54 vs 57–58 µs) but which "
    "need every state, output and gradient transposed. Earlier, on the NumPy path, without "
    "gain: batched per-gate GEMMs, tanh through exp, precomputing the backward's gate "
    "products in forward, and splitting the batch over two Python threads."
)


def _why(prof: Profile, prof_numpy: Profile | None, speed: Sequence[tuple[str, Summary]]) -> str:
    """Where the time goes, from this run's profiles and lines."""
    gemm = sum(v for k, v in prof.seconds.items() if k.startswith("matmul"))
    kernel = sum(v for k, v in prof.seconds.items() if k.startswith(KERNEL))
    text = (
        "Where the time goes: PyTorch 2.13 runs `nn.LSTM` on this CPU through oneDNN's fused "
        "RNN primitive (one `aten::mkldnn_rnn_layer` call forward and one "
        "`mkldnn_rnn_layer_backward` per layer and direction), the gate arithmetic vectorised "
        f"C++ on both threads. Here the matrix products are {100 * gemm / prof.step_s:.0f}% of "
        "the step (the table below), the same products PyTorch computes, run by OpenBLAS on "
        "both threads; "
    )
    if prof.kernels:
        text += (
            f"the compiled step kernels take {1e3 * kernel:.1f} ms, on one thread (the second "
            "core idles meanwhile), reading and writing every step's gates and states once."
        )
    else:
        text += "the ufunc calls for the gates stay on one thread."
    if prof.kernels and prof_numpy is not None:
        calls = sum(prof_numpy.forward_calls.values()) + sum(prof_numpy.backward_calls.values())
        trans = sum(v for k, v in prof_numpy.seconds.items() if k in TRANSCENDENTAL)
        elementwise = sum(v for k, v in prof_numpy.seconds.items()
                          if not k.startswith("matmul") and k not in ALLOCATION)
        text += (
            f" What made the difference: the NumPy path's ~{calls / prof_numpy.seq:.0f} calls "
            f"per time step, {1e3 * elementwise:.1f} ms of ufuncs a training step (exp and tanh "
            f"{1e3 * trans:.1f} ms of it), each call a pass over memory plus about a "
            "microsecond of overhead, became 2 kernel calls per time step."
        )
    numpy_line = next((v for k, v in speed if "NumPy path" in k), None)
    if numpy_line is not None:
        text += (f" Without numba (the NumPy path, also CuPy's) the ratio is "
                 f"{numpy_line.ratio.median:.2f}× (line 3).")
    return text


def build_section(speed: Sequence[tuple[str, Summary]], prof: Profile,
                  prof_numpy: Profile | None, settings: str, agreement: float) -> str:
    flops = 2 * SEQ * BATCH * 4 * HIDDEN * (3 * HIDDEN + 2 * INPUT)
    if prof.kernels:
        how = (
            "How: the whole sequence through the layer is one autograd node (`ops/rnn.py`, "
            "`LSTMSequence`): the input projection X Wᵢₕᵀ of all 50 steps is one GEMM before "
            "the loop; each step is one GEMM h Wₕₕᵀ and one call of a numba kernel "
            "(`ops/rnn_numba.py`) that adds the bias, applies the four gate activations, "
            "updates c and h and stores the gates for backward in one vectorised pass (float32 "
            "tanh and σ through a rational approximation, within 4·10⁻⁷ of the exact values); "
            "backward is one kernel call (all the gate gradients) and one GEMM dA Wₕₕ per step, "
            "then one GEMM each for dWᵢₕ and dWₕₕ over the stacked steps. A zero initial state "
            "skips its GEMM h0 Wₕₕᵀ, and dh0 is not computed when nothing asks for it. Arrays "
            "for all steps are reused from call to call."
        )
    else:
        how = (
            "How: the whole sequence through the layer is one autograd node (`ops/rnn.py`, "
            "`LSTMSequence`): the input projection X Wᵢₕᵀ of all 50 steps is one GEMM before "
            "the loop; each step is one GEMM h Wₕₕᵀ plus in-place ufuncs on gate-major blocks of "
            "arrays reused from call to call; the backward pass is one GEMM dA Wₕₕ per step for "
            "the carried gradient, then one GEMM each for dWᵢₕ and dWₕₕ over the stacked steps."
        )
    parts = [
        "## LSTM training (`benchmarks/lstm.py`)",
        "",
        f"One training step of `LSTM({INPUT}, {HIDDEN})` over {SEQ} time steps, batch {BATCH}, "
        f"a `Linear({HIDDEN}, 1)` head on the last output, MSE loss, SGD (lr {LR}); float32, "
        "time-major input; forward + backward + update. Same weights, same data, same Python "
        "function for both frameworks; before timing, one step of each gave the same loss and "
        f"gradients (largest relative gradient difference {agreement:.1e}). About "
        f"{flops / 1e9:.2f} GFLOP of matrix products per step (forward and backward "
        "recurrences, the input projection and the weight gradients; no input gradient).",
        "",
        format_machine_info(),
        settings,
        "",
        format_speed(speed),
        "",
        verdict(speed[0][1]),
        "",
        how,
        "",
        _why(prof, prof_numpy, speed),
        "",
        TRIED,
        "",
        "### Profile",
        "",
    ]
    for paragraph in format_profile(prof):
        parts += [paragraph, ""]
    if prof_numpy is not None:
        calls = sum(prof_numpy.forward_calls.values()) + sum(prof_numpy.backward_calls.values())
        op_ms = 1e3 * (prof_numpy.op_forward_s + prof_numpy.op_backward_s)
        parts += [
            f"The NumPy path (numba off), profiled the same way: {calls} calls inside the op per "
            f"training step (about {calls / prof_numpy.seq:.0f} per time step), the op "
            f"{op_ms:.1f} ms of a {1e3 * prof_numpy.step_s:.1f} ms training step.",
            "",
        ]
    return "\n".join(wrap_paragraph(p) for p in parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: short sequences, few rounds; prints but does not write "
                        "BENCHMARKS.md unless --output is given")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (41)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per round (5)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"markdown file to write the section into ({BENCHMARKS_MD.name})")
    args = parser.parse_args(argv)

    torch.set_num_threads(THREADS)
    seq, batch = (10, 16) if args.quick else (SEQ, BATCH)
    rounds = args.rounds or (3 if args.quick else 41)
    steps = args.steps or (2 if args.quick else 5)
    warmup = 1 if args.quick else 3
    start, pressure0 = time.perf_counter(), cpu_pressure_seconds()
    agreement = check_agreement(seq, batch)
    speed = [(f"{THREADS} (primary)", summarize(measure(rounds, steps, warmup, seq, batch)))]
    with one_thread() as pinned:
        if pinned:
            single = measure(max(rounds // 2, 3), steps, warmup, seq, batch)
            speed.append(("1 (both pinned)", summarize(single)))
    kernels = rnn_numba.enabled()
    prof = profile(3 if args.quick else 10, seq, batch)
    prof_numpy = None
    if kernels:  # the path without numba, for comparison
        previous = rnn_numba.use_numba(False)
        try:
            plain = measure(max(rounds // 2, 3), steps, warmup, seq, batch)
            speed.append((f"{THREADS}, NumPy path (numba off)", summarize(plain)))
            prof_numpy = profile(3 if args.quick else 10, seq, batch)
        finally:
            rnn_numba.use_numba(previous)
    elapsed, pressure1 = time.perf_counter() - start, cpu_pressure_seconds()
    contention = ""
    if pressure0 is not None and pressure1 is not None:
        contention = (
            f" Some task was waiting for a CPU {100 * (pressure1 - pressure0) / elapsed:.0f}% of "
            "that time (`/proc/pressure/cpu`): a measure of how busy the machine was."
        )
    settings = (
        f"Settings: {warmup} warm-up steps, then {rounds} rounds of 1 untimed + {steps} timed "
        "steps per framework "
        "(half as many rounds for the one-thread and NumPy-path lines), "
        f"`torch.set_num_threads({THREADS})`, "
        f"GC frozen after the warm-up; the whole script took {elapsed:.0f} s.{contention}"
    )
    if args.quick:
        settings += f" QUICK RUN: sequence {seq}, batch {batch} (not the benchmark's sizes)."
    section = build_section(speed, prof, prof_numpy, settings, agreement)
    print(section)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
