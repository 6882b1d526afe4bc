"""The restricted PyTorch reader: files written by real ``torch.save`` (zip and legacy formats)
come back bit-exactly, and malicious pickles are refused before anything in them runs."""

import os
import pickle
import struct
import subprocess
import sys
import tarfile
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt.io import (
    UnsafePickleError,
    WeightsFormatError,
    load_torch,
    load_torch_state_dict,
    load_weights,
    torch_format,
    torch_pickle,
)

torch = pytest.importorskip("torch")

FORMATS = pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])


def save(obj, path, legacy=False, **kwargs):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy, **kwargs)
    return path


def expected_array(t):
    t = t.detach()
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.resolve_conj().numpy()


def assert_bit_exact(ours, tensor):
    want = expected_array(tensor)
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == want.dtype and ours.shape == want.shape
    assert ours.flags.c_contiguous and ours.dtype.isnative
    assert ours.tobytes() == np.ascontiguousarray(want).tobytes()


def assert_state_dicts_equal(ours, theirs):
    assert list(ours) == list(theirs)  # keys exactly, in order
    for key, tensor in theirs.items():
        assert_bit_exact(ours[key], tensor)


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


# ---------------------------------------------------------------------------------------------
# real torch files
# ---------------------------------------------------------------------------------------------


@FORMATS
def test_linear_state_dict(tmp_path, legacy):
    torch.manual_seed(0)
    sd = torch.nn.Linear(7, 3).state_dict()
    ours = load_torch_state_dict(save(sd, tmp_path / "linear.pth", legacy))
    assert_state_dicts_equal(ours, sd)


@FORMATS
def test_cnn_with_batchnorm(tmp_path, legacy):
    torch.manual_seed(0)
    model = SmallCNN()
    model(torch.randn(2, 3, 8, 8))  # running statistics and num_batches_tracked move
    sd = model.state_dict()
    assert sd["features.1.num_batches_tracked"].dtype == torch.int64
    tree = load_torch(save(sd, tmp_path / "cnn.pt", legacy))
    assert isinstance(tree, OrderedDict)  # the state dict's _metadata (set by BUILD) is dropped
    assert_state_dicts_equal(tree, sd)
    assert tree["features.1.num_batches_tracked"].shape == ()


DTYPES = [torch.float16, torch.float32, torch.float64, torch.bfloat16, torch.int8, torch.int16,
          torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128]


@FORMATS
def test_every_dtype(tmp_path, legacy):
    torch.manual_seed(0)
    tensors = {}
    for dtype in DTYPES:
        base = torch.randn(3, 4, dtype=torch.float64) * 100
        tensors[str(dtype)] = base.to(dtype) if dtype != torch.bool else base > 0
    special = torch.tensor([float("nan"), -0.0, float("inf"), -float("inf"), 1e-40, 65504.0])
    for dtype in (torch.float16, torch.float32, torch.float64, torch.bfloat16):
        tensors[f"special {dtype}"] = special.to(dtype)
    tensors["nan payload"] = torch.from_numpy(np.array([0x7FC00001, 0xFFFFFFFF],
                                                       dtype=np.uint32).view(np.float32))
    ours = load_torch(save(tensors, tmp_path / "dtypes.pth", legacy))
    for key, tensor in tensors.items():
        assert_bit_exact(ours[key], tensor)
    assert ours["torch.bfloat16"].dtype == np.float32  # bfloat16 → float32, exactly


def test_dtypes_without_legacy_storage(tmp_path):
    """uint16/32/64 are pickled with _rebuild_tensor_v3 and an UntypedStorage."""
    tensors = {str(d): torch.tensor([0, 1, 2**15, 2**16 - 1], dtype=torch.int64).to(d)
               for d in (torch.uint16, torch.uint32, torch.uint64)}
    ours = load_torch(save(tensors, tmp_path / "unsigned.pth"))
    for key, tensor in tensors.items():
        assert_bit_exact(ours[key], tensor)


