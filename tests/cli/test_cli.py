"""The ``rosenblatt`` command end to end: train on the bundled digits, evaluate, predict,
config files, resume, and clear errors for bad options."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rosenblatt.cli import main
from rosenblatt.cli.config import ConfigError, TrainConfig, make_config, read_config_file
from rosenblatt.data import Digits

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    """``rosenblatt train`` with every default (the README's main job), in a temporary folder."""
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--out", str(out), "--name", "default", "--quiet"]) == 0
    return out / "default"


def test_default_run_reaches_97_percent_and_writes_its_folder(default_run):
    meta = json.loads((default_run / "meta.json").read_text())
    assert meta["test"]["accuracy"] >= 0.97
    assert meta["classes"] == [str(i) for i in range(10)]
    assert meta["input_shape"] == [1, 8, 8]
    config = json.loads((default_run / "config.json").read_text())
    assert config == TrainConfig().to_dict() | {"out": config["out"], "name": "default"}
    rows = list(csv.DictReader((default_run / "metrics.csv").open()))
    assert len(rows) == TrainConfig().epochs == meta["epochs"]
    assert {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    checkpoints = sorted(p.name for p in (default_run / "checkpoints").iterdir())
    assert checkpoints == [f"epoch{e:03d}.npz" for e in range(1, 21)]
    assert (default_run / "best.npz").is_file()
    for name in ("curves.png", "confusion_matrix.png", "samples.png"):
        data = (default_run / name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000, name


def test_evaluate_gives_the_accuracy_training_reported(default_run, capsys):
    assert main(["evaluate", str(default_run)]) == 0
    result = json.loads((default_run / "evaluation.json").read_text())
    meta = json.loads((default_run / "meta.json").read_text())
    assert result["accuracy"] == pytest.approx(meta["test"]["accuracy"])
    assert f"{100 * result['accuracy']:.2f} %" in capsys.readouterr().out


def test_predict_classifies_image_files(default_run, tmp_path, capsys):
    from PIL import Image

    digits = Digits()
    paths = []
    for label in (0, 3, 7):
        i = int(np.flatnonzero(digits.targets == label)[0])
        img = (digits.data[i] * (255 // 16)).astype(np.uint8)
        big = np.kron(255 - img, np.ones((4, 4), np.uint8))  # dark ink on white paper, 32×32
        path = tmp_path / f"digit{label}.png"
        Image.fromarray(big).save(path)
        paths.append(str(path))
    assert main(["predict", *paths, "--run", str(default_run), "--top", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for label, line in zip((0, 3, 7), lines, strict=True):
        assert line.split(": ")[1].startswith(f"{label} "), line  # the top class comes first


def test_console_module_runs(default_run):
    done = subprocess.run([sys.executable, "-m", "rosenblatt", "evaluate", str(default_run)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout


def test_config_files_and_precedence(tmp_path):
    (tmp_path / "a.toml").write_text('[train]\nepochs = 3\naugment = ["crop"]\nlr = 0.01\n')
    (tmp_path / "a.yaml").write_text("epochs: 3\naugment: [crop]\nlr: 0.01\n")
    (tmp_path / "a.json").write_text('{"epochs": 3, "augment": ["crop"], "lr": 0.01}')
    for name in ("a.toml", "a.yaml", "a.json"):
        cfg = make_config(read_config_file(tmp_path / name), {"lr": 0.5, "epochs": None})
        assert (cfg.epochs, cfg.augment, cfg.lr) == (3, ["crop"], 0.5)
    (tmp_path / "bad.toml").write_text("epochs = 'three'\n")
    with pytest.raises(ConfigError, match="epochs: expected int"):
        make_config(read_config_file(tmp_path / "bad.toml"), {})
    (tmp_path / "unknown.yaml").write_text("epoch: 3\n")
    with pytest.raises(ConfigError, match="unknown setting.*epoch"):
        make_config(read_config_file(tmp_path / "unknown.yaml"), {})
    (tmp_path / "broken.toml").write_text("epochs = \n")
    with pytest.raises(ConfigError, match="could not be read"):
        read_config_file(tmp_path / "broken.toml")


@pytest.mark.parametrize("argv, message", [
    (["--model", "nope"], "model: unknown value 'nope'; choose one of"),
    (["--augment", "crop,warp"], "augment: unknown value 'warp'"),
    (["--epochs", "0"], "epochs must be a whole number >= 1"),
    (["--dataset", "folder"], "needs data_root"),
    (["--dataset", "mnist", "--data-root", "/nonexistent"], "MNIST: train-images"),
    (["--model", "alexnet"], "model 'alexnet' cannot take the digits images of shape (1, 8, 8)"),
    (["--config", "/nonexistent.toml"], "config file '/nonexistent.toml' not found"),
])
def test_bad_options_give_one_clear_line(argv, message, tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rosenblatt train: error: ") and message in err, err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    common = ["--out", str(tmp_path), "--limit", "300", "--quiet"]
    assert main(["train", *common, "--name", "straight", "--epochs", "3"]) == 0
    assert main(["train", *common, "--name", "cut", "--epochs", "2"]) == 0
    assert main(["train", "--resume", str(tmp_path / "cut"), "--epochs", "3", "--quiet"]) == 0
    straight = list(csv.DictReader((tmp_path / "straight" / "metrics.csv").open()))
    resumed = list(csv.DictReader((tmp_path / "cut" / "metrics.csv").open()))
    assert [r["epoch"] for r in resumed] == ["0", "1", "2"]
    assert resumed == straight  # bit-identical: same losses and accuracies, epoch by epoch


def test_augmentation_and_schedule_options_train(tmp_path):
    argv = ["train", "--out", str(tmp_path), "--name", "aug", "--limit", "256", "--epochs", "2",
            "--augment", "crop,affine,mixup", "--schedule", "cosine", "--optimizer", "sgd",
            "--quiet"]
    assert main(argv) == 0
    rows = list(csv.DictReader((tmp_path / "aug" / "metrics.csv").open()))
    assert float(rows[1]["lr"]) == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi / 2)))
    meta = json.loads((tmp_path / "aug" / "meta.json").read_text())
    assert 0.1 < meta["test"]["accuracy"] <= 1.0


def test_mixed_precision_option_trains(tmp_path):
    argv = ["train", "--out", str(tmp_path), "--name", "amp", "--limit", "128", "--epochs", "1",
            "--mixed-precision", "--quiet"]
    assert main(argv) == 0
    config = json.loads((tmp_path / "amp" / "config.json").read_text())
    meta = json.loads((tmp_path / "amp" / "meta.json").read_text())
    assert config["mixed_precision"] is True
    assert 0.0 <= meta["test"]["accuracy"] <= 1.0 and meta["test"]["loss"] > 0


def test_train_on_an_image_folder_then_predict(tmp_path, capsys):
    """``--dataset folder``: class subfolders of images (any size, resized to --image-size)."""
    from PIL import Image

    g = np.random.default_rng(0)
    root = tmp_path / "images"
    for name, channel in (("red", 0), ("blue", 2)):
        (root / name).mkdir(parents=True)
        for i in range(15):
            a = g.integers(0, 60, (10 + i % 3, 12, 3)).astype(np.uint8)
            a[..., channel] = g.integers(180, 255, a.shape[:2])
            Image.fromarray(a).save(root / name / f"{i}.png")
    argv = ["train", "--dataset", "folder", "--data-root", str(root), "--image-size", "8",
            "--epochs", "4", "--out", str(tmp_path), "--name", "folder", "--val-fraction", "0.2",
            "--test-fraction", "0.2", "--quiet"]
    assert main(argv) == 0
    meta = json.loads((tmp_path / "folder" / "meta.json").read_text())
    assert meta["classes"] == ["blue", "red"] and meta["input_shape"] == [3, 8, 8]
    assert meta["test"]["accuracy"] >= 0.8
    capsys.readouterr()
    assert main(["predict", str(root / "red" / "0.png"), "--run", str(tmp_path / "folder"),
                 "--top", "1"]) == 0
    assert capsys.readouterr().out.split(": ")[1].startswith("red ")
