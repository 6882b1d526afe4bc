"""Record torchvision's side of the model-zoo tests into ``tests/models/fixtures/``.

Run it in an environment with torchvision (PyTorch 2.13, the test oracle, cannot import it), e.g.
on x86_64::

    python -m venv /tmp/tv && /tmp/tv/bin/pip install torch==2.14.1 torchvision==0.29.1 numpy
    /tmp/tv/bin/python scripts/torchvision_reference.py

For every architecture torchvision shares with rosenblatt it writes ``NAME.json`` (parameter count,
state_dict keys/shapes/dtypes); for the ones in ``LOGITS`` also ``NAME.npz``: the eval-mode logits
for the weights ``reference_state_dict`` makes and the input ``reference_input`` makes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))
from zoo_reference import FIXTURES, reference_input, reference_state_dict  # noqa: E402

# name -> builder keyword arguments (torchvision's defaults otherwise)
DESCRIBE: dict[str, dict] = {
    "alexnet": {},
    **{f"vgg{d}{bn}": {} for d in (11, 13, 16, 19) for bn in ("", "_bn")},
    "googlenet": {"aux_logits": True, "init_weights": True},
    **{f"resnet{d}": {} for d in (18, 34, 50, 101, 152)},
    **{f"densenet{d}": {} for d in (121, 169, 201)},
}
# name -> input shape for the recorded logits (small images keep the test fast)
LOGITS: dict[str, list[int]] = {
    "resnet18": [2, 3, 64, 64],
    "resnet50": [2, 3, 64, 64],
    "alexnet": [2, 3, 64, 64],
    "vgg11_bn": [2, 3, 32, 32],
    "googlenet": [2, 3, 64, 64],
    "densenet121": [2, 3, 32, 32],
}
SEED = 0


def describe(name: str, kwargs: dict) -> dict:
    model = torchvision.models.get_model(name, weights=None, **kwargs)
    state = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")]
             for k, v in model.state_dict().items()]
    return {
        "torchvision": torchvision.__version__,
        "kwargs": kwargs,
        "param_count": sum(p.numel() for p in model.parameters()),
        "state": state,
    }, model


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name, kwargs in DESCRIBE.items():
        desc, model = describe(name, kwargs)
        if name in LOGITS:
            weights = reference_state_dict(desc["state"], SEED)
            model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
            model.eval()
            x = reference_input(LOGITS[name], SEED)
            with torch.no_grad():
                logits = model(torch.from_numpy(x)).numpy()
            desc["input"] = {"shape": LOGITS[name], "seed": SEED}
            np.savez(FIXTURES / f"{name}.npz", logits=logits)
        (FIXTURES / f"{name}.json").write_text(json.dumps(desc, indent=None) + "\n")
        extra = " + logits" if name in LOGITS else ""
        print(f"{name}: {desc['param_count']:,} parameters{extra}")


if __name__ == "__main__":
    main()
