"""Fashion-MNIST with LeNet-5: time per epoch and test accuracy, rosenblatt against PyTorch.

The same model (``rosenblatt.models.get("lenet5")``: conv 5×5 → 6, max pool, conv 5×5 → 16, max
pool, 120, 84, 10, ReLU) starts from the same weights (copied rosenblatt → PyTorch) and trains with
the same loop in both frameworks: Adam (lr 1e-3), batch 64, cross-entropy, the same shuffled order
every epoch, images z-scored with the training set's mean and standard deviation. Epochs are
interleaved (rosenblatt then PyTorch on even epochs, the other way round on odd ones), each after a
short sleep so that neither inherits the other's spinning BLAS threads; the test accuracy of both
is measured after every epoch (not timed).

Needs the data: ``apt-get install dataset-fashion-mnist`` (Debian) or ``--root DIR`` with the IDX
files. ``--quick`` trains one epoch on 2,000 images and does not write BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import (  # noqa: E402
    Spread,
    cpu_pressure_seconds,
    format_machine_info,
    publish,
    wrap_paragraph,
)

SECTION = "fashion_mnist"
BATCH = 64
LR = 1e-3
THREADS = 2
PAUSE = 0.25


def load(root: str | None, limit: int | None) -> tuple[np.ndarray, ...]:
    """z-scored (N, 1, 28, 28) float32 train/test images and int64 labels."""
    from rosenblatt.data import FashionMNIST

    train, test = FashionMNIST(root, train=True), FashionMNIST(root, train=False)
    x, y = train.images, train.targets
    if limit is not None:
        x, y = x[:limit], y[:limit]
    mean, std = float(x.mean()), float(x.std())
    z = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return z(x), y, z(test.images), test.targets


def rosenblatt_runner(x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
    """The rosenblatt model, one training epoch over a given order, and test accuracy."""
    import rosenblatt as rb
    from rosenblatt import models

    rb.manual_seed(0)
    model = models.get("lenet5")
    opt = rb.optim.Adam(model.parameters(), lr=LR)
    loss_fn = rb.nn.CrossEntropyLoss()

    def epoch(order: np.ndarray) -> float:
        model.train()
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            loss = loss_fn(model(rb.tensor(x[idx])), rb.tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss.item())

    def accuracy(xt: np.ndarray, yt: np.ndarray) -> float:
        model.eval()
        with rb.no_grad():
            pred = np.concatenate([model(rb.tensor(xt[i:i + 1000])).numpy().argmax(1)
                                   for i in range(0, len(xt), 1000)])
        return float((pred == yt).mean())

    return model, epoch, accuracy


def torch_runner(x: np.ndarray, y: np.ndarray, state: dict[str, np.ndarray]
                 ) -> tuple[Any, Any, Any]:
    """The same model and loop in PyTorch, starting from rosenblatt's weights."""
    import torch
    from torch import nn

    torch.set_num_threads(THREADS)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))
    own = model.state_dict()
    if [tuple(v.shape) for v in own.values()] != [v.shape for v in state.values()]:
        raise SystemExit("the PyTorch LeNet-5 here no longer matches models.get('lenet5')")
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                           zip(own, state.values(), strict=True)})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    xt_all, yt_all = torch.from_numpy(x), torch.from_numpy(y)

    def epoch(order: np.ndarray) -> float:
        model.train()
        order_t = torch.from_numpy(order)
        for i in range(0, len(order), BATCH):
            idx = order_t[i:i + BATCH]
            loss = loss_fn(model(xt_all[idx]), yt_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss.item())

    def accuracy(xt: np.ndarray, yt: np.ndarray) -> float:
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(torch.from_numpy(xt[i:i + 1000])).argmax(1)
                              for i in range(0, len(xt), 1000)]).numpy()
        return float((pred == yt).mean())

    return model, epoch, accuracy


def measure(root: str | None, epochs: int, limit: int | None) -> dict[str, Any]:
    """Interleaved epochs; per-epoch seconds and test accuracy of both frameworks."""
    x, y, xt, yt = load(root, limit)
    model, rb_epoch, rb_acc = rosenblatt_runner(x, y)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    _, th_epoch, th_acc = torch_runner(x, y, state)
    runners = {"rosenblatt": (rb_epoch, rb_acc), "pytorch": (th_epoch, th_acc)}
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"n_train": len(y), "n_test": len(yt), "epochs": epochs,
                           "seconds": {k: [] for k in runners},
                           "accuracy": {k: [] for k in runners}}
    gc.collect()
    gc.freeze()
    for e in range(epochs):
        order = rng.permutation(len(y))
        names = list(runners) if e % 2 == 0 else list(runners)[::-1]
        for name in names:
            train_epoch, accuracy = runners[name]
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            train_epoch(order)
            out["seconds"][name].append(time.perf_counter() - t0)
            out["accuracy"][name].append(accuracy(xt, yt))
        print(f"epoch {e + 1}/{epochs}: " + ", ".join(
            f"{n} {out['seconds'][n][-1]:.1f} s, test {100 * out['accuracy'][n][-1]:.2f} %"
            for n in runners), flush=True)
    return out


