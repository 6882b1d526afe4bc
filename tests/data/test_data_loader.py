"""Datasets, collation and DataLoader: batching, shuffling under the seed, the TensorDataset fast
path, background prefetching, batch transforms, and training with ``model.fit(loader)``."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Digits,
    Subset,
    TensorDataset,
    TransformDataset,
    default_collate,
    stratified_split,
)
from rosenblatt.data import transforms as T


def arrays(n: int = 10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


class Squares(Dataset):
    """A plain map-style dataset without a fast path."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full((2,), float(i), np.float32), i * i


# ------------------------------------------------------------------------------ datasets
def test_tensor_dataset_items_and_lengths():
    x, y = arrays()
    ds = TensorDataset(x, rb.tensor(y))
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == 3 and isinstance(ds.arrays[1], np.ndarray)
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(x, y[:5])
    assert "float32[10, 3]" in repr(ds)


def test_subset_concat_and_add():
    x, y = arrays()
    ds = TensorDataset(x, y)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7 and sub[2][1] == 5
    both = ds + Squares(4)
    assert isinstance(both, ConcatDataset) and len(both) == 14
    assert both[9][1] == 9 and both[10][1] == 0 and both[13][1] == 9 and both[-1][1] == 9
    with pytest.raises(IndexError):
        both[14]
    with pytest.raises(IndexError):
        Subset(ds, [10])


def test_default_collate_types():
    batch = default_collate([(np.ones(2, np.float32), 1, 0.5, "a", {"k": True}),
                             (np.zeros(2, np.float32), 2, 1.5, "b", {"k": False})])
    x, i, f, s, d = batch
    assert x.shape == (2, 2) and x.dtype == np.float32
    assert i.dtype == np.int64 and f.dtype == np.float32 and s == ["a", "b"]
    assert d["k"].dtype == bool and d["k"].tolist() == [True, False]
    tensors = default_collate([rb.tensor([1.0, 2.0]), rb.tensor([3.0, 4.0])])
    assert isinstance(tensors, np.ndarray) and tensors.shape == (2, 2)
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.ones(2), np.ones(3)])


# ------------------------------------------------------------------------------ batching
def test_loader_batches_in_order_with_short_last_batch():
    x, y = arrays(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    dropped = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(b[1]) for b in dropped] == [4, 4]


def test_shuffle_is_a_permutation_fixed_by_manual_seed():
    x, y = arrays(20)
    loader = DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True)
    rb.manual_seed(3)
    first = np.concatenate([b[1] for b in loader])
    second = np.concatenate([b[1] for b in loader])
    assert sorted(first.tolist()) == list(range(20))
    assert not np.array_equal(first, second)  # a new order every epoch
    rb.manual_seed(3)
    again = np.concatenate([b[1] for b in loader])
    np.testing.assert_array_equal(first, again)


def test_loader_seed_gives_its_own_stream():
    x, y = arrays(20)
    a = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True, seed=5)
    b = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True, seed=5)
    rb.manual_seed(0)
    ya = next(iter(a))[1]
    rb.manual_seed(99)  # the global seed does not matter
    yb = next(iter(b))[1]
    np.testing.assert_array_equal(ya, yb)
    with pytest.raises(ValueError, match="either seed"):
        DataLoader(TensorDataset(x, y), seed=1, generator=np.random.default_rng(1))


def test_fast_path_equals_per_sample_collate():
    x, y = arrays(13)
    ds = TensorDataset(x, y)
    calls = []

    def collate(samples):
        calls.append(len(samples))
        return default_collate(samples)

    for shuffle in (False, True):
        rb.manual_seed(1)
        fast = list(DataLoader(ds, batch_size=5, shuffle=shuffle))
        rb.manual_seed(1)
        slow = list(DataLoader(ds, batch_size=5, shuffle=shuffle, collate_fn=collate))
        for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(fx, sx)
            np.testing.assert_array_equal(fy, sy)
    assert calls == [5, 5, 3, 5, 5, 3]
    sub = Subset(ds, [4, 0, 9])
    np.testing.assert_array_equal(sub.get_batch(np.array([2, 0]))[1], [9, 4])


def test_fast_path_is_one_index_per_array_not_per_sample():
    class Counting(TensorDataset):
        items = 0

        def __getitem__(self, i):
            Counting.items += 1
            return super().__getitem__(i)

    x, y = arrays(100)
    for _ in DataLoader(Counting(x, y), batch_size=10, shuffle=True):
        pass
    assert Counting.items == 0


def test_generic_dataset_and_len():
    loader = DataLoader(Squares(7), batch_size=3)
    xs, ys = zip(*loader, strict=True)
    assert len(loader) == 3
    assert ys[-1].tolist() == [36] and xs[0].shape == (3, 2)


