"""``rosenblatt.training``: Keras-style ``compile``/``fit``/``evaluate``/``predict`` for any
Module, with callbacks, gradient accumulation, clipping, mixed precision and resumable
checkpoints.

    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=64, validation_split=0.1,
                        callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    model.evaluate(x_test, y_test); probs = model.predict(x_test)

``Module.compile/fit/evaluate/predict`` call the functions here. ``fit`` is optional sugar:
the hand-written PyTorch loop (forward, loss, ``backward()``, ``optimizer.step()``,
``zero_grad()``) works on the same models and optimisers, and ``save_training_state`` /
``load_training_state`` give it the same resumable checkpoints.
"""

from ..callbacks.history import History
from .amp import LossScaler, MixedPrecision
from .compile import OPTIMIZER_DEFAULT_LR, CompiledModel, compile_model
from .data import ArrayData, BatchIterable
from .logs import BatchLogs
from .loop import evaluate, fit, predict
from .runner import NonFiniteLossError
from .state import load_training_state, save_training_state

__all__ = [
    "compile_model",
    "fit",
    "evaluate",
    "predict",
    "History",
    "NonFiniteLossError",
    "save_training_state",
    "load_training_state",
    "CompiledModel",
    "LossScaler",
    "MixedPrecision",
    "BatchLogs",
    "ArrayData",
    "BatchIterable",
    "OPTIMIZER_DEFAULT_LR",
]
