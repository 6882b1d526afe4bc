"""Plot every activation in ``rosenblatt.nn.functional`` with its derivative, and tabulate their
properties (CONCEPTS A12: range, zero-centred or not, saturation, cost).

    python scripts/plot_activations.py            # writes docs/activations.png and
                                                  # docs/activations_properties.md

f′(x) is not written by hand here: it is what rosenblatt's autograd returns, ∂(Σ f(x))/∂x, so
the figure also shows that every backward is right where it matters (kinks, thresholds).
Needs matplotlib (the optional extra ``plot``: pip install 'rosenblatt[plot]').
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import rosenblatt as rb  # noqa: E402
import rosenblatt.nn.functional as F  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _pair(fn: Callable) -> Callable:
    """A vector activation seen as a scalar function: fn applied to [x, 0] along dim 0, first
    output (e.g. softmax([x, 0])₀ = σ(x))."""
    return lambda x: fn(rb.stack([x, rb.zeros_like(x)], 0), 0)[0]


def _maxout_demo(x: rb.Tensor) -> rb.Tensor:
    pieces = rb.stack([x - 1.0, -x - 1.0, x * 0.25], -1)  # three linear pieces of x
    return F.maxout(pieces, 3, -1).reshape(x.shape)


@dataclass
class Act:
    name: str  # panel title
    formula: str  # mathtext
    fn: Callable[[rb.Tensor], rb.Tensor]
    range: str
    zero_centred: str
    x: tuple[float, float] = (-4.0, 4.0)
    ylim: tuple[float, float] | None = None
    saturation: str | None = None  # overrides the measured one


ACTS = [
    Act("identity / linear", r"$x$", F.identity, "(−∞, ∞)", "yes"),
    Act("binary step", r"$[x \geq 0]$", F.binary_step, "{0, 1}", "no",
        saturation="everywhere (f′ ≡ 0)"),
    Act("sigmoid / logistic", r"$1/(1+e^{-x})$", F.sigmoid, "(0, 1)", "no", (-8, 8)),
    Act("tanh", r"$\tanh x$", F.tanh, "(−1, 1)", "yes"),
    Act("arctan", r"$\tan^{-1} x$", F.arctan, "(−π/2, π/2)", "yes", (-8, 8)),
    Act("LeCun tanh", r"$1.7159\,\tanh(2x/3)$", F.lecun_tanh, "(−1.7159, 1.7159)", "yes",
        (-8, 8)),
    Act("hard tanh", r"clip$(x, -1, 1)$", F.hardtanh, "[−1, 1]", "yes"),
    Act("hard sigmoid", r"clip$(x/6 + 1/2, 0, 1)$", F.hardsigmoid, "[0, 1]", "no", (-6, 6)),
    Act("piecewise linear", r"clip$(x + 1/2, 0, 1)$", F.piecewise_linear, "[0, 1]", "no",
        (-2, 2)),
    Act("softsign", r"$x/(1+|x|)$", F.softsign, "(−1, 1)", "yes", (-8, 8)),
    Act("ReLU", r"$\max(0, x)$", F.relu, "[0, ∞)", "no"),
    Act("ReLU6", r"$\min(\max(0, x), 6)$", F.relu6, "[0, 6]", "no", (-3, 9)),
    Act("leaky ReLU (a = 0.1 shown)", r"$x$ if $x>0$ else $ax$",
        lambda x: F.leaky_relu(x, 0.1), "(−∞, ∞)", "roughly"),
    Act("PReLU (α = 0.25 learnable)", r"$x$ if $x>0$ else $\alpha x$",
        lambda x: F.prelu(x, rb.tensor([0.25], dtype=x.dtype)), "(−∞, ∞)", "roughly"),
    Act("ELU (α = 1)", r"$x$ if $x>0$ else $\alpha(e^x-1)$", F.elu, "(−α, ∞)", "roughly"),
    Act("SELU", r"$\lambda\,$elu$(x, \alpha)$", F.selu, "(−λα, ∞) = (−1.758, ∞)", "roughly"),
    Act("CELU (α = 1)", r"$x$ if $x>0$ else $\alpha(e^{x/\alpha}-1)$", F.celu, "(−α, ∞)",
        "roughly"),
    Act("softplus / smooth rectifier", r"$\ln(1+e^x)$", F.softplus, "(0, ∞)", "no"),
    Act("log-sigmoid", r"$\ln \sigma(x)$", F.logsigmoid, "(−∞, 0)", "no"),
    Act("GELU (exact)", r"$x\,\Phi(x)$", F.gelu, "[−0.17, ∞)", "roughly"),
    Act("GELU (tanh approx.)", r"$\frac{x}{2}(1+\tanh(\sqrt{2/\pi}(x+0.044715x^3)))$",
        lambda x: F.gelu(x, "tanh"), "[−0.17, ∞)", "roughly"),
    Act("GELU (sigmoid approx.)", r"$x\,\sigma(1.702x)$", lambda x: F.gelu(x, "sigmoid"),
        "[−0.16, ∞)", "roughly"),
    Act("SiLU (swish, β = 1)", r"$x\,\sigma(x)$", F.silu, "[−0.28, ∞)", "roughly"),
    Act("swish (β = 2 shown)", r"$x\,\sigma(\beta x)$", lambda x: F.swish(x, 2.0),
        "[−0.14, ∞)", "roughly"),
    Act("mish", r"$x\,\tanh(\mathrm{softplus}(x))$", F.mish, "[−0.31, ∞)", "roughly"),
    Act("hard swish", r"$x\,$relu6$(x+3)/6$", F.hardswish, "[−0.375, ∞)", "roughly",
        (-5, 5)),
    Act("tanh-shrink", r"$x - \tanh x$", F.tanhshrink, "(−∞, ∞)", "yes"),
    Act("soft shrink (λ = 0.5)", r"$x \mp \lambda$ outside $[-\lambda, \lambda]$",
        F.softshrink, "(−∞, ∞)", "yes", (-2, 2)),
    Act("hard shrink (λ = 0.5)", r"$x$ outside $[-\lambda, \lambda]$, else 0", F.hardshrink,
        "(−∞, ∞)", "yes", (-2, 2)),
    Act("threshold (t = 0.5, v = −1)", r"$x$ if $x>t$ else $v$",
        lambda x: F.threshold(x, 0.5, -1.0), "{v} ∪ (t, ∞)", "no", (-2, 3)),
    Act("absolute", r"$|x|$", F.absolute, "[0, ∞)", "no"),
    Act("Gaussian", r"$e^{-x^2}$", F.gaussian, "(0, 1]", "no"),
    Act("multiquadratic (c = 1)", r"$\sqrt{x^2+c^2}$", F.multiquadratic, "[c, ∞)", "no"),
    Act("inverse multiquadratic (c = 1)", r"$1/\sqrt{x^2+c^2}$", F.inverse_multiquadratic,
        "(0, 1/c]", "no"),
    Act("cosine", r"$\cos x$", F.cosine, "[−1, 1]", "yes", (-2 * math.pi, 2 * math.pi)),
    Act("sine (SIREN; ω₀ = 1 shown, 30 used)", r"$\sin(\omega_0 x)$",
        lambda x: F.sine(x, 1.0), "[−1, 1]", "yes", (-2 * math.pi, 2 * math.pi)),
    Act("probit (on (0, 1))", r"$\Phi^{-1}(x)$", F.probit, "(−∞, ∞)", "yes", (0.002, 0.998),
        (-4, 12), saturation="no (f′ → ∞ at 0 and 1)"),
    Act("logit (on (0, 1))", r"$\ln\frac{x}{1-x}$", F.logit, "(−∞, ∞)", "yes", (0.002, 0.998),
        (-7, 12), saturation="no (f′ → ∞ at 0 and 1)"),
    Act("softmax([x, 0])₀  (= σ(x))", r"$e^{x_i}/\sum_j e^{x_j}$", _pair(F.softmax),
        "(0, 1), sums to 1", "no", (-8, 8)),
    Act("log-softmax([x, 0])₀  (= ln σ(x))", r"$x_i - \ln\sum_j e^{x_j}$", _pair(F.log_softmax),
        "(−∞, 0)", "no", (-8, 8)),
    Act("softmin([x, 0])₀  (= σ(−x))", r"softmax$(-x)$", _pair(F.softmin), "(0, 1), sums to 1",
        "no", (-8, 8)),
    Act("GLU([x, x])  (= x·σ(x))", r"$a \otimes \sigma(b)$",
        lambda x: F.glu(rb.stack([x, x], 0), 0)[0], "(−∞, ∞)", "roughly"),
    Act("maxout of pieces x−1, −x−1, x/4", r"$\max_i (w_i x + b_i)$", _maxout_demo,
        "depends on the pieces (convex)", "no"),
]


NOTES = """\
How to read the panels
•  solid: f(x);  dashed: f′(x) as rosenblatt's autograd computes it (∂Σf/∂x), not a hand formula.
•  At a kink f′ takes PyTorch's value: ReLU′(0) = 0, hard tanh′(±1) = 0, ELU′(0) = α, …
   Binary step's f′ is 0 everywhere (the jump at 0 has no useful gradient).
