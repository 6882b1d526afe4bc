"""load_weights / save_weights across formats, the safetensors reader and writer (with and
without the package), and download_weights on local URLs only."""

import hashlib
import http.server
import json
import socket
import struct
import threading
import urllib.request

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt.checkpoint import save_checkpoint
from rosenblatt.io import (
    ChecksumError,
    DownloadError,
    WeightsFormatError,
    download_weights,
    load_safetensors,
    load_weights,
    save_weights,
)
from rosenblatt.io import safetensors_format as stf

try:
    import safetensors.numpy as st_numpy
except ImportError:
    st_numpy = None

needs_package = pytest.mark.skipif(st_numpy is None, reason="the safetensors package is absent")


@pytest.fixture(params=["own", "package"])
def backend(request, monkeypatch):
    """Run a test with our reader/writer (package hidden) and with the package, if installed."""
    if request.param == "own":
        monkeypatch.setattr(stf, "_package", lambda: None)
    elif st_numpy is None:
        pytest.skip("the safetensors package is absent")
    return request.param


def sample_arrays():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((4, 6))
    return {
        "features.0.weight": base.astype(np.float32),
        "features.0.bias": base[0].astype(np.float16),
        "double": base.astype(np.float64),
        "transposed": base.T.astype(np.float32),  # not contiguous
        "big_endian": base.astype(">f4"),
        "int64": np.arange(-5, 5, dtype=np.int64),
        "int32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "int16": np.array([-(2**15), 2**15 - 1], dtype=np.int16),
        "int8": np.array([-128, 127], dtype=np.int8),
        "uint8": np.array([0, 255], dtype=np.uint8),
        "uint16": np.array([0, 65535], dtype=np.uint16),
        "uint32": np.array([2**32 - 1], dtype=np.uint32),
        "uint64": np.array([2**64 - 1], dtype=np.uint64),
        "bool": np.array([[True, False], [False, True]]),
        "complex": (base[:2] + 1j * base[2:]).astype(np.complex64),
        "scalar": np.array(3, dtype=np.int64),  # num_batches_tracked
        "empty": np.zeros((0, 3), dtype=np.float32),
        "special": np.array([np.nan, -0.0, np.inf, -np.inf], dtype=np.float32),
    }


def assert_same(ours, theirs):
    assert list(ours) == list(theirs) or set(ours) == set(theirs)
    for key, want in theirs.items():
        got = ours[key]
        assert got.dtype == want.dtype.newbyteorder("=") and got.shape == want.shape, key
        assert got.tobytes() == np.ascontiguousarray(want, got.dtype).tobytes(), key


# ---------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------


def test_safetensors_round_trip(tmp_path, backend):
    arrays = sample_arrays()
    path = tmp_path / "weights.safetensors"
    save_weights(path, arrays, metadata={"format": "pt", "note": "ünïcode"})
    assert_same(load_weights(path), arrays)
    if backend == "own":
        assert list(load_weights(path)) == list(arrays)  # header order = the state dict's


def test_own_writer_is_readable_by_the_package_and_back(tmp_path):
    if st_numpy is None:
        pytest.skip("the safetensors package is absent")
    arrays = sample_arrays()
    ours = tmp_path / "ours.safetensors"
    ours.write_bytes(stf.safetensors_bytes(arrays, {"format": "np"}))
    assert_same(st_numpy.load_file(str(ours)), arrays)
    theirs = tmp_path / "theirs.safetensors"
    st_numpy.save_file({k: np.asarray(v, v.dtype.newbyteorder("<"), order="C")
                        for k, v in arrays.items()}, str(theirs), metadata={"a": "b"})
    assert_same(stf.read_safetensors(theirs), arrays)


def test_own_writer_layout(tmp_path):
    blob = stf.safetensors_bytes({"b": np.ones(3, np.float32), "a": np.arange(2, dtype="<i8")},
                                 {"format": "pt"})
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(blob[8:8 + n])
    assert header == {"__metadata__": {"format": "pt"},
                      "b": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                      "a": {"dtype": "I64", "shape": [2], "data_offsets": [12, 28]}}
    assert len(blob) == 8 + n + 28


