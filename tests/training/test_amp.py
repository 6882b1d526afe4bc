"""Mixed precision: float16 compute with float32 masters reaches float32's accuracy, overflows
skip the step and back the scale off, the state stays float32.

NumPy's float16 matrix multiply is emulated on the CPU (no BLAS): these runs are ~15× slower
than float32 — expected; nothing here measures time."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import nn, optim
from rosenblatt.callbacks import Callback
from rosenblatt.training import (
    LossScaler,
    MixedPrecision,
    load_training_state,
    save_training_state,
)


def rings(n: int, seed: int):
    """Two noisy concentric rings in a random 10-D embedding: not linearly separable."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0, 3, size=n)
    a = rng.uniform(0, 2 * np.pi, size=n)
    x2 = np.stack([r * np.cos(a), r * np.sin(a)], 1) + rng.normal(scale=0.15, size=(n, 2))
    x = x2 @ np.random.default_rng(42).normal(size=(2, 10)) + rng.normal(scale=0.1, size=(n, 10))
    return x.astype(np.float32), (r > 1.5).astype(np.int64)


def mlp(mixed_precision: bool, lr: float = 3e-3) -> nn.Module:
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    model.compile(optimizer=optim.Adam(model.parameters(), lr=lr), loss="cross_entropy",
                  metrics=["accuracy"], mixed_precision=mixed_precision)
    return model


class DtypeWatch(Callback):
    """Records the dtypes the state_dict shows after every batch."""

    def __init__(self) -> None:
        self.dtypes: set = set()

    def on_train_batch_end(self, batch, logs=None):
        self.dtypes.update(v.dtype for v in self.model.state_dict().values())


def test_mixed_precision_reaches_float32_accuracy():
    x, y = rings(2000, 0)
    x_test, y_test = rings(1000, 1)
    accuracy = {}
    for mp in (False, True):
        rb.manual_seed(0)
        model = mlp(mp)
        watch = DtypeWatch()
        model.fit(x, y, epochs=12, batch_size=64, verbose=0, callbacks=[watch])
        accuracy[mp] = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
        assert watch.dtypes == {np.dtype(np.float32)}
        assert all(v.dtype == np.float32 for v in model.state_dict().values())
    assert accuracy[False] > 0.9
    assert abs(accuracy[True] - accuracy[False]) <= 0.01


def test_overflow_skips_the_step_and_backs_off_the_scale():
    x, y = rings(256, 0)
    rb.manual_seed(0)
    model = mlp(True)
    scaler = model._compiled.scaler
    scaler.scale = 2.0 ** 100  # loss × scale overflows float16 in the backward pass
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model.fit(x, y, epochs=1, batch_size=32, steps_per_epoch=1, verbose=0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])  # the step was skipped
    assert scaler.scale == 2.0 ** 99 and scaler.skipped_steps == 1
    assert not model._compiled.optimizer.state  # Adam never stepped
    assert all(p.grad is None for p in model.parameters())

    scaler.scale = 2.0 ** 40  # halves on every overflow until the gradients fit
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # 32 batches
    skipped = scaler.skipped_steps - 1
    assert 0 < skipped < 32 and scaler.scale == 2.0 ** (40 - skipped)
    assert any(not np.array_equal(v.numpy(), before[k])
               for k, v in model.state_dict().items())


def test_loss_scaler_rule():
    s = LossScaler(init_scale=4.0, growth_interval=3)
    for _ in range(3):
        s.update(False)
    assert s.scale == 8.0 and s.growth_tracker == 0
    s.update(False)
    s.update(True)  # an overflow resets the count of good steps
    assert s.scale == 4.0 and s.growth_tracker == 0
    for _ in range(5):
        s.update(True)
    assert s.scale == 1.0 and s.skipped_steps == 6  # never below min_scale
    default = LossScaler()
    assert (default.scale, default.growth_factor, default.backoff_factor,
            default.growth_interval) == (65536.0, 2.0, 0.5, 2000)
    clone = LossScaler()
    clone.load_state_dict(s.state_dict())
    assert clone.state_dict() == s.state_dict()


def test_half_precision_keeps_the_master_arrays():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    amp = MixedPrecision(model, LossScaler(init_scale=8.0))
    masters = [p.data for p in model.parameters()]
    x = rb.tensor(np.ones((5, 3), np.float32))
    with amp.half_precision():
        assert all(p.dtype == np.float16 for p in model.parameters())
        out = amp.cast_outputs([model(*amp.cast_inputs([x]))])[0]
        assert out.dtype == np.float32
        (out.sum() * 8.0).backward()
    assert all(p.data is m for p, m in zip(model.parameters(), masters, strict=True))
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float32  # buffers are never cast
    grads = [p.grad.copy() for p in model.parameters()]
    with pytest.raises(RuntimeError), amp.half_precision():
        model(*amp.cast_inputs([x])).sum().backward()
        raise RuntimeError("boom")
    for p, m, g in zip(model.parameters(), masters, grads, strict=True):
        assert p.data is m
        np.testing.assert_array_equal(p.grad, g)  # the failed pass left the gradients alone


def test_mixed_precision_with_batchnorm_and_resume(tmp_path):
    x, y = rings(256, 0)
    rb.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))
    model.compile(optimizer="adam", loss="cross_entropy", mixed_precision=True,
                  grad_accumulation_steps=2)
    h = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert all(math.isfinite(v) for v in h.history["loss"])
    assert {v.dtype for v in model.state_dict().values()} == {np.dtype(np.float32),
                                                               np.dtype(np.int64)}
    model._compiled.scaler.growth_tracker = 7
    save_training_state(tmp_path / "amp.npz", model)
    other = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))
    other.compile(optimizer="adam", loss="cross_entropy", mixed_precision=True)
    load_training_state(tmp_path / "amp.npz", other)
    assert other._compiled.scaler.state_dict() == model._compiled.scaler.state_dict()
