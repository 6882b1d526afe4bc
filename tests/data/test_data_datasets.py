"""Real data sets on files the tests write: the bundled digits, IDX (MNIST / Fashion-MNIST, gzipped
and raw), CIFAR binary batches, a folder of PNGs; the search order, the error that says where it
looked, and the checksummed download path (from file:// URLs — nothing leaves the machine)."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from pathlib import Path

import numpy as np
import pytest

from rosenblatt.data import (
    CIFAR10,
    CIFAR100,
    MNIST,
    DataLoader,
    DatasetNotFoundError,
    Digits,
    FashionMNIST,
    ImageFolder,
    load_digits,
    read_idx,
    write_idx,
)
from rosenblatt.data import transforms as T
from rosenblatt.data.datasets import read_cifar_binary


@pytest.fixture(autouse=True)
def _no_cache(tmp_path, monkeypatch):
    """Downloads and cache lookups go to an empty temporary folder; no system folders."""
    monkeypatch.setenv("ROSENBLATT_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(MNIST, "system_dirs", [])
    monkeypatch.setattr(FashionMNIST, "system_dirs", [])


# ------------------------------------------------------------------------------ digits
def test_load_digits_shapes_range_and_classes():
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    ds = Digits()
    img, label = ds[5]
    np.testing.assert_array_equal(img, x[5])
    assert label == y[5] and ds.classes[3] == "3"
    bx, by = ds.get_batch(np.array([0, 5]))
    np.testing.assert_array_equal(bx, x[[0, 5]])


def test_digits_match_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    x, y = load_digits()
    np.testing.assert_array_equal(x.reshape(-1, 64) * 16, d.data)
    np.testing.assert_array_equal(y, d.target)


def test_digits_ship_with_their_licence():
    from rosenblatt.data.datasets import digits

    notice = Path(digits.__file__).with_name("DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in notice and "10.24432/C50P49" in notice and "Alpaydin" in notice


def test_digits_transform_applies_per_sample():
    ds = Digits(transform=T.RandomHorizontalFlip(p=1.0))
    x, _ = load_digits()
    np.testing.assert_array_equal(ds[0][0], x[0][..., ::-1])
    bx, _ = ds.get_batch(slice(0, 3))
    np.testing.assert_array_equal(bx, x[:3][..., ::-1])


# ------------------------------------------------------------------------------ IDX
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(a, b)


def test_idx_header_by_hand(tmp_path):
    raw = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 8, 9])
    (tmp_path / "l.idx").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "l.idx"), [7, 8, 9])
    (tmp_path / "bad.idx").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "junk")


def write_mnist(folder: Path, n: int = 6, gz: bool = True, dotted: bool = False) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    for prefix in ("train", "t10k"):
        for kind, data in (("images-idx3", images), ("labels-idx1", labels)):
            stem = f"{prefix}-{kind}-ubyte"
            if dotted:
                stem = stem.replace("-idx", ".idx")
            write_idx(folder / (stem + (".gz" if gz else "")), data)
    return images


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_root(tmp_path, gz):
    images = write_mnist(tmp_path / "m", gz=gz)
    ds = MNIST(root=tmp_path / "m")
    assert len(ds) == 6 and ds.data.dtype == np.uint8 and ds.targets.dtype == np.int64
    x, y = ds[2]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and y == 2
    np.testing.assert_allclose(x[0], images[2] / 255.0, rtol=1e-6)
    assert len(MNIST(root=tmp_path / "m", train=False)) == 6
    bx, by = next(iter(DataLoader(ds, batch_size=4)))
    assert bx.shape == (4, 1, 28, 28) and by.tolist() == [0, 1, 2, 3]


def test_fashion_mnist_search_order_and_names(tmp_path, monkeypatch):
    write_mnist(tmp_path / "root" / "fashion-mnist", dotted=True, gz=False)
    ds = FashionMNIST(root=tmp_path / "root")
    assert ds.classes[9] == "Ankle boot" and len(ds) == 6
    system = tmp_path / "usr_share"
    write_mnist(system, n=3)
    monkeypatch.setattr(FashionMNIST, "system_dirs", [str(system)])
    assert len(FashionMNIST()) == 3  # no root: the Debian folder


def test_missing_idx_files_say_where_they_looked(tmp_path):
    with pytest.raises(DatasetNotFoundError) as e:
        FashionMNIST(root=tmp_path / "nothing")
    msg = str(e.value)
    assert str(tmp_path / "nothing") in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "download=True" in msg
    assert isinstance(e.value, FileNotFoundError)


def _serve(monkeypatch, cls, folder: Path, tamper: bool = False):
    """Point ``cls``'s mirror at file:// URLs of a local folder with correct checksums."""
    sums = {}
    for f in folder.iterdir():
        sums[f.name.removesuffix(".gz")] = hashlib.sha256(f.read_bytes()).hexdigest()
    if tamper:
        sums = {k: "0" * 64 for k in sums}
    monkeypatch.setattr(cls, "mirrors", [folder.as_uri() + "/"])
    monkeypatch.setattr(cls, "sha256", sums)


