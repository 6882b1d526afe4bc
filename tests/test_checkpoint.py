"""Checkpoints: bit-exact round trips, no code executed on load, clear errors for bad files,
atomic writes — down to a writer killed with SIGKILL at a random moment."""

from __future__ import annotations

import io
import os
import pickle
import random
import select
import signal
import subprocess
import sys
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def assert_same_array(a, b):
    """Same type, dtype, shape and bytes (so NaN payloads and -0.0 count)."""
    assert isinstance(b, np.ndarray)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def every_dtype():
    rng = np.random.default_rng(0)
    out = {}
    for dt in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
               "uint16", "uint32", "uint64", "complex64", "complex128"):
        out[dt] = (rng.normal(size=(3, 4)) * 100).astype(dt)
    out["bool"] = rng.uniform(size=(5,)) > 0.5
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.0], dtype=np.float64)
    special_bits = special.view(np.uint64).copy()
    special_bits[0] |= 0xDEAD  # a NaN with a payload
    out["special"] = special_bits.view(np.float64)
    out["half_nan"] = np.array([np.nan, -0.0, 6e-8], dtype=np.float16)
    out["scalar0d"] = np.array(3.5, dtype=np.float32)
    out["empty"] = np.zeros((0, 3), dtype=np.int32)
    out["fortran"] = np.asfortranarray(rng.normal(size=(3, 5)))
    out["strided"] = rng.normal(size=(6, 8))[::2, 1::3]
    out["unicode"] = np.array(["α", "beta"])
    out["bytes"] = np.array([b"ab", b"c"])
    out["big_endian"] = np.arange(4, dtype=">i4")
    out["datetime"] = np.array(["2024-01-01", "2025-06-30"], dtype="datetime64[D]")
    return out


def test_round_trip_every_leaf_bit_exact(tmp_path):
    arrays = every_dtype()
    tree = {
        "arrays": arrays,
        "nested": [arrays["int64"], (arrays["float16"], {"deep": [arrays["bool"]]})],
        "numbers": [0, -7, 2**130, -(2**70), 1.5, 0.1, float("nan"), float("inf"),
                    -float("inf"), 1e-310, 2 + 3j],
        "numpy_scalars": [np.int64(7), np.float32(0.25), np.bool_(True), np.uint8(255)],
        "strings": ["", "plain", "üñî/çødé", "$not_a_tag"],
        "flags": [True, False, None],
        "tuple": (1, "two", (3.0,)),
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "int_keys": {0: "zero", 1: {"lr": 0.1}, (2, "x"): None},
        "$dollar": {"$array": "not a reference"},  # a user key that looks like a tag
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "tensor": rb.tensor([[1.0, 2.0]], requires_grad=True),
    }
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, tree)
    back = load_checkpoint(path)

    for name, a in arrays.items():
        assert_same_array(a, back["arrays"][name])
    assert_same_array(arrays["int64"], back["nested"][0])
    assert_same_array(arrays["float16"], back["nested"][1][0])
    assert_same_array(arrays["bool"], back["nested"][1][1]["deep"][0])
    nums = back["numbers"]
    assert nums[:6] == [0, -7, 2**130, -(2**70), 1.5, 0.1]
    assert np.isnan(nums[6]) and nums[7] == float("inf") and nums[8] == -float("inf")
    assert nums[9] == 1e-310 and nums[10] == 2 + 3j
    assert [type(v) for v in nums[:6]] == [int, int, int, int, float, float]
    assert back["numpy_scalars"] == [7, 0.25, True, 255]
    assert [type(v) for v in back["numpy_scalars"]] == [int, float, bool, int]
    assert back["strings"] == tree["strings"]
    assert back["flags"] == [True, False, None]
    assert back["tuple"] == (1, "two", (3.0,)) and isinstance(back["tuple"][2], tuple)
    assert back["empty"] == {"list": [], "dict": {}, "tuple": ()}
    assert back["int_keys"] == {0: "zero", 1: {"lr": 0.1}, (2, "x"): None}
    assert back["$dollar"] == {"$array": "not a reference"}
    assert list(back["ordered"]) == ["b", "a"] and back["ordered"] == {"b": 1, "a": 2}
    assert_same_array(np.array([[1.0, 2.0]], dtype=np.float32), back["tensor"])
    assert list(back) == list(tree)  # key order kept


