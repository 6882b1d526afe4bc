"""Rosenblatt's perceptron (1958), the namesake of this library: one neuron, a step function and
the perceptron learning rule. No gradients: the rule is error-driven, not a descent on a loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Perceptron"]


class Perceptron:
    """A binary linear classifier trained with the perceptron learning rule.

    Forward: the net input z = w·x + b = x₁w₁ + … + xₙwₙ + b, and the step output

        ŷ = 1 if z ≥ 0 else 0

    (the notes' threshold convention: z = 0 counts as firing, so ``predict`` of an all-zero
    input with the initial w = 0, b = 0 is 1).

    Learning (per sample, in order, epoch after epoch until an epoch makes no mistake):

        w ← w + η (y − ŷ) x,    b ← b + η (y − ŷ)

    Nothing changes when the sample is classified correctly (y − ŷ = 0); a missed 1 pulls w
    towards x, a false 1 pushes it away. Training stops after ``max_epochs`` epochs at most.

    **Convergence theorem** (Rosenblatt; Novikoff 1962): if the classes are linearly separable
    — some w*, b* with margin γ > 0 separate them — the rule makes at most (R/γ)² mistakes
    (R the largest ‖(x, 1)‖), so it stops with zero errors. Otherwise it never stops: every
    epoch makes at least one mistake.

    **XOR is not linearly separable**, so the perceptron cannot learn it. A line would need
    b < 0 (for (0, 0) → 0), w₁ + b ≥ 0 and w₂ + b ≥ 0 (for (1, 0) and (0, 1) → 1) and
    w₁ + w₂ + b < 0 (for (1, 1) → 0). Adding the middle two gives w₁ + w₂ + 2b ≥ 0, so
    w₁ + w₂ + b ≥ −b > 0: a contradiction. No w, b exist; learning XOR takes a hidden layer
    with a non-linearity (a multi-layer perceptron).

    Parameters: ``n_features`` (the length of x), ``lr`` (η; with the zero start it only scales
    w and b, never the predictions), ``max_epochs``, ``seed`` (``None`` visits the samples in
    the given order every epoch; an int shuffles the order each epoch with that seed).

    After ``fit``: ``weight`` (n_features,), ``bias``, ``converged`` (an epoch with no
    mistake happened), ``epochs`` (epochs run) and ``errors_per_epoch`` (mistakes in each).
    """

    def __init__(self, n_features: int, lr: float = 1.0, max_epochs: int = 100,
                 seed: int | None = None) -> None:
        if n_features < 1:
            raise ValueError(f"Perceptron: n_features must be positive, got {n_features}")
        if lr <= 0:
            raise ValueError(f"Perceptron: lr must be positive, got {lr}")
        if max_epochs < 1:
            raise ValueError(f"Perceptron: max_epochs must be positive, got {max_epochs}")
        self.n_features = int(n_features)
        self.lr = float(lr)
        self.max_epochs = int(max_epochs)
        self.seed = seed
        self.weight = np.zeros(self.n_features)
        self.bias = 0.0
        self.converged = False
        self.epochs = 0
        self.errors_per_epoch: list[int] = []

    # ------------------------------------------------------------------ forward
    def net_input(self, X: Any) -> np.ndarray:
        """z = X w + b for a batch X of shape (n, n_features) (or one sample (n_features,))."""
        X = self._features(X)
        return X @ self.weight + self.bias

    def predict(self, X: Any) -> np.ndarray:
        """ŷ = step(z) ∈ {0, 1} (int64), 1 where z ≥ 0."""
        return (self.net_input(X) >= 0).astype(np.int64)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy: the fraction of samples with ŷ = y."""
        y = self._labels(y, len(self._features(X)))
        return float(np.mean(self.predict(X) == y))

    # ------------------------------------------------------------------ learning
    def fit(self, X: Any, y: Any) -> Perceptron:
        """Train with the perceptron rule from w = 0, b = 0 until an epoch makes no mistake
        (``converged``) or ``max_epochs`` have run. ``X``: (n, n_features); ``y``: n labels in
        {0, 1}. NumPy arrays, lists or Tensors. Returns ``self``."""
        X = self._features(X)
        if X.ndim != 2:
            raise ValueError(f"Perceptron.fit: X must have shape (n, {self.n_features}), "
                             f"got {X.shape}")
        y = self._labels(y, len(X))
        rng = np.random.default_rng(self.seed) if self.seed is not None else None
        self.weight = np.zeros(self.n_features)
        self.bias = 0.0
        self.converged = False
        self.errors_per_epoch = []
        order = np.arange(len(X))
        for _ in range(self.max_epochs):
            if rng is not None:
                order = rng.permutation(len(X))
            mistakes = 0
            for i in order:
                y_hat = 1 if X[i] @ self.weight + self.bias >= 0 else 0
                delta = y[i] - y_hat
                if delta != 0:
                    self.weight += self.lr * delta * X[i]
                    self.bias += self.lr * delta
                    mistakes += 1
            self.errors_per_epoch.append(mistakes)
            if mistakes == 0:
                self.converged = True
                break
        self.epochs = len(self.errors_per_epoch)
        return self

    # ------------------------------------------------------------------ helpers
    def _features(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[-1:] != (self.n_features,):
            raise ValueError(f"Perceptron: expected samples with {self.n_features} features, "
                             f"got an array of shape {X.shape}")
        return X

    @staticmethod
    def _labels(y: Any, n: int) -> np.ndarray:
        y = np.asarray(y).reshape(-1)
        if len(y) != n:
            raise ValueError(f"Perceptron: {n} samples but {len(y)} labels")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError(f"Perceptron: labels must be 0 or 1, got {np.unique(y)}")
        return y.astype(np.int64)

    def __repr__(self) -> str:
        return (f"Perceptron(n_features={self.n_features}, lr={self.lr}, "
                f"max_epochs={self.max_epochs}, seed={self.seed})")