# ------------------------------------------------------------------------------ prefetch
def test_prefetch_gives_the_same_batches_with_random_transforms():
    x = np.random.default_rng(0).random((30, 1, 6, 6)).astype(np.float32)
    y = np.arange(30)
    ds = TransformDataset(TensorDataset(x, y), T.Compose([T.RandomCrop(4),
                                                          T.RandomHorizontalFlip()]))
    out = {}
    for prefetch in (0, 3):
        rb.manual_seed(7)
        loader = DataLoader(ds, batch_size=4, shuffle=True, prefetch=prefetch)
        out[prefetch] = [b for epoch in range(2) for b in loader]
    assert len(out[0]) == 16
    for (ax, ay), (bx, by) in zip(out[0], out[3], strict=True):
        np.testing.assert_array_equal(ax, bx)
        np.testing.assert_array_equal(ay, by)


def test_prefetch_reraises_errors_and_stops_on_break():
    class Broken(Squares):
        def __getitem__(self, i):
            if i == 5:
                raise RuntimeError("bad sample 5")
            return super().__getitem__(i)

    with pytest.raises(RuntimeError, match="bad sample 5"):
        list(DataLoader(Broken(10), batch_size=2, prefetch=2))
    before = threading.active_count()
    it = iter(DataLoader(Squares(1000), batch_size=1, prefetch=2))
    next(it)
    it.close()  # what `break` does to a for loop's generator
    assert threading.active_count() <= before
    with pytest.raises(ValueError):
        DataLoader(Squares(3), prefetch=-1)


def test_model_draws_do_not_change_the_batches():
    x = np.random.default_rng(0).random((12, 1, 4, 4)).astype(np.float32)
    ds = TransformDataset(TensorDataset(x, np.arange(12)), T.RandomHorizontalFlip())
    rb.manual_seed(2)
    plain = [b[0] for b in DataLoader(ds, batch_size=4, shuffle=True)]
    rb.manual_seed(2)
    mixed = []
    for b in DataLoader(ds, batch_size=4, shuffle=True):
        rb.randn(5)  # the model drawing between batches (dropout)
        mixed.append(b[0])
    for a, b in zip(plain, mixed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_transform_mixup_in_the_loader():
    x, y = arrays(8)
    loader = DataLoader(TensorDataset(x, y), batch_size=4,
                        batch_transform=T.Mixup(0.4, num_classes=8))
    bx, by = next(iter(loader))
    assert by.shape == (4, 8) and by.dtype == np.float32
    np.testing.assert_allclose(by.sum(axis=1), 1.0, rtol=1e-6)


# ------------------------------------------------------------------------------ fit
def test_fit_trains_on_a_loader_over_the_bundled_digits():
    train, val = stratified_split(Digits(), [0.8, 0.2], seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    loader = DataLoader(train, batch_size=64, shuffle=True)
    history = model.fit(loader, epochs=1, verbose=0,
                        validation_data=DataLoader(val, batch_size=256))
    assert np.isfinite(history.history["loss"][0])
    assert "val_accuracy" in history.history


def test_fit_learns_digits_with_mixup_soft_labels():
    rb.manual_seed(0)
    train, val = stratified_split(Digits(), [0.8, 0.2], seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    model.compile(optimizer="adam", loss="cross_entropy")
    loader = DataLoader(train, batch_size=32, shuffle=True,
                        batch_transform=T.Mixup(0.2, num_classes=10), prefetch=2)
    model.fit(loader, epochs=6, verbose=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    logs = model.evaluate(DataLoader(val, batch_size=512), verbose=0, return_dict=True)
    assert logs["accuracy"] > 0.85


def test_fit_on_an_augmenting_prefetching_loader_resumes_bit_exactly(tmp_path):
    from rosenblatt.callbacks import ModelCheckpoint

    x = np.random.default_rng(0).random((120, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(np.int64)
    ds = TransformDataset(TensorDataset(x, y), T.Compose([T.RandomCrop(8, padding=1),
                                                          T.RandomHorizontalFlip()]))

    def build(seed):
        rb.manual_seed(seed)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(16, 2))
        model.compile(optimizer="adam", loss="cross_entropy")
        return model

    def loader():
        return DataLoader(ds, batch_size=16, shuffle=True, prefetch=2)

    full = build(0)
    h_full = full.fit(loader(), epochs=4, verbose=0,
                      callbacks=[ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    resumed = build(1)
    h = resumed.fit(loader(), epochs=4, verbose=0, resume_from=tmp_path / "e2.npz",
                    callbacks=[ModelCheckpoint(str(tmp_path / "r{epoch}.npz"))])
    assert h.history["loss"] == h_full.history["loss"]
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