def test_path_like_keys_and_collisions(tmp_path):
    a, b, c = np.zeros(1), np.ones(1), np.full(1, 2.0)
    tree = {"model": {"fc1.weight": a}, "model/fc1.weight": b, "__header__": c}
    save_checkpoint(tmp_path / "k.npz", tree)
    with zipfile.ZipFile(tmp_path / "k.npz") as zf:
        names = zf.namelist()
    assert "__header__.npy" in names and "model/fc1.weight.npy" in names  # Chainer-style keys
    assert len(names) == 4  # the colliding keys got distinct members
    back = load_checkpoint(tmp_path / "k.npz")
    assert_same_array(a, back["model"]["fc1.weight"])
    assert_same_array(b, back["model/fc1.weight"])
    assert_same_array(c, back["__header__"])


def test_model_state_dict_and_rng_state(tmp_path):
    model = rb.nn.Sequential(rb.nn.Linear(4, 8), rb.nn.BatchNorm1d(8), rb.nn.ReLU(),
                             rb.nn.Linear(8, 2))
    model(rb.randn(16, 4))  # move the batch-norm statistics off their initial values
    rb.manual_seed(123)
    rb.randn(3)
    state = rb.get_rng_state()
    assert state["state"]["state"] > 2**64  # 128-bit integers in the header
    save_checkpoint(tmp_path / "m.npz", {"model": model.state_dict(), "rng": state, "epoch": 3})
    expected = rb.randn(5).data.copy()

    rb.manual_seed(999)
    clone = rb.nn.Sequential(rb.nn.Linear(4, 8), rb.nn.BatchNorm1d(8), rb.nn.ReLU(),
                             rb.nn.Linear(8, 2))
    back = load_checkpoint(tmp_path / "m.npz")
    clone.load_state_dict(back["model"])
    for key, value in model.state_dict().items():
        assert_same_array(value.data, clone.state_dict()[key].data)
    assert back["model"]["1.num_batches_tracked"].dtype == np.int64
    rb.set_rng_state(back["rng"])
    np.testing.assert_array_equal(rb.randn(5).data, expected)
    assert back["epoch"] == 3


def test_unstorable_values_write_nothing(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"ok": 1})
    before = path.read_bytes()
    cyclic: list = []
    cyclic.append(cyclic)
    for tree, match in (({"f": object()}, r"type object at 'f'"),
                        ({"a": [np.array([None, 1], dtype=object)]}, r"'a/0'.*object arrays"),
                        ({"s": {1, 2}}, "set"),
                        ({"k": {object(): 1}}, "dict key"),
                        ({"c": cyclic}, "contains itself")):
        with pytest.raises((TypeError, ValueError), match=match):
            save_checkpoint(path, tree)
    with pytest.raises(TypeError, match="must be a dict"):
        save_checkpoint(path, [1, 2])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]


