"""Callbacks: EarlyStopping (Keras 3 semantics on scripted values, weight restoring, reuse),
ReduceLROnPlateau, LearningRateScheduler, ModelCheckpoint, CSVLogger, TerminateOnNaN, and the
hook protocol."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from rosenblatt import nn, optim
from rosenblatt.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from rosenblatt.checkpoint import load_checkpoint
from rosenblatt.training import load_training_state


def blobs(n: int = 96, d: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = (y[:, None] * 3.0 + rng.normal(size=(n, d))).astype(np.float32)
    return x, y.astype(np.int64)


def small_model(lr: float = 0.1) -> nn.Module:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.compile(optimizer=optim.SGD(model.parameters(), lr=lr), loss="cross_entropy")
    return model


def weights(model) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


class Script(Callback):
    """Writes scripted values into the epoch logs (put it before the callbacks under test)."""

    def __init__(self, key: str, values: list[float]) -> None:
        self.key = key
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Snapshots(Callback):
    """The weights at the end of every epoch."""

    def __init__(self) -> None:
        self.by_epoch: dict[int, dict[str, np.ndarray]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.by_epoch[epoch] = weights(self.model)


class StopAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


def drive(cb: Callback, values: list[float], key: str = "val_loss", model=None) -> int:
    """Run ``cb``'s epoch-end logic on scripted values, as fit would; returns epochs run."""
    model = model if model is not None else small_model()
    model.stop_training = False
    cb.set_model(model)
    cb.on_train_begin({})
    epochs = 0
    for epoch, value in enumerate(values):
        epochs += 1
        cb.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            break
    cb.on_train_end({})
    return epochs


# ----------------------------------------------------------------------------------------------
# EarlyStopping
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, values, key, epochs_run, stopped_epoch", [
    # patience: 2 epochs without improvement after the best (epoch 1) → stop at epoch 3
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.96, 0.8], "val_loss", 4, 3),
    # min_delta: 0.97 and 0.96 are within 0.05 of 1.0, so not improvements
    ({"patience": 2, "min_delta": 0.05}, [1.0, 0.97, 0.96, 0.90], "val_loss", 3, 2),
    ({"patience": 2, "min_delta": 0.0}, [1.0, 0.97, 0.96, 0.90], "val_loss", 4, 0),
    # mode max (explicit and inferred from the name)
    ({"patience": 1, "mode": "max", "monitor": "score"}, [0.5, 0.6, 0.55, 0.7], "score", 3, 2),
    ({"patience": 1, "monitor": "val_accuracy"}, [0.5, 0.6, 0.55, 0.7], "val_accuracy", 3, 2),
    # baseline: improvements that do not beat it leave wait counting
    ({"patience": 2, "baseline": 0.5}, [0.8, 0.9, 0.9], "val_loss", 2, 1),
    ({"patience": 2}, [0.8, 0.9, 0.9], "val_loss", 3, 2),
    ({"patience": 2, "baseline": 0.5}, [0.8, 0.7, 0.6, 0.4], "val_loss", 4, 0),
    # start_from_epoch: epochs before it are not monitored
    ({"patience": 1}, [1.0, 2.0, 3.0, 3.5], "val_loss", 2, 1),
    ({"patience": 1, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 3.5], "val_loss", 4, 3),
    # never stops at epoch 0; NaN is never an improvement
    ({"patience": 1}, [float("nan"), float("nan"), 1.0], "val_loss", 2, 1),
    ({"patience": 0}, [1.0, 2.0], "val_loss", 2, 1),
])
def test_early_stopping_keras_semantics(kwargs, values, key, epochs_run, stopped_epoch):
    es = EarlyStopping(**kwargs)
    assert drive(es, values, key) == epochs_run
    assert es.stopped_epoch == stopped_epoch


