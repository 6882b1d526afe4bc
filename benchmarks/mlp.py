"""MLP training: rosenblatt's ``compile`` + ``fit`` against a PyTorch training loop.

What is measured
    The MLP 784-512-512-10 (ReLU, cross-entropy from logits), trained with SGD (lr 0.01,
    momentum 0.9) on batches of 128 from ``n_samples`` = 60,000 synthetic float32 samples
    (Gaussian class clusters from a fixed seed; no download). Both frameworks start from the same
    weights (drawn once with NumPy, PyTorch's default initialisation, loaded into each with
    ``load_state_dict``) and shuffle their own batches.

    * rosenblatt: ``model.compile(optimizer=SGD(...), loss="cross_entropy")`` and
      ``model.fit(x, y, epochs=1, batch_size=128, verbose=0)`` over the round's samples;
    * PyTorch: the loop an expert writes for data held in memory — ``torch.randperm``, index a
      batch, ``zero_grad``, forward, ``CrossEntropyLoss``, ``backward``, ``step``, and
      ``loss.item()`` per batch (``fit`` reads every batch loss too, for its NaN check and
      logs). A ``DataLoader`` over a ``TensorDataset`` collates sample by sample and is slower;
      it is not used. ``torch.set_num_threads(2)``.
    * a bound: the 8 matrix products of one step (3 forward; 3 weight gradients and 2 input
      gradients backward — the first layer's input needs none) done alone with NumPy into
      preallocated outputs. No NumPy framework can train faster than this, so
      PyTorch's step time over this one is the highest speed ratio reachable here.

    Throughput is samples per second of training.

How
    Everything runs interleaved in one process (see ``/work/shared/PERFORMANCE.md``): each round
    trains ``steps`` batches (a fixed slice of the data, the next slice every round) in each of
    the three, the order going through all six permutations, so each framework goes first equally
    often. Every timed run starts after a pause (``PAUSE``): OpenBLAS's worker thread keeps
    spinning on a core for ~0.1 s after NumPy's last matrix product (``idle_spin`` measures it),
    which would otherwise slow whichever PyTorch run follows a NumPy one. After ``warmup``
    rounds, ``gc.collect(); gc.freeze()`` (as ``overhead.py``: with torch imported, full
    collections would otherwise scan torch's module objects and bill rosenblatt's graph nodes
    for it), then ``rounds`` timed rounds. We quote samples/s as
    median [first quartile – third quartile] over the rounds and the median of the per-round
    ratios. Before any timing, both frameworks must compute the same loss on the first batch from
    the same weights, and again after one SGD step on it (gradients and update agree).

    A per-step breakdown follows: rosenblatt's ops and optimiser step timed from inside (their
    methods wrapped with a clock) next to the GEMM bound, and PyTorch's phases.

Memory
    Each framework trains one epoch in a fresh child process (this script with
    ``--memory-child rosenblatt|torch``; the rosenblatt child never imports torch). Before
    training, after imports, data and model creation, the child notes its resident set size and
    resets the kernel's high-water mark (``/proc/self/clear_refs``); after the epoch, the mark
    (``VmHWM``; ``getrusage().ru_maxrss`` would do, but Linux carries it over from the parent
    across ``execve``) is the peak of the training alone. We report that peak minus the RSS
    before training (the training's own memory) and the absolute peak of the process (imports,
    the 188 MB data set and training).

Run ``python3 benchmarks/mlp.py`` (about 1.5 minutes) to print the tables and write the ``mlp``
section of BENCHMARKS.md; ``--quick`` is a smoke run of seconds that only prints (unless
``--output`` is given).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import rosenblatt as rb

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import (  # noqa: E402
    BENCHMARKS_MD,
    cpu_pressure_seconds,
    format_machine_info,
    publish,
)

if TYPE_CHECKING:
    from benchmarks.overhead import Spread

# torch and benchmarks.overhead (which imports torch) are imported where they are used, so that
# the rosenblatt memory child never loads torch (~220 MB of resident memory).

SECTION = "mlp"
LAYERS = (784, 512, 512, 10)
BATCH = 128
LR = 0.01
MOMENTUM = 0.9
N_SAMPLES = 60_000
SEED = 0
THREADS = 2
TARGET_SPEED = 1.5  # from the issue: at least 1.5× PyTorch's training throughput
TARGET_MEMORY = 0.5  # and at most 0.5× its peak memory
FRAMEWORKS = ("rosenblatt", "torch")
NO_NUMBA = "rosenblatt-numpy"  # the memory run of rosenblatt with ROSENBLATT_NUMBA=0
GEMM = "gemm"  # the bound: the step's matrix products alone
# After NumPy's last matrix product, OpenBLAS's worker thread spins on a core for ~0.11 s before
# it sleeps (measured: the process burns 0.11 CPU-s while the main thread sleeps 0.2 s; PyTorch's
# OpenMP worker spins ~0.01 s). A PyTorch run started right after a NumPy one would lose one of
# its two cores for that long — up to a fifth of a 50-step round. Every timed run therefore
# starts after this much sleep.
PAUSE = 0.25

# ----------------------------------------------------------------------------------------------
# data, weights, models
# ----------------------------------------------------------------------------------------------


def synthetic_data(n: int, seed: int = SEED, spread: float = 0.08
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of 784 float32 features in 10 Gaussian clusters, and their int64 labels.

    x = c_y + noise, noise ~ N(0, 1) per feature, the 10 centres ~ N(0, spread²) per feature
    (with 0.08 the classes overlap: one epoch of 60,000 reaches about 70 % held-out accuracy).
    Made in chunks so no temporary as big as the data set exists.
    """
    rng = np.random.default_rng(seed)
    centres = (spread * rng.standard_normal((LAYERS[-1], LAYERS[0]))).astype(np.float32)
    y = rng.integers(0, LAYERS[-1], n).astype(np.int64)
    x = np.empty((n, LAYERS[0]), dtype=np.float32)
    for start in range(0, n, 8192):
        stop = min(n, start + 8192)
        x[start:stop] = rng.standard_normal((stop - start, LAYERS[0]), dtype=np.float32)
        x[start:stop] += centres[y[start:stop]]
    return x, y


