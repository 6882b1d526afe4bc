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
    """ResNet-20 for 3×32×32 inputs, option-B shortcuts (``nn``: torch.nn or rosenblatt.nn).
    Each batch norm that a ReLU follows runs fused in rosenblatt (``bn(x, relu=True)``, as
    its model zoo does), ``relu(bn(x))`` in PyTorch."""
    fused = nn.__name__.startswith("rosenblatt")

    def bn_relu(bn: Any, x: Any) -> Any:
        return bn(x, relu=True) if fused else nn.functional.relu(bn(x))

    class Stem(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn = nn.BatchNorm2d(16)

        def forward(self, x: Any) -> Any:
            return bn_relu(self.bn, self.conv(x))

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
            out = bn_relu(self.bn1, self.conv1(x))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    layers: list[Any] = [Stem()]
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


def memory_child(framework: str, name: str, mode: str, keep_im2col: bool,
                 cold: bool = False) -> dict[str, float]:
    """In this fresh process: peak RSS growth over three steps, after setup. Setup includes one
    step of the same model on a batch of 2 (then dropped): code that is loaded once per process
    (numba's compiled kernels and LLVM, ~65 MB; PyTorch's kernels) is not counted as the
    training step's memory; ``code_rss`` is what that warm-up step added. ``cold``: no warm-up
    step (the first steps of the process, loading included)."""
    if framework == "torch":
        import torch

        torch.set_num_threads(THREADS)
    else:
        from rosenblatt.ops import conv as conv_ops

        conv_ops.KEEP_IM2COL = keep_im2col
    rss_before = _rss_bytes()
    if not cold:
        warm = make_setup(framework, name, batch=2)
        warm.step(mode)
        del warm
        gc.collect()
    code_rss = _rss_bytes() - rss_before
    s = make_setup(framework, name)
    gc.collect()
    _reset_peak_rss()
    rss0 = _rss_bytes()
    for _ in range(3):
        s.step(mode)
    return {"peak_growth": float(_peak_rss_bytes() - rss0), "setup_rss": float(rss0),
            "code_rss": float(code_rss)}


def run_memory_child(framework: str, name: str, mode: str, keep_im2col: bool = False,
                     numba: bool = True, cold: bool = False) -> float:
    """Peak RSS growth of one (framework, model, mode) in a fresh process; ``numba=False`` runs
    rosenblatt's NumPy path (``ROSENBLATT_NUMBA=0``); ``cold``: without the warm-up step."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", framework,
           "--model", name, "--mode", mode] + (["--keep-im2col"] if keep_im2col else [])
    cmd += ["--cold"] if cold else []
    env = dict(os.environ, ROSENBLATT_NUMBA="auto" if numba else "0")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_growth"]


MEMORY_RUNS = 3  # fresh children per warm cell (PyTorch's peak moves by ~10% between them)


def measure_memory(models: Sequence[str]) -> dict[tuple[str, str, str, bool], list[float]]:
    """Peak growth per (model, mode, framework, cold): ``MEMORY_RUNS`` children for the warm
    cells, the two frameworks alternating; one for the cold ones."""
    out: dict[tuple[str, str, str, bool], list[float]] = defaultdict(list)
    for name in models:
        for mode in MODES:
            for _ in range(MEMORY_RUNS):
                for fw in FRAMEWORKS:
                    out[(name, mode, fw, False)].append(run_memory_child(fw, name, mode))
            for fw in FRAMEWORKS:
                out[(name, mode, fw, True)].append(run_memory_child(fw, name, mode, cold=True))
    return dict(out)


def format_memory(mem: dict[tuple[str, str, str, bool], list[float]],
                  models: Sequence[str]) -> str:
    mb = 1 / 2**20

    def cell(runs: list[float]) -> str:
        med = statistics.median(runs) * mb
        if len(runs) == 1:
            return f"{med:,.0f}"
        return f"{med:,.0f} [{min(runs) * mb:,.0f}–{max(runs) * mb:,.0f}]"

    lines = [f"| model | mode | rosenblatt peak MB, median [range of {MEMORY_RUNS}] | PyTorch "
             f"peak MB, median [range] | rosenblatt / PyTorch (medians) | target ≤ "
             f"{MEMORY_TARGET}× | cold: rosenblatt MB | cold: PyTorch MB | cold: ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in models:
        for mode in MODES:
            ours, theirs = mem[(name, mode, "rosenblatt", False)], mem[(name, mode, "torch", False)]
            a, b = statistics.median(ours), statistics.median(theirs)
            ca, cb = mem[(name, mode, "rosenblatt", True)][0], mem[(name, mode, "torch", True)][0]
            ratio = a / b if b > 0 else float("nan")
            met = "yes" if round(ratio, 2) <= MEMORY_TARGET else "no"
            lines.append(f"| {name} | {mode} | {cell(ours)} | {cell(theirs)} | {ratio:.2f}× | "
                         f"{met if mode == 'train' else '—'} | {ca * mb:,.0f} | {cb * mb:,.0f} | "
                         f"{ca / cb if cb > 0 else float('nan'):.2f}× |")
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


PATHS = ("direct", "numpy_keep_x", "numpy_keep_cols")


def _use_path(path: str) -> None:
    from rosenblatt.ops import conv as conv_ops
    from rosenblatt.ops import jit

    if path == "direct" and not jit.available():
        raise RuntimeError("the direct path needs numba")
    jit.use_numba(None if path == "direct" else False)
    conv_ops.KEEP_IM2COL = path == "numpy_keep_cols"


def path_tradeoff(rounds: int, steps: int) -> dict[str, Any]:
    """ResNet-20 and LeNet-5 train steps on rosenblatt's three ways to run a convolution:
    numba's direct kernels (the default when numba is installed; x kept for backward), the NumPy
    im2col + GEMM path keeping x (the default without numba) and keeping the im2col matrices.
    Interleaved rounds, median step time, median of per-round time ratios to the direct path;
    peak memory of each (child processes)."""
    from rosenblatt.ops import jit

    paths = PATHS if jit.available() else PATHS[1:]
    out: dict[str, Any] = {"paths": paths}
    for name in ("resnet20", "lenet5"):
        s = make_setup("rosenblatt", name)
        times: dict[str, list[float]] = {p: [] for p in paths}
        for p in paths:
            _use_path(p)
            s.train_step()
        for r in range(rounds):
            for p in (paths if r % 2 == 0 else paths[::-1]):
                _use_path(p)
                t0 = time.perf_counter()
                for _ in range(steps):
                    s.train_step()
                times[p].append((time.perf_counter() - t0) / steps)
        base = times[paths[0]]
        out[name] = {p: {"ms": statistics.median(t) * 1e3,
                         "ratio": statistics.median(a / b for a, b in zip(t, base, strict=True))}
                     for p, t in times.items()}
    _use_path(paths[0])
    for p in paths:
        out["resnet20"][p]["mem"] = run_memory_child("rosenblatt", "resnet20", "train",
                                                     p == "numpy_keep_cols", p == "direct")
    return out


def compile_child() -> dict[str, float]:
    """In this fresh process: seconds for the first LeNet-5 + ResNet-20 train steps (batch 2),
    then for the same again (kernels loaded)."""
    t0 = time.perf_counter()
    for name in MODELS:
        make_setup("rosenblatt", name, batch=2).train_step()
    t1 = time.perf_counter()
    for name in MODELS:
        make_setup("rosenblatt", name, batch=2).train_step()
    return {"first": t1 - t0, "again": time.perf_counter() - t1}


def compile_cost() -> dict[str, float] | None:
    """What numba's compilation costs: the first LeNet-5 + ResNet-20 train steps (batch 2, float32)
    in a fresh process with an empty kernel cache (everything compiles), again in a second
    process with that cache filled (compiled code loaded from disk), and once loaded. Seconds."""
    import tempfile

    from rosenblatt.ops import jit

    if not jit.available():
        return None
    cmd = [sys.executable, str(Path(__file__).resolve()), "--compile-child"]
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, ROSENBLATT_NUMBA="auto")
        for key in ("compile", "cached"):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            out[key], out["warm"] = res["first"], res["again"]
    return out


def saved_for_backward(name: str) -> dict[str, float]:
    """Bytes rosenblatt holds for backward after one forward pass of the model (batch 128,
    train mode), by op type; arrays that share memory are counted once."""
    s = make_setup("rosenblatt", name)
    s.model.train()
    loss = RF.cross_entropy(s.model(s.x), s.y)
    seen: set[int] = set()
    by_op: dict[str, float] = defaultdict(float)
    stack, visited = [loss._node], set()
    while stack:
        fn = stack.pop()
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        for a in fn._saved or ():
            if isinstance(a, np.ndarray):
                base = a
                while base.base is not None:
                    base = base.base
                if id(base) not in seen:
                    seen.add(id(base))
                    by_op[type(fn).__name__] += base.nbytes
        stack += [p for p in fn.parents if p is not None and not hasattr(p, "data")]
    return dict(by_op)


def format_tradeoff(t: dict[str, Any]) -> str:
    names = {"direct": "numba direct kernels (default with numba; keeps x)",
             "numpy_keep_x": "NumPy im2col + GEMM, keeps x (default without numba)",
             "numpy_keep_cols": "NumPy im2col + GEMM, keeps the im2col matrices"}
    mb = 1 / 2**20
    base = t["paths"][0]
    lines = [f"| convolution path | ResNet-20 train ms | time / {base} | LeNet-5 train ms | "
             f"time / {base} | ResNet-20 train peak MB |", "|---|---|---|---|---|---|"]
    for p in t["paths"]:
        r, le = t["resnet20"][p], t["lenet5"][p]
        lines.append(f"| {names[p]} | {r['ms']:.0f} | {r['ratio']:.2f}× | {le['ms']:.1f} | "
                     f"{le['ratio']:.2f}× | {r['mem'] * mb:,.0f} |")
    return "\n".join(lines)


HOW = (
    "How rosenblatt computes them here. With numba installed (it is, on this machine) every "
    "convolution of these two models runs the direct kernels of `ops/conv_numba.py` (chosen per "
    "layer shape by `ops/conv_direct.py`: K = C_in·k_h·k_w ≤ 600 and outputs of at least 8×8; "
    "wider layers keep the GEMM): no im2col matrix, no padded or transposed copy of the batch; "
    "each tap of the kernel is a shift of one flat, zero-padded image buffer, summed two output "
    "channels × four taps per pass in a loop LLVM vectorises; stride and dilation by splitting "
    "the buffer into phase planes; the batch split over both cores by threads. Backward keeps "
    "only x (no copy: the array the previous op returned). Batch norm in training mode runs "
    "`ops/norm_numba.py` (3 reads + 2 writes forward, 4 reads + 1 write backward, against ~6 + "
    "4 and ~7 + 4 in NumPy). Without numba (or with `ROSENBLATT_NUMBA=0`) the NumPy path runs: "
    "im2col + one GEMM, x kept and im2col redone in backward (the table further down compares "
    "the paths)."
)


def build_section(speed: str, memory: str | None, profiles: dict[str, str],
                  tradeoff: dict[str, Any] | None, settings: str, verdict: str,
                  saved: dict[str, dict[str, float]] | None = None,
                  compile_s: dict[str, float] | None = None) -> str:
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
        HOW,
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
                  "steps, each framework and model in a fresh child process. Setup includes one "
                  "step of the model on a batch of 2, so that code loaded once per process is "
                  "not counted as the step's memory (numba's compiled kernels and LLVM add "
                  "~70 MB to rosenblatt's RSS once; PyTorch's first step ~100 MB). The *cold* "
                  "columns measure without that step, as this section did before the numba "
                  "kernels: the first steps of a process, loading included.", "", memory]
        if saved:
            for name, by_op in saved.items():
                total = sum(by_op.values())
                items = ", ".join(f"{k} {v * mb:,.1f} MB" for k, v in
                                  sorted(by_op.items(), key=lambda kv: -kv[1]) if v * mb >= 0.05)
                parts += ["", f"After the forward pass of a {name} train step rosenblatt holds "
                          f"{total * mb:,.1f} MB for backward ({items}; an array two ops "
                          "share is counted once, with the first op found walking back from "
                          "the loss). What each op keeps is in the note below."]
        parts += ["", MEMORY_NOTE]
    if tradeoff is not None:
        parts += ["", "### The convolution paths compared (rosenblatt alone)", "",
                  "Train steps, the three paths interleaved in one process (5 rounds), median "
                  "step time and median of per-round time ratios; peak memory as above.", "",
                  format_tradeoff(tradeoff)]
    if compile_s is not None:
        parts += ["", f"numba's compile cost: the first LeNet-5 + ResNet-20 train steps (batch 2, "
                  f"float32) in a fresh process take {compile_s['compile']:.0f} s with an empty "
                  f"kernel cache (every kernel compiles; once per machine, `cache=True`), "
                  f"{compile_s['cached']:.1f} s with the cache filled (compiled code loaded from "
                  f"disk, once per process), and {compile_s['warm']:.2f} s once loaded. float64 "
                  "(the agreement check, gradcheck) and channels-last inputs compile their own "
                  "versions the first time they are seen."]
    for name, table in profiles.items():
        parts += ["", f"### Where a {name} train step goes (top ops)", "",
                  "rosenblatt: time inside each op's forward/backward (ops it calls count in "
                  "both); PyTorch: self CPU time per aten op. The profilers add overhead.", "",
                  table]
    parts += ["", TRIED]
    return "\n".join(wrap_paragraph(p) for p in parts)


MEMORY_NOTE = (
    "What backward keeps, and what it recomputes instead (`Function.keep_input` in "
    "`autograd.py`). A convolution keeps its input x, the array the previous op returned (no "
    "copy; the direct path never builds an im2col matrix, the NumPy path redoes im2col from x). "
    "Batch norm keeps x̂. Three rules then drop what can be had back cheaply: (1) batch norm "
    "with a fused ReLU (`bn(x, relu=True)`, used by the model zoo's ResNets, DenseNets and "
    "GoogLeNet and by this benchmark's ResNet-20) keeps only x̂: the ReLU's mask and its output "
    "max(γx̂ + β, 0) are recomputed from x̂ (one pass, bit for bit the forward's), so the "
    "convolution after it keeps nothing either: one activation less per conv → BN → ReLU → "
    "conv; (2) a direct convolution with K = C_in·k_h·k_w ≤ 32 (the stem, the 1×1 shortcuts) "
    "is recomputed by the batch norm that reads it, which then keeps no x̂ (≤ 64 flops an "
    "element redone against 4 bytes an element held); (3) a ReLU whose output a later "
    "convolution keeps anyway keeps that array instead of a boolean mask (y > 0 is the mask). "
    "For ResNet-20 that is 3 arrays per basic block (x̂ of both batch norms and the block's "
    "output) where PyTorch keeps 4 (conv input, BN input, ReLU output, twice). Before these "
    "rules (b9d0f8e) the same measurement gave 222 MB against PyTorch's 356 MB (0.62×): x̂ "
    "98 MB, conv inputs 92 MB, masks 23 MB. They cost no time: a ResNet-20 train step with them "
    "against one without (the three switched off in the same process, interleaved, 12 rounds "
    "of 2 steps; measured by hand, not rerun by this script) took 0.97× [0.90–0.99] the time: "
    "the fused ReLU saves a pass forward and backward, which pays for the recomputations."
)

TRIED = (
    "Tried while building the kernels, measured and dropped (kernel-level medians/minima of "
    "many repeats, one core unless said): the inner loop indexed as `src[o + p]` (numba's "
    "negative-index wraparound kept LLVM from vectorising: 2.2 against 21 GFLOP/s with slices "
    "`src[o:o + n][p]`); one output channel per pass (49 GFLOP/s) against two (75), four × four "
    "(78, no better) and eight taps per pass (52); float64 accumulators in the weight gradient "
    "(13 GFLOP/s: a float32 × 0 typed the sum as float64) against per-pass float32 sums added "
    "to float64 (51–56); numba's `parallel=True` with its OpenMP layer (25 s to compile the three "
    "float32 conv kernels against 8 s serial, and its spinning threads made the same kernel "
    "36 against 26 ms when the machine was busy) against plain threads over image chunks; one "
    "image per pass on small images (ResNet-20's 8×8 stage: 64.6 ms forward + backward) against "
    "blocks of ~2,048 flat positions (24.2 ms); padding frames of (H + 2p)×(W + 2p) against "
    "rows and images sharing one padding ((H + p)×(W + p): 8×8 images waste 27% instead of "
    "56%). glibc `mallopt` (M_MMAP_MAX = 0, M_TRIM_THRESHOLD = 1 GiB) changed nothing: a "
    "ResNet-20 step already takes 1–2 minor page faults (no array over glibc's 32 MB dynamic "
    "mmap threshold once im2col is gone), 594/600 ms against 596/587 ms without."
)


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
    parser.add_argument("--compile-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.compile_child:
        print(json.dumps(compile_child()))
        return 0

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.model, args.mode,
                                      args.keep_im2col, args.cold)))
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
    memory = profiles = tradeoff = saved = compiled = None
    if not args.quick:
        mem = measure_memory(models)
        memory = format_memory(mem, models)
        print(memory)
        saved = {name: saved_for_backward(name) for name in models}
        print(saved)
        profiles = {}
        for name in models:
            pair = make_pair(name)
            profiles[name] = format_profile(profile_rosenblatt(pair["rosenblatt"], 3),
                                            profile_torch(pair["torch"], 3))
            print(profiles[name])
        if set(models) == {"resnet20", "lenet5"}:
            tradeoff = path_tradeoff(5, 1)
            print(format_tradeoff(tradeoff))
        compiled = compile_cost()
        print(compiled)
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
    if any("NOT met" in p for p in parts):
        verdict += (" Where a gap is left: the direct kernels run at ~50–60 GFLOP/s per core on "
                    "these shapes (float32, AVX2; no AVX-512 on this CPU) against ~80 for "
                    "oneDNN's, and the elementwise ops around them (ReLU, add, the SGD step) are "
                    "NumPy passes; the per-op profiles below show where each step goes.")
    verdict += (" A caution on noise: PyTorch's OpenMP and NumPy's OpenBLAS threads spin-wait, "
                "so on a busy machine their steps slow down far more than the numba kernels "
                "(plain threads over large chunks of the batch), and the ratios move in "
                "rosenblatt's favour; read them with the CPU-pressure figure above.")
    section = build_section(speed, memory, profiles or {}, tradeoff, settings, verdict, saved,
                            compiled)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