def test_early_stopping_state_and_mode_errors():
    es = EarlyStopping(patience=5)
    drive(es, [3.0, 1.0, 2.0])
    assert (es.best, es.wait, es.best_epoch) == (1.0, 1, 1)
    with pytest.raises(ValueError, match="cannot tell whether"):
        drive(EarlyStopping(monitor="val_widgets"), [1.0], "val_widgets")
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="lowest")
    with pytest.warns(UserWarning, match="not available"):
        drive(EarlyStopping(monitor="val_loss"), [1.0], "loss")


def test_early_stopping_restores_best_weights_when_it_stops():
    x, y = blobs()
    model = small_model()
    snaps = Snapshots()
    es = EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    h = model.fit(x, y, epochs=10, verbose=0,
                  callbacks=[Script("score", [5, 4, 1, 3, 3, 0, 0, 0, 0, 0]), es, snaps])
    assert len(h.epoch) == 5 and es.stopped_epoch == 4 and es.best_epoch == 2
    for k, v in weights(model).items():
        np.testing.assert_array_equal(v, snaps.by_epoch[2][k])


def test_early_stopping_restores_best_weights_when_another_callback_stops():
    x, y = blobs()
    model = small_model()
    snaps = Snapshots()
    es = EarlyStopping(monitor="score", mode="min", patience=100, restore_best_weights=True)
    h = model.fit(x, y, epochs=10, verbose=0,
                  callbacks=[Script("score", [5, 1, 2, 3, 4, 5, 6, 7, 8, 9]), es, snaps,
                             StopAt(3)])
    assert len(h.epoch) == 4 and es.stopped_epoch == 0
    for k, v in weights(model).items():
        np.testing.assert_array_equal(v, snaps.by_epoch[1][k])


def test_early_stopping_restores_best_weights_after_terminate_on_nan():
    x, y = blobs()
    poison = LambdaCallback(on_epoch_begin=lambda epoch, logs: x.__setitem__(
        (50, 0), np.nan) if epoch == 3 else None)
    model = small_model()
    snaps = Snapshots()
    tn = TerminateOnNaN()
    es = EarlyStopping(monitor="score", mode="min", patience=100, restore_best_weights=True)
    h = model.fit(x, y, epochs=10, batch_size=16, shuffle=False, verbose=0,
                  callbacks=[poison, Script("score", [3, 2, 1, 9, 9, 9, 9, 9, 9, 9]), es, snaps,
                             tn])
    assert (tn.stopped_epoch, tn.stopped_batch) == (3, 3)  # sample 50 is in batch index 3
    assert len(h.epoch) == 4 and np.isnan(h.history["loss"][3])
    for k, v in weights(model).items():
        np.testing.assert_array_equal(v, snaps.by_epoch[2][k])


def test_early_stopping_object_is_fresh_in_a_second_fit():
    x, y = blobs()
    model = small_model()
    es = EarlyStopping(monitor="score", mode="min", patience=1, restore_best_weights=True)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[Script("score", [0.1, 0.2, 0.3, 0, 0]), es])
    assert es.stopped_epoch == 1 and es.best == 0.1
    # improving values, all worse than the first run's best: a stale `best` would stop at 1
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[Script("score", [0.5, 0.4, 0.3]), es])
    assert len(h.epoch) == 3 and es.stopped_epoch == 0 and es.best == 0.3 and es.wait == 0


# ----------------------------------------------------------------------------------------------
# learning rate
# ----------------------------------------------------------------------------------------------


def test_reduce_lr_on_plateau_keras_rule_with_cooldown_and_min_lr():
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    opt = optim.SGD([{"params": model[0].parameters(), "lr": 1.0},
                     {"params": model[1].parameters(), "lr": 0.5}], lr=1.0)
    model.compile(optimizer=opt, loss="mse")
    cb = ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1, min_lr=0.2)
    model.stop_training = False
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for epoch in range(9):
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
        lrs.append([g["lr"] for g in opt.param_groups])
    assert [lr[0] for lr in lrs] == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    assert [lr[1] for lr in lrs] == [0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2]


