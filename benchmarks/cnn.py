"""CNN training and inference: LeNet-5 and ResNet-20, rosenblatt against PyTorch eager on the CPU.

What is measured
    Two models, defined below in both frameworks with the same layers (weights copied
    torch → rosenblatt, so both compute the same numbers; a first step checks it):

    * **LeNet-5** on 1×28×28: conv 5×5 (6, padding 2) → ReLU → max-pool 2 → conv 5×5 (16) → ReLU
      → max-pool 2 → 400 → 120 → 84 → 10 (ReLU between the linear layers);
    * **ResNet-20** (He et al., 2016, the CIFAR variant) on 3×32×32: conv 3×3 (16) + BN + ReLU,
      three stages of three basic blocks (16, 32, 64 channels; 3×3 conv + BN + ReLU + 3×3 conv +
      BN, added to the shortcut, ReLU), option-B shortcuts (1×1 conv stride 2 + BN) where the
      shape changes, global average pooling, 64 → 10.

    Batch 128, float32. *Train* is one SGD step (lr 0.01, momentum 0.9): zero_grad, forward,
    cross-entropy, backward, step. *Inference* is one forward in eval mode without the graph.
    Throughput is samples/s.

How
    Both frameworks run interleaved in one process (``/work/shared/PERFORMANCE.md``): in every
    round each (model, mode) runs ``steps`` steps per framework, alternating which goes first;
    after warm-up come ``rounds`` timed rounds. We quote the median samples/s with its IQR and
    the median of the per-round ratios rosenblatt/PyTorch. ``torch.set_num_threads(2)``; NumPy's
    BLAS uses its default (both cores). ``gc.freeze()`` after setup, as in ``overhead.py``.

    Peak memory: each (framework, model, mode) runs in a fresh child process that builds the
    model and data, then takes ``peak RSS − RSS after setup`` over three steps (VmHWM, reset
    after setup).

    Per-op profile: rosenblatt's time per op type (forward and backward of each ``Function``
    class, by wrapping them with timers) and PyTorch's (``torch.profiler``, self CPU time per
    aten op), both for one train step of ResNet-20 and LeNet-5, ms per step.

Run ``python3 benchmarks/cnn.py`` (a few minutes) to print the tables and write the ``cnn``
section of BENCHMARKS.md; ``--quick`` is a smoke run that only prints.
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
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import rosenblatt as rb
from rosenblatt import nn as rnn
from rosenblatt.nn import functional as RF

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import (  # noqa: E402
    Spread,
    cpu_pressure_seconds,
    format_machine_info,
    publish,
    wrap_paragraph,
)

SECTION = "cnn"
THREADS = 2
BATCH = 128
LR, MOMENTUM = 0.01, 0.9
TARGETS = {("lenet5", "train"): 1.0, ("resnet20", "train"): 0.7}  # min speed ratio, the issue
MEMORY_TARGET = 0.5  # peak memory ≤ 0.5 × PyTorch's

# ----------------------------------------------------------------------------------------------
# the models, once per framework (the same layers in the same order, so state_dicts match)
# ----------------------------------------------------------------------------------------------


def lenet5(nn: Any) -> Any:
    """LeNet-5 for 1×28×28 inputs (``nn`` is ``torch.nn`` or ``rosenblatt.nn``)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def resnet20(nn: Any) -> Any:
    """ResNet-20 for 3×32×32 inputs, option-B shortcuts (``nn``: torch.nn or rosenblatt.nn)."""

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    layers: list[Any] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for b in range(3):
            layers.append(BasicBlock(cin, cout, stride if b == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


MODELS: dict[str, tuple[Callable[[Any], Any], tuple[int, ...]]] = {
    "lenet5": (lenet5, (1, 28, 28)),
    "resnet20": (resnet20, (3, 32, 32)),
}
MODES = ("train", "inference")
FRAMEWORKS = ("rosenblatt", "torch")

# ----------------------------------------------------------------------------------------------
# one step of each framework
# ----------------------------------------------------------------------------------------------


@dataclass
class Setup:
    """A model, its optimiser and one batch, in one framework."""

    framework: str
    model: Any
    opt: Any
    x: Any
    y: Any

    def train_step(self) -> float:
        self.model.train()
        self.opt.zero_grad()
        if self.framework == "torch":
            import torch

            loss = torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        else:
            loss = RF.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return float(loss.item())

    def inference_step(self) -> Any:
        self.model.eval()
        if self.framework == "torch":
            import torch

            with torch.no_grad():
                return self.model(self.x)
        with rb.no_grad():
            return self.model(self.x)

    def step(self, mode: str) -> Any:
        return self.train_step() if mode == "train" else self.inference_step()


def _data(shape: tuple[int, ...], batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    return (g.standard_normal((batch,) + shape).astype(np.float32),
            g.integers(0, 10, batch).astype(np.int64))


def make_setup(framework: str, name: str, batch: int = BATCH, state: Any = None) -> Setup:
    """Model + SGD + one batch. For rosenblatt, ``state`` (a torch state_dict) is loaded."""
    build, shape = MODELS[name]
    x, y = _data(shape, batch)
    if framework == "torch":
        import torch

        torch.manual_seed(0)
        model = build(torch.nn)
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        return Setup(framework, model, opt, torch.from_numpy(x), torch.from_numpy(y))
    rb.manual_seed(0)
    model = build(rnn)
    if state is not None:
        model.load_state_dict(state)
    opt = rb.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return Setup(framework, model, opt, rb.tensor(x), y)


def make_pair(name: str, batch: int = BATCH) -> dict[str, Setup]:
    theirs = make_setup("torch", name, batch)
    ours = make_setup("rosenblatt", name, batch, state=theirs.model.state_dict())
    return {"rosenblatt": ours, "torch": theirs}


def check_agreement(name: str, batch: int = BATCH) -> float:
    """Same loss and weight gradients after one train step in both frameworks, in float64 (in
    float32 batch norm's backward amplifies rounding to ~1e-2 in a few gradients, which would
    hide a real bug); returns the largest gradient difference relative to its tensor's max."""
    import torch

    pair = make_pair(name, batch)
    for s in pair.values():
        s.model.double()
    pair["torch"].x = pair["torch"].x.double()
    pair["rosenblatt"].x = rb.tensor(pair["rosenblatt"].x.data.astype(np.float64))
    pair["torch"].opt = torch.optim.SGD(pair["torch"].model.parameters(), lr=LR)
    pair["rosenblatt"].opt = rb.optim.SGD(pair["rosenblatt"].model.parameters(), lr=LR)
    losses = {fw: s.train_step() for fw, s in pair.items()}
    if abs(losses["rosenblatt"] - losses["torch"]) > 1e-9 * max(1.0, abs(losses["torch"])):
        raise RuntimeError(f"{name}: losses differ: {losses}")
    worst = 0.0
    ours = dict(pair["rosenblatt"].model.named_parameters())
    for key, p in pair["torch"].model.named_parameters():
        want = p.grad.numpy()
        got = np.asarray(ours[key].grad)
        err = float(np.abs(got - want).max()) / max(1e-12, float(np.abs(want).max()))
        worst = max(worst, err)
        if err > 1e-7:
            raise RuntimeError(f"{name}: gradient of {key} differs (relative error {err:.1e})")
    return worst


# ----------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------

# timings[model][mode][framework] = seconds per step, one entry per round
Timings = dict[str, dict[str, dict[str, list[float]]]]


def measure(models: Sequence[str], rounds: int, warmup: int, steps: int,
            batch: int = BATCH) -> tuple[Timings, dict[str, float]]:
    import torch

    torch.set_num_threads(THREADS)
    agreement = {name: check_agreement(name, batch) for name in models}
    pairs = {name: make_pair(name, batch) for name in models}
    timings: Timings = {n: {m: {fw: [] for fw in FRAMEWORKS} for m in MODES} for n in models}
    for _ in range(warmup):
        for pair in pairs.values():
            for mode in MODES:
                for s in pair.values():
                    s.step(mode)
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            for w, (name, pair) in enumerate(pairs.items()):
                for m, mode in enumerate(MODES):
                    order = FRAMEWORKS if (r + w + m) % 2 == 0 else FRAMEWORKS[::-1]
                    for fw in order:
                        s = pair[fw]
                        t0 = time.perf_counter()
                        for _ in range(steps):
                            s.step(mode)
                        timings[name][mode][fw].append((time.perf_counter() - t0) / steps)
    finally:
        gc.unfreeze()
    return timings, agreement


def summarize(timings: Timings, batch: int = BATCH) -> list[dict[str, Any]]:
    rows = []
    for name, by_mode in timings.items():
        for mode, by_fw in by_mode.items():
            ours = [batch / t for t in by_fw["rosenblatt"]]
            theirs = [batch / t for t in by_fw["torch"]]
            ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
            rows.append({"model": name, "mode": mode, "rb": Spread.of(ours),
                         "torch": Spread.of(theirs), "ratio": Spread.of(ratios)})
    return rows


def format_speed(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| model | mode | rosenblatt samples/s | PyTorch samples/s | rosenblatt / PyTorch "
             "(median of per-round ratios) | target | met? |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        target = TARGETS.get((r["model"], r["mode"]))
        met = "—" if target is None else ("yes" if round(r["ratio"].median, 2) >= target else "no")
        t = "—" if target is None else f"≥ {target}×"
        lines.append(
            f"| {r['model']} | {r['mode']} | {_s(r['rb'])} | {_s(r['torch'])} | "
            f"{r['ratio'].median:.2f}× [{r['ratio'].q1:.2f}–{r['ratio'].q3:.2f}] | {t} | {met} |"
        )
    return "\n".join(lines)


def _s(s: Spread) -> str:
    return f"{s.median:,.0f} [{s.q1:,.0f}–{s.q3:,.0f}]"


# ----------------------------------------------------------------------------------------------
# peak memory (each in a fresh child process)
# ----------------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM). Not ``ru_maxrss``: Linux carries that across
    fork + exec, so a child started by a large parent would report the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _reset_peak_rss() -> None:
    """Start VmHWM afresh from the current RSS (``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


def memory_child(framework: str, name: str, mode: str, keep_im2col: bool) -> dict[str, float]:
    """In this fresh process: peak RSS growth over three steps, after setup."""
    if framework == "torch":
        import torch

        torch.set_num_threads(THREADS)
    else:
        from rosenblatt.ops import conv as conv_ops

        conv_ops.KEEP_IM2COL = keep_im2col
    s = make_setup(framework, name)
    gc.collect()
    _reset_peak_rss()
    rss0 = _rss_bytes()
    for _ in range(3):
        s.step(mode)
    return {"peak_growth": float(_peak_rss_bytes() - rss0), "setup_rss": float(rss0)}


def run_memory_child(framework: str, name: str, mode: str, keep_im2col: bool = False) -> float:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", framework,
           "--model", name, "--mode", mode] + (["--keep-im2col"] if keep_im2col else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_growth"]


def measure_memory(models: Sequence[str]) -> dict[tuple[str, str, str], float]:
    out = {}
    for name in models:
        for mode in MODES:
            for fw in FRAMEWORKS:
                out[(name, mode, fw)] = run_memory_child(fw, name, mode)
    return out


def format_memory(mem: dict[tuple[str, str, str], float], models: Sequence[str]) -> str:
    mb = 1 / 2**20
    lines = ["| model | mode | rosenblatt peak MB | PyTorch peak MB | rosenblatt / PyTorch | "
             f"target ≤ {MEMORY_TARGET}× |", "|---|---|---|---|---|---|"]
    for name in models:
        for mode in MODES:
            a, b = mem[(name, mode, "rosenblatt")], mem[(name, mode, "torch")]
            ratio = a / b if b > 0 else float("nan")
            met = "yes" if round(ratio, 2) <= MEMORY_TARGET else "no"
            lines.append(f"| {name} | {mode} | {a * mb:,.0f} | {b * mb:,.0f} | {ratio:.2f}× | "
                         f"{met if mode == 'train' else '—'} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# per-op profile
# ----------------------------------------------------------------------------------------------


def profile_rosenblatt(s: Setup, steps: int) -> dict[str, float]:
    """ms per train step spent in each Function class's forward and backward (op totals)."""
    from rosenblatt.autograd import Function

    totals: dict[str, float] = defaultdict(float)
    originals = {}
    classes = set()
    stack = list(Function.__subclasses__())
    while stack:
        c = stack.pop()
        classes.add(c)
        stack.extend(c.__subclasses__())

    def wrap(cls: type, method: str) -> None:
        fn = cls.__dict__[method]
        key = f"{cls.__name__}.{method}"

        def timed(self: Any, *a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(self, *a, **k)
            finally:
                totals[key] += time.perf_counter() - t0

        originals[(cls, method)] = fn
        setattr(cls, method, timed)

    for cls in classes:
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                wrap(cls, method)
    try:
        s.train_step()
        totals.clear()
        t0 = time.perf_counter()
        for _ in range(steps):
            s.train_step()
        totals["(whole step)"] = time.perf_counter() - t0
    finally:
        for (cls, method), fn in originals.items():
            setattr(cls, method, fn)
    return {k: v / steps * 1e3 for k, v in totals.items()}


def profile_torch(s: Setup, steps: int) -> dict[str, float]:
    """ms per train step of self CPU time per aten op (``torch.profiler``)."""
    import torch

    s.train_step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            s.train_step()
        whole = time.perf_counter() - t0
    out = {e.key: e.self_cpu_time_total / 1e3 / steps for e in prof.key_averages()}
    out["(whole step)"] = whole / steps * 1e3
    return out


def format_profile(ours: dict[str, float], theirs: dict[str, float], top: int = 10) -> str:
    def rows(d: dict[str, float]) -> list[str]:
        items = sorted(((k, v) for k, v in d.items() if k != "(whole step)"),
                       key=lambda kv: -kv[1])[:top]
        return [f"{k} {v:.1f}" for k, v in items]

    a, b = rows(ours), rows(theirs)
    lines = [f"| rosenblatt op: ms per step (whole step {ours['(whole step)']:.0f} ms, "
             "profiled) | PyTorch aten op: self ms per step (whole step "
             f"{theirs['(whole step)']:.0f} ms, profiled) |", "|---|---|"]
    for i in range(max(len(a), len(b))):
        lines.append(f"| {a[i] if i < len(a) else ''} | {b[i] if i < len(b) else ''} |")
    return "\n".join(lines)


def keep_im2col_tradeoff(rounds: int, steps: int) -> dict[str, float]:
    """ResNet-20 train step with x kept for backward (default) against the im2col matrix kept:
    median of per-round time ratios, and peak memory of each (child processes)."""
    from rosenblatt.ops import conv as conv_ops

    s = make_setup("rosenblatt", "resnet20")
    times: dict[bool, list[float]] = {False: [], True: []}
    s.train_step()
    for r in range(rounds):
        for keep in ((False, True) if r % 2 == 0 else (True, False)):
            conv_ops.KEEP_IM2COL = keep
            t0 = time.perf_counter()
            for _ in range(steps):
                s.train_step()
            times[keep].append((time.perf_counter() - t0) / steps)
    conv_ops.KEEP_IM2COL = False
    ratio = statistics.median(a / b for a, b in zip(times[True], times[False], strict=True))
    return {
        "time_keep_x_ms": statistics.median(times[False]) * 1e3,
        "time_keep_cols_ms": statistics.median(times[True]) * 1e3,
        "time_ratio_cols_over_x": ratio,
        "mem_keep_x": run_memory_child("rosenblatt", "resnet20", "train", False),
        "mem_keep_cols": run_memory_child("rosenblatt", "resnet20", "train", True),
    }


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------



def build_section(speed: str, memory: str | None, profiles: dict[str, str],
                  tradeoff: dict[str, float] | None, settings: str, verdict: str) -> str:
    mb = 1 / 2**20
    parts = [
        "## CNN training and inference (`benchmarks/cnn.py`)",
        "",
        "LeNet-5 (1×28×28) and ResNet-20 (3×32×32, CIFAR-style, BN, option-B shortcuts), batch "
        "128, float32, defined in both frameworks with the same layers and the same weights "
        "(copied torch → rosenblatt; a first step checks that losses and every gradient agree). "
        "Train = zero_grad + forward + cross-entropy + backward + SGD momentum step; inference = "
        "forward in eval mode without the graph. Both frameworks interleaved in one process, "
        "median [IQR] over the rounds, ratio = median of per-round ratios (> 1: rosenblatt is "
        "faster).",
        "",
        format_machine_info(),
        settings,
        "",
        speed,
        "",
        verdict,
    ]
    if memory is not None:
        parts += ["", "### Peak memory", "",
                  "Peak RSS minus RSS after setup (model, optimiser and batch built), over three "
                  "steps, each framework and model in a fresh child process.", "", memory]
    if tradeoff is not None:
        parts += [
            "", "### Keeping x instead of the im2col matrix for backward", "",
            f"ResNet-20 train step: keeping the padded input and redoing im2col in backward "
            f"(the default) {tradeoff['time_keep_x_ms']:.0f} ms and "
            f"{tradeoff['mem_keep_x'] * mb:,.0f} MB peak; keeping the im2col matrices "
            f"(`rosenblatt.ops.conv.KEEP_IM2COL = True`) {tradeoff['time_keep_cols_ms']:.0f} ms "
            f"(time ratio {tradeoff['time_ratio_cols_over_x']:.2f}×, median of per-round ratios) "
            f"and {tradeoff['mem_keep_cols'] * mb:,.0f} MB peak.",
        ]
    for name, table in profiles.items():
        parts += ["", f"### Where a {name} train step goes (top ops)", "",
                  "rosenblatt: time inside each op's forward/backward (ops it calls count in "
                  "both); PyTorch: self CPU time per aten op. The profilers add overhead.", "",
                  table]
    return "\n".join(wrap_paragraph(p) for p in parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny batch, two rounds, no memory/profile runs; prints "
                        "but does not write BENCHMARKS.md unless --output is given")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (15)")
    parser.add_argument("--steps", type=int, default=None, help="steps per round (2)")
    parser.add_argument("--models", default="lenet5,resnet20")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--memory-child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="lenet5", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="train", help=argparse.SUPPRESS)
    parser.add_argument("--keep-im2col", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.model, args.mode,
                                      args.keep_im2col)))
        return 0

    models = [m for m in args.models.split(",") if m]
    batch = 16 if args.quick else BATCH
    rounds = args.rounds or (2 if args.quick else 15)
    steps = args.steps or (1 if args.quick else 2)
    warmup = 1 if args.quick else 2
    start, pressure0 = time.perf_counter(), cpu_pressure_seconds()
    timings, agreement = measure(models, rounds, warmup, steps, batch)
    rows = summarize(timings, batch)
    speed = format_speed(rows)
    print(speed)
    memory = profiles = tradeoff = None
    if not args.quick:
        mem = measure_memory(models)
        memory = format_memory(mem, models)
        print(memory)
        profiles = {}
        for name in models:
            pair = make_pair(name)
            profiles[name] = format_profile(profile_rosenblatt(pair["rosenblatt"], 3),
                                            profile_torch(pair["torch"], 3))
            print(profiles[name])
        if "resnet20" in models:
            tradeoff = keep_im2col_tradeoff(5, 1)
            print(tradeoff)
    elapsed, pressure1 = time.perf_counter() - start, cpu_pressure_seconds()
    contention = ""
    if pressure0 is not None and pressure1 is not None:
        busy = 100 * (pressure1 - pressure0) / elapsed
        contention = (f" Some task was waiting for a CPU {busy:.0f}% of that time "
                      "(`/proc/pressure/cpu`).")
    settings = (f"Settings: batch {batch}, {warmup} warm-up + {rounds} timed rounds of {steps} "
                f"step(s) per framework, model and mode; `torch.set_num_threads({THREADS})`; "
                f"largest relative gradient difference in the float64 agreement check "
                f"{max(agreement.values()):.0e}; the whole script took {elapsed:.0f} s."
                + contention)
    parts = []
    for r in rows:
        target = TARGETS.get((r["model"], r["mode"]))
        if target is not None:
            ok = "met" if round(r["ratio"].median, 2) >= target else "NOT met"
            parts.append(f"{r['model']} {r['mode']} {r['ratio'].median:.2f}× "
                         f"(target ≥ {target}×, {ok})")
    verdict = "Targets from the issue: " + "; ".join(parts) + "." if parts else ""
    section = build_section(speed, memory, profiles or {}, tradeoff, settings, verdict)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
