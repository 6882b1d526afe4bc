"""``Callback`` and ``CallbackList``: hooks into ``fit``/``evaluate``/``predict`` (Keras 3's).

A callback overrides the hooks it needs::

    on_train_begin(logs) / on_train_end(logs)
    on_epoch_begin(epoch, logs) / on_epoch_end(epoch, logs)
    on_train_batch_begin(batch, logs) / on_train_batch_end(batch, logs)   (alias on_batch_*)
    on_test_begin/end(logs), on_test_batch_begin/end(batch, logs)          (evaluation)
    on_predict_begin/end(logs), on_predict_batch_begin/end(batch, logs)

``self.model`` is the model being trained (``set_model``), ``self.params`` the run's settings
(``epochs``, ``steps``, ``samples``, ``batch_size``, ``verbose``). Setting
``self.model.stop_training = True`` ends training after the current batch (checked after every
batch and every epoch, as Keras). Epochs and batches are 0-based, as in Keras.

Epoch logs hold Python floats: ``loss``, ``<output>_loss`` (multi-output), the metrics, their
``val_`` twins and ``lr``. Batch logs are a lazy mapping (``BatchLogs``): a value (the running
mean over the epoch so far, as Keras) is computed only when a callback reads it, so a batch with
no reader costs no device sync.

Two additions to Keras' protocol:

* ``after_epoch(epoch, logs)`` runs once every callback's ``on_epoch_end`` has run, when the
  whole training state of the epoch is final; ``ModelCheckpoint`` saves there, so a checkpoint
  holds every callback's state for that epoch whatever the callbacks' order.
* ``get_state()`` / ``set_state(state)``: JSON-compatible values and NumPy arrays, so a training
  checkpoint restores a callback. The loop calls ``set_state`` *before* ``on_train_begin``; a
  callback whose ``on_train_begin`` resets its state calls ``self._take_restored()`` there and
  skips the reset once after a restore.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any, ClassVar

__all__ = ["Callback", "CallbackList", "LambdaCallback", "infer_mode", "get_optimizer"]


class Callback:
    """Base class of the callbacks: every hook is a no-op; override the ones you need."""

    #: True for a callback that takes over non-finite losses (``TerminateOnNaN``): the loop then
    #: skips the bad batch's update and lets the callback stop training instead of raising.
    handles_non_finite: ClassVar[bool] = False

    model: Any = None
    params: dict[str, Any] = {}  # replaced per run by set_params

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    # ------------------------------------------------------------------ training
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once at the end of ``fit`` (not when an exception ends it)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of every epoch with its logs (training and validation values)."""

    def after_epoch(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after every callback's ``on_epoch_end``: the epoch's state is final."""

    def on_batch_begin(self, batch: int, logs: MutableMapping[str, Any] | None = None) -> None:
        """Called before every training batch (same as ``on_train_batch_begin``)."""

    def on_batch_end(self, batch: int, logs: MutableMapping[str, Any] | None = None) -> None:
        """Called after every training batch (same as ``on_train_batch_end``)."""

    def on_train_batch_begin(self, batch: int,
                             logs: MutableMapping[str, Any] | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: MutableMapping[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)

    # ------------------------------------------------------------------ evaluation, prediction
    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of ``evaluate`` (and of every validation pass of ``fit``)."""

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of ``evaluate`` with its logs."""

    def on_test_batch_begin(self, batch: int, logs: MutableMapping[str, Any] | None = None) -> None:
        """Called before every evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: MutableMapping[str, Any] | None = None) -> None:
        """Called after every evaluation batch."""

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of ``predict``."""

    def on_predict_batch_begin(self, batch: int,
                               logs: MutableMapping[str, Any] | None = None) -> None:
        """Called before every prediction batch."""

    def on_predict_batch_end(self, batch: int,
                             logs: MutableMapping[str, Any] | None = None) -> None:
        """Called after every prediction batch."""

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        """The callback's mutable state (JSON-compatible values and NumPy arrays)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` returned (called before ``on_train_begin``)."""
        self._restored = True

    def _take_restored(self) -> bool:
        """True once after ``set_state``: ``on_train_begin`` then keeps the restored state."""
        restored = bool(getattr(self, "_restored", False))
        self._restored = False
        return restored


def _overrides(cb: Callback, *names: str) -> bool:
    """Whether ``cb`` overrides any of the hooks ``names`` (in its class, or on the instance
    for a ``LambdaCallback``)."""
    cls = type(cb)
    if any(getattr(cls, name) is not getattr(Callback, name) for name in names):
        return True
    return any(name in cb.__dict__ for name in names)


