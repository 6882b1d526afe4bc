"""random_split, stratified splits and train/val/test: sizes, disjointness, class proportions,
and determinism under the seed."""

from __future__ import annotations

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt.data import (
    Digits,
    TensorDataset,
    random_split,
    split_sizes,
    stratified_indices,
    stratified_split,
    train_val_test_split,
)


def test_split_sizes_counts_and_fractions():
    assert split_sizes(10, [7, 3]) == [7, 3]
    assert split_sizes(10, [0.8, 0.2]) == [8, 2]
    assert split_sizes(11, [0.5, 0.25, 0.25]) == [6, 3, 2]  # floors 5, 2, 2; 2 left over
    with pytest.raises(ValueError, match="add up"):
        split_sizes(10, [5, 4])
    with pytest.raises(ValueError, match="add up to 1"):
        split_sizes(10, [0.5, 0.4])


def test_random_split_is_a_partition_fixed_by_the_seed():
    ds = TensorDataset(np.arange(50))
    rb.manual_seed(4)
    parts = random_split(ds, [0.6, 0.2, 0.2])
    idx = [p.indices for p in parts]
    assert [len(i) for i in idx] == [30, 10, 10]
    assert sorted(np.concatenate(idx).tolist()) == list(range(50))
    rb.manual_seed(4)
    again = random_split(ds, [0.6, 0.2, 0.2])
    for a, b in zip(parts, again, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
    seeded = [p.indices for p in random_split(ds, [25, 25], seed=1)]
    np.testing.assert_array_equal(seeded[0], random_split(ds, [25, 25], seed=1)[0].indices)


def test_stratified_split_keeps_class_proportions():
    y = np.repeat(np.arange(3), [60, 30, 10])
    parts = stratified_indices(y, [0.7, 0.2, 0.1], seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))
    for part, frac in zip(parts, [0.7, 0.2, 0.1], strict=True):
        counts = np.bincount(y[part], minlength=3)
        np.testing.assert_array_equal(counts, np.round(np.array([60, 30, 10]) * frac))


def test_stratified_split_on_the_digits_uses_targets():
    ds = Digits()
    train, val = stratified_split(ds, [0.8, 0.2], seed=0)
    assert len(train) + len(val) == len(ds)
    share = np.bincount(ds.targets) / len(ds)
    for part in (train, val):
        part_share = np.bincount(part.targets, minlength=10) / len(part)
        np.testing.assert_allclose(part_share, share, atol=0.01)
    assert not set(train.indices.tolist()) & set(val.indices.tolist())


def test_stratified_split_reads_labels_from_samples():
    x = np.arange(20, dtype=np.float32)
    y = np.array([0] * 10 + [1] * 10)
    a, b = stratified_split(TensorDataset(x, y), [0.5, 0.5], seed=3)
    assert np.bincount(y[a.indices]).tolist() == [5, 5]


def test_train_val_test_split():
    ds = Digits()
    tr, va, te = train_val_test_split(ds, val=0.1, test=0.2, stratify=True, seed=0)
    assert len(tr) + len(va) + len(te) == len(ds)
    assert abs(len(te) - 0.2 * len(ds)) <= 10 and abs(len(va) - 0.1 * len(ds)) <= 10
    tr2, va2, te2 = train_val_test_split(ds, val=0.1, test=0.2, seed=0)
    assert [len(tr2), len(va2), len(te2)] == [1258, 180, 359]  # floors 1257, 179, 359 + 2 left over
    with pytest.raises(ValueError):
        train_val_test_split(ds, val=0.5, test=0.5)