# ------------------------------------------------------------------------------ nobody gets in
class Payload:
    """Unpickling it creates the directory ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def pickled_array(marker) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    return buf.getvalue()


def write_zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def test_the_payload_is_live(tmp_path):
    """Control: loading the same kind of file *with* pickle enabled does run the payload."""
    marker = tmp_path / "control_marker"
    write_zip(tmp_path / "evil.npz", {"x.npy": pickled_array(marker)})
    np.load(tmp_path / "evil.npz", allow_pickle=True)["x"]
    assert marker.exists()


def test_pickle_bearing_files_are_refused(tmp_path):
    marker = tmp_path / "marker"
    good = tmp_path / "good.npz"
    save_checkpoint(good, {"w": np.arange(3)})
    with zipfile.ZipFile(good) as zf:
        header = zf.read("__header__.npy")
    files = {
        # a pickled object array saved as .npy
        "object.npy": pickled_array(marker),
        # a plain pickle file
        "plain.pkl": pickle.dumps(Payload(marker)),
        # an .npz whose header member is a pickled object array
        "header.npz": {"__header__.npy": pickled_array(marker)},
        # a valid header whose array member was swapped for a pickled object array
        "member.npz": {"__header__.npy": header, "w.npy": pickled_array(marker)},
    }
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, dict):
            write_zip(path, content)
        else:
            path.write_bytes(content)
        with pytest.raises(CheckpointError, match="pickled Python objects") as info:
            load_checkpoint(path)
        assert str(path) in str(info.value)
        assert not marker.exists(), f"{name}: the pickle payload ran"


# ------------------------------------------------------------------------------ bad files
def test_not_a_checkpoint(tmp_path):
    cases = {
        "array.npy": npy_bytes(np.arange(4)),
        "text.npz": b"hello, I am not a zip file\n",
        "empty.npz": b"",
        "no_header.npz": {"w.npy": npy_bytes(np.arange(3))},
        "other_format.npz": {"__header__.npy": npy_bytes(np.frombuffer(
            b'{"format": "keras", "version": 1, "tree": {}, "arrays": {}}', np.uint8))},
        "future.npz": {"__header__.npy": npy_bytes(np.frombuffer(
            b'{"format": "rosenblatt.checkpoint", "version": 99, "tree": {}, "arrays": {}}',
            np.uint8))},
        "bad_json.npz": {"__header__.npy": npy_bytes(np.frombuffer(b"{not json", np.uint8))},
    }
    messages = {"array.npy": "single .npy", "no_header.npz": "without", "other_format.npz":
                "'keras'", "future.npz": "version 99"}
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, dict):
            write_zip(path, content)
        else:
            path.write_bytes(content)
        with pytest.raises(CheckpointError, match=messages.get(name)) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz")


def test_truncated_and_corrupt(tmp_path):
    path = tmp_path / "full.npz"
    save_checkpoint(path, {"w": np.full(10_000, 7, dtype=np.int32), "step": 1})
    data = path.read_bytes()
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(bad)
        assert str(bad) in str(info.value)
    # one flipped bit inside the array data: the zip's CRC-32 catches it
    at = data.index(np.full(4, 7, dtype=np.int32).tobytes()) + 100
    flipped = bytearray(data)
    flipped[at] ^= 0x01
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="CRC"):
        load_checkpoint(bad)


def test_header_must_describe_the_arrays(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.zeros(3, dtype=np.float32)})
    with zipfile.ZipFile(path) as zf:
        header = zf.read("__header__.npy")
    write_zip(tmp_path / "swapped.npz", {"__header__.npy": header,
                                         "w.npy": npy_bytes(np.zeros(3, dtype=np.float64))})
    with pytest.raises(CheckpointError, match="'w' has dtype <f8"):
        load_checkpoint(tmp_path / "swapped.npz")
    write_zip(tmp_path / "missing.npz", {"__header__.npy": header})
    with pytest.raises(CheckpointError, match="'w' named in the header is missing"):
        load_checkpoint(tmp_path / "missing.npz")


# ------------------------------------------------------------------------------ nothing is lost
def test_write_is_atomic_and_synced(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    replaced, synced = [], []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_replace(src, dst):
        replaced.append((str(src), str(dst)))
        assert os.path.exists(src) and src != dst
        real_replace(src, dst)

    def spy_fsync(fd):
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", spy_replace)
    monkeypatch.setattr(os, "fsync", spy_fsync)
    save_checkpoint(str(path), {"w": np.ones(3)})
    (src, dst), = replaced
    assert dst == str(path)
    assert os.path.dirname(src) == str(tmp_path)  # same directory: the rename is atomic
    name = os.path.basename(src)
    assert name.startswith(".ckpt.npz.") and name.endswith(".tmp")
    assert len(synced) == 2  # the file, then the directory
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize("fail_at", ["replace", "write"])
def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"step": 1, "w": np.ones(1000)})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    if fail_at == "replace":
        monkeypatch.setattr(os, "replace", boom)
    else:
        monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, {"step": 2, "w": np.zeros(1000)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    assert load_checkpoint(path)["step"] == 1


def test_latest_checkpoint(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    for step in (9, 10, 2):
        save_checkpoint(tmp_path / f"step_{step}.npz", {"step": step})
    (tmp_path / ".step_99.npz.x1y2.tmp").write_bytes(b"partial")  # a writer's temp file
    (tmp_path / "step_98.npz.tmp").write_bytes(b"partial")
    (tmp_path / ".step_97.npz").write_bytes(b"hidden")
    (tmp_path / "step_96.txt").write_bytes(b"other pattern")
    (tmp_path / "step_95.npz").mkdir()  # not a file
    assert latest_checkpoint(tmp_path) == str(tmp_path / "step_10.npz")  # 10 > 9: numeric
    assert latest_checkpoint(tmp_path, pattern="step_?.npz") == str(tmp_path / "step_9.npz")
    (tmp_path / "step_11.npz").write_bytes(b"PK\x03\x04 torn")  # not a complete zip
    with pytest.warns(RuntimeWarning, match="step_11"):
        assert latest_checkpoint(tmp_path) == str(tmp_path / "step_10.npz")

    by_time = tmp_path / "by_time"
    by_time.mkdir()
    for i, name in enumerate(("best.npz", "last.npz", "epoch3.npz")):
        save_checkpoint(by_time / name, {"i": i})
        os.utime(by_time / name, ns=(10**18 + i * 10**9,) * 2)
    assert latest_checkpoint(by_time) == str(by_time / "epoch3.npz")  # not all numbered: mtime
    os.utime(by_time / "best.npz", ns=(2 * 10**18,) * 2)
    assert latest_checkpoint(by_time) == str(by_time / "best.npz")


# ------------------------------------------------------------------------------ the kill test
WRITER = r"""
import os, sys
import numpy as np
from rosenblatt.checkpoint import save_checkpoint

