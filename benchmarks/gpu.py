"""GPU training throughput: rosenblatt on CuPy against PyTorch on CUDA, the same models.

    python benchmarks/gpu.py [--rounds 15] [--steps 10] [--section-file PATH]

MLP 784-512-512-10, LeNet-5 (1×28×28) and ResNet-20 (3×32×32, BN) from ``benchmarks/cnn.py``,
batch 128, float32, SGD with momentum, the same starting weights (PyTorch's, loaded into
rosenblatt). Each round runs ``--steps`` training steps of each framework (alternating which goes
first) and synchronises the device before reading the clock; the ratio is the median of the
per-round ratios (> 1: rosenblatt is faster). rosenblatt's GPU path is CuPy's array calls, one
kernel launch or more per op, with no fused kernels and no CUDA graphs: the figures show what
that costs. The section is written with ``--section-file`` (the GPU machine's copy of the
repository is not this one; ``benchmarks.report.write_section`` puts it into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rosenblatt as rb  # noqa: E402
from benchmarks.cnn import lenet5, resnet20  # noqa: E402

BATCH = 128


def mlp(nn: Any) -> Any:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                         nn.ReLU(), nn.Linear(512, 10))


MODELS = {"mlp": (mlp, (1, 28, 28)), "lenet5": (lenet5, (1, 28, 28)),
          "resnet20": (resnet20, (3, 32, 32))}


def setups(name: str) -> dict[str, Any]:
    import cupy
    import torch

    build, shape = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, *shape)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    torch.manual_seed(0)
    tm = build(torch.nn).cuda()
    topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
    tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    tloss = torch.nn.CrossEntropyLoss()
    rm = build(rb.nn)
    rm.load_state_dict({k: v.detach().cpu().numpy() for k, v in tm.state_dict().items()})
    rm.to("cuda")
    ropt = rb.optim.SGD(rm.parameters(), lr=0.01, momentum=0.9)
    rx, ry = rb.tensor(x, device="cuda"), rb.tensor(y, device="cuda")
    rloss = rb.nn.CrossEntropyLoss()

    def torch_step() -> None:
        topt.zero_grad()
        tloss(tm(tx), ty).backward()
        topt.step()

    def rb_step() -> None:
        ropt.zero_grad()
        rloss(rm(rx), ry).backward()
        ropt.step()

    return {"rosenblatt": (rb_step, cupy.cuda.Device().synchronize),
            "pytorch": (torch_step, torch.cuda.synchronize)}


def measure(name: str, rounds: int, steps: int) -> dict[str, list[float]]:
    runners = setups(name)
    for step, sync in runners.values():  # warm-up: kernels compiled, memory pools filled
        for _ in range(3):
            step()
        sync()
    times: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(rounds):
        order = list(runners) if r % 2 == 0 else list(runners)[::-1]
        for k in order:
            step, sync = runners[k]
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            sync()
            times[k].append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--section-file", default=None)
    args = p.parse_args(argv)
    import cupy
    import torch

    gpu = torch.cuda.get_device_name(0)
    rows = []
    for name in MODELS:
        t = measure(name, args.rounds, args.steps)
        per = args.steps * BATCH
        rb_sps = [per / s for s in t["rosenblatt"]]
        th_sps = [per / s for s in t["pytorch"]]
        ratio = statistics.median(a / b for a, b in zip(t["pytorch"], t["rosenblatt"],
                                                          strict=True))
        rows.append(f"| {name} | {statistics.median(rb_sps):,.0f} | "
                    f"{statistics.median(th_sps):,.0f} | {ratio:.2f}× |")
        print(rows[-1], flush=True)
    text = "\n".join([
        "## GPU training throughput (`benchmarks/gpu.py`)",
        "",
        f"rosenblatt {rb.__version__} on CuPy {cupy.__version__} against PyTorch "
        f"{torch.__version__}, on one {gpu}, batch {BATCH}, float32, SGD momentum; "
        f"{args.rounds} interleaved rounds of {args.steps} training steps each, the device "
        "synchronised around every round; samples/s are medians over the rounds, the ratio the "
        "median of per-round ratios (> 1: rosenblatt is faster). rosenblatt runs every op as "
        "CuPy array calls (no fused kernels, no CUDA graphs), so small models are bound by "
        "kernel-launch and Python overhead. Run on a lent GPU machine; the CPU figures above "
        "come from another machine.",
        "",
        "| model | rosenblatt samples/s | PyTorch samples/s | rosenblatt / PyTorch |",
        "|---|---|---|---|",
        *rows,
    ]) + "\n"
    print(text)
    if args.section_file:
        Path(args.section_file).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