•  Vector activations (softmax, log-softmax, softmin, GLU, maxout) are shown as functions of one
   input x, the other inputs held fixed (given in the title).
•  Range, zero-centring, saturation and cost of each: docs/activations_properties.md."""


def evaluate(act: Act, n: int = 1601) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, f(x) and f′(x) = ∂Σf/∂x from rosenblatt's autograd, in float64."""
    x = rb.tensor(np.linspace(act.x[0], act.x[1], n), dtype=np.float64, requires_grad=True)
    y = act.fn(x)
    y.sum().backward()
    return x.detach().numpy(), y.detach().numpy(), np.asarray(x.grad)


def saturation(act: Act) -> str:
    """Where f′ → 0, measured by autograd: |f′(±30)| < 1e-3, or only |f′(±1000)| < 1e-3
    ("slowly", e.g. arctan and softsign, whose f′ decays like 1/x²)."""
    if act.saturation is not None:
        return act.saturation
    x = rb.tensor(np.array([-30.0, 30.0, -1000.0, 1000.0]), requires_grad=True)
    act.fn(x).sum().backward()
    flat = np.abs(np.asarray(x.grad)) < 1e-3
    sides = []
    for name, near, far in (("left (x → −∞)", flat[0], flat[2]),
                            ("right (x → +∞)", flat[1], flat[3])):
        if near or far:
            sides.append(name if near else name + " slowly")
    if len(sides) == 2:
        slow = [side.endswith("slowly") for side in sides]
        if slow[0] == slow[1]:
            return "both sides" + (" slowly" if slow[0] else "")
    return ", ".join(sides) or "no"


