"""Splitting a dataset: at random, stratified by label, or into train / validation / test.

Every split draws from ``generator=`` or ``seed=`` when given, else from
``rosenblatt.random.generator()`` (``rb.manual_seed`` fixes it). Sizes are given as counts that
add up to ``len(dataset)`` or as fractions that add up to 1; fractions become counts by flooring
and handing the remaining samples out one at a time, first part first (as PyTorch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _rng
from .dataset import Subset

__all__ = ["random_split", "stratified_split", "stratified_indices", "train_val_test_split",
           "split_sizes"]


def split_sizes(n: int, lengths: Sequence[float]) -> list[int]:
    """Counts for ``lengths``: integers summing to ``n``, or fractions summing to 1."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("no lengths given")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in lengths):
        if sum(lengths) != n or any(v < 0 for v in lengths):
            raise ValueError(f"lengths {lengths} must be non-negative and add up to the dataset "
                             f"size {n}")
        return [int(v) for v in lengths]
    fractions = [float(v) for v in lengths]
    if any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions {fractions} must be non-negative and add up to 1 (or pass "
                         f"counts that add up to {n})")
    sizes = [int(np.floor(n * f)) for f in fractions]
    for k in range(n - sum(sizes)):
        sizes[k % len(sizes)] += 1
    return sizes


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None,
                 seed: int | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given sizes.

    >>> a, b = random_split(range(10), [0.8, 0.2], seed=0)
    >>> len(a), len(b)
    (8, 2)
    """
    n = len(dataset)
    sizes = split_sizes(n, lengths)
    order = _rng.resolve(generator, seed).permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[bounds[k]:bounds[k + 1]]) for k in range(len(sizes))]


def _labels_of(dataset: Any, labels: Any) -> np.ndarray:
    if labels is not None:
        out = np.asarray(labels)
    elif getattr(dataset, "targets", None) is not None:
        out = np.asarray(dataset.targets)
    else:  # read every sample's second field
        out = np.asarray([np.asarray(dataset[i][1]) for i in range(len(dataset))])
    if out.ndim != 1 or len(out) != len(dataset):
        raise ValueError(f"stratified split needs one label per sample: got labels of shape "
                         f"{out.shape} for {len(dataset)} samples")
    return out


def stratified_indices(labels: Any, lengths: Sequence[float], generator: Any = None,
                       seed: int | None = None) -> list[np.ndarray]:
    """Index arrays (sorted) for each part, keeping every class's share in every part.

    ``lengths`` are fractions (summing to 1) or counts (converted to fractions of the whole).
    Each class c with n_c samples is shuffled and cut into parts of sizes
    ``split_sizes(n_c, fractions)``, so part k holds ≈ f_k·n_c samples of class c; the parts'
    totals can differ by a few samples from f_k·n.
    """
    y = np.asarray(labels)
    n = len(y)
    counts = split_sizes(n, lengths)
    fractions = [c / n for c in counts] if n else [1.0 / len(counts)] * len(counts)
    g = _rng.resolve(generator, seed)
    parts: list[list[np.ndarray]] = [[] for _ in counts]
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        members = members[g.permutation(len(members))]
        bounds = np.cumsum([0, *split_sizes(len(members), fractions)])
        for k in range(len(counts)):
            parts[k].append(members[bounds[k]:bounds[k + 1]])
    return [np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts]


def stratified_split(dataset: Any, lengths: Sequence[float], labels: Any = None,
                     generator: Any = None, seed: int | None = None) -> list[Subset]:
    """``random_split`` keeping class proportions: ``Subset``s from ``stratified_indices``.

    Labels come from ``labels``, else ``dataset.targets``, else each sample's second field.
    """
    y = _labels_of(dataset, labels)
    return [Subset(dataset, idx) for idx in stratified_indices(y, lengths, generator, seed)]


def train_val_test_split(dataset: Any, val: float = 0.1, test: float = 0.1,
                         stratify: bool = False, labels: Any = None, generator: Any = None,
                         seed: int | None = None) -> tuple[Subset, Subset, Subset]:
    """(train, val, test) ``Subset``s with fractions ``1 − val − test``, ``val``, ``test``;
    stratified by label when ``stratify`` (or when ``labels`` is given)."""
    if val < 0 or test < 0 or val + test >= 1:
        raise ValueError(f"need val >= 0, test >= 0 and val + test < 1, got {val}, {test}")
    fractions = [1.0 - val - test, val, test]
    if stratify or labels is not None:
        parts = stratified_split(dataset, fractions, labels, generator, seed)
    else:
        parts = random_split(dataset, fractions, generator, seed)
    return parts[0], parts[1], parts[2]
