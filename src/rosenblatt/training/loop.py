"""``fit``, ``evaluate`` and ``predict``: the Keras-style training loop.

One training batch is the PyTorch loop you would write by hand::

    model.train()                                   # once per epoch
    out = model(*xs)
    loss = Σ wᵢ·loss_fnᵢ(outᵢ, yᵢ) + model.regularization_loss()
    loss.backward()                                 # grad = 1/k with gradient accumulation
    clip; optimizer.step(); optimizer.zero_grad()   # every k batches

and nothing else runs per batch unless asked for: the batch loss stays a 0-d array (appended
to a list; the epoch mean is taken once, at the end of the epoch); batch logs are computed
only when a callback reads them; metrics are updated only when compiled. The one per-batch host
read is the finiteness check of the loss (one float; a sync on a GPU), which stops training
*before* a NaN/inf loss reaches the weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..callbacks.base import CallbackList
from ..callbacks.history import History
from ..callbacks.progress import ProgressBar, format_logs
from ..tensor import Tensor
from .compile import CompiledModel
from .data import ArrayData, BatchIterable, make_data
from .logs import BatchLogs, EpochTracker, LazyTracker
from .runner import NonFiniteLossError, Runner
from .state import load_training_state

__all__ = ["fit", "evaluate", "predict", "NonFiniteLossError", "BatchLogs"]


def _compiled(model: Any, what: str) -> CompiledModel:
    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        raise RuntimeError(f"You must call compile() on the model before {what}(): "
                           "model.compile(optimizer='adam', loss='mse')")
    return compiled


def _input_names(model: Any) -> list[str] | None:
    inputs = getattr(model, "inputs", None)
    if isinstance(inputs, list) and all(hasattr(t, "name") for t in inputs):
        return [t.name for t in inputs]
    return None


def _batches(data: ArrayData | BatchIterable, batch_size: int, shuffle: bool,
             steps: int | None) -> Iterator[Any]:
    if isinstance(data, ArrayData):
        return data.batches(batch_size, shuffle, steps)
    return data.batches(steps)


def _validation(validation_data: Any, names: tuple[Any, Any]) -> ArrayData | BatchIterable:
    vd = validation_data
    if isinstance(vd, tuple) and len(vd) in (2, 3):
        return make_data(vd[0], vd[1], *names)
    if isinstance(vd, list) and len(vd) == 2 and not isinstance(vd[0], tuple):
        return make_data(vd[0], vd[1], *names)  # [x_val, y_val]; a dataset yields tuples
    return make_data(vd, None, *names)


def _loader_samples(loader: Any) -> int | None:
    """Samples per epoch of a ``DataLoader``-like iterable (for the progress bar), else None."""
    dataset = getattr(loader, "dataset", None)
    batch_size = getattr(loader, "batch_size", None)
    try:
        n = len(dataset)  # type: ignore[arg-type]
    except TypeError:
        return None
    if getattr(loader, "drop_last", False) and batch_size:
        return n // int(batch_size) * int(batch_size)
    return n


def fit(model: Any, x: Any = None, y: Any = None, epochs: int = 1, batch_size: int = 32,
        validation_split: float = 0.0, validation_data: Any = None, callbacks: Any = None,
        shuffle: bool = True, verbose: int = 1, initial_epoch: int = 0,
        steps_per_epoch: int | None = None, resume_from: Any = None,
        validation_batch_size: int | None = None,
        validation_steps: int | None = None) -> History:
    """Train ``model`` (compiled with ``compile_model``) for ``epochs`` epochs; Keras' ``fit``.

    Args:
        x, y: arrays (lists/dicts of arrays for several inputs/outputs), or ``x`` an iterable
            of ``(x, y)`` batches and ``y`` None (see ``rosenblatt.training.data``).
        epochs: the index of the last epoch + 1 (training runs epochs ``initial_epoch`` …
            ``epochs − 1``, as Keras).
        batch_size: samples per batch (arrays only).
        validation_split: the fraction of the array samples, taken from the *end* before
            shuffling, held out for validation (ignored when ``validation_data`` is given).
        validation_data: ``(x_val, y_val)`` arrays (a two-item list works too) or an iterable
            of ``(x, y)`` tuples; evaluated at the end of every epoch in eval mode without
            gradients; logged as ``val_<key>``.
        callbacks: a list of ``Callback``; ``History`` and (``verbose``) ``ProgressBar`` are
            added.
        shuffle: reshuffle the array samples every epoch (``rosenblatt.random.generator()``).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        initial_epoch: the epoch to start at (resuming).
        steps_per_epoch: at most this many batches per epoch (a dataset iterator is then kept
            across epochs).
        resume_from: a checkpoint of ``save_training_state``/``ModelCheckpoint``: restores the
            weights, optimiser, loss scale, RNG, callback states and history, and continues at
            the epoch after the saved one — bit-identical to a run that was never interrupted.
        validation_batch_size, validation_steps: for the validation pass.

    Every epoch logs (Python floats) ``loss`` (the batch losses' sample-weighted mean,
    including the regularisation penalty, as Keras), ``<output>_loss`` for several outputs
    (unweighted), the metrics, their ``val_`` twins and ``lr`` (the first param group's).
    A NaN/inf loss raises ``NonFiniteLossError`` naming the epoch and batch, unless a
    ``TerminateOnNaN`` callback is given. Returns the ``History``.
    """
    compiled = _compiled(model, "fit")
    if compiled.loss_spec is None:
        raise RuntimeError("the model was compiled without a loss; pass loss= to compile()")
    if int(epochs) < 0 or int(batch_size) < 1:
        raise ValueError(f"fit: need epochs >= 0 and batch_size >= 1, got {epochs}, "
                         f"{batch_size}")
    names = (_input_names(model), compiled.output_names)
    data = make_data(x, y, *names)
    val = None
    if validation_data is not None:
        val = _validation(validation_data, names)
    elif validation_split:
        if not isinstance(data, ArrayData):
            raise ValueError("validation_split needs array data; for a dataset pass "
                             "validation_data")
        data, val = data.split(float(validation_split))
    if isinstance(data, ArrayData):
        steps: int | None = data.num_batches(batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        samples: int | None = min(len(data), steps * batch_size)
    else:
        steps = steps_per_epoch if steps_per_epoch is not None else data.length
        samples = _loader_samples(x) if steps_per_epoch is None else None

    progbar = ProgressBar(use_tqdm=False, live=False) if verbose == 2 else None
    cbs = CallbackList(callbacks, model=model, add_history=True, add_progbar=verbose > 0,
                       progbar=progbar, epochs=epochs, steps=steps, samples=samples,
                       batch_size=batch_size, verbose=verbose)
    runner = Runner(model, compiled, graceful=cbs.handles_non_finite)
    compiled.callbacks = cbs
    if resume_from is not None:
        tree = load_training_state(resume_from, model)
        initial_epoch = int(tree["epoch"]) + 1
        compiled.epoch = int(tree["epoch"])
        compiled.global_step = int(tree["global_step"])
        compiled.history = tree["history"]
        cbs.history.set_state(tree["history"])
        unused = cbs.set_states(tree.get("callbacks") or {})
        if unused:
            warnings.warn(f"fit(resume_from=…): no callback to restore the saved state(s) "
                          f"{unused} into", stacklevel=2)
    else:
        compiled.epoch = initial_epoch - 1
        compiled.history = {"history": {}, "epoch": []}

    was_training = model.training
    model.stop_training = False
    compiled.optimizer.zero_grad()
    cbs.on_train_begin()
    try:
        logs = _train(model, compiled, runner, cbs, data, val, epochs, initial_epoch,
                      batch_size, shuffle, steps_per_epoch, validation_batch_size,
                      validation_steps)
    except BaseException:  # skips on_train_end (as Keras) but leaves the mode as it was
        model.train(was_training)
        raise
    cbs.on_train_end(logs)
    model.train(was_training)
    return cbs.history


def _train(model: Any, compiled: CompiledModel, runner: Runner, cbs: CallbackList,
           data: ArrayData | BatchIterable, val: ArrayData | BatchIterable | None, epochs: int,
           initial_epoch: int, batch_size: int, shuffle: bool, steps_per_epoch: int | None,
           validation_batch_size: int | None, validation_steps: int | None) -> dict[str, Any]:
    """The epochs of ``fit``; returns the last epoch's logs."""
    logs: dict[str, Any] = {}
    for epoch in range(initial_epoch, epochs):
        model.train()
        cbs.on_epoch_begin(epoch)
        tracker = EpochTracker(compiled.loss_keys(), compiled.metric_entries()) \
            if compiled.losses is not None else None
        if tracker is None:  # outputs not known before the first forward pass
            tracker = LazyTracker(compiled)
        count = runner.run_epoch(_batches(data, batch_size, shuffle, steps_per_epoch),
                                 tracker, cbs, epoch)
        if count == 0:
            raise ValueError(f"fit: the data yielded no batches in epoch {epoch + 1}; a one-shot "
                             "iterator is exhausted after the first epoch: pass a re-iterable "
                             "(a list, a DataLoader) or steps_per_epoch")
        compiled.global_step += count
        logs = tracker.results()
        if val is not None:
            model.eval()
            cbs.on_test_begin()
            val_logs = runner.run_eval(
                _batches(val, validation_batch_size or batch_size, False, validation_steps),
                cbs)
            cbs.on_test_end(val_logs)
            logs.update(("val_" + k, v) for k, v in val_logs.items())
        logs["lr"] = float(compiled.optimizer.param_groups[0]["lr"])
        compiled.epoch = epoch
        compiled.history["epoch"].append(epoch)
        for key, value in logs.items():
            compiled.history["history"].setdefault(key, []).append(value)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    return logs


def evaluate(model: Any, x: Any = None, y: Any = None, batch_size: int = 32, verbose: int = 1,
             return_dict: bool = False, callbacks: Any = None,
             steps: int | None = None) -> Any:
    """Loss and metrics of ``model`` on ``x``/``y`` (or a dataset), in eval mode without
    gradients, averaged over samples. Returns the loss alone when there is nothing else, else
    ``[loss, <output>_loss…, metrics…]`` in log order, or the dict with ``return_dict=True``.
    ``verbose=1`` prints one summary line."""
    compiled = _compiled(model, "evaluate")
    names = (_input_names(model), compiled.output_names)
    data = make_data(x, y, *names)
    cbs = CallbackList(callbacks, model=model, steps=steps, batch_size=batch_size,
                       verbose=verbose)
    runner = Runner(model, compiled)
    was_training = model.training
    model.eval()
    try:
        cbs.on_test_begin()
        logs = runner.run_eval(_batches(data, batch_size, False, steps), cbs)
        cbs.on_test_end(logs)
    finally:
        model.train(was_training)
    if verbose:
        print(format_logs(logs))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model: Any, x: Any, batch_size: int = 32, verbose: int = 0,
            steps: int | None = None, callbacks: Any = None) -> Any:
    """The model's outputs for ``x`` (arrays or an iterable of batches), batch by batch in eval
    mode without gradients, concatenated as NumPy arrays (a list for several outputs). Works
    on a model that was never compiled."""
    compiled = getattr(model, "_compiled", None)
    out_names = compiled.output_names if compiled is not None else None
    data = make_data(x, None, _input_names(model), out_names, with_targets=False)
    cbs = CallbackList(callbacks, model=model, steps=steps, batch_size=batch_size,
                       verbose=verbose)
    first = next(iter(model.parameters()), None)
    device = "cpu" if first is None else first.device
    chunks: list[list[np.ndarray]] = []
    single = True
    was_training = model.training
    model.eval()
    try:
        cbs.on_predict_begin()
        with no_grad():
            for b, (xs, _, _) in enumerate(_batches(data, batch_size, False, steps)):
                cbs.on_predict_batch_begin(b, None)
                ts = [Tensor._wrap(backend.move(a, device) if device != "cpu" else a)
                      for a in xs]
                out = model(*ts)
                single = not isinstance(out, (list, tuple))
                outs = [out] if single else list(out)
                chunks.append([backend.to_numpy(o.data) for o in outs])
                cbs.on_predict_batch_end(b, {"outputs": outs})
        cbs.on_predict_end()
    finally:
        model.train(was_training)
    if not chunks:
        raise ValueError("predict: the data yielded no batches")
    results = [np.concatenate([c[i] for c in chunks], axis=0) for i in range(len(chunks[0]))]
    if verbose:
        print(f"predict: {len(results[0])} samples")
    return results[0] if single else results