def build_section(m: dict[str, Any], settings: str) -> str:
    rb_s, th_s = m["seconds"]["rosenblatt"], m["seconds"]["pytorch"]
    ratio = Spread.of([t / r for r, t in zip(rb_s, th_s, strict=True)])
    rb_t, th_t = Spread.of(rb_s), Spread.of(th_s)
    acc = m["accuracy"]
    lines = [
        "## Fashion-MNIST, LeNet-5: time per epoch and accuracy (`benchmarks/fashion_mnist.py`)",
        "",
        wrap_paragraph(
            f"LeNet-5 (`models.get(\"lenet5\")`, 61,706 parameters) trained from the same weights "
            f"with the same loop in both frameworks: Adam (lr {LR:g}), batch {BATCH}, "
            f"{m['n_train']:,} training images, the same shuffled order every epoch; test "
            f"accuracy on the {m['n_test']:,} test images after every epoch. Epochs interleaved "
            f"(the first framework alternates); speed ratio = median over epochs of "
            f"PyTorch's epoch time / rosenblatt's (> 1: rosenblatt is faster)."),
        "",
        format_machine_info() + " " + settings,
        "",
        "| | rosenblatt | PyTorch | rosenblatt / PyTorch speed |",
        "|---|---|---|---|",
        f"| seconds per epoch, median [IQR] | {rb_t.median:.1f} [{rb_t.q1:.1f}–{rb_t.q3:.1f}] | "
        f"{th_t.median:.1f} [{th_t.q1:.1f}–{th_t.q3:.1f}] | {ratio.median:.2f}× "
        f"[{ratio.q1:.2f}–{ratio.q3:.2f}] |",
        f"| test accuracy after {m['epochs']} epochs | {100 * acc['rosenblatt'][-1]:.2f} % | "
        f"{100 * acc['pytorch'][-1]:.2f} % | |",
        f"| best test accuracy (epoch) | {100 * max(acc['rosenblatt']):.2f} % "
        f"({int(np.argmax(acc['rosenblatt'])) + 1}) | {100 * max(acc['pytorch']):.2f} % "
        f"({int(np.argmax(acc['pytorch'])) + 1}) | |",
        "",
        "Test accuracy per epoch (rosenblatt / PyTorch): " + ", ".join(
            f"{100 * a:.1f}/{100 * b:.1f}" for a, b in
            zip(acc["rosenblatt"], acc["pytorch"], strict=True)) + ".",
        "",
        wrap_paragraph(
            "Target from the issue: LeNet-5 reaches ≥ 90 % test accuracy: "
            + ("met" if max(acc["rosenblatt"]) >= 0.90 else "NOT met") + " by rosenblatt. "
            "The two runs start from identical weights and see identical batches, but float32 "
            "rounding differs between the frameworks' kernels, so their trajectories drift apart "
            "within the first epochs; the accuracies agree to the usual run-to-run spread."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch on 2,000 images; prints "
                        "but does not write BENCHMARKS.md unless --output is given")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (10)")
    parser.add_argument("--limit", type=int, default=None, help="training images (all 60,000)")
    parser.add_argument("--root", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--output", default=None, help="markdown file for the section")
    args = parser.parse_args(argv)
    epochs = args.epochs or (1 if args.quick else 10)
    limit = args.limit or (2_000 if args.quick else None)
    start, pressure0 = time.perf_counter(), cpu_pressure_seconds()
    m = measure(args.root, epochs, limit)
    elapsed, pressure1 = time.perf_counter() - start, cpu_pressure_seconds()
    busy = ""
    if pressure0 is not None and pressure1 is not None:
        busy = (f" Some task was waiting for a CPU {100 * (pressure1 - pressure0) / elapsed:.0f}%"
                " of that time (`/proc/pressure/cpu`).")
    settings = (f"Settings: {epochs} epochs, {PAUSE:g} s of sleep before every timed epoch, GC "
                f"frozen after set-up, `torch.set_num_threads({THREADS})`, float32; the whole "
                f"script took {elapsed:.0f} s.{busy}")
    section = build_section(m, settings)
    print(section)
    publish(SECTION, section, args.quick, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