directory = sys.argv[1]
for step in range(1, 100_000):
    tree = {
        "step": step,
        "model": {"w": np.full((1024, 1152), step, np.float32),   # 4.5 MiB
                  "b": np.full(1000, step, np.int64)},
        "optimizer": [np.full((100, 100), step, np.float64), {"t": step, "lr": 0.1}],
        "note": f"step {step}",
    }
    save_checkpoint(os.path.join(directory, f"step_{step:06d}.npz"), tree)
    save_checkpoint(os.path.join(directory, "last.npz"), tree)        # overwritten in place
    if step > 3:
        os.remove(os.path.join(directory, f"step_{step - 3:06d}.npz"))
    if step == 1:
        print("ready", flush=True)
"""


def check_consistent(tree, step=None):
    step = tree["step"] if step is None else step
    assert tree["step"] == step and tree["note"] == f"step {step}"
    assert tree["optimizer"][1] == {"t": step, "lr": 0.1}
    for a in (tree["model"]["w"], tree["model"]["b"], tree["optimizer"][0]):
        assert a.min() == step and a.max() == step
    assert tree["model"]["w"].shape == (1024, 1152)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and select on pipes are POSIX")
def test_kill_the_writer_at_a_random_moment(tmp_path):
    rng = random.Random(20240611)
    started = time.monotonic()
    for run in range(3):
        delay = rng.uniform(0.2, 1.0)
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(directory)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            line = proc.stdout.readline() if ready else b""
            assert line.strip() == b"ready", proc.stderr.read1().decode()  # first write done
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, "the writer finished before it was killed"

        latest = latest_checkpoint(directory, pattern="step_*.npz")
        assert latest is not None
        name = os.path.basename(latest)
        assert not name.startswith(".") and not name.endswith(".tmp")
        tree = load_checkpoint(latest)
        check_consistent(tree, step=int(name[5:11]))
        # "last.npz" is replaced after each step file: it holds this step or the one before
        last = load_checkpoint(directory / "last.npz")
        check_consistent(last)
        assert last["step"] in (tree["step"] - 1, tree["step"])
        # every complete file in the directory loads and is whole; temp files are the only debris
        for entry in os.listdir(directory):
            if entry.startswith("."):
                assert entry.endswith(".tmp")
                continue
            check_consistent(load_checkpoint(directory / entry))
    assert time.monotonic() - started < 20


def test_checkpoint_gets_the_mode_of_a_plain_file(tmp_path):
    import os

    import rosenblatt as rb

    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    path = tmp_path / "ck.npz"
    rb.save_checkpoint(path, {"a": 1})
    assert os.stat(path).st_mode & 0o777 == os.stat(plain).st_mode & 0o777
