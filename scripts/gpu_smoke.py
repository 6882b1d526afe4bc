"""Run rosenblatt's main ops and layers on the GPU (CuPy) and compare with the CPU (NumPy).

    python scripts/gpu_smoke.py        # needs CuPy and a CUDA device

Prints one line per check with the largest difference of the forward output and of every input
gradient; exits 1 if any is over its tolerance (float32: 1e-4 relative to the output's scale).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

import rosenblatt as rb
from rosenblatt import nn

nn_f = nn.functional


def _run(fn: Callable, arrays: list[np.ndarray], device: str,
         module: nn.Module | None = None) -> list[np.ndarray]:
    if module is not None:
        module.to(device)
    inputs = [rb.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    out.sum().backward() if out.ndim else out.backward()
    return [out.detach().numpy()] + [t.grad.get() if hasattr(t.grad, "get") else np.asarray(t.grad)
                            for t in inputs]


def check(name: str, fn: Callable, *shapes: tuple[int, ...], module: nn.Module | None = None
          ) -> bool:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    cpu, gpu = _run(fn, arrays, "cpu", module), _run(fn, arrays, "cuda", module)
    worst = max(float(np.abs(c - g).max() / max(1.0, np.abs(c).max()))
                for c, g in zip(cpu, gpu, strict=True))
    ok = worst <= 1e-4
    print(f"{'ok ' if ok else 'BAD'} {name:32s} max relative difference {worst:.2e}")
    return ok


def main() -> int:
    if not rb.cuda_is_available():
        print("no CUDA device / CuPy")
        return 1
    rb.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, padding=1)
    bn = nn.BatchNorm2d(8)
    lstm = nn.LSTM(5, 7, batch_first=True)
    results = [
        check("add/mul/exp broadcast", lambda a, b: (a * b + a.exp()).mean(), (4, 5), (5,)),
        check("matmul batched", lambda a, b: nn_f.tanh(a @ b), (3, 4, 5), (5, 6)),
        check("softmax + log", lambda a: nn_f.log_softmax(a, dim=1), (8, 10)),
        check("cross_entropy", lambda a: nn_f.cross_entropy(
            a, rb.tensor(np.arange(8) % 10, device=a.device)), (8, 10)),
        check("max_pool2d", lambda a: nn_f.max_pool2d(a, 2), (2, 3, 8, 8)),
        check("avg_pool2d", lambda a: nn_f.avg_pool2d(a, 3, 2, 1), (2, 3, 9, 9)),
    ]
    results.append(check("Conv2d", lambda a: conv(a), (2, 3, 9, 9), module=conv))
    results.append(check("BatchNorm2d (train)", lambda a: bn.train()(a), (4, 8, 5, 5),
                         module=bn))
    results.append(check("BatchNorm2d (eval)", lambda a: bn.eval()(a), (4, 8, 5, 5), module=bn))
    results.append(check("LSTM", lambda a: lstm(a)[0], (3, 6, 5), module=lstm))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