class CallbackList:
    """Calls a hook on every callback in order. Adds ``History`` (and ``ProgressBar`` when
    ``add_progbar``) at the end unless one is already given, as Keras.

    Batch hooks go only to callbacks that override them (``has_batch_hooks`` tells the loop
    whether to build batch logs at all).
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, model: Any = None,
                 add_history: bool = False, add_progbar: bool = False,
                 progbar: Callback | None = None, **params: Any) -> None:
        from .history import History
        from .progress import ProgressBar

        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {cb!r}")
        self.history: History | None = next(
            (cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgressBar) for cb in self.callbacks):
            self.callbacks.append(progbar if progbar is not None else ProgressBar())
        self.model = model
        self.params: dict[str, Any] = dict(params)
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(self.params)
        self._refresh()

    def _refresh(self) -> None:
        cbs = self.callbacks
        self._train_begin = [cb for cb in cbs
                             if _overrides(cb, "on_train_batch_begin", "on_batch_begin")]
        self._train_end = [cb for cb in cbs
                           if _overrides(cb, "on_train_batch_end", "on_batch_end")]
        self._test_begin = [cb for cb in cbs if _overrides(cb, "on_test_batch_begin")]
        self._test_end = [cb for cb in cbs if _overrides(cb, "on_test_batch_end")]
        self._predict_begin = [cb for cb in cbs if _overrides(cb, "on_predict_batch_begin")]
        self._predict_end = [cb for cb in cbs if _overrides(cb, "on_predict_batch_end")]

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def append(self, callback: Callback) -> None:
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)
        self._refresh()

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params.clear()
        self.params.update(params)
        for cb in self.callbacks:
            cb.set_params(self.params)

    @property
    def has_batch_hooks(self) -> bool:
        """Whether some callback wants training-batch events."""
        return bool(self._train_begin or self._train_end)

    @property
    def has_test_batch_hooks(self) -> bool:
        return bool(self._test_begin or self._test_end)

    @property
    def handles_non_finite(self) -> bool:
        """Whether a callback (``TerminateOnNaN``) takes over non-finite losses."""
        return any(cb.handles_non_finite for cb in self.callbacks)

    # ------------------------------------------------------------------ dispatch
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)
        for cb in self.callbacks:
            cb.after_epoch(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        for cb in self._train_begin:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        for cb in self._train_end:
            cb.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        for cb in self._test_begin:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        for cb in self._test_end:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        for cb in self._predict_begin:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        for cb in self._predict_end:
            cb.on_predict_batch_end(batch, logs)

    # ------------------------------------------------------------------ checkpoints
    def get_states(self) -> dict[str, Any]:
        """``{"<i>:<ClassName>": state}`` for every callback with a non-empty state (History
        and ProgressBar excluded: the history is saved by the loop)."""
        from .history import History

        out = {}
        for i, cb in enumerate(self.callbacks):
            if isinstance(cb, History):
                continue
            state = cb.get_state()
            if state:
                out[f"{i}:{type(cb).__name__}"] = state
        return out

    def set_states(self, states: dict[str, Any]) -> list[str]:
        """Give each saved state to the callback of the same class and rank among callbacks of
        that class (the 2nd saved ``EarlyStopping`` state to the 2nd ``EarlyStopping``).
        Returns the keys that found no callback."""
        by_class: dict[str, list[Callback]] = {}
        for cb in self.callbacks:
            by_class.setdefault(type(cb).__name__, []).append(cb)
        saved_rank: dict[str, int] = {}
        unused = []
        for key in sorted(states, key=lambda k: int(k.split(":", 1)[0])):
            name = key.split(":", 1)[1]
            rank = saved_rank.get(name, 0)
            saved_rank[name] = rank + 1
            candidates = by_class.get(name, [])
            if rank < len(candidates):
                candidates[rank].set_state(states[key])
            else:
                unused.append(key)
        return unused


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: …)``.

    Accepts any hook name of ``Callback`` as a keyword (``on_train_begin``, ``on_epoch_end``,
    ``on_train_batch_end``, ``on_batch_end``, …).
    """

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "after_epoch", "on_batch_begin", "on_batch_end", "on_train_batch_begin",
              "on_train_batch_end", "on_test_begin", "on_test_end", "on_predict_begin",
              "on_predict_end")

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        unknown = sorted(set(hooks) - set(self._HOOKS))
        if unknown:
            raise ValueError(f"LambdaCallback: unknown hooks {unknown}; valid: {self._HOOKS}")
        for name, fn in hooks.items():
            setattr(self, name, fn)
        self._hook_names = tuple(hooks)

    def __repr__(self) -> str:
        return f"LambdaCallback({', '.join(self._hook_names)})"


# ----------------------------------------------------------------------------------------------
# helpers shared by the callbacks
# ----------------------------------------------------------------------------------------------

_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "dice", "top_", "top1", "top5",
              "r2", "fmeasure")
_MIN_WORDS = ("loss", "error", "mse", "mae", "mape", "msle", "rmse", "perplexity",
              "crossentropy", "hinge", "divergence", "kld")


def infer_mode(monitor: str, mode: str, who: str, strict: bool = False) -> str:
    """``"min"`` or ``"max"`` for ``monitor`` when ``mode="auto"``.

    Loss-like names (``loss``, ``val_loss``, ``*_loss``, ``mse``, ``mae``, …) are minimised;
    accuracy-like ones (``acc``, ``auc``, ``precision``, ``recall``, ``f1``, …) maximised. Any
    other name raises ValueError when ``strict`` (EarlyStopping, as Keras 3) and is minimised
    otherwise (ModelCheckpoint and ReduceLROnPlateau, as Keras).
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.lower().removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "min"
    if any(word in name for word in _MAX_WORDS):
        return "max"
    if any(word in name for word in _MIN_WORDS):
        return "min"
    if strict:
        raise ValueError(
            f"{who} received monitor={monitor!r} but cannot tell whether that metric should be "
            "maximized or minimized. Pass mode='max' to use the highest value, or mode='min' to "
            "use the lowest."
        )
    return "min"


def get_optimizer(model: Any, who: str) -> Any:
    """The optimiser ``compile`` attached to ``model`` (ValueError when there is none)."""
    compiled = getattr(model, "_compiled", None)
    optimizer = getattr(compiled, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"{who}: the model has no optimizer; call model.compile(...) first")
    return optimizer