def test_download_checks_sha256_and_fills_the_cache(tmp_path, monkeypatch):
    write_mnist(tmp_path / "server", n=4)
    _serve(monkeypatch, MNIST, tmp_path / "server")
    with pytest.raises(DatasetNotFoundError):
        MNIST()  # download=False: never fetched
    ds = MNIST(download=True)
    assert len(ds) == 4
    assert (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    monkeypatch.setattr(MNIST, "mirrors", ["file:///nonexistent/"])
    assert len(MNIST()) == 4  # found in the cache now


def test_download_rejects_a_bad_checksum_and_reports_no_network(tmp_path, monkeypatch):
    write_mnist(tmp_path / "server", n=4)
    _serve(monkeypatch, MNIST, tmp_path / "server", tamper=True)
    with pytest.raises(ValueError, match="checksum mismatch"):
        MNIST(root=tmp_path / "dl", download=True)
    assert not list((tmp_path / "dl").glob("*.gz"))  # nothing half-written kept
    monkeypatch.setattr(MNIST, "mirrors", ["file:///nonexistent/"])
    with pytest.raises(DatasetNotFoundError, match="could not download") as e:
        MNIST(root=tmp_path / "dl", download=True)
    assert "looked in" in str(e.value) and "root=" in str(e.value)


# ------------------------------------------------------------------------------ CIFAR
def cifar_records(n: int, label_bytes: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, (n, label_bytes), dtype=np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    rows = np.concatenate([labels, images.reshape(n, -1)], axis=1)
    return rows.tobytes(), images, labels


def test_cifar10_binary_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    all_images, all_labels = [], []
    for i in range(1, 6):
        raw, images, labels = cifar_records(2, 1, i)
        (folder / f"data_batch_{i}.bin").write_bytes(raw)
        all_images.append(images)
        all_labels.append(labels[:, 0])
    raw, test_images, _ = cifar_records(3, 1, 9)
    (folder / "test_batch.bin").write_bytes(raw)
    (folder / "batches.meta.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n\n")
    ds = CIFAR10(root=tmp_path)
    assert len(ds) == 10 and ds.classes[4] == "c4"
    np.testing.assert_array_equal(ds.data, np.concatenate(all_images))
    np.testing.assert_array_equal(ds.targets, np.concatenate(all_labels))
    x, y = ds[3]
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    # pixel bytes: red plane, then green, then blue
    np.testing.assert_allclose(x[1, 0, 0], np.concatenate(all_images)[3, 1, 0, 0] / 255.0)
    test = CIFAR10(root=folder, train=False)
    np.testing.assert_array_equal(test.data, test_images)


def test_cifar100_fine_and_coarse_labels(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    raw, images, labels = cifar_records(4, 2, 0)
    (folder / "train.bin").write_bytes(raw)
    (folder / "test.bin").write_bytes(raw[: 2 * 3074])
    fine = CIFAR100(root=tmp_path)
    coarse = CIFAR100(root=tmp_path, label="coarse")
    np.testing.assert_array_equal(fine.targets, labels[:, 1])
    np.testing.assert_array_equal(coarse.targets, labels[:, 0])
    assert len(CIFAR100(root=tmp_path, train=False)) == 2 and len(fine.classes) == 100
    (folder / "bad.bin").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="whole number"):
        read_cifar_binary([folder / "bad.bin"], 2)


def test_cifar_download_unpacks_the_archive(tmp_path, monkeypatch):
    src = tmp_path / "src" / "cifar-10-batches-bin"
    src.mkdir(parents=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (src / name).write_bytes(cifar_records(1, 1, 0)[0])
    archive = tmp_path / "server" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-bin")
    monkeypatch.setattr(CIFAR10, "url", archive.as_uri())
    monkeypatch.setattr(CIFAR10, "sha256", hashlib.sha256(archive.read_bytes()).hexdigest())
    with pytest.raises(DatasetNotFoundError, match="binary release"):
        CIFAR10(root=tmp_path / "data")
    monkeypatch.setattr(CIFAR10, "url", "file:///nonexistent/cifar-10-binary.tar.gz")
    with pytest.raises(DatasetNotFoundError, match="download failed"):
        CIFAR10(root=tmp_path / "data", download=True)
    monkeypatch.setattr(CIFAR10, "url", archive.as_uri())
    ds = CIFAR10(root=tmp_path / "data", download=True)
    assert len(ds) == 5 and ds.classes[0] == "airplane"


# ------------------------------------------------------------------------------ ImageFolder
def test_image_folder_reads_pngs_sorted_by_class(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    pixels = {}
    for cls, names in (("dog", ["b.png", "a.png"]), ("cat", ["z.png"])):
        (tmp_path / cls).mkdir()
        for name in names:
            a = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
            Image.fromarray(a).save(tmp_path / cls / name)
            pixels[(cls, name)] = a
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert [p.name for p, _ in ds.samples] == ["z.png", "a.png", "b.png"]
    assert ds.targets.tolist() == [0, 1, 1]
    x, y = ds[1]
    assert x.shape == (3, 5, 7) and x.dtype == np.float32 and y == 1
    np.testing.assert_allclose(x, pixels[("dog", "a.png")].transpose(2, 0, 1) / 255.0,
                               rtol=1e-6)
    grey = ImageFolder(tmp_path, mode="L", transform=T.Resize((4, 4)))
    assert grey[0][0].shape == (1, 4, 4)
    bx, by = next(iter(DataLoader(ds, batch_size=3)))
    assert bx.shape == (3, 3, 5, 7) and by.tolist() == [0, 1, 1]


def test_image_folder_errors(tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(FileNotFoundError, match="no class subfolders"):
        ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="no files"):
        ImageFolder(tmp_path)


def test_gzip_detected_by_content_not_name(tmp_path):
    body = bytes([0, 0, 0x08, 1]) + (2).to_bytes(4, "big") + bytes([1, 2])
    (tmp_path / "plain-name").write_bytes(gzip.compress(body))
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), [1, 2])