def write_raw(path, header, data):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def test_bfloat16_read_as_float32(tmp_path, backend):
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.5, -2.25, float("nan"), 3e38, 1e-39], dtype=torch.bfloat16)
    raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
    path = write_raw(tmp_path / "bf16.safetensors",
                     {"__metadata__": {"format": "pt"},
                      "w": {"dtype": "BF16", "shape": [5], "data_offsets": [0, 10]}}, raw)
    got = load_weights(path)["w"]
    assert got.dtype == np.float32
    assert got.tobytes() == t.float().numpy().tobytes()


@pytest.mark.parametrize("header, data, match", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "needs 8 bytes"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "starts at byte 4"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "overlaps"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 9, "cover 4 bytes"),
    ({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "F8_E4M3"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "shape"),
    ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, "malformed"),
    ([1, 2], b"", "not a JSON object"),
])
def test_malformed_safetensors_refused(tmp_path, backend, header, data, match):
    path = write_raw(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(WeightsFormatError, match=rf"bad\.safetensors.*{match}"):
        load_weights(path)


def test_not_a_safetensors_file(tmp_path, backend):
    path = tmp_path / "zip.safetensors"
    path.write_bytes(b"PK\x03\x04" + b"\xff" * 100)
    with pytest.raises(WeightsFormatError, match=r"zip\.safetensors.*not a safetensors file"):
        load_weights(path)
    path.write_bytes(b"\x05")
    with pytest.raises(WeightsFormatError, match="too short"):
        load_safetensors(path)


def test_safetensors_refuses_unstorable_dtypes(tmp_path, backend):
    path = tmp_path / "w.safetensors"
    with pytest.raises(TypeError, match="complex128"):
        save_weights(path, {"w": np.zeros(2, np.complex128)})
    with pytest.raises(TypeError, match="metadata"):
        save_weights(path, {"w": np.zeros(2)}, metadata={"epoch": 3})
    assert not path.exists()


# ---------------------------------------------------------------------------------------------
# npz and checkpoints
# ---------------------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "weights.npz"
    save_weights(path, arrays)
    assert_same(load_weights(path), arrays)
    with np.load(path, allow_pickle=False) as npz:  # a plain npz, readable by anyone
        assert sorted(npz.files) == sorted(arrays)


def test_npz_written_by_numpy(tmp_path):
    path = tmp_path / "numpy.npz"
    np.savez(path, **{"fc.weight": np.ones((2, 3)), "fc.bias": np.zeros(2)})
    assert set(load_weights(path)) == {"fc.weight", "fc.bias"}


def test_npz_with_pickled_objects_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(WeightsFormatError, match=r"objects\.npz.*pickled"):
        load_weights(path)
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, np.ones(3))
    with pytest.raises(WeightsFormatError, match="single .npy array"):
        load_weights(single)


def test_rosenblatt_checkpoint(tmp_path):
    model = rb.nn.Sequential(rb.nn.Linear(3, 4), rb.nn.ReLU(), rb.nn.Linear(4, 2))
    path = tmp_path / "step_000010.npz"
    save_checkpoint(path, {"model": model.state_dict(), "step": 10, "ema": model.state_dict()})
    want = {k: v.numpy() for k, v in model.state_dict().items()}
    assert_same(load_weights(path), want)
    assert_same(load_weights(path, key="ema"), want)
    with pytest.raises(WeightsFormatError, match="no entry 'opt'"):
        load_weights(path, key="opt")


@pytest.mark.parametrize("ext", [".safetensors", ".npz"])
def test_rosenblatt_model_round_trip(tmp_path, ext):
    model = rb.nn.Sequential(rb.nn.Linear(5, 8), rb.nn.BatchNorm1d(8), rb.nn.Linear(8, 2))
    path = tmp_path / f"mlp{ext}"
    save_weights(path, model.state_dict())
    other = rb.nn.Sequential(rb.nn.Linear(5, 8), rb.nn.BatchNorm1d(8), rb.nn.Linear(8, 2))
    other.load_state_dict(load_weights(path))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items(), strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes(), k