def test_reduce_lr_on_plateau_in_fit_and_min_delta():
    x, y = blobs()
    model = small_model(lr=0.1)
    rlrop = ReduceLROnPlateau(monitor="score", patience=1, factor=0.1, min_delta=0.01)
    h = model.fit(x, y, epochs=5, verbose=0,
                  callbacks=[Script("score", [1.0, 0.995, 0.5, 0.499, 0.2]), rlrop])
    # logged lr is the one used during the epoch: reductions show from the next epoch
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_learning_rate_scheduler_function_and_scheduler_object():
    x, y = blobs()
    model = small_model(lr=0.1)
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr * 0.5)])
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    h = model.fit(x, y, epochs=3, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch: 0.3 / (epoch + 1))])
    assert h.history["lr"] == pytest.approx([0.3, 0.15, 0.1])

    model = small_model(lr=1.0)
    step = optim.lr_scheduler.StepLR(model._compiled.optimizer, step_size=1, gamma=0.1)
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(step)])
    assert h.history["lr"] == pytest.approx([1.0, 0.1, 0.01])

    model = small_model(lr=1.0)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(model._compiled.optimizer, patience=0,
                                                   factor=0.5)
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        Script("val_loss", [1.0, 1.0, 1.0]), LearningRateScheduler(plateau)])
    assert h.history["lr"] == pytest.approx([1.0, 1.0, 0.5])  # PyTorch: bad epochs > patience
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: "fast")])


# ----------------------------------------------------------------------------------------------
# ModelCheckpoint, CSVLogger
# ----------------------------------------------------------------------------------------------


def test_model_checkpoint_save_best_only_writes_only_on_improvement(tmp_path):
    x, y = blobs()
    model = small_model()
    snaps = Snapshots()
    pattern = str(tmp_path / "ckpt" / "e{epoch:02d}-{score:.1f}.npz")
    mc = ModelCheckpoint(pattern, monitor="score", save_best_only=True, save_weights_only=True)
    model.fit(x, y, epochs=4, verbose=0,
              callbacks=[Script("score", [3.0, 2.0, 2.5, 1.0]), mc, snaps])
    files = sorted(os.listdir(tmp_path / "ckpt"))
    assert files == ["e01-3.0.npz", "e02-2.0.npz", "e04-1.0.npz"]  # no temporary files left
    assert mc.best == 1.0 and mc.last_saved.endswith("e04-1.0.npz")
    for name, epoch in (("e02-2.0.npz", 1), ("e04-1.0.npz", 3)):
        tree = load_checkpoint(tmp_path / "ckpt" / name)
        assert list(tree) == ["model"]
        for k, v in snaps.by_epoch[epoch].items():
            np.testing.assert_array_equal(tree["model"][k], v)


def test_model_checkpoint_full_state_every_epoch(tmp_path):
    x, y = blobs()
    model = small_model()
    es = EarlyStopping(monitor="score", mode="min", patience=50)
    mc = ModelCheckpoint(str(tmp_path / "state{epoch}.npz"))
    # EarlyStopping comes after ModelCheckpoint: the file must still hold its state of the epoch
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Script("score", [3.0, 2.0, 1.0]), mc, es])
    assert sorted(os.listdir(tmp_path)) == ["state1.npz", "state2.npz", "state3.npz"]
    fresh = small_model()
    tree = load_training_state(tmp_path / "state2.npz", fresh)
    assert tree["epoch"] == 1 and tree["global_step"] == 2 * 3
    assert tree["history"]["epoch"] == [0, 1] and len(tree["history"]["history"]["loss"]) == 2
    assert tree["callbacks"]["2:EarlyStopping"]["best"] == 2.0
    assert tree["callbacks"]["1:ModelCheckpoint"]["last_saved"].endswith("state1.npz")
    assert tree["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert all(np.isfinite(v).all() for v in weights(fresh).values())


def test_csv_logger_header_and_one_row_per_epoch(tmp_path):
    x, y = blobs()
    path = tmp_path / "log.csv"
    model = small_model()
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert all(len(r) == 6 for r in rows)
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0,
              callbacks=[CSVLogger(path, separator=";", append=True)])
    with open(path) as f:
        lines = f.read().splitlines()
    assert len(lines) == 6 and lines[4].startswith("0;") and lines[5].count(";") == 5
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])  # overwrite
    with open(path) as f:
        lines = f.read().splitlines()
    # no validation: the val_ columns are added anyway (Keras) and written as NA
    assert lines[0] == "epoch,accuracy,loss,lr,val_accuracy,val_loss,val_lr"
    assert lines[1].endswith(",NA,NA,NA") and len(lines) == 2


