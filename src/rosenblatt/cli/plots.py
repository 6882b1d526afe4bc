"""The PNG figures of a run folder (matplotlib, drawn off-screen with the Agg backend).

* ``curves.png``: loss and accuracy per epoch, training against validation;
* ``confusion_matrix.png``: test-set counts, true class by row, predicted class by column;
* ``samples.png``: test images with the predicted and true class, mistakes in red.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a dependency of the CLI
        raise ImportError("the run plots need matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: dict[str, Sequence[float]], path: Path, title: str) -> Path:
    """Loss (left) and accuracy (right) per epoch: training solid, validation dashed."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, label in ((axes[0], "loss", "cross-entropy loss"),
                           (axes[1], "accuracy", "accuracy")):
        for prefix, style, name in (("", "-o", "training"), ("val_", "--s", "validation")):
            values = history.get(prefix + key)
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.set_title(label.capitalize() + " per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_yscale("log")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: Path, title: str) -> Path:
    """The confusion matrix as a heat map with the count in every non-empty cell."""
    plt = _pyplot()
    k = len(classes)
    size = min(4 + 0.45 * k, 16)
    fig, ax = plt.subplots(figsize=(size + 1, size), constrained_layout=True)
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax, label="test images")
    if k <= 30:
        ax.set_xticks(range(k), [str(c) for c in classes], rotation=45, ha="right")
        ax.set_yticks(range(k), [str(c) for c in classes])
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(k):
            for j in range(k):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if matrix[i, j] > threshold else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"{title}\ntest accuracy {100 * accuracy:.2f} % ({int(matrix.sum())} images)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_samples(images: np.ndarray, true: np.ndarray, pred: np.ndarray,
                 classes: Sequence[str], path: Path, title: str, count: int = 24) -> Path:
    """Up to ``count`` test images (mistakes first) titled "predicted (true)"."""
    plt = _pyplot()
    wrong = np.flatnonzero(pred != true)
    right = np.flatnonzero(pred == true)
    order = np.concatenate([wrong, right])[:count]
    cols = 8
    rows = max(1, -(-len(order) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows + 0.6),
                             constrained_layout=True, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), order, strict=False):
        img = images[i]
        img = (img - img.min()) / max(float(img.max() - img.min()), 1e-12)  # undo the z-score
        if img.shape[0] == 1:
            ax.imshow(img[0], cmap="gray", interpolation="nearest")
        else:
            ax.imshow(np.moveaxis(img[:3], 0, -1), interpolation="nearest")
        ok = pred[i] == true[i]
        ax.set_title(f"{classes[pred[i]]}" + ("" if ok else f" ({classes[true[i]]})"),
                     fontsize=9, color="black" if ok else "red")
    fig.suptitle(f"{title}: predicted class (true class when wrong, in red); "
                 f"{len(wrong)} of {len(true)} test images wrong")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