def test_torch_file_through_load_weights(tmp_path):
    torch = pytest.importorskip("torch")
    sd = torch.nn.Linear(3, 2).state_dict()
    for name in ("w.pth", "w.pt", "pytorch_model.bin", "last.ckpt"):
        torch.save({"state_dict": sd, "epoch": 1}, tmp_path / name)
        got = load_weights(tmp_path / name)
        assert list(got) == ["weight", "bias"]
        assert got["weight"].tobytes() == sd["weight"].numpy().tobytes()


def test_unknown_extensions(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF")
    with pytest.raises(WeightsFormatError, match=r"model\.h5.*'\.h5' is not one of"):
        load_weights(path)
    with pytest.raises(WeightsFormatError, match=r"model\.pth.*not one of \.safetensors, \.npz"):
        save_weights(tmp_path / "model.pth", {"w": np.ones(1)})
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "missing.safetensors")


def test_save_weights_refuses_bad_input(tmp_path):
    with pytest.raises(TypeError, match="key 3"):
        save_weights(tmp_path / "w.npz", {3: np.ones(1)})
    with pytest.raises(TypeError, match="object"):
        save_weights(tmp_path / "w.npz", {"w": np.array([None])})
    with pytest.raises(TypeError, match="reserved"):
        save_weights(tmp_path / "w.npz", {"__header__": np.ones(1)})
    assert not (tmp_path / "w.npz").exists()


# ---------------------------------------------------------------------------------------------
# download_weights, on local URLs only
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "remote.safetensors"
    path.write_bytes(stf.safetensors_bytes({"w": np.arange(4, dtype=np.float32)}))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_from_file_url(tmp_path, source):
    remote, digest = source
    target = tmp_path / "cache" / "w.safetensors"
    target.parent.mkdir()
    assert download_weights(remote.as_uri(), target, digest.upper()) == str(target)
    assert target.read_bytes() == remote.read_bytes()
    assert list(load_weights(target)) == ["w"]


def test_download_checksum_mismatch_writes_nothing(tmp_path, source):
    remote, _ = source
    target = tmp_path / "w.safetensors"
    with pytest.raises(ChecksumError, match="expected 0000"):
        download_weights(remote.as_uri(), target, "0" * 64)
    assert list(tmp_path.iterdir()) == [remote]  # no file, no temporary left behind


def test_download_skipped_when_file_is_good(tmp_path, source, monkeypatch):
    remote, digest = source
    target = tmp_path / "w.safetensors"
    target.write_bytes(remote.read_bytes())

    def no_network(*args, **kwargs):
        raise AssertionError("downloaded although the file was there")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert download_weights("https://example.invalid/w.safetensors", target, digest)


def test_download_argument_checks(tmp_path, source):
    remote, digest = source
    with pytest.raises(ValueError, match="64 hexadecimal"):
        download_weights(remote.as_uri(), tmp_path / "w", "abc")
    with pytest.raises(ValueError, match="scheme 'ftp'"):
        download_weights("ftp://127.0.0.1/w", tmp_path / "w", digest)


def test_download_over_local_http(tmp_path, source):
    remote, digest = source

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(remote.parent), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{remote.name}"
        target = tmp_path / "http.safetensors"
        download_weights(url, target, digest, timeout=10)
        assert target.read_bytes() == remote.read_bytes()
        with pytest.raises(DownloadError, match="404"):
            download_weights(url + ".missing", tmp_path / "x", digest, timeout=10)
    finally:
        server.shutdown()
        server.server_close()


def test_download_without_network_is_a_clear_error(tmp_path, source):
    _, digest = source
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"127\.0\.0\.1:{port}.*network"):
        download_weights(f"http://127.0.0.1:{port}/w", tmp_path / "w", digest, timeout=5)
    assert not (tmp_path / "w").exists()