@FORMATS
def test_non_contiguous_and_shared_storages(tmp_path, legacy):
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    tensors = {
        "transposed": base.t(),
        "strided": base[::2, 1::3],
        "offset_row": base[4],
        "column": base[:, 7],
        "expanded": torch.arange(3.0).reshape(3, 1).expand(3, 5),  # stride 0
        "permuted": torch.arange(24).reshape(2, 3, 4).permute(2, 0, 1),
        "scalar": base[2, 3],
        "empty": base[:0, :],
        "same": base,
        "alias": base.view(10, 6),
    }
    assert tensors["transposed"].untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    ours = load_torch(save(tensors, tmp_path / "views.pth", legacy))
    for key, tensor in tensors.items():
        assert_bit_exact(ours[key], tensor)
    ours["same"][0, 0] = -1.0  # every tensor is its own copy
    assert ours["alias"][0, 0] == 0.0 and ours["transposed"][0, 0] == 0.0


@FORMATS
def test_checkpoint_dict_and_key(tmp_path, legacy):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    ema = OrderedDict((k, v * 0.5) for k, v in model.state_dict().items())
    checkpoint = {"epoch": 3, "state_dict": model.state_dict(), "ema": ema,
                  "optimizer": optimizer.state_dict(), "best": 0.25, "arch": "mlp"}
    path = save(checkpoint, tmp_path / "checkpoint.pth", legacy)

    assert_state_dicts_equal(load_torch_state_dict(path), model.state_dict())
    assert_state_dicts_equal(load_torch_state_dict(path, key="ema"), ema)
    tree = load_torch(path)
    assert tree["epoch"] == 3 and tree["best"] == 0.25 and tree["arch"] == "mlp"
    state = tree["optimizer"]["state"]
    assert set(state) == {0, 1, 2, 3}
    assert_bit_exact(state[0]["momentum_buffer"], optimizer.state_dict()["state"][0][
        "momentum_buffer"])
    assert tree["optimizer"]["param_groups"][0]["lr"] == 0.1
    with pytest.raises(WeightsFormatError, match="no entry 'nope'"):
        load_torch_state_dict(path, key="nope")
    with pytest.raises(WeightsFormatError, match="not a flat state dict"):
        load_torch_state_dict(path, key="optimizer")

    nested = save({"model": {"net": model.state_dict()}}, tmp_path / "nested.pt", legacy)
    assert_state_dicts_equal(load_torch_state_dict(nested, key="model/net"), model.state_dict())
    assert_state_dicts_equal(
        load_torch_state_dict(save({"model": model.state_dict(), "step": 1},
                                   tmp_path / "model.pt", legacy)), model.state_dict())
    with pytest.raises(WeightsFormatError, match="holds no state dict"):
        load_torch_state_dict(save({"step": 1, "weights": [1]}, tmp_path / "x.pt", legacy))


def test_other_values_and_pickle_protocol_4(tmp_path):
    obj = {"device": torch.device("cuda", 1), "cpu": torch.device("cpu"), "dtype": torch.half,
           "size": torch.Size([2, 3]), "bytes": b"\x00\xff", "set": {1, 2},
           "frozen": frozenset({"a"}), "complex": 1 + 2j, "list": [torch.ones(2), (3, "x")],
           "param": torch.nn.Parameter(torch.ones(2, 2)), "conj": torch.tensor([1 + 2j]).conj()}
    for protocol in (2, 4):
        tree = load_torch(save(obj, tmp_path / f"values{protocol}.pth", pickle_protocol=protocol))
        assert tree["device"] == "cuda:1" and tree["cpu"] == "cpu"
        assert tree["dtype"] == "torch.float16" and tree["size"] == (2, 3)
        assert tree["bytes"] == b"\x00\xff" and tree["set"] == {1, 2}
        assert tree["frozen"] == frozenset({"a"}) and tree["complex"] == 1 + 2j
        assert_bit_exact(tree["list"][0], obj["list"][0])
        assert tree["list"][1] == (3, "x")
        assert_bit_exact(tree["param"], obj["param"])
        assert_bit_exact(tree["conj"], obj["conj"])


def test_tensors_with_python_state(tmp_path):
    """Tensors with attributes go through _rebuild_from_type_v2 / _rebuild_parameter_with_state;
    the attributes are dropped."""
    tensor, param = torch.ones(2), torch.nn.Parameter(torch.arange(3.0))
    tensor.note, param.note = 1, "x"
    tree = load_torch(save({"t": tensor, "p": param}, tmp_path / "state.pth"))
    assert_bit_exact(tree["t"], tensor)
    assert_bit_exact(tree["p"], param)


