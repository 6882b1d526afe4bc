"""``rosenblatt train``: train a zoo model on a data set and write a run folder.

The run: seed everything, load and split the data, build ``models.get(cfg.model)`` for its
classes and channels, compile with cross-entropy and accuracy, ``fit`` with a checkpoint per
epoch, the best weights by validation loss, a metrics CSV and a progress bar; then evaluate
the best weights on the test split and draw the figures (see ``rosenblatt.cli.run`` for the
folder's layout).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import rosenblatt as rb
from rosenblatt import models
from rosenblatt.callbacks import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
)
from rosenblatt.cli import plots
from rosenblatt.cli.config import ConfigError, TrainConfig
from rosenblatt.cli.data import Splits, eval_loader, load_splits, train_loader
from rosenblatt.cli.evaluate import score_split
from rosenblatt.cli.run import CONFIG, META, RunFolder
from rosenblatt.metrics import confusion_matrix
from rosenblatt.training.compile import OPTIMIZER_DEFAULT_LR


@dataclass
class RunResult:
    """What a finished run reports."""

    run: RunFolder
    test_loss: float
    test_accuracy: float
    seconds: float
    epochs: int


def build_model(cfg: TrainConfig, num_classes: int, input_shape: tuple[int, ...]) -> rb.nn.Module:
    """``models.get(cfg.model)`` for the data, checked on a dummy batch so that a model that
    cannot take the data's image size fails here with a clear message."""
    model = models.get(cfg.model, num_classes=num_classes, in_channels=input_shape[0])
    model.eval()
    try:
        with rb.no_grad():
            out = model(rb.zeros(2, *input_shape))
    except (ValueError, RuntimeError) as e:
        raise ConfigError(f"model {cfg.model!r} cannot take the {cfg.dataset} images of shape "
                          f"{tuple(input_shape)} (C, H, W): {e}") from None
    finally:
        model.train()
    if tuple(out.shape) != (2, num_classes):
        raise ConfigError(f"model {cfg.model!r} gives outputs of shape {tuple(out.shape)} for a "
                          f"batch of 2, expected (2, {num_classes})")
    return model


def build_optimizer(cfg: TrainConfig, model: rb.nn.Module) -> Any:
    """The optimiser named by ``cfg.optimizer`` with ``cfg.lr`` (default: Keras' learning rate
    for it), ``cfg.weight_decay`` and, for SGD, ``cfg.momentum``."""
    class_name, default_lr = OPTIMIZER_DEFAULT_LR[cfg.optimizer]
    options: dict[str, Any] = {"lr": cfg.lr if cfg.lr is not None else default_lr,
                               "weight_decay": cfg.weight_decay}
    if cfg.optimizer == "sgd":
        options["momentum"] = cfg.momentum
    return getattr(rb.optim, class_name)(model.parameters(), **options)


