"""Training checkpoints: everything a run needs to continue bit-exactly, in one file.

``save_training_state(path, model, …)`` writes, with ``rosenblatt.checkpoint.save_checkpoint``
(atomic: a temporary file renamed over the target)::

    {"format": "rosenblatt.training_state", "version": 1,
     "model": state_dict, "optimizer": optimizer.state_dict(), "scheduler": … or None,
     "loss_scaler": … or None, "epoch": last completed epoch (0-based), "global_step": batches
     processed, "rng": rosenblatt.random.get_rng_state(), "callbacks": {"<i>:<Class>": state},
     "history": {"history": {key: [values]}, "epoch": [epochs]}, "extra": anything}

``fit(..., resume_from=path)`` (or ``load_training_state`` in a hand-written loop) restores it and
continues at ``epoch + 1``: same weights, optimiser moments, loss scale, random stream (so the
same shuffling order and dropout masks) and callback state as an uninterrupted run.
"""

from __future__ import annotations

import os
from typing import Any

from .. import random as rb_random
from ..checkpoint import load_checkpoint, save_checkpoint

__all__ = ["save_training_state", "load_training_state", "FORMAT"]

FORMAT = "rosenblatt.training_state"
VERSION = 1


def save_training_state(path: str | os.PathLike[str], model: Any, optimizer: Any = None, *,
                        scheduler: Any = None, epoch: int | None = None,
                        global_step: int | None = None, callbacks: Any = None,
                        history: dict[str, Any] | None = None, loss_scaler: Any = None,
                        extra: Any = None) -> None:
    """Write a full training checkpoint of ``model`` to ``path`` (atomically).

    For a model compiled and trained with ``fit``, every argument defaults to what ``fit``
    recorded on the model (its optimiser and loss scaler, the last completed epoch, the step
    count, the running callbacks and the history). A hand-written loop passes its own
    ``optimizer``/``scheduler``/``epoch``/``global_step``. ``extra`` is any checkpoint-able
    tree of your own. The RNG state saved is the current one: save at an epoch boundary.
    """
    compiled = getattr(model, "_compiled", None)
    if compiled is not None:
        optimizer = compiled.optimizer if optimizer is None else optimizer
        loss_scaler = compiled.scaler if loss_scaler is None else loss_scaler
        epoch = compiled.epoch if epoch is None else epoch
        global_step = compiled.global_step if global_step is None else global_step
        callbacks = compiled.callbacks if callbacks is None else callbacks
        history = compiled.history if history is None else history
    callback_states = {}
    if callbacks is not None:
        callback_states = callbacks.get_states() if hasattr(callbacks, "get_states") else \
            {f"{i}:{type(cb).__name__}": cb.get_state() for i, cb in enumerate(callbacks)}
    tree = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "loss_scaler": None if loss_scaler is None else loss_scaler.state_dict(),
        "epoch": -1 if epoch is None else int(epoch),
        "global_step": 0 if global_step is None else int(global_step),
        "rng": rb_random.get_rng_state(),
        "callbacks": callback_states,
        "history": history if history is not None else {"history": {}, "epoch": []},
        "extra": extra,
    }
    save_checkpoint(path, tree)


def load_training_state(path: str | os.PathLike[str], model: Any, optimizer: Any = None, *,
                        scheduler: Any = None, loss_scaler: Any = None,
                        restore_rng: bool = True) -> dict[str, Any]:
    """Restore a checkpoint written by ``save_training_state`` into ``model`` (and the given
    ``optimizer``, ``scheduler``, ``loss_scaler``; for a compiled model the optimiser and loss
    scaler default to the compiled ones) and, unless ``restore_rng=False``, the global RNG.

    Returns the whole tree (``epoch``, ``global_step``, ``callbacks``, ``history``, ``extra``,
    …): continue a hand-written loop at ``tree["epoch"] + 1``. Raises ValueError for a file
    that is a checkpoint but not a training state (e.g. weights only).
    """
    tree = load_checkpoint(path)
    if tree.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a training state written by "
                         f"save_training_state (format {tree.get('format')!r}); for a "
                         "weights-only checkpoint use model.load_state_dict(tree['model'])")
    if int(tree.get("version", 0)) > VERSION:
        raise ValueError(f"{os.fspath(path)!r}: training state version {tree['version']} is "
                         f"newer than this rosenblatt reads ({VERSION})")
    compiled = getattr(model, "_compiled", None)
    if compiled is not None:
        optimizer = compiled.optimizer if optimizer is None else optimizer
        loss_scaler = compiled.scaler if loss_scaler is None else loss_scaler
    model.load_state_dict(tree["model"])
    if optimizer is not None and tree.get("optimizer") is not None:
        optimizer.load_state_dict(tree["optimizer"])
    if scheduler is not None and tree.get("scheduler") is not None:
        scheduler.load_state_dict(tree["scheduler"])
    if loss_scaler is not None and tree.get("loss_scaler") is not None:
        loss_scaler.load_state_dict(tree["loss_scaler"])
    if restore_rng:
        rb_random.set_rng_state(tree["rng"])
    return tree