def test_reading_never_imports_torch(tmp_path):
    path = save({"w": torch.ones(2, 3)}, tmp_path / "w.pth")
    code = ("import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
            "from rosenblatt.io import load_weights\n"
            f"print(load_weights({str(path)!r})['w'].sum())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "6.0"


def test_storage_alone(tmp_path):
    tensor = torch.arange(5, dtype=torch.int16)
    out = load_torch(save(tensor.untyped_storage(), tmp_path / "storage.pt"))
    assert out.dtype == np.uint8 and out.tobytes() == tensor.numpy().tobytes()


def test_loads_into_rosenblatt_model(tmp_path):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.BatchNorm1d(16),
                                 torch.nn.ReLU(), torch.nn.Linear(16, 3))
    theirs.train()
    theirs(torch.randn(32, 6) * 3 + 1)
    theirs.eval()
    path = save(theirs.state_dict(), tmp_path / "mlp.pth")

    ours = rb.nn.Sequential(rb.nn.Linear(6, 16), rb.nn.BatchNorm1d(16), rb.nn.ReLU(),
                            rb.nn.Linear(16, 3))
    ours.load_state_dict(load_weights(path))
    ours.eval()
    x = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(rb.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)


def test_loads_into_rosenblatt_cnn(tmp_path):
    if getattr(rb.nn, "Conv2d", None) is None:
        pytest.skip("rosenblatt.nn has no Conv2d yet")
    torch.manual_seed(0)
    theirs = SmallCNN().eval()
    ours = rb.nn.Sequential(rb.nn.Conv2d(3, 4, 3), rb.nn.BatchNorm2d(4), rb.nn.ReLU())
    sd = load_weights(save(theirs.state_dict(), tmp_path / "cnn.pth"))
    ours.load_state_dict({k[len("features."):]: v for k, v in sd.items()
                          if k.startswith("features.")})
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = theirs.features(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(rb.tensor(x)).detach().numpy(), want, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# formats we refuse, clearly
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_archive_refused(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(path))
    with pytest.raises(WeightsFormatError, match="TorchScript"):
        load_torch(path)


def test_whole_module_refused(tmp_path):
    path = save(torch.nn.Linear(2, 2), tmp_path / "module.pth")
    with pytest.raises(UnsafePickleError, match=r"torch\.nn\.modules\.linear\.Linear.*"
                                               r"state_dict\(\)"):
        load_torch(path)


def test_not_torch_files(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"hello, not a checkpoint")
    with pytest.raises(WeightsFormatError, match=r"junk\.pth.*not a PyTorch file"):
        load_torch(junk)
    plain = tmp_path / "plain.pth"
    plain.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    with pytest.raises(WeightsFormatError, match="plain pickles are never loaded"):
        load_torch(plain)
    tar_path = tmp_path / "old.pth"
    member = tmp_path / "storages"
    member.write_bytes(b"x")
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(member, arcname="storages")
    with pytest.raises(WeightsFormatError, match="tar format"):
        load_torch(tar_path)
    other_zip = tmp_path / "other.pth"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(WeightsFormatError, match="not one written by torch.save"):
        load_torch(other_zip)
    with pytest.raises(FileNotFoundError):
        load_torch(tmp_path / "missing.pth")


def test_float8_refused_clearly(tmp_path):
    path = save({"w": torch.zeros(2, dtype=torch.float8_e4m3fn)}, tmp_path / "f8.pth")
    with pytest.raises(WeightsFormatError, match="float8_e4m3fn has no NumPy equivalent"):
        load_torch(path)


# ---------------------------------------------------------------------------------------------
# hand-made pickles: corrupt and malicious files
# ---------------------------------------------------------------------------------------------


def op_global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def op_str(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def op_int(value):
    return b"J" + struct.pack("<i", value)


def op_tuple(*items):
    return b"(" + b"".join(items) + b"t"


def tensor_pickle(size, stride, offset=0, numel=6, storage=b"FloatStorage"):
    """Protocol-2 bytes of one tensor, as torch writes it."""
    pid = op_tuple(op_str("storage"), op_global("torch", storage.decode()), op_str("0"),
                   op_str("cpu"), op_int(numel)) + b"Q"
    args = op_tuple(pid, op_int(offset), op_tuple(*map(op_int, size)),
                    op_tuple(*map(op_int, stride)), b"\x89",
                    op_global("collections", "OrderedDict") + b")R")
    return b"\x80\x02" + op_global("torch._utils", "_rebuild_tensor_v2") + args + b"R."


def torch_zip(path, data_pkl, storages=None, prefix="archive", byteorder="little"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{prefix}/data.pkl", data_pkl)
        zf.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in (storages or {}).items():
            zf.writestr(f"{prefix}/data/{key}", raw)
        zf.writestr(f"{prefix}/version", "3\n")
    return path


def test_hand_made_file_reads(tmp_path):
    raw = np.arange(6, dtype="<f4").tobytes()
    path = torch_zip(tmp_path / "ok.pth", tensor_pickle((3, 2), (1, 3)), {"0": raw})
    np.testing.assert_array_equal(load_torch(path), np.arange(6.0).reshape(2, 3).T)


def test_big_endian_file(tmp_path):
    raw = np.arange(6, dtype=">f4").tobytes()
    path = torch_zip(tmp_path / "big.pth", tensor_pickle((2, 3), (3, 1)), {"0": raw},
                     prefix="big", byteorder="big")
    out = load_torch(path)
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, np.arange(6.0).reshape(2, 3))


def test_damaged_zip(tmp_path):
    raw = np.arange(6, dtype="<f4").tobytes()
    path = torch_zip(tmp_path / "ok.pth", tensor_pickle((6,), (1,)), {"0": raw})
    data = bytearray(path.read_bytes())
    data[data.index(raw) + 2] ^= 0xFF  # flip a bit in the storage: the CRC check fails
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsFormatError, match=r"ok\.pth.*damaged zip"):
        load_torch(path)
    path.write_bytes(bytes(data[:100]))
    with pytest.raises(WeightsFormatError, match="damaged zip"):
        load_torch(path)


@pytest.mark.parametrize("size, stride, offset, numel, match", [
    ((3, 2), (1, 4), 0, 6, "reaches element 6"),
    ((2, 3), (3, 1), 1, 6, "reaches element 6"),
    ((1000000, 1000000), (1, 1), 0, 6, "reaches element"),
    ((2,), (1,), -1, 6, "not a non-negative integer"),
    ((2, 2), (1,), 0, 6, "size .* but stride"),
    ((2,), (1,), 0, 7, "has 24 bytes, its tensors need 28"),
])
def test_corrupt_tensors_refused(tmp_path, size, stride, offset, numel, match):
    raw = np.arange(6, dtype="<f4").tobytes()
    path = torch_zip(tmp_path / "bad.pth", tensor_pickle(size, stride, offset, numel), {"0": raw})
    with pytest.raises(WeightsFormatError, match=match):
        load_torch(path)


def test_missing_storage_entry(tmp_path):
    path = torch_zip(tmp_path / "nodata.pth", tensor_pickle((2,), (1,)))
    with pytest.raises(WeightsFormatError, match="archive/data/0.*missing"):
        load_torch(path)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a payload ran"


class Evil:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def payloads(marker):
    python = f"open({str(marker)!r}, 'w').write('ran')"
    return {
        "posix.system": Evil(os.system, f"touch {marker}"),
        "builtins.exec": Evil(exec, python),
        "builtins.eval": Evil(eval, python),
        "subprocess.Popen": Evil(subprocess.Popen, ["touch", str(marker)]),
        "builtins.getattr": Evil(getattr, "text", "upper"),
    }


@pytest.mark.parametrize("name", ["posix.system", "builtins.exec", "builtins.eval",
                                  "subprocess.Popen", "builtins.getattr"])
@pytest.mark.parametrize("protocol", [2, 4])
def test_malicious_zip_refused(tmp_path, marker, name, protocol):
    if name == "posix.system" and os.name != "posix":
        pytest.skip("os.system lives in nt on Windows")
    data = pickle.dumps({"w": payloads(marker)[name]}, protocol=protocol)
    path = torch_zip(tmp_path / "evil.pth", data, {})
    with pytest.raises(UnsafePickleError, match=rf"evil\.pth.*forbidden global {name}"):
        load_torch(path)
    with pytest.raises(UnsafePickleError):
        load_weights(path)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_raw_pickle_refused(tmp_path, marker, protocol):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(payloads(marker)["builtins.exec"], protocol=protocol))
    with pytest.raises(UnsafePickleError, match="builtins.exec|opcode INST|opcode OBJ"):
        load_torch(path)