def initial_weights(seed: int = SEED + 1) -> dict[str, np.ndarray]:
    """The state dict both models start from, in PyTorch's layout (``0.weight``, ``0.bias``,
    ``2.weight``, …; W is (out, in)), drawn as PyTorch's default: U(−1/√in, 1/√in)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(LAYERS)):
        bound = 1.0 / np.sqrt(n_in)
        weights[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        weights[f"{2 * i}.bias"] = rng.uniform(-bound, bound, n_out).astype(np.float32)
    return weights


def build_rosenblatt(weights: dict[str, np.ndarray], mixed_precision: bool = False) -> Any:
    """The MLP as an ``nn.Sequential``, loaded with ``weights`` and compiled for ``fit``."""
    nn = rb.nn
    layers: list[Any] = []
    for n_in, n_out in itertools.pairwise(LAYERS):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    model.load_state_dict({k: v.copy() for k, v in weights.items()})
    optimizer = rb.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    model.compile(optimizer=optimizer, loss="cross_entropy", mixed_precision=mixed_precision)
    return model


def train_rosenblatt(model: Any, x: np.ndarray, y: np.ndarray, shuffle: bool = True) -> float:
    """One epoch of ``fit`` over ``x``/``y``; returns the epoch's mean loss."""
    history = model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=shuffle, verbose=0)
    return float(history.history["loss"][-1])


@dataclass
class TorchMLP:
    """The same MLP in PyTorch with its optimiser and loss."""

    model: Any
    optimizer: Any
    loss_fn: Any

    @staticmethod
    def build(weights: dict[str, np.ndarray]) -> TorchMLP:
        import torch

        layers: list[Any] = []
        for n_in, n_out in itertools.pairwise(LAYERS):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        return TorchMLP(model, optimizer, torch.nn.CrossEntropyLoss())


def train_torch(net: TorchMLP, x: Any, y: Any, shuffle: bool = True) -> float:
    """One epoch of the standard loop over the tensors ``x``/``y``; returns the mean loss."""
    import torch

    model, optimizer, loss_fn = net.model, net.optimizer, net.loss_fn
    model.train()
    n = len(x)
    order = torch.randperm(n) if shuffle else torch.arange(n)
    total = 0.0
    for start in range(0, n, BATCH):
        idx = order[start : start + BATCH]
        xb, yb = x[idx], y[idx]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / n


