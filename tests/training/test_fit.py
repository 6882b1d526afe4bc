"""fit / evaluate / predict: learning, logs, validation split, several inputs and outputs,
gradient accumulation, regularisation, datasets, clipping, NaN handling, and the plain PyTorch
loop next to fit."""

from __future__ import annotations

import io

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import nn, optim
from rosenblatt.callbacks import ProgressBar
from rosenblatt.training import ArrayData, NonFiniteLossError, compile_model, evaluate, fit


def blobs(n: int = 600, d: int = 8, classes: int = 3, seed: int = 0):
    """Well separated Gaussian blobs: (x float32 (n, d), labels int64 (n,))."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(classes, d))
    y = rng.integers(0, classes, size=n)
    x = centers[y] + rng.normal(size=(n, d))
    return x.astype(np.float32), y.astype(np.int64)


def mlp(d: int = 8, hidden: int = 32, out: int = 3, **linear_kwargs) -> nn.Module:
    return nn.Sequential(nn.Linear(d, hidden, **linear_kwargs), nn.ReLU(),
                         nn.Linear(hidden, out))


def weights(model) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------------------------
# learning and logs
# ----------------------------------------------------------------------------------------------


def test_fit_learns_a_separable_problem_and_logs_keras_keys():
    x, y = blobs()
    model = mlp()
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=32, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history.epoch == list(range(8))
    assert all(len(v) == 8 for v in history.history.values())
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.97
    assert history.history["lr"] == [1e-3] * 8
    assert model.history is history
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc >= 0.97 and loss < 0.2
    assert model.training  # fit leaves the mode it found


def test_compile_optimizer_names_use_keras_default_learning_rates():
    model = mlp()
    for name, cls, lr in [("sgd", optim.SGD, 0.01), ("adam", optim.Adam, 1e-3),
                          ("RMSprop", optim.RMSprop, 1e-3), ("adamw", optim.AdamW, 1e-3),
                          ("nadam", optim.NAdam, 1e-3), ("adagrad", optim.Adagrad, 1e-3),
                          ("adadelta", optim.Adadelta, 1e-3)]:
        compiled = compile_model(model, optimizer=name, loss="mse")
        assert isinstance(compiled.optimizer, cls)
        assert compiled.optimizer.param_groups[0]["lr"] == lr
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'"):
        compile_model(model, optimizer="adamax", loss="mse")
    with pytest.raises(RuntimeError, match="compile"):
        fit(mlp(), *blobs(), verbose=0)


def test_validation_split_takes_the_last_fraction():
    x, y = blobs(n=100)
    train, val = ArrayData([x], [y]).split(0.25)
    assert len(train) == 75 and len(val) == 25
    np.testing.assert_array_equal(val.xs[0], x[75:])
    np.testing.assert_array_equal(train.ys[0], y[:75])

    # lr = 0: the weights never move, so the logs are plain evaluations of the two parts
    model = mlp()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.0), loss="cross_entropy")
    h = model.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(evaluate(model, x[75:], y[75:], verbose=0),
                                                     rel=1e-6)
    assert h.history["loss"][0] == pytest.approx(evaluate(model, x[:75], y[:75], verbose=0),
                                                 rel=1e-6)


def test_multi_input_multi_output_functional_model_with_loss_weights():
    rng = np.random.default_rng(1)
    n = 256
    a = rng.normal(size=(n, 4)).astype(np.float32)
    b = rng.normal(size=(n, 3)).astype(np.float32)
    cls = (a[:, 0] + b[:, 0] > 0).astype(np.int64)
    reg = (a.sum(1, keepdims=True) - b.sum(1, keepdims=True)).astype(np.float32)

    in_a, in_b = nn.Input((4,), name="a"), nn.Input((3,), name="b")
    h = nn.ReLU()(nn.Linear(7, 16)(nn.Concatenate()([in_a, in_b])))
    head_c, head_r = nn.Linear(16, 2), nn.Linear(16, 1)
    head_c.name, head_r.name = "cls", "reg"
    model = nn.Model([in_a, in_b], [head_c(h), head_r(h)])
    model.compile(optimizer=optim.Adam(model.parameters(), lr=0.01),
                  loss={"cls": "cross_entropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})

    hist = model.fit([a, b], [cls, reg], epochs=20, batch_size=32, validation_split=0.2,
                     verbose=0)
    keys = {"loss", "cls_loss", "reg_loss", "cls_accuracy", "lr"}
    assert set(hist.history) == keys | {"val_" + k for k in keys - {"lr"}}
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    d = model.evaluate({"a": a, "b": b}, {"cls": cls, "reg": reg}, verbose=0, return_dict=True)
    assert d["loss"] == pytest.approx(d["cls_loss"] + 0.5 * d["reg_loss"], rel=1e-5)
    assert d["cls_accuracy"] > 0.9
    as_list = model.evaluate([a, b], [cls, reg], verbose=0)
    assert as_list == pytest.approx([d[k] for k in d])
    out_c, out_r = model.predict([a, b], batch_size=50)
    assert out_c.shape == (n, 2) and out_r.shape == (n, 1) and out_c.dtype == np.float32


def test_gradient_accumulation_matches_one_big_batch():
    x, y = blobs(n=256)
    results = []
    for batch_size, k in [(32, 1), (16, 2)]:
        rb.manual_seed(3)  # same initial weights and the same shuffling
        model = mlp()
        model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy",
                      grad_accumulation_steps=k)
        model.fit(x, y, epochs=2, batch_size=batch_size, verbose=0)
        results.append(weights(model))
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-5, atol=1e-6)


def test_gradient_accumulation_short_last_window_is_a_true_mean():
    x, y = blobs(n=48)  # batches of 16: windows of 2 + a last window of 1 (rescaled by 2)
    results = []
    for batch_size, k in [(32, 1), (16, 2)]:
        rb.manual_seed(4)
        model = mlp()
        model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy",
                      grad_accumulation_steps=k)
        model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        results.append(weights(model))
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-5, atol=1e-6)


def test_regularisation_penalty_is_added_to_the_loss():
    x, y = blobs(n=128)
    losses = []
    for reg in (None, "l2"):
        rb.manual_seed(5)
        model = mlp(weight_regularizer=reg)
        model.compile(optimizer=optim.SGD(model.parameters(), lr=0.0), loss="cross_entropy")
        h = model.fit(x, y, epochs=1, verbose=0)
        losses.append((h.history["loss"][0], evaluate(model, x, y, verbose=0),
                       float(model.regularization_loss())))
    (plain, plain_eval, zero), (with_l2, l2_eval, penalty) = losses
    assert zero == 0.0 and penalty > 0
    assert with_l2 == pytest.approx(plain + penalty, rel=1e-5)
    assert l2_eval == pytest.approx(plain_eval + penalty, rel=1e-5)


def test_evaluate_and_predict_shapes():
    x, y = blobs(n=70)
    model = mlp()
    model.compile(optimizer="sgd", loss="cross_entropy")
    loss = model.evaluate(x, y, batch_size=32, verbose=0)
    assert isinstance(loss, float)
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy", "top2"])
    values = model.evaluate(x, y, batch_size=32, verbose=0)
    assert len(values) == 3 and values[0] == pytest.approx(loss)
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["loss", "accuracy", "top2"]
    pred = model.predict(x, batch_size=32)
    assert isinstance(pred, np.ndarray) and pred.shape == (70, 3)
    model.eval()
    np.testing.assert_allclose(pred, model(rb.tensor(x)).detach().numpy(), rtol=1e-6)
    assert not model.training  # predict restores the mode it found
    assert nn.Linear(3, 2).predict(np.ones((5, 3), np.float32)).shape == (5, 2)  # uncompiled


def test_dataset_iterables():
    x, y = blobs(n=320)
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    val = [(x[256:], y[256:])]
    model = mlp()
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    h = model.fit(batches, epochs=6, validation_data=val, verbose=0)
    assert h.history["val_accuracy"][-1] > 0.9
    assert model.evaluate(val, verbose=0)[1] == h.history["val_accuracy"][-1]
    assert model.predict(val).shape == (64, 3)

    def stream():  # a one-shot generator
        for xb, yb in batches:
            yield rb.tensor(xb), yb

    h = model.fit(stream(), epochs=2, steps_per_epoch=4, verbose=0)  # one iterator throughout
    assert len(h.history["loss"]) == 2
    with pytest.raises(ValueError, match="no batches in epoch 3"):  # 8 batches, 12 wanted
        model.fit(stream(), epochs=3, steps_per_epoch=4, verbose=0)
    with pytest.raises(ValueError, match="no batches in epoch 2"):
        model.fit(stream(), epochs=2, verbose=0)


def test_clip_norm_bounds_every_update():
    x, y = blobs(n=64)
    model = mlp()
    before = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    model.compile(optimizer=optim.SGD(model.parameters(), lr=1.0), loss="cross_entropy",
                  clip_norm=1e-3)
    model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    after = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    assert np.linalg.norm(after - before) <= 1e-3 * (1 + 1e-4)


# ----------------------------------------------------------------------------------------------
# NaN / inf
# ----------------------------------------------------------------------------------------------


def test_nan_in_the_data_stops_training_naming_epoch_and_batch():
    x, y = blobs(n=128)
    x[100, 2] = np.nan  # batch 4 (index 3) with batch_size 32 and no shuffling
    model = mlp()
    model.compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(NonFiniteLossError) as info:
        model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert (err.epoch, err.batch) == (0, 3)
    assert "epoch 1 (index 0), batch 4 (index 3)" in str(err)
    assert "x has NaN/inf in 1 sample(s)" in str(err)
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())  # no NaN update


def test_exploding_loss_stops_training_naming_epoch_and_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)
    model = nn.Linear(5, 1)
    model.compile(optimizer=optim.SGD(model.parameters(), lr=1e3), loss="mse")
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss .* at epoch \d+ \(index "
                       r"\d+\), batch \d+ \(index \d+\).*training diverged") as info, \
            np.errstate(over="ignore", invalid="ignore"):
        model.fit(x, y, epochs=50, batch_size=32, verbose=0)
    assert info.value.cause is None and info.value.batch >= 0
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())


# ----------------------------------------------------------------------------------------------
# the plain PyTorch-style loop still works, and fit adds nothing to it
# ----------------------------------------------------------------------------------------------


def test_plain_pytorch_loop_alongside_fit():
    x, y = blobs(n=128)
    rb.manual_seed(7)
    manual = mlp()
    rb.manual_seed(7)
    sugared = mlp()

    opt = optim.SGD(manual.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    manual.train()
    for _ in range(2):
        for i in range(0, len(x), 32):
            out = manual(rb.tensor(x[i:i + 32]))
            loss = loss_fn(out, rb.tensor(y[i:i + 32]))
            loss.backward()
            opt.step()
            opt.zero_grad()

    sugared.compile(optimizer=optim.SGD(sugared.parameters(), lr=0.05, momentum=0.9),
                    loss=nn.CrossEntropyLoss())
    sugared.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    for key, value in weights(manual).items():
        np.testing.assert_array_equal(weights(sugared)[key], value)  # bit-identical


# ----------------------------------------------------------------------------------------------
# progress output
# ----------------------------------------------------------------------------------------------


def test_progress_output_plain_and_verbose_levels(capsys, monkeypatch):
    import rosenblatt.callbacks.progress as progress

    x, y = blobs(n=64)
    model = mlp()
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 - 64/64")
    assert "samples/s" in lines[0] and "loss: " in lines[0] and "accuracy: " in lines[0]

    monkeypatch.setattr(progress, "_tqdm", lambda: None)  # as if tqdm were not installed
    model.fit(x, y, epochs=1, verbose=1)
    assert capsys.readouterr().out.startswith("Epoch 1/1 - 64/64")
    with pytest.raises(ImportError, match="pip install tqdm"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ProgressBar(use_tqdm=True)])


def test_progress_bar_with_tqdm():
    pytest.importorskip("tqdm")
    x, y = blobs(n=64)
    model = mlp()
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    out = io.StringIO()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[ProgressBar(use_tqdm=True, refresh_interval=0.0, file=out)])
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert "64/64" in text and "sample/s" in text and "accuracy: " in text