# ----------------------------------------------------------------------------------------------
# TerminateOnNaN and the hook protocol
# ----------------------------------------------------------------------------------------------


def test_terminate_on_nan_stops_gracefully(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)
    model = nn.Linear(5, 1)
    model.compile(optimizer=optim.SGD(model.parameters(), lr=1e3), loss="mse")
    tn = TerminateOnNaN()
    with np.errstate(over="ignore", invalid="ignore"):
        h = model.fit(x, y, epochs=50, batch_size=32, verbose=0, callbacks=[tn])
    assert tn.stopped_epoch is not None and len(h.epoch) == tn.stopped_epoch + 1
    assert not np.isfinite(h.history["loss"][-1])
    message = f"Batch {tn.stopped_batch}: Invalid loss, terminating training"
    assert message in capsys.readouterr().out
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())


def test_hook_order_batch_logs_and_aliases():
    x, y = blobs(n=40)
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin {epoch}")

        def on_batch_begin(self, batch, logs=None):  # the old name works
            events.append(f"batch_begin {batch}")

        def on_train_batch_end(self, batch, logs=None):
            events.append(f"batch_end {batch} n={logs.num_samples} loss={logs['loss'] > 0}")

        def on_test_begin(self, logs=None):
            events.append("test_begin")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch} {sorted(logs)}")

        def after_epoch(self, epoch, logs=None):
            events.append(f"after_epoch {epoch}")

        def on_train_end(self, logs=None):
            events.append("train_end")

    model = small_model()
    model.fit(x, y, epochs=1, batch_size=16, validation_data=(x, y), verbose=0,
              callbacks=[Recorder()])
    assert events == ["train_begin", "epoch_begin 0",
                      "batch_begin 0", "batch_end 0 n=16 loss=True",
                      "batch_begin 1", "batch_end 1 n=16 loss=True",
                      "batch_begin 2", "batch_end 2 n=8 loss=True",
                      "test_begin", "epoch_end 0 ['loss', 'lr', 'val_loss']", "after_epoch 0",
                      "train_end"]


def test_batch_logs_are_running_means():
    x, y = blobs(n=64)
    seen = []
    model = small_model(lr=0.0)
    cb = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    h = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0, callbacks=[cb])
    assert seen[-1] == pytest.approx(h.history["loss"][0])
    first = model.evaluate(x[:16], y[:16], verbose=0)
    assert seen[0] == pytest.approx(first, rel=1e-6)
    assert seen[1] == pytest.approx((first + model.evaluate(x[16:32], y[16:32], verbose=0)) / 2,
                                    rel=1e-6)
    with pytest.raises(ValueError, match="unknown hooks"):
        LambdaCallback(on_epoch_ending=print)


def test_callbacks_get_and_set_state_round_trip():
    es = EarlyStopping(restore_best_weights=True)
    drive(es, [2.0, 1.0])
    clone = EarlyStopping(restore_best_weights=True)
    clone.set_state(es.get_state())
    clone.on_train_begin()  # a restored state survives on_train_begin once
    assert (clone.best, clone.wait, clone.best_epoch) == (1.0, 0, 1)
    assert clone.best_weights.keys() == es.best_weights.keys()
    clone.on_train_begin()
    assert clone.best is None and clone.best_weights is None