def batch_losses(weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """The loss on the batch ``x``/``y`` in both frameworks from ``weights``, then again after
    one training step on that batch: ``{"rosenblatt": (before, after), "torch": (…)}``."""
    import torch

    def rb_loss(model: Any) -> float:
        with rb.no_grad():
            out = model(rb.tensor(x))
            return float(rb.nn.functional.cross_entropy(out, rb.tensor(y)).item())

    def torch_loss(net: TorchMLP) -> float:
        with torch.no_grad():
            return float(net.loss_fn(net.model(torch.from_numpy(x)), torch.from_numpy(y)))

    model = build_rosenblatt(weights)
    before = rb_loss(model)
    train_rosenblatt(model, x, y, shuffle=False)
    losses = {"rosenblatt": (before, rb_loss(model))}
    net = TorchMLP.build(weights)
    before = torch_loss(net)
    train_torch(net, torch.from_numpy(x), torch.from_numpy(y), shuffle=False)
    losses["torch"] = (before, torch_loss(net))
    return losses


def check_first_batch(weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                      rtol: float = 1e-5) -> dict[str, Any]:
    """Raise RuntimeError unless both frameworks agree on the first batch's loss, before and
    after one SGD step (else the race would compare different computations)."""
    losses = batch_losses(weights, x[:BATCH], y[:BATCH])
    for i, when in enumerate(("before", "after one step")):
        mine, theirs = losses["rosenblatt"][i], losses["torch"][i]
        if not abs(mine - theirs) <= rtol * max(1.0, abs(theirs)):
            raise RuntimeError(
                f"first-batch loss {when}: rosenblatt {mine!r} vs torch {theirs!r}; the "
                "benchmark would compare different computations"
            )
    return losses


class GemmBound:
    """The 8 matrix products of one training step, alone, into preallocated arrays."""

    def __init__(self, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)

        def rand(*shape: int) -> np.ndarray:
            return rng.standard_normal(shape, dtype=np.float32)

        pairs = list(itertools.pairwise(LAYERS))
        self.a = [rand(BATCH, LAYERS[0])] + [rand(BATCH, n) for _, n in pairs[:-1]]  # inputs
        self.w = [rand(n_out, n_in) for n_in, n_out in pairs]
        self.y = [np.empty((BATCH, n_out), np.float32) for _, n_out in pairs]
        self.dy = [rand(BATCH, n_out) for _, n_out in pairs]
        self.dx = [np.empty((BATCH, n_in), np.float32) for n_in, _ in pairs]
        self.dw = [np.empty_like(w) for w in self.w]

    def train(self, steps: int) -> None:
        a, w, dy = self.a, self.w, self.dy
        for _ in range(steps):
            for i in range(len(w)):  # y = x Wᵀ
                np.matmul(a[i], w[i].T, out=self.y[i])
            for i in reversed(range(len(w))):  # dW = dyᵀ x; dx = dy W (not for the input)
                np.matmul(dy[i].T, a[i], out=self.dw[i])
                if i:
                    np.matmul(dy[i], w[i], out=self.dx[i])


# ----------------------------------------------------------------------------------------------
# interleaved timing
# ----------------------------------------------------------------------------------------------


def idle_spin(wait: float = 0.2) -> dict[str, float]:
    """CPU seconds this process burns while its main thread sleeps ``wait`` s right after a
    matrix product, NumPy's and PyTorch's: the time their idle worker threads keep spinning."""
    import torch

    torch.set_num_threads(THREADS)
    a = np.ones((512, 512), np.float32)
    t = torch.ones(512, 512)
    out = {}
    for name, product in (("numpy", lambda: a @ a), ("torch", lambda: t @ t)):
        for _ in range(3):
            product()
        time.sleep(wait)  # let the other library's threads settle first
        product()
        c0 = time.process_time()
        time.sleep(wait)
        out[name] = time.process_time() - c0
    return out


@dataclass
class Setup:
    """What the timed rounds train: the data in both frameworks' types and the three runners."""

    x: np.ndarray
    y: np.ndarray
    runners: dict[str, Callable[[slice], Any]]
    weights: dict[str, np.ndarray]


def make_setup(n_samples: int, seed: int = SEED) -> Setup:
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    rb.manual_seed(seed)
    x, y = synthetic_data(n_samples, seed)
    weights = initial_weights(seed + 1)
    model = build_rosenblatt(weights)
    net = TorchMLP.build(weights)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)  # shares memory with x and y
    gemm = GemmBound(seed)
    runners: dict[str, Callable[[slice], Any]] = {
        "rosenblatt": lambda s: train_rosenblatt(model, x[s], y[s]),
        "torch": lambda s: train_torch(net, xt[s], yt[s]),
        GEMM: lambda s: gemm.train((s.stop - s.start) // BATCH),
    }
    return Setup(x, y, runners, weights)


# timings[name] = seconds per round, for the same number of samples
Timings = dict[str, list[float]]


def measure(n_samples: int = N_SAMPLES, steps: int = 50, rounds: int = 30, warmup: int = 2,
            seed: int = SEED, pause: float = PAUSE) -> tuple[Timings, dict[str, Any]]:
    """Train ``steps`` batches per round in rosenblatt, PyTorch and the GEMM bound, interleaved;
    returns the seconds per round of each and the first-batch losses (checked to agree).

    ``pause``: seconds of sleep before every timed run, so that the threads the previous run left
    spinning have gone to sleep (see ``PAUSE``).
    """
    setup = make_setup(n_samples, seed)
    losses = check_first_batch(setup.weights, setup.x, setup.y)
    per_round = steps * BATCH
    if per_round > n_samples:
        raise ValueError(f"{steps} steps of {BATCH} need {per_round} samples, have {n_samples}")
    slices = itertools.cycle(
        slice(start, start + per_round) for start in range(0, n_samples - per_round + 1, per_round)
    )
    orders = list(itertools.permutations(("rosenblatt", "torch", GEMM)))
    timings: Timings = {name: [] for name in setup.runners}
    clock = time.perf_counter
    for _ in range(warmup):
        s = next(slices)
        for name in orders[0]:
            setup.runners[name](s)
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            s = next(slices)
            for name in orders[r % len(orders)]:
                time.sleep(pause)
                t0 = clock()
                setup.runners[name](s)
                timings[name].append(clock() - t0)
    finally:
        gc.unfreeze()
    return timings, losses


@dataclass(frozen=True)
class Summary:
    samples_per_round: int
    speed: dict[str, Spread]  # samples/s of each runner
    ratio: Spread  # per-round rosenblatt samples/s over torch samples/s
    bound: Spread  # per-round torch time over GEMM time: the highest ratio reachable
    ratio_of_means: float


def summarize(timings: Timings, samples_per_round: int) -> Summary:
    from benchmarks.overhead import Spread

    speed = {k: Spread.of([samples_per_round / t for t in v]) for k, v in timings.items()}
    mine, theirs, gemm = timings["rosenblatt"], timings["torch"], timings[GEMM]
    return Summary(
        samples_per_round,
        speed,
        Spread.of([t / m for m, t in zip(mine, theirs, strict=True)]),
        Spread.of([t / g for g, t in zip(gemm, theirs, strict=True)]),
        statistics.fmean(theirs) / statistics.fmean(mine),
    )


# ----------------------------------------------------------------------------------------------
# per-step breakdown
# ----------------------------------------------------------------------------------------------

# (label, class, method names) timed from inside rosenblatt
_PARTS = (
    ("Linear forward (x Wᵀ + b)", "linalg.Linear", ("forward",)),
    ("Linear backward (dx, dW, db)", "linalg.Linear", ("backward",)),
    ("ReLU forward + backward", "activation.ReLU", ("forward", "backward")),
    ("cross-entropy forward + backward", "loss.CrossEntropy", ("forward", "backward")),
    ("SGD step (momentum)", "sgd.SGD", ("_step_group",)),
)


def _part_class(dotted: str) -> type:
    module, name = dotted.split(".")
    package = rb.optim if module == "sgd" else rb.ops
    return getattr(getattr(package, module), name)


@contextlib.contextmanager
def _clocked(parts: Sequence[tuple[str, str, Sequence[str]]],
             totals: dict[str, float]) -> Iterator[None]:
    """Wrap the named methods with a clock that adds their time to ``totals[label]``."""
    clock = time.perf_counter
    saved = []

    def timed(method: Callable[..., Any], label: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return method(*args, **kwargs)
            finally:
                totals[label] += clock() - t0

        return wrapper

    try:
        for label, dotted, methods in parts:
            cls = _part_class(dotted)
            for m in methods:
                saved.append((cls, m, cls.__dict__[m]))
                setattr(cls, m, timed(cls.__dict__[m], label))
        yield
    finally:
        for cls, m, original in reversed(saved):
            setattr(cls, m, original)


def _torch_phases(net: TorchMLP, x: Any, y: Any, totals: dict[str, float]) -> None:
    """``train_torch`` with a clock around each phase of a step."""
    import torch

    clock = time.perf_counter
    model, optimizer, loss_fn = net.model, net.optimizer, net.loss_fn
    order = torch.randperm(len(x))
    for start in range(0, len(x), BATCH):
        t0 = clock()
        idx = order[start : start + BATCH]
        xb, yb = x[idx], y[idx]
        optimizer.zero_grad(set_to_none=True)
        t1 = clock()
        loss = loss_fn(model(xb), yb)
        t2 = clock()
        loss.backward()
        t3 = clock()
        optimizer.step()
        loss.item()
        t4 = clock()
        totals["batch + zero_grad"] += t1 - t0
        totals["forward + loss"] += t2 - t1
        totals["backward"] += t3 - t2
        totals["optimizer step + loss.item()"] += t4 - t3


def breakdown(n_samples: int = N_SAMPLES, steps: int = 50, rounds: int = 12,
              seed: int = SEED, pause: float = PAUSE) -> dict[str, dict[str, float]]:
    """µs per step of each part of a training step: rosenblatt's ops (timed from inside, next to
    the GEMM bound measured in the same rounds) and PyTorch's phases. Medians over rounds."""
    import torch

    setup = make_setup(n_samples, seed)
    x, y = setup.x, setup.y
    model = build_rosenblatt(setup.weights)
    net = TorchMLP.build(setup.weights)
    gemm = GemmBound(seed)
    per_round = steps * BATCH
    labels = [label for label, _, _ in _PARTS]
    rows: dict[str, list[float]] = {k: [] for k in ("total", GEMM, *labels)}
    torch_rows: dict[str, list[float]] = {}
    clock = time.perf_counter
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds + 1):  # the first round warms up
            first = (r * per_round) % (n_samples - per_round + 1)
            s = slice(first, first + per_round)
            totals = dict.fromkeys(labels, 0.0)
            time.sleep(pause)
            with _clocked(_PARTS, totals):
                t0 = clock()
                train_rosenblatt(model, x[s], y[s])
                total = clock() - t0
            time.sleep(pause)
            t0 = clock()
            gemm.train(steps)
            gemm_time = clock() - t0
            phases = {k: 0.0 for k in ("batch + zero_grad", "forward + loss", "backward",
                                        "optimizer step + loss.item()")}
            time.sleep(pause)
            t0 = clock()
            _torch_phases(net, torch.from_numpy(x[s]), torch.from_numpy(y[s]), phases)
            phases["total"] = clock() - t0
            if r == 0:
                continue
            rows["total"].append(total)
            rows[GEMM].append(gemm_time)
            for k in labels:
                rows[k].append(totals[k])
            for k, v in phases.items():
                torch_rows.setdefault(k, []).append(v)
    finally:
        gc.unfreeze()
    us = 1e6 / steps
    mine = {k: statistics.median(v) * us for k, v in rows.items()}
    theirs = {k: statistics.median(v) * us for k, v in torch_rows.items()}
    return {"rosenblatt": mine, "torch": theirs}


def format_breakdown(parts: dict[str, dict[str, float]]) -> str:
    """Two markdown tables: rosenblatt's step by part, PyTorch's by phase (µs per step), and a
    line with the GEMM bound measured in the same rounds."""
    mine, theirs = parts["rosenblatt"], parts["torch"]
    total = mine["total"]
    linear = mine[_PARTS[0][0]] + mine[_PARTS[1][0]]
    named = sum(mine[label] for label, _, _ in _PARTS)
    rows = [
        ("Linear forward + backward (the 8 GEMMs, bias add, bias gradient)", linear),
        *[(label, mine[label]) for label, _, _ in _PARTS[2:]],
        ("everything else (fit loop, batch gather, autograd walk, Module calls)",
         total - named),
    ]
    lines = ["| rosenblatt, per step | µs | share |", "|---|---|---|"]
    lines += [f"| {label} | {v:,.0f} | {100 * v / total:.0f}% |" for label, v in rows]
    lines.append(f"| **total** | **{total:,.0f}** | 100% |")
    lines += ["", "| PyTorch, per step | µs | share |", "|---|---|---|"]
    t_total = theirs["total"]
    lines += [f"| {k} | {v:,.0f} | {100 * v / t_total:.0f}% |" for k, v in theirs.items()
              if k != "total"]
    lines.append(f"| **total** | **{t_total:,.0f}** | 100% |")
    lines += ["", f"The 8 GEMMs alone, measured in the same rounds: {mine[GEMM]:,.0f} µs per step "
              f"({100 * mine[GEMM] / total:.0f}% of rosenblatt's step, "
              f"{100 * mine[GEMM] / t_total:.0f}% of PyTorch's)."]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# memory (each framework in a fresh child process)
# ----------------------------------------------------------------------------------------------


def _proc_status_kib(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``), None when unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def rss_bytes() -> int:
    """The current resident set size."""
    kib = _proc_status_kib("VmRSS")
    return 0 if kib is None else kib * 1024


def peak_rss_bytes() -> int:
    """This process's peak resident set size since exec (or since :func:`reset_peak_rss`).

    ``VmHWM``, not ``getrusage().ru_maxrss``: Linux carries ``ru_maxrss`` across ``execve``, so
    a child started from this (torch-laden) parent would report the parent's RSS as its own
    peak. ``ru_maxrss`` is the fallback where /proc is missing.
    """
    kib = _proc_status_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib * 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ≥ 4.0); False if we can't."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def peak_memory(out: dict[str, float]) -> Iterator[None]:
    """Measure the block's peak RSS: ``rss_before``, ``peak`` (the block's high-water mark),
    ``growth`` (peak − rss_before), ``process_peak`` (the whole process's, imports included)
    and ``peak_reset`` (1 when the mark could be reset, so ``peak`` is the block's own)."""
    lifetime = peak_rss_bytes()
    out["rss_before"] = float(rss_bytes())
    out["peak_reset"] = float(reset_peak_rss())
    yield
    peak = peak_rss_bytes()
    out["peak"] = float(peak)
    out["growth"] = float(max(0, peak - out["rss_before"]))
    out["process_peak"] = float(max(lifetime, peak))