def test_malicious_legacy_stream_refused(tmp_path, marker):
    path = tmp_path / "evil_legacy.pth"
    with open(path, "wb") as f:
        for obj in (torch_format.LEGACY_MAGIC_NUMBER, torch_format.LEGACY_PROTOCOL_VERSION,
                    {"little_endian": True}, payloads(marker)["builtins.eval"]):
            pickle.dump(obj, f, protocol=2)
    with pytest.raises(UnsafePickleError, match="forbidden global builtins.eval"):
        load_torch(path)


@pytest.mark.parametrize("module, name", [
    ("os", "system"),
    ("torch._utils", "something_else"),
    ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch", "load"),
    ("torch.serialization", "load"),
    ("collections", "OrderedDictX"),
    ("numpy.core.multiarray", "_reconstruct"),
])
def test_globals_outside_the_allow_list(tmp_path, marker, module, name):
    data = b"\x80\x02" + op_global(module, name) + op_tuple(op_str(f"touch {marker}")) + b"R."
    path = torch_zip(tmp_path / "evil.pth", data)
    with pytest.raises(UnsafePickleError, match=rf"forbidden global {module}\.{name}:"):
        load_torch(path)


def test_find_class_alone_stops_payloads(tmp_path, marker, monkeypatch):
    """Defence in depth: with the opcode scan switched off, find_class still refuses."""
    monkeypatch.setattr(torch_pickle, "_scan", lambda data: None)
    path = torch_zip(tmp_path / "evil.pth", pickle.dumps(payloads(marker)["posix.system"], 2))
    with pytest.raises(UnsafePickleError, match="forbidden global posix.system"):
        load_torch(path)


