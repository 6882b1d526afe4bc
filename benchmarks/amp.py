"""Mixed precision on the CPU: ``compile(..., mixed_precision=True)`` against float32, rosenblatt.

What is measured
    The MLP of ``benchmarks/mlp.py`` (784-512-512-10, ReLU, cross-entropy, SGD lr 0.01 momentum
    0.9, batch 128), trained twice from the same weights: in float32, and with mixed precision
    (float16 forward and backward, float32 master weights and loss, dynamic loss scaling; see
    ``rosenblatt.training.amp``). Data: the same synthetic Gaussian clusters, better separated
    (``spread`` 0.2) so that a few epochs on a small training set reach a held-out accuracy
    that can tell the two apart; ``n_train`` training samples (2,048: NumPy's float16 matrix
    product is not BLAS, so a mixed-precision step takes about a second) and ``n_test`` held-out
    ones.

    * time per epoch: the two models train epoch by epoch, interleaved in one process (the
      order alternating; ``rosenblatt.manual_seed`` before each epoch so both see the same
      batches); median and range over the epochs;
    * accuracy on the held-out set after the last epoch, the final training loss and the loss
      scaler's state;
    * memory, each precision in its own child process (``--memory-child float32|mixed``): the
      peak RSS of one epoch above the RSS before it and the process's absolute peak (as in
      ``mlp.py``), then ``tracemalloc``'s peak over one training step at batch 128 and at a
      larger batch — the NumPy buffers a step allocates (activations, gradients, the float16
      copies of the weights), which NumPy reports to tracemalloc exactly.

Run ``python3 benchmarks/amp.py`` (about 1.5 minutes) to print the tables and write the ``amp``
section of BENCHMARKS.md; ``--quick`` is a smoke run that only prints (unless ``--output``).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rosenblatt as rb

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.mlp import (  # noqa: E402
    BATCH,
    SEED,
    _met,
    _ratio,
    build_rosenblatt,
    initial_weights,
    peak_memory,
    run_child,
    synthetic_data,
    train_rosenblatt,
)
from benchmarks.report import (  # noqa: E402
    BENCHMARKS_MD,
    cpu_pressure_seconds,
    format_machine_info,
    publish,
)

SECTION = "amp"
PRECISIONS = ("float32", "mixed")
N_TRAIN = 2_048
N_TEST = 2_000
EPOCHS = 3
SPREAD = 0.2
TRACE_BATCHES = (BATCH, 1024)


def make_data(n_train: int, n_test: int, seed: int = SEED) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) from one draw of the clusters."""
    x, y = synthetic_data(n_train + n_test, seed, spread=SPREAD)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``x`` whose largest logit is at its label (float32 inference)."""
    return float((model.predict(x, batch_size=500).argmax(axis=1) == y).mean())


def measure(n_train: int = N_TRAIN, n_test: int = N_TEST, epochs: int = EPOCHS,
            seed: int = SEED) -> dict[str, Any]:
    """Train both precisions epoch by epoch, interleaved; seconds per epoch, final loss,
    held-out accuracy and the loss scaler's end state."""
    x, y, x_test, y_test = make_data(n_train, n_test, seed)
    weights = initial_weights(seed + 1)
    models = {p: build_rosenblatt(weights, mixed_precision=p == "mixed") for p in PRECISIONS}
    for p in PRECISIONS:  # warm up (BLAS threads, first-call costs) on throwaway copies
        train_rosenblatt(build_rosenblatt(weights, mixed_precision=p == "mixed"), x[:BATCH],
                         y[:BATCH])
    seconds: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    losses: dict[str, float] = {}
    gc.collect()
    gc.freeze()
    try:
        for epoch in range(epochs):
            order = PRECISIONS if epoch % 2 == 0 else PRECISIONS[::-1]
            for p in order:
                rb.manual_seed(seed + epoch)  # the same batches for both
                t0 = time.perf_counter()
                losses[p] = train_rosenblatt(models[p], x, y)
                seconds[p].append(time.perf_counter() - t0)
    finally:
        gc.unfreeze()
    scaler = models["mixed"]._compiled.scaler
    return {
        "samples": n_train,
        "seconds": seconds,
        "loss": losses,
        "accuracy": {p: accuracy(models[p], x_test, y_test) for p in PRECISIONS},
        "test_samples": n_test,
        "scale": scaler.scale,
        "skipped": scaler.skipped_steps,
    }