WARM_SAMPLES = 2 * BATCH  # the warm-up epoch before measuring: loads code, not counted


def memory_child(framework: str, n_samples: int) -> dict[str, float]:
    """In this (fresh) process: the peak memory of one epoch of training. A warm-up epoch of
    ``WARM_SAMPLES`` on a model of its own runs first, as in ``benchmarks/cnn.py``: code loaded
    once per process (numba's compiled kernels and LLVM; PyTorch's kernels) is not counted as
    the training's memory but stays in the absolute peak; ``code_rss`` is what it added."""
    x, y = synthetic_data(n_samples)
    weights = initial_weights()
    out: dict[str, float] = {"samples": float(n_samples)}
    rss0 = rss_bytes()
    if framework == "rosenblatt":
        rb.manual_seed(SEED)
        train_rosenblatt(build_rosenblatt(weights), x[:WARM_SAMPLES], y[:WARM_SAMPLES])
        model = build_rosenblatt(weights)
        gc.collect()
        out["code_rss"] = float(rss_bytes() - rss0)
        with peak_memory(out):
            train_rosenblatt(model, x, y)
    else:
        import torch

        torch.set_num_threads(THREADS)
        torch.manual_seed(SEED)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        train_torch(TorchMLP.build(weights), xt[:WARM_SAMPLES], yt[:WARM_SAMPLES])
        net = TorchMLP.build(weights)
        gc.collect()
        out["code_rss"] = float(rss_bytes() - rss0)
        with peak_memory(out):
            train_torch(net, xt, yt)
    return out