def test_find_class_never_imports(tmp_path, monkeypatch):
    module = tmp_path / "rb_import_trap.py"
    module.write_text(f"open({str(tmp_path / 'IMPORTED')!r}, 'w').close()\npayload = print\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for scan in (True, False):
        if not scan:
            monkeypatch.setattr(torch_pickle, "_scan", lambda data: None)
        path = torch_zip(tmp_path / "trap.pth",
                         b"\x80\x02" + op_global("rb_import_trap", "payload") + b")R.")
        with pytest.raises(UnsafePickleError, match="rb_import_trap.payload"):
            load_torch(path)
    assert "rb_import_trap" not in sys.modules
    assert not (tmp_path / "IMPORTED").exists()


@pytest.mark.parametrize("data, match", [
    # BUILD (setting state) on an allowed function
    (op_global("torch._utils", "_rebuild_tensor_v2") + b"}b.", "BUILD.*_rebuild_tensor_v2"),
    # BUILD on a plain dict: pickle itself refuses (no __dict__, no __setstate__)
    (b"}}b.", "malformed or uses an unsupported construct"),
    # calling a storage class
    (op_global("torch", "FloatStorage") + b")R.", "calls torch.FloatStorage"),
    # an OrderedDict given non-dict state
    (op_global("collections", "OrderedDict") + b")R" + op_str("x") + b"b.", "OrderedDict"),
    # opcodes torch never writes
    (b"(" + op_str("x") + b"ios\nsystem\n.", "opcode INST"),
    (op_global("collections", "OrderedDict") + b")\x81.", "opcode NEWOBJ"),
    (b"\x82\x01.", "opcode EXT1"),
])
def test_unsafe_constructs_refused(tmp_path, marker, data, match):
    path = torch_zip(tmp_path / "evil.pth", b"\x80\x02" + data)
    error = WeightsFormatError if "malformed" in match else UnsafePickleError
    with pytest.raises(error, match=match):
        load_torch(path)


def test_error_hierarchy():
    assert issubclass(UnsafePickleError, WeightsFormatError)
    assert issubclass(UnsafePickleError, pickle.UnpicklingError)
    assert issubclass(WeightsFormatError, ValueError)
