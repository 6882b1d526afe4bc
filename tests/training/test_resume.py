"""Resumable training: 4 epochs in one go == 2 epochs, a checkpoint, and 2 more epochs in a new
process — bit-exact, with shuffling, dropout (the RNG state), Adam's moments, callback state and
history restored. Also ModelCheckpoint files and the hand-written loop's helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

import rosenblatt as rb
from rosenblatt import nn, optim
from rosenblatt.callbacks import ModelCheckpoint
from rosenblatt.training import load_training_state, save_training_state

COMMON = textwrap.dedent('''
    import numpy as np
    import rosenblatt as rb
    from rosenblatt import nn, optim
    from rosenblatt.callbacks import EarlyStopping, ReduceLROnPlateau

    def data():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(200, 6)).astype(np.float32)
        y = ((x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1)).astype(np.int64)
        return x, y

    def build(seed):
        rb.manual_seed(seed)
        model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
        model.compile(optimizer=optim.Adam(model.parameters(), lr=0.01), loss="cross_entropy",
                      metrics=["accuracy"])
        return model

    def callbacks():
        return [EarlyStopping(patience=10, restore_best_weights=True),
                ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=10.0)]

    FIT = dict(batch_size=16, validation_split=0.2, shuffle=True, verbose=0)

    def weights(model):
        return {k: v.numpy().copy() for k, v in model.state_dict().items()}
''')

RESUME = textwrap.dedent('''
    import json, sys
    model = build(seed=123)                      # other initial weights: all must come back
    cbs = callbacks()
    x, y = data()
    h = model.fit(x, y, epochs=4, resume_from=sys.argv[1], callbacks=cbs, **FIT)
    np.savez(sys.argv[2], **weights(model))
    es = cbs[0]
    with open(sys.argv[3], "w") as f:
        json.dump({"history": h.history, "epoch": h.epoch,
                   "es": [es.best, es.wait, es.best_epoch], "rng": repr(rb.get_rng_state())}, f)
''')


def common() -> dict:
    namespace: dict = {}
    exec(COMMON, namespace)  # the same definitions the child process runs
    return namespace


def test_resume_in_a_new_process_is_bit_exact(tmp_path):
    ns = common()
    x, y = ns["data"]()

    # one uninterrupted run of 4 epochs
    full = ns["build"](seed=0)
    cbs = ns["callbacks"]()
    h_full = full.fit(x, y, epochs=4, callbacks=cbs, **ns["FIT"])
    w_full = ns["weights"](full)
    es_full = [cbs[0].best, cbs[0].wait, cbs[0].best_epoch]
    rng_full = repr(rb.get_rng_state())
    assert h_full.history["lr"] != [0.01] * 4  # the plateau callback changed lr: state matters

    # 2 epochs, a checkpoint ...
    half = ns["build"](seed=0)
    half.fit(x, y, epochs=2, callbacks=ns["callbacks"](), **ns["FIT"])
    path = tmp_path / "state.npz"
    save_training_state(path, half)
    # ... and 2 more in a fresh interpreter
    script = tmp_path / "resume.py"
    script.write_text(COMMON + RESUME)
    out_w, out_j = tmp_path / "weights.npz", tmp_path / "result.json"
    proc = subprocess.run([sys.executable, str(script), str(path), str(out_w), str(out_j)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with np.load(out_w) as resumed:
        assert set(resumed.files) == set(w_full)
        for key, value in w_full.items():
            np.testing.assert_array_equal(resumed[key], value, err_msg=key)
    result = json.loads(out_j.read_text())
    assert result["epoch"] == [0, 1, 2, 3]
    assert result["history"] == h_full.history  # every logged float identical
    assert result["es"] == es_full
    assert result["rng"] == rng_full


def test_resume_from_a_model_checkpoint_file(tmp_path):
    ns = common()
    x, y = ns["data"]()
    full = ns["build"](seed=0)
    mc = ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))
    h_full = full.fit(x, y, epochs=4, callbacks=[*ns["callbacks"](), mc], **ns["FIT"])

    resumed = ns["build"](seed=1)
    mc2 = ModelCheckpoint(str(tmp_path / "r{epoch}.npz"))
    h = resumed.fit(x, y, epochs=4, resume_from=tmp_path / "e2.npz",
                    callbacks=[*ns["callbacks"](), mc2], **ns["FIT"])
    assert h.history == h_full.history and h.epoch == [0, 1, 2, 3]
    for key, value in ns["weights"](full).items():
        np.testing.assert_array_equal(ns["weights"](resumed)[key], value)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r")) == \
        ["r3.npz", "r4.npz"]


def test_hand_written_loop_with_save_and_load_training_state(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 2))).astype(np.float32)

    def make():
        model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 2))
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        return model, opt, sched

    def train(model, opt, sched, epochs):
        loss_fn = nn.MSELoss()
        for _ in epochs:
            model.train()
            order = rb.random.generator().permutation(len(x))
            for i in range(0, len(x), 32):
                idx = order[i:i + 32]
                loss = loss_fn(model(rb.tensor(x[idx])), rb.tensor(y[idx]))
                loss.backward()
                opt.step()
                opt.zero_grad()
            sched.step()

    rb.manual_seed(0)
    model, opt, sched = make()
    train(model, opt, sched, range(4))
    expected = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    rb.manual_seed(0)
    model, opt, sched = make()
    train(model, opt, sched, range(2))
    save_training_state(tmp_path / "loop.npz", model, opt, scheduler=sched, epoch=1,
                        extra={"note": "hand-written"})

    rb.manual_seed(99)
    model, opt, sched = make()
    tree = load_training_state(tmp_path / "loop.npz", model, opt, scheduler=sched)
    assert tree["epoch"] == 1 and tree["extra"] == {"note": "hand-written"}
    train(model, opt, sched, range(tree["epoch"] + 1, 4))
    for key, value in expected.items():
        np.testing.assert_array_equal(model.state_dict()[key].numpy(), value)
