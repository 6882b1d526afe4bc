"""``rosenblatt evaluate`` and ``rosenblatt predict``: use a trained run folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rosenblatt as rb
from rosenblatt import models
from rosenblatt.cli import plots
from rosenblatt.cli.config import ConfigError
from rosenblatt.cli.data import load_splits, normalize
from rosenblatt.cli.run import RunFolder
from rosenblatt.data.transforms import functional as TF
from rosenblatt.metrics import confusion_matrix


def load_model(run: RunFolder, weights: str = "best") -> tuple[rb.nn.Module, dict[str, Any]]:
    """The run's model with its ``weights`` ("best", "last" or a checkpoint path), in eval mode,
    and the run's meta data."""
    cfg, meta = run.config(), run.meta()
    model = models.get(cfg.model, num_classes=len(meta["classes"]),
                       in_channels=meta["input_shape"][0])
    model.load_state_dict(run.weights(weights))
    model.eval()
    return model, meta


def score_split(model: rb.nn.Module, x: np.ndarray, y: np.ndarray
                ) -> tuple[float, float, np.ndarray]:
    """Cross-entropy loss, accuracy and predicted classes of ``model`` on (x, y), from one
    forward pass in eval mode."""
    scores = np.asarray(model.predict(x, batch_size=256), dtype=np.float32)
    loss = rb.nn.functional.cross_entropy(rb.tensor(scores), rb.tensor(y)).item()
    pred = scores.argmax(axis=1)
    return float(loss), float((pred == y).mean()), pred


def run_evaluate(run: RunFolder, weights: str = "best", data_root: str | None = None,
                 log: Any = print) -> dict[str, float]:
    """Loss and accuracy of the run's model on its test split (the same split as in training:
    same data set and seed); writes ``evaluation.json`` and redraws ``confusion_matrix.png``."""
    cfg = run.config()
    if data_root is not None:
        cfg.data_root = data_root
    model, meta = load_model(run, weights)
    splits = load_splits(cfg)
    x, y = splits.test
    loss, accuracy, pred = score_split(model, x, y)
    matrix = confusion_matrix(y, pred, num_classes=len(splits.classes))
    plots.plot_confusion(matrix, splits.classes, run / "confusion_matrix.png",
                         f"{cfg.model} on {cfg.dataset} ({weights} weights)")
    result = {"loss": float(loss), "accuracy": float(accuracy), "images": int(len(y)),
              "weights": weights}
    run.write_json("evaluation.json", result)
    log(f"{run.path}: test accuracy {100 * accuracy:.2f} % (loss {loss:.4f}) on {len(y):,} "
        f"{cfg.dataset} test images, {weights} weights")
    return result


def read_image(path: str | Path, shape: Sequence[int], invert: bool | None = None) -> np.ndarray:
    """An image file (Pillow) or ``.npy`` array as (C, H, W) in [0, 1], resized to ``shape``.

    Grey-scale models (C = 1) get the image in grey; ``invert`` (None: automatic) turns dark ink
    on light paper into the light-on-dark form MNIST and the digits use, which the automatic rule
    detects by a bright border.
    """
    c, h, w = (int(s) for s in shape)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"image {str(path)!r} not found")
    if path.suffix.lower() == ".npy":
        x = np.load(path, allow_pickle=False).astype(np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.max() > 1.0:
            x = x / np.float32(255.0)
    else:
        from rosenblatt.data.datasets.image_folder import load_image

        try:
            x = load_image(path, mode="L" if c == 1 else "RGB")
        except OSError as e:
            raise ConfigError(f"{str(path)!r} is not an image Pillow can read: {e}") from None
    if x.shape[0] != c:
        raise ConfigError(f"{str(path)!r} has {x.shape[0]} channels; the model takes {c}")
    if invert is None and c == 1:
        border = np.concatenate([x[0, 0], x[0, -1], x[0, :, 0], x[0, :, -1]])
        invert = bool(border.mean() > 0.5)
    if invert:
        x = 1.0 - x
    return TF.resize(x, (h, w)).astype(np.float32)


def run_predict(paths: Sequence[str], run: RunFolder, top: int = 3, weights: str = "best",
                invert: bool | None = None, log: Any = print) -> list[list[tuple[str, float]]]:
    """The ``top`` classes and their probabilities for each image."""
    model, meta = load_model(run, weights)
    shape = meta["input_shape"]
    batch = np.stack([read_image(p, shape, invert) for p in paths])
    batch = normalize(batch, meta["mean"], meta["std"])
    with rb.no_grad():
        probs = rb.nn.functional.softmax(model(rb.tensor(batch)), dim=1).numpy()
    classes = meta["classes"]
    k = max(1, min(top, len(classes)))
    results = []
    for path, p in zip(paths, probs, strict=True):
        best = np.argsort(-p)[:k]
        ranked = [(str(classes[i]), float(p[i])) for i in best]
        results.append(ranked)
        log(f"{path}: " + ", ".join(f"{name} {100 * q:.1f} %" for name, q in ranked))
    return results
