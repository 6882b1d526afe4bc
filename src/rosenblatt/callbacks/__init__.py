"""``rosenblatt.callbacks``: hooks into ``fit`` (Keras 3's callbacks).

    from rosenblatt.callbacks import EarlyStopping, ModelCheckpoint
    model.fit(x, y, epochs=50, validation_split=0.2,
              callbacks=[EarlyStopping(patience=5, restore_best_weights=True),
                         ModelCheckpoint("ckpt/best.npz", save_best_only=True)])

Every callback is a ``Callback`` (see ``base.py`` for the hooks, the batch logs and the two
additions to Keras' protocol: ``after_epoch`` and ``get_state``/``set_state``).
"""

from .base import Callback, CallbackList, LambdaCallback
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lr import LearningRateScheduler, ReduceLROnPlateau
from .model_checkpoint import ModelCheckpoint
from .progress import ProgressBar
from .terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback",
    "CallbackList",
    "LambdaCallback",
    "History",
    "ProgressBar",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "CSVLogger",
    "TerminateOnNaN",
]