def run_child(script: Path, args: Sequence[str],
              env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``script`` with ``args`` in a fresh interpreter (``env``: variables to add to this
    process's environment); its last stdout line is JSON."""
    cmd = [sys.executable, str(script), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_memory(n_samples: int = N_SAMPLES) -> dict[str, dict[str, float]]:
    """:func:`memory_child` for each framework, each in its own process; when rosenblatt's numba
    kernels run, rosenblatt once more with ``ROSENBLATT_NUMBA=0`` (key ``NO_NUMBA``)."""
    script = Path(__file__).resolve()
    args = ["--samples", str(n_samples)]
    mem = {fw: run_child(script, ["--memory-child", fw, *args]) for fw in FRAMEWORKS}
    if numba_runs():
        mem[NO_NUMBA] = run_child(script, ["--memory-child", "rosenblatt", *args],
                                  env={"ROSENBLATT_NUMBA": "0"})
    return mem


def format_memory(mem: dict[str, dict[str, float]]) -> str:
    """The memory table: a row per run of ``mem`` (rosenblatt, rosenblatt without numba when
    measured, torch) and the ratios of the rosenblatt runs to torch."""
    mb = 1 / 2**20
    theirs = mem["torch"]
    lines = [
        "| framework | training's own peak (peak RSS − RSS before training) | absolute peak RSS "
        "(imports + data + training) | RSS before training |",
        "|---|---|---|---|",
    ]
    mine = [("rosenblatt", "rosenblatt")]
    if NO_NUMBA in mem:
        mine = [("rosenblatt", "rosenblatt (numba)"),
                (NO_NUMBA, "rosenblatt, `ROSENBLATT_NUMBA=0`")]
    for key, label in [*mine, ("torch", "torch")]:
        m = mem[key]
        lines.append(f"| {label} | {m['growth'] * mb:.1f} MB | {m['process_peak'] * mb:.0f} MB "
                     f"| {m['rss_before'] * mb:.0f} MB |")
    for key, label in mine:
        m = mem[key]
        lines.append(f"| {label} / torch | {_ratio(m['growth'], theirs['growth'])} | "
                     f"{_ratio(m['process_peak'], theirs['process_peak'])} | "
                     f"{_ratio(m['rss_before'], theirs['rss_before'])} |")
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 else "n/a"


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------


def format_speed(s: Summary) -> str:
    ms = 1e3 * BATCH
    rows = [
        ("rosenblatt (`compile` + `fit`)", s.speed["rosenblatt"]),
        ("PyTorch (training loop)", s.speed["torch"]),
        ("the step's 8 GEMMs alone, NumPy (a bound)", s.speed[GEMM]),
    ]
    lines = ["| | samples/s, median [IQR] | ms per step (median) |", "|---|---|---|"]
    lines += [f"| {name} | {sp.median:,.0f} [{sp.q1:,.0f}–{sp.q3:,.0f}] | "
              f"{ms / sp.median:.2f} |" for name, sp in rows]
    lines += [
        f"| **rosenblatt / PyTorch** (median of per-round ratios) | **{s.ratio.median:.2f}×** "
        f"[{s.ratio.q1:.2f}–{s.ratio.q3:.2f}] | ratio of means {s.ratio_of_means:.2f}× |",
        f"| the bound / PyTorch: the highest ratio reachable | {s.bound.median:.2f}× "
        f"[{s.bound.q1:.2f}–{s.bound.q3:.2f}] | |",
    ]
    return "\n".join(lines)


def verdict(s: Summary, mem: dict[str, dict[str, float]] | None) -> str:
    speed = s.ratio.median
    parts = [f"Targets (issue 4): throughput ≥ {TARGET_SPEED}× PyTorch's: {speed:.2f}×, "
             f"{_met(round(speed, 2) >= TARGET_SPEED)}"]
    if round(speed, 2) < TARGET_SPEED:
        outside = 1.0 - s.speed["rosenblatt"].median / s.speed[GEMM].median
        parts[0] += (f" — a NumPy step that did nothing but its 8 matrix products would reach "
                     f"{s.bound.median:.2f}× (the bound), and rosenblatt spends "
                     f"{100 * outside:.0f}% of its step outside them (breakdown below)")
    if mem is not None:
        for key in ("rosenblatt", NO_NUMBA) if NO_NUMBA in mem else ("rosenblatt",):
            peak = mem[key]["process_peak"] / mem["torch"]["process_peak"]
            own = mem[key]["growth"] / mem["torch"]["growth"]
            text = (f"{peak:.2f}× of the absolute peak, {_met(round(peak, 2) <= TARGET_MEMORY)} "
                    f"({own:.2f}× of the training's own peak, "
                    f"{_met(round(own, 2) <= TARGET_MEMORY)})")
            if key == "rosenblatt":
                with_numba = " with numba" if NO_NUMBA in mem else ""
                parts.append(f"peak memory ≤ {TARGET_MEMORY}× PyTorch's: {text}{with_numba}")
            else:
                parts[-1] += f"; without numba (`ROSENBLATT_NUMBA=0`): {text}"
    return "; ".join(parts) + "."


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def numba_runs() -> bool:
    """Whether rosenblatt's numba kernels (the SGD step, the cross-entropy) run here."""
    return rb.ops.jit.available() and rb.ops.jit.mode() is not False


def numba_note() -> str:
    """Whether rosenblatt's numba kernels ran, and numba's version."""
    if not numba_runs():
        return "numba off (rosenblatt's NumPy paths)"
    from importlib.metadata import version

    return f"numba {version('numba')} (rosenblatt's SGD step and cross-entropy compiled)"


def numba_memory_note(mem: dict[str, dict[str, float]]) -> str:
    """A sentence on what numba costs in memory, when the run without it was measured."""
    if NO_NUMBA not in mem:
        return ""
    extra = (mem["rosenblatt"]["process_peak"] - mem[NO_NUMBA]["process_peak"]) / 2**20
    return (" With numba installed, rosenblatt's first training step imports it and loads the "
            f"compiled SGD step and cross-entropy: {extra:,.0f} MB more in the absolute peak "
            "(numba, llvmlite and LLVM: code, once per process; the warm-up epoch loads it, so "
            "it is not in the training's own peak); the second row is the same run with "
            "`ROSENBLATT_NUMBA=0` (NumPy paths only, numba never imported).")


# What was tried while optimising the training path (issue 4), measured once, by hand, on this
# machine; kept in the section so a rerun does not lose it. "A/B" = both variants of rosenblatt
# interleaved in one process, 24–200 rounds of 20–50 steps, median [IQR] of the per-round ratios
# of step times (< 1 is faster).
OPTIMISATION_NOTES = """\
### What was tried (measured by hand while optimising; not rerun by this script)

A/B: the two variants of rosenblatt interleaved in one process (`fit` on this MLP, 0.25 s of
sleep before every run, the order alternating), 24–200 rounds of 20–50 steps, median [IQR] of the
per-round ratios of step time (below 1 is faster); "alone": the piece timed by itself, warm, in
the same interleaved way. Ablations (removing a part, for scale only): without the SGD step
0.76–0.85 (the NumPy update: 15–24% of a step, 4 in-place passes over 670k floats); without the
bias adds 0.975.

- **Kept** — the SGD step as one compiled pass per parameter with numba (`ops/optim_numba.py`,
  used when numba is installed; every option: momentum in both forms, dampening, Nesterov,
  weight decay, maximize): 3 reads and 2 writes per element instead of the NumPy path's 4 ufunc
  passes (6 reads, 4 writes), each operation in the parameter's dtype and in the NumPy path's
  order, no fused multiply-add, so the result is bit for bit the NumPy path's (tested). The step
  alone: 320 → 138 µs (6 parameters; ~250 µs inside `fit`, where the arrays are no longer in
  cache); A/B 0.911 [0.892–0.926] (80 rounds of 50 steps; 0.937 [0.914–0.981] in a first run of
  60). Casting the options to the dtype once per group instead of per parameter: a 6-tensor step
  of tiny parameters 26 → 20 µs. The price is numba itself: no op of this model used it before,
  and importing it and loading the kernels adds ~120 MB of resident memory (numba, llvmlite,
  LLVM; see Peak memory, which measures the run without numba too).
- **Dropped** — that compiled SGD pass split over 2 threads (`jit.parallel`, parameters of 64k
  elements or more): 1.048 [1.009–1.078] (60 rounds) against the serial pass; alone it went from
  0.44 to 0.66 of the NumPy step's time. The pass is bound by memory, and right after the
  backward GEMMs OpenBLAS's worker still spins on the other core.
- **Kept** — cross-entropy with plain class indices as compiled rows with numba
  (`ops/loss_numba.py`): forward and backward one call each instead of about 10 NumPy calls
  each. Alone (`F.cross_entropy` forward + backward on 128×10): 91 → 67 µs, 0.73 [0.73–0.74];
  A/B 0.996 [0.977–1.012] (120 rounds) and 0.987 [0.963–1.011] (200 rounds, a first version):
  ~0.7% of a step, at the edge of the noise. Not bit-identical: exp and log are the C library's
  (NumPy's SIMD ones are not correctly rounded), within a few units in the last place of the
  NumPy path and within float32 tolerance of PyTorch (tested). The first version summed each row
  in float64; that moved one weight of a 50-step `Adagrad(maximize=True)` run in
  tests/optim/test_optimizers.py 1.3e-6 past its tolerance (gradient ascent amplifies last-bit
  differences), so the kept one sums the row in float32 in NumPy's pairwise order.
- **Kept** — the shuffled batch gathered with `x.take(idx, axis=0)` instead of `x[idx]` (the same
  rows): 53 → 47 µs per 128×784 batch from the 188 MB array, 0.89 [0.88–0.91] alone (40 rounds of
  468 batches); A/B 0.993 [0.977–1.006] (60 rounds), below the noise.
- **Checked, nothing to remove** — `fit`'s own per-batch Python: a minimal hand-written loop over
  the same work (permutation, gather, forward, `cross_entropy`, the finiteness check, `backward`,
  `step`, `zero_grad`) against `fit`: 0.999 [0.989–1.015] (60 rounds). `fit` adds about 10 Python
  calls per batch (runner, tracker, batch iterator) to the ~420 of the model, autograd and
  optimiser; no logs are built without a batch callback and no metrics without compiled ones.
- **Kept, not in this benchmark** — Adam/AdamW as one compiled pass (`ops/optim_numba.py`, bit
  for bit the NumPy path's): the step alone 1,487 → 402 µs, 0.27 [0.27–0.30] (amsgrad 1,741 →
  1,116 µs, 0.64: five arrays, which LLVM does not vectorise); `fit` of this MLP with Adam, A/B
  0.749 [0.725–0.769] (30 rounds). numba's default error model checks every division for zero
  (raising instead of giving inf, as NumPy does): that kept the loop scalar and slower than NumPy
  (2,600 µs), so the kernels use `error_model="numpy"`.
- **Kept** — cross-entropy fast path for plain class indices (no class weights, no label
  smoothing, nothing ignored: `l = −log p_y`, `dx = g·(p − onehot)`), bit-identical to the general
  path: the op's forward + backward 57.8 → 49.0 µs (−15%; ~0.2% of a step).
- **Already there** (checked): no `dx` for the first layer (the input needs no grad, so its
  parent slot is empty and `Linear.backward` skips the product); `x @ W.T` and `dy.T @ x` pass
  BLAS transpose flags, no copies; ReLU saves a boolean mask; the NumPy SGD step (without numba)
  is 4 in-place ufunc passes with reused scratch; fit computes no metrics when none are compiled.
- **Dropped** — malloc tuning (`mallopt(M_MMAP_MAX, 0)`, `M_TRIM_THRESHOLD` 1 GiB, via glibc's
  environment twins): minor page faults per step are 0.015 without it (glibc's dynamic mmap
  threshold already keeps the ≤ 1.6 MB gradient arrays on the heap after their first free) and
  3.9 with it, so there is nothing for it to remove here; no `_malloc.py` was added. It matters
  for buffers above glibc's 32 MB dynamic-threshold cap (ResNet's im2col, PERFORMANCE.md point 2).
- **Dropped** — weight gradients written with `matmul(out=)` into a persistent buffer: 1.009
  [0.983–1.057]; allocating them costs nothing measurable when nothing page-faults.
- **Dropped** — SGD on two threads (the large parameters split in halves; NumPy releases the GIL
  in ufuncs): 1.035 [1.022–1.056], slower (the worker thread competes with OpenBLAS's spinning
  one, and the passes are bound by memory, not by a core).
- **Dropped** — SGD cache-blocked (32k-element chunks, the 4 passes per chunk while it is in
  L2): 1.015 [0.992–1.057]; the extra ufunc calls (~1.5 µs each) cost what the cache saves.
- **Dropped** — one shuffle per epoch into a preallocated copy of the data, batches as
  contiguous views: 1.033 [1.000–1.054] (`np.take(..., out=)` over 60,000 rows is slow), and it
  holds a second copy of the data set (+188 MB, against the memory target); the per-batch gather
  it replaces costs ~20 µs of a ~4 ms step.
- **Dropped** — the bias gradient before the two GEMMs in `Linear.backward` (while `dy` is in
  cache): 0.990 [0.971–1.011] and 0.995 [0.972–1.013], within the noise.
- **Not changed** — ReLU: `np.maximum` takes 34 µs on 128×512 against 19 µs for `x * mask`,
  but the product gives −0.0 for negative inputs and NaN for −inf (not the same results);
  `np.where` takes 241 µs. An in-place `dy *= mask` saves 3 µs per layer but needs to know that
  nobody else holds `dy`, which the autograd walk does not track. A compiled ReLU (numba: mask
  and `y` in one pass, NaN kept; `dy` where the mask is set) measured 38.6 → 11.1 µs forward and
  18.1 → 10.1 µs backward per 128×512 layer alone, ~70 µs of a step; not done here (the op is
  in `ops/activation.py`).
- **Dropped** — the GEMMs run concurrently instead of by OpenBLAS's two threads: OpenBLAS
  limited to one thread (threadpoolctl) and two Python threads doing the forward products as
  batch halves, each layer's `dx` and `dW` side by side, and `dW1` as row halves. The step's 8
  GEMMs took 1.51× [1.40–1.53] the time of doing them one after another on two OpenBLAS threads
  (30 rounds of 50, 3.75 against 2.47 ms). An earlier single measurement of one layer's pair
  (852 against 970 µs) did not hold up, so the bound above stands.
"""


def build_section(summary: Summary, losses: dict[str, Any], parts: dict[str, dict[str, float]]
                  | None, mem: dict[str, dict[str, float]] | None, settings: str) -> str:
    from benchmarks.report import wrap_paragraph

    rb_loss, torch_loss = losses["rosenblatt"], losses["torch"]
    parts_text = []
    if parts is not None:
        parts_text = [
            "### Where the time goes",
            "",
            "Per training step (batch of 128), medians over separate rounds after the timed ones; "
            "rosenblatt's ops are timed from inside (their methods wrapped with a clock), so "
            "each row includes the NumPy work and the op's own Python.",
            "",
            *[block for part in format_breakdown(parts).split("\n\n") for block in (part, "")],
        ]
    mem_text = []
    if mem is not None:
        n = mem["rosenblatt"]["samples"]
        mem_text = [
            "### Peak memory",
            "",
            f"One epoch ({n:,.0f} samples) in a fresh process per framework; the rosenblatt "
            "process never imports torch (importing torch alone takes ~220 MB). A warm-up "
            f"epoch of {WARM_SAMPLES} samples on a separate model runs first (code loaded once "
            "per process, as in the CNN section). The kernel's peak-RSS mark is reset before "
            "training, so the first column is the training's own peak above what imports, the "
            "warm-up, the data (188 MB for 60,000 samples, shared with torch through "
            "`torch.from_numpy`) and the model already held." + numba_memory_note(mem),
            "",
            format_memory(mem),
            "",
        ]
    body = [
        "## MLP training throughput and memory (`benchmarks/mlp.py`)",
        "",
        "MLP 784-512-512-10 (ReLU), cross-entropy from logits, SGD (lr 0.01, momentum 0.9), batch "
        "128, synthetic float32 data (10 Gaussian clusters, fixed seed). rosenblatt trains with "
        "`model.compile(...)` + `model.fit(..., verbose=0)`; PyTorch with the usual loop "
        "(`randperm`, index the batch, `zero_grad`, forward, loss, `backward`, `step`, "
        "`loss.item()`). Both start from the same weights (`load_state_dict`) and shuffle their "
        "own batches. The bound is the step's 8 matrix products done alone with NumPy into "
        "preallocated arrays: PyTorch's step time over it is the best ratio any NumPy "
        "framework could reach on this machine.",
        "",
        format_machine_info(),
        settings,
        "",
        f"Correctness guard (before timing): loss on the first batch, same weights: rosenblatt "
        f"{rb_loss[0]:.6f}, PyTorch {torch_loss[0]:.6f}; after one SGD step on it: "
        f"{rb_loss[1]:.6f} and {torch_loss[1]:.6f}.",
        "",
        format_speed(summary),
        "",
        verdict(summary, mem),
        "",
        *mem_text,
        *parts_text,
        *([OPTIMISATION_NOTES.strip(), ""] if OPTIMISATION_NOTES.strip() else []),
    ]
    return "\n".join(wrap_paragraph(p) for p in body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run of seconds: little data, few rounds; prints but does not "
                        "write BENCHMARKS.md unless --output is given")
    parser.add_argument("--samples", type=int, default=None, help="training samples (60,000)")
    parser.add_argument("--steps", type=int, default=None, help="batches per round (50)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (30)")
    parser.add_argument("--pause", type=float, default=PAUSE,
                        help=f"seconds of sleep before every timed run ({PAUSE})")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-step breakdown")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"markdown file to write the section into ({BENCHMARKS_MD.name})")
    parser.add_argument("--memory-child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.samples or N_SAMPLES)))
        return 0

    n_samples = args.samples or (4_096 if args.quick else N_SAMPLES)
    steps = args.steps or (8 if args.quick else 50)
    rounds = args.rounds or (6 if args.quick else 30)
    warmup = 1 if args.quick else 2
    start, pressure0 = time.perf_counter(), cpu_pressure_seconds()
    spin = idle_spin()
    timings, losses = measure(n_samples, steps, rounds, warmup, pause=args.pause)
    summary = summarize(timings, steps * BATCH)
    parts = None
    if not args.no_breakdown:
        parts = breakdown(n_samples, steps, rounds=2 if args.quick else 12, pause=args.pause)
    mem = None if args.no_memory else measure_memory(n_samples)
    elapsed, pressure1 = time.perf_counter() - start, cpu_pressure_seconds()
    contention = ""
    if pressure0 is not None and pressure1 is not None:
        contention = (
            f" Some task was waiting for a CPU {100 * (pressure1 - pressure0) / elapsed:.0f}% of "
            "that time (`/proc/pressure/cpu`): a measure of how busy the machine was."
        )
    settings = (
        f"Settings: {n_samples:,} samples, {steps} batches of {BATCH} per round, {warmup} warm-up "
        f"+ {rounds} timed rounds (each of the 6 orders of the three runners equally often), "
        f"{args.pause:g} s of sleep before every timed run, GC frozen after set-up, "
        f"`torch.set_num_threads({THREADS})`, float32, {numba_note()}; the whole script took "
        f"{elapsed:.0f} s."
        f"{contention} Idle spinning, measured here: while the main thread sleeps 0.2 s right "
        f"after a matrix product the process still burns {spin['numpy']:.3f} CPU-s after "
        f"NumPy's (OpenBLAS's worker spinning) and {spin['torch']:.3f} CPU-s after PyTorch's; "
        "hence the sleep, without which PyTorch runs that follow NumPy ones lose a core for "
        "that long."
    )
    section = build_section(summary, losses, parts, mem, settings)
    print(section)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