def lr_schedule(cfg: TrainConfig, lr0: float) -> Any:
    """The per-epoch learning rate: ``cosine`` ηₑ = η₀·½(1 + cos(π e / E)); ``step``
    ηₑ = η₀·0.1^⌊e / ⌈E/3⌉⌋ (two tenfold drops); ``none`` η₀."""
    epochs = cfg.epochs
    if cfg.schedule == "cosine":
        return lambda epoch: lr0 * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
    if cfg.schedule == "step":
        return lambda epoch: lr0 * 0.1 ** (epoch // max(1, math.ceil(epochs / 3)))
    return None


def run_train(cfg: TrainConfig, verbose: int = 1, resume: RunFolder | None = None,
              log: Any = print) -> RunResult:
    """Train as ``cfg`` says, in a new run folder (or continue ``resume``'s last checkpoint)."""
    rb.manual_seed(cfg.seed)
    started = time.time()
    splits = load_splits(cfg)
    model = build_model(cfg, len(splits.classes), splits.input_shape)
    optimizer = build_optimizer(cfg, model)
    model.compile(optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"],
                  mixed_precision=cfg.mixed_precision)
    run = resume if resume is not None else RunFolder.create(cfg)
    resume_from = run.latest_checkpoint() if resume is not None else None
    if resume is not None and resume_from is None:
        raise ConfigError(f"nothing to resume in {str(run.path)!r}: it has no checkpoint")
    n_params = sum(p.numel() for p in model.parameters())
    if resume is None:
        run.write_json(CONFIG, cfg.to_dict())
    log(f"rosenblatt train: {cfg.model} ({n_params:,} parameters) on {cfg.dataset} — "
        f"{len(splits.train[1]):,} training, {len(splits.val[1]):,} validation, "
        f"{len(splits.test[1]):,} test images of shape {splits.input_shape}; run folder "
        f"{run.path}" + (f" (resuming {resume_from})" if resume_from else ""))

    callbacks: list[Any] = [
        CSVLogger(run / "metrics.csv", append=resume is not None),
        ModelCheckpoint(run.checkpoints / "epoch{epoch:03d}.npz"),
        ModelCheckpoint(run / "best.npz", monitor="val_loss", save_best_only=True,
                        save_weights_only=True),
    ]
    schedule = lr_schedule(cfg, optimizer.param_groups[0]["lr"])
    if schedule is not None:
        callbacks.append(LearningRateScheduler(schedule))
    if cfg.patience is not None:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=cfg.patience))
    fit_started = time.time()
    history = model.fit(train_loader(splits, cfg), epochs=cfg.epochs,
                        validation_data=eval_loader(*splits.val), callbacks=callbacks,
                        verbose=verbose, resume_from=resume_from)
    fit_seconds = time.time() - fit_started
    epochs_run = len(history.history.get("loss", []))

    model.load_state_dict(run.weights("best"))
    test_loss, test_accuracy, pred = score_split(model, *splits.test)
    finish(run, cfg, splits, pred, history.history, n_params)
    meta = {
        "rosenblatt": rb.__version__,
        "classes": splits.classes,
        "input_shape": list(splits.input_shape),
        "mean": splits.mean,
        "std": splits.std,
        "parameters": n_params,
        "epochs": epochs_run,
        "best_epoch": int(np.argmin(history.history["val_loss"])) + 1,
        "train_seconds": round(fit_seconds, 2),
        "seconds_per_epoch": round(fit_seconds / max(1, epochs_run - _done_before(resume_from)),
                                   3),
        "test": {"loss": float(test_loss), "accuracy": float(test_accuracy)},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    run.write_json(META, meta)
    seconds = time.time() - started
    log(f"test accuracy {100 * test_accuracy:.2f} % (loss {test_loss:.4f}) with the weights of "
        f"epoch {meta['best_epoch']}; {seconds:.1f} s in all. Run folder: {run.path}")
    return RunResult(run, float(test_loss), float(test_accuracy), seconds, epochs_run)


def _done_before(resume_from: str | None) -> int:
    """Epochs already done by the checkpoint a run resumed from (0 for a fresh run)."""
    if resume_from is None:
        return 0
    from rosenblatt.checkpoint import load_checkpoint

    return int(load_checkpoint(resume_from).get("epoch", -1)) + 1


def finish(run: RunFolder, cfg: TrainConfig, splits: Splits, pred: np.ndarray,
           history: dict[str, list[float]], n_params: int) -> None:
    """Draw the run's figures: curves, test confusion matrix, sample predictions (``pred``:
    the predicted class of every test image)."""
    x_test, y_test = splits.test
    title = f"{cfg.model} ({n_params:,} parameters) on {cfg.dataset}"
    plots.plot_curves(history, run / "curves.png", title)
    matrix = confusion_matrix(y_test, pred, num_classes=len(splits.classes))
    plots.plot_confusion(matrix, splits.classes, run / "confusion_matrix.png", title)
    plots.plot_samples(x_test, y_test, pred, splits.classes, run / "samples.png", title)