# ----------------------------------------------------------------------------------------------
# memory (each precision in a fresh child process)
# ----------------------------------------------------------------------------------------------


def memory_child(precision: str, n_samples: int, trace_batches: Sequence[int]) -> dict[str, float]:
    """In this (fresh) process: the peak RSS of one epoch, then the peak traced memory of one
    training step at each batch size of ``trace_batches``."""
    x, y, _, _ = make_data(max(n_samples, *trace_batches), 0)
    model = build_rosenblatt(initial_weights(), mixed_precision=precision == "mixed")
    rb.manual_seed(SEED)
    out: dict[str, float] = {"samples": float(n_samples)}
    gc.collect()
    with peak_memory(out):
        train_rosenblatt(model, x[:n_samples], y[:n_samples])
    for b in trace_batches:
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        model.fit(x[:b], y[:b], epochs=1, batch_size=b, verbose=0)  # one step
        out[f"traced_step_{b}"] = float(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
    return out


def measure_memory(n_samples: int, trace_batches: Sequence[int]) -> dict[str, dict[str, float]]:
    script = Path(__file__).resolve()
    batches = ",".join(str(b) for b in trace_batches)
    return {p: run_child(script, ["--memory-child", p, "--samples", str(n_samples),
                                  "--trace-batches", batches]) for p in PRECISIONS}


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------


def format_results(res: dict[str, Any], mem: dict[str, dict[str, float]] | None,
                   trace_batches: Sequence[int]) -> str:
    mb = 1 / 2**20
    n = res["samples"]
    steps = -(-n // BATCH)
    header = ["| | float32 | mixed precision | mixed / float32 |", "|---|---|---|---|"]
    rows = []
    sec = {p: res["seconds"][p] for p in PRECISIONS}
    med = {p: statistics.median(v) for p, v in sec.items()}
    rows.append(
        f"| time per epoch ({n:,} samples, {steps} steps), median [min–max] | "
        + " | ".join(f"{med[p]:.3g} s [{min(sec[p]):.3g}–{max(sec[p]):.3g}]" for p in PRECISIONS)
        + f" | {med['mixed'] / med['float32']:,.0f}× |"
    )
    rows.append("| ms per step | " + " | ".join(f"{1e3 * med[p] / steps:,.1f}" for p in PRECISIONS)
                + " | |")
    acc, loss = res["accuracy"], res["loss"]
    rows.append(f"| held-out accuracy ({res['test_samples']:,} samples) | {acc['float32']:.4f} | "
                f"{acc['mixed']:.4f} | {acc['mixed'] - acc['float32']:+.4f} |")
    rows.append(f"| training loss, last epoch | {loss['float32']:.6f} | {loss['mixed']:.6f} | "
                f"{loss['mixed'] - loss['float32']:+.1e} |")
    if mem is not None:
        f32, mix = mem["float32"], mem["mixed"]
        rows.append(f"| training's own peak RSS, one epoch | {f32['growth'] * mb:.1f} MB | "
                    f"{mix['growth'] * mb:.1f} MB | {_ratio(mix['growth'], f32['growth'])} |")
        rows.append(f"| absolute peak RSS | {f32['process_peak'] * mb:.0f} MB | "
                    f"{mix['process_peak'] * mb:.0f} MB | "
                    f"{_ratio(mix['process_peak'], f32['process_peak'])} |")
        for b in trace_batches:
            key = f"traced_step_{b}"
            rows.append(f"| NumPy memory of one step at batch {b} (tracemalloc peak) | "
                        f"{f32[key] * mb:.2f} MB | {mix[key] * mb:.2f} MB | "
                        f"{_ratio(mix[key], f32[key])} |")
    return "\n".join(header + rows)


def build_section(res: dict[str, Any], mem: dict[str, dict[str, float]] | None,
                  trace_batches: Sequence[int], settings: str) -> str:
    from benchmarks.report import wrap_paragraph

    med = {p: statistics.median(res["seconds"][p]) for p in PRECISIONS}
    slower = med["mixed"] / med["float32"]
    acc_gap = abs(res["accuracy"]["mixed"] - res["accuracy"]["float32"])
    claims = [
        f"faster: NOT on this CPU (mixed precision is {slower:,.0f}× slower: NumPy has no "
        "float16 matrix product in BLAS and emulates it element by element; the speed-up needs "
        "hardware with fast float16, e.g. a GPU's tensor cores through CuPy)",
        f"nearly the same accuracy: {_met(acc_gap <= 0.02)} (held-out accuracy "
        f"{res['accuracy']['float32']:.4f} vs {res['accuracy']['mixed']:.4f})",
    ]
    if mem is not None:
        per_batch = []
        for b in trace_batches:
            key = f"traced_step_{b}"
            mixed, single = mem["mixed"][key], mem["float32"][key]
            holds = "holds" if mixed < single else "does NOT hold"
            per_batch.append(f"at batch {b} it {holds} ({_ratio(mixed, single)} of float32's "
                             "NumPy memory per step)")
        claims.append(
            "less memory: " + ", ".join(per_batch) + ". Mixed precision halves the activations "
            "but keeps the float32 master weights and adds float16 copies of the weights and "
            "gradients, so it saves memory only where the activations outweigh the weights "
            "(large batches, big feature maps); the process RSS, dominated by the interpreter, "
            "NumPy and the data, hardly moves either way"
        )
    body = [
        "## Mixed precision on the CPU (`benchmarks/amp.py`)",
        "",
        "The MLP of the `mlp` section trained by rosenblatt in float32 and with "
        "`compile(..., mixed_precision=True)` (float16 forward and backward, float32 master "
        "weights and loss, dynamic loss scaling), from the same weights and on the same batches "
        "(synthetic clusters, better separated than in `mlp` so a few epochs on a small "
        "training set reach a telling accuracy). Epochs of the two alternate in one process; "
        "memory is measured in a fresh process per precision.",
        "",
        format_machine_info(),
        settings,
        "",
        format_results(res, mem, trace_batches),
        "",
        f"Loss scaler after training: scale {res['scale']:g}, {res['skipped']} step(s) skipped "
        "for float16 overflow.",
        "",
        "CONCEPTS C11 (\"mixed precision: less memory and faster at nearly the same accuracy\") "
        "on this machine: " + "; ".join(claims) + ".",
        "",
    ]
    return "\n".join(wrap_paragraph(p) for p in body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny data, one epoch; prints but does not write "
                        "BENCHMARKS.md unless --output is given")
    parser.add_argument("--samples", type=int, default=None, help="training samples (2,048)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"markdown file to write the section into ({BENCHMARKS_MD.name})")
    parser.add_argument("--memory-child", choices=PRECISIONS, help=argparse.SUPPRESS)
    parser.add_argument("--trace-batches", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    trace_batches = (BATCH,) if args.quick else TRACE_BATCHES
    if args.trace_batches:
        trace_batches = tuple(int(b) for b in args.trace_batches.split(","))
    if args.memory_child:
        out = memory_child(args.memory_child, args.samples or N_TRAIN, trace_batches)
        print(json.dumps(out))
        return 0

    n_train = args.samples or (256 if args.quick else N_TRAIN)
    n_test = 256 if args.quick else N_TEST
    epochs = args.epochs or (1 if args.quick else EPOCHS)
    start, pressure0 = time.perf_counter(), cpu_pressure_seconds()
    res = measure(n_train, n_test, epochs)
    mem = None if args.no_memory else measure_memory(n_train, trace_batches)
    elapsed, pressure1 = time.perf_counter() - start, cpu_pressure_seconds()
    contention = ""
    if pressure0 is not None and pressure1 is not None:
        contention = (
            f" Some task was waiting for a CPU {100 * (pressure1 - pressure0) / elapsed:.0f}% of "
            "that time (`/proc/pressure/cpu`)."
        )
    settings = (
        f"Settings: {n_train:,} training and {n_test:,} held-out samples, {epochs} epoch(s), batch "
        f"{BATCH}, SGD lr 0.01 momentum 0.9, initial loss scale 65536, GC frozen during the "
        f"epochs; the whole script took {elapsed:.0f} s.{contention}"
    )
    section = build_section(res, mem, trace_batches, settings)
    print(section)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