def cost(act: Act, n: int = 1_000_000, repeats: int = 5) -> float:
    """Fastest of ``repeats`` runs (the least noisy estimate), in seconds, of forward + backward
    on n float32 numbers spread over the plotted domain."""
    data = np.linspace(act.x[0], act.x[1], n, dtype=np.float32)
    times = []
    for _ in range(repeats):
        x = rb.tensor(data, requires_grad=True)
        start = time.perf_counter()
        act.fn(x).sum().backward()
        times.append(time.perf_counter() - start)
    return min(times)


def plot(path: Path) -> None:
    cols = 6
    rows = math.ceil(len(ACTS) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.7, rows * 3.0))
    for ax, act in zip(axes.flat, ACTS, strict=False):
        x, y, dy = evaluate(act)
        ax.axhline(0, color="0.75", lw=0.8)
        ax.axvline(0, color="0.75", lw=0.8)
        ax.plot(x, y, color="tab:blue", lw=2.0, label="f(x)")
        ax.plot(x, dy, color="tab:orange", lw=1.6, ls="--", label="f′(x)")
        ax.set_title(f"{act.name}\n{act.formula}", fontsize=9.5)
        ax.set_xlabel("x", fontsize=8, labelpad=1)
        ax.set_ylabel("f(x), f′(x)", fontsize=8, labelpad=1)
        ax.tick_params(labelsize=7.5)
        ax.set_xlim(act.x)
        if act.ylim is not None:
            ax.set_ylim(act.ylim)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=7.5, loc="best", framealpha=0.8)
    spare = list(axes.flat)[len(ACTS):]
    for ax in spare:
        ax.axis("off")
    fig.suptitle("rosenblatt activations: f(x) (solid) and f′(x) computed by rosenblatt's "
                 "autograd (dashed)", fontsize=15, y=0.997)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    if spare:  # after the layout, which would otherwise try to make room for the long text
        spare[0].text(0.05, 0.9, NOTES, transform=spare[0].transAxes, va="top", fontsize=11,
                      linespacing=1.6)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def table(path: Path) -> None:
    relu = cost(next(a for a in ACTS if a.name == "ReLU"))
    lines = [
        "# Activation properties (CONCEPTS A12)",
        "",
        "Generated by `scripts/plot_activations.py` (with `docs/activations.png`). *Saturates*: "
        "where f′(x) → 0, measured with rosenblatt's autograd: |f′| < 10⁻³ at x = ±30, or "
        "only at x = ±1000 (\"slowly\": f′ decays like a power of x). *Zero-centred*: "
        "outputs symmetric about 0 (\"roughly\": negative outputs exist, so the mean activation "
        "is nearer 0 than ReLU's, but not 0). *Cost*: forward + backward on 10⁶ float32 "
        "numbers (best of 5; for the vector activations, the plotted construction), relative to "
        f"ReLU ({relu * 1e3:.1f} ms on the machine that ran the script; "
        "ratios vary between machines).",
        "",
        "| activation | f(x) | range | zero-centred | saturates (f′ → 0) | cost (× ReLU) |",
        "|---|---|---|---|---|---|",
    ]
    for act in ACTS:
        formula = act.formula.replace("|", "\\|")
        lines.append(f"| {act.name} | {formula} | {act.range} | {act.zero_centred} | "
                     f"{saturation(act)} | {cost(act) / relu:.1f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    plot(DOCS / "activations.png")
    table(DOCS / "activations_properties.md")
    print(f"wrote {DOCS / 'activations.png'} and {DOCS / 'activations_properties.md'}")


if __name__ == "__main__":
    main()
