"""Rosenblatt's perceptron (CONCEPTS E1) and why depth needs a non-linearity (C14): a
perceptron and a stack of linear layers cannot learn XOR; an MLP with a non-linearity can."""

from __future__ import annotations

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import nn

X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
AND = np.array([0, 0, 0, 1])
OR = np.array([0, 1, 1, 1])
XOR = np.array([0, 1, 1, 0])


# ------------------------------------------------------------------ the perceptron (E1)


@pytest.mark.parametrize("y", [AND, OR], ids=["AND", "OR"])
def test_perceptron_learns_and_or(y):
    p = nn.Perceptron(2).fit(X4, y)
    assert p.converged and p.errors_per_epoch[-1] == 0
    assert p.epochs == len(p.errors_per_epoch) < 10
    np.testing.assert_array_equal(p.predict(X4), y)
    assert p.score(X4, y) == 1.0


def test_perceptron_learning_rule_by_hand():
    # AND from w = 0, b = 0 with η = 1; z ≥ 0 fires, so the first three samples are mistakes
    p = nn.Perceptron(2, max_epochs=1).fit(X4, AND)
    # (0,0): ŷ=1, y=0 → w=(0,0), b=−1;  (0,1): z=−1 → ŷ=0 ✓;  (1,0): ✓;
    # (1,1): z=−1 → ŷ=0, y=1 → w=(1,1), b=0
    np.testing.assert_array_equal(p.weight, [1.0, 1.0])
    assert p.bias == 0.0 and p.errors_per_epoch == [2] and not p.converged


def test_threshold_convention_and_lr_only_scales():
    p = nn.Perceptron(3)
    np.testing.assert_array_equal(p.predict(np.zeros((2, 3))), [1, 1])  # z = 0 fires
    a = nn.Perceptron(2, lr=1.0).fit(X4, OR)
    b = nn.Perceptron(2, lr=0.01).fit(X4, OR)
    np.testing.assert_allclose(b.weight, 0.01 * a.weight)
    assert a.errors_per_epoch == b.errors_per_epoch


def test_perceptron_converges_on_random_separable_data_within_novikoff_bound():
    g = np.random.default_rng(0)
    w_star, b_star = np.array([1.0, -2.0]), 0.3
    X = g.uniform(-1, 1, (300, 2))
    margin = X @ w_star + b_star
    X = X[np.abs(margin) > 0.1]
    y = (X @ w_star + b_star >= 0).astype(int)
    p = nn.Perceptron(2, max_epochs=1000, seed=1).fit(X, y)
    assert p.converged and p.score(X, y) == 1.0
    # Novikoff: mistakes ≤ (R/γ)², with x augmented by a constant 1 for the bias
    Xa = np.hstack([X, np.ones((len(X), 1))])
    u = np.append(w_star, b_star)
    gamma = np.min(np.abs(Xa @ u)) / np.linalg.norm(u)
    R = np.max(np.linalg.norm(Xa, axis=1))
    assert sum(p.errors_per_epoch) <= (R / gamma) ** 2
    again = nn.Perceptron(2, max_epochs=1000, seed=1).fit(X, y)
    assert again.errors_per_epoch == p.errors_per_epoch  # the seed fixes the visiting order


def test_perceptron_fails_on_xor():
    p = nn.Perceptron(2, max_epochs=100).fit(X4, XOR)
    assert not p.converged
    assert p.epochs == 100 and min(p.errors_per_epoch) >= 1  # never an error-free epoch
    assert p.score(X4, XOR) <= 0.75  # no line gets all four right
    shuffled = nn.Perceptron(2, max_epochs=100, seed=0).fit(X4, XOR)
    assert not shuffled.converged and min(shuffled.errors_per_epoch) >= 1


def test_no_line_separates_xor_exhaustively():
    # a grid of lines: none classifies all four XOR points (the docstring's proof, by example)
    grid = np.linspace(-2, 2, 41)
    w1, w2, b = np.meshgrid(grid, grid, grid, indexing="ij")
    preds = (X4[:, 0, None, None, None] * w1 + X4[:, 1, None, None, None] * w2 + b >= 0)
    correct = (preds == XOR[:, None, None, None].astype(bool)).sum(axis=0)
    assert correct.max() == 3


def test_perceptron_accepts_tensors_and_checks_inputs():
    p = nn.Perceptron(2).fit(rb.tensor(X4), rb.tensor(OR))
    assert p.converged
    np.testing.assert_array_equal(p.predict(rb.tensor(X4)), OR)
    with pytest.raises(ValueError, match="0 or 1"):
        nn.Perceptron(2).fit(X4, [0, 1, 2, 1])
    with pytest.raises(ValueError, match="features"):
        nn.Perceptron(3).fit(X4, OR)
    with pytest.raises(ValueError, match="labels"):
        nn.Perceptron(2).fit(X4, [0, 1])


# ---------------------------------------------- depth without a non-linearity (C14)


def _sgd(params, lr):
    with rb.no_grad():
        for p in params:
            p.sub_(lr * p.grad)
            p.grad = None


def _sigmoid(z):
    return 1 / (1 + (-z).exp())


def test_stack_of_linear_layers_is_one_linear_map():
    model = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 8), nn.Linear(8, 1))
    W1, W2, W3 = (m.weight.detach().numpy().astype(np.float64) for m in model)
    b1, b2, b3 = (m.bias.detach().numpy().astype(np.float64) for m in model)
    W = W3 @ W2 @ W1  # the product of the weight matrices
    b = W3 @ (W2 @ b1 + b2) + b3
    x = np.random.default_rng(0).standard_normal((10, 2))
    out = model(rb.tensor(x.astype(np.float32))).detach().numpy()
    np.testing.assert_allclose(out, x @ W.T + b, rtol=1e-5, atol=1e-5)


def test_stack_of_linear_layers_cannot_learn_xor():
    model = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 8), nn.Linear(8, 1))
    x, y = rb.tensor(X4.astype(np.float32)), rb.tensor(XOR[:, None].astype(np.float32))
    params = list(model.parameters())
    for _ in range(1500):
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        _sgd(params, 0.05)
    loss = ((model(x) - y) ** 2).mean().item()
    # an affine map's best mean squared error on XOR is 0.25 (it predicts 0.5 everywhere) …
    assert loss >= 0.25 - 1e-4
    assert loss < 0.26  # … and gradient descent found about that optimum
    pred = (model(x).detach().numpy().ravel() >= 0.5).astype(int)
    assert (pred == XOR).mean() <= 0.75  # … so it never gets all four right


def test_mlp_with_a_non_linearity_learns_xor():
    relu = nn.ReLU() if hasattr(nn, "ReLU") else _ClipReLU()  # the same function either way
    x_in = nn.Input((2,))
    model = nn.Model(x_in, nn.Linear(8, 1)(relu(nn.Linear(2, 8)(x_in))))
    x, y = rb.tensor(X4.astype(np.float32)), rb.tensor(XOR[:, None].astype(np.float32))
    params = list(model.parameters())
    for _ in range(2000):
        loss = ((_sigmoid(model(x)) - y) ** 2).mean()
        loss.backward()
        _sgd(params, 1.0)
    pred = (_sigmoid(model(x)).detach().numpy().ravel() >= 0.5).astype(int)
    np.testing.assert_array_equal(pred, XOR)  # 100% on the four points


class _ClipReLU(nn.Module):
    """relu(x) = max(x, 0), for when nn.ReLU has not landed."""

    def forward(self, x):
        return x.clip(min=0)
