"""summary(model, input_shape): output shapes, parameter counts, totals, and no side effects."""

from __future__ import annotations

import pytest

import rosenblatt as rb
from rosenblatt import nn


class _Counter(nn.Module):
    """Counts training-mode calls (a stand-in for batch norm's running statistics)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        return x


class _Boom(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


class _Block(nn.Module):
    """Owns a parameter directly and has a child: its row counts its own parameter only."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(rb.ones(4))
        self.inner = nn.Linear(4, 4)

    def forward(self, x):
        return self.inner(x) * self.scale


def test_linear_27_to_10_has_280_parameters(capsys):
    # the notes' example: 10 filters of 3×3×3 → 10·(27 + 1) = 280; a Linear(27, 10) alike
    s = nn.summary(nn.Linear(27, 10), (27,))
    assert s.total == 280 and s.trainable == 280 and s.non_trainable == 0
    assert s.totals == {"total": 280, "trainable": 280, "non_trainable": 0}
    assert s.rows == [{"name": "linear", "class_name": "Linear", "output_shape": (None, 10),
                       "params": 280, "trainable": 280}]
    printed = capsys.readouterr().out
    assert "Total params: 280" in printed and "(None, 10)" in printed
    assert "Trainable params: 280" in printed and "Non-trainable params: 0" in printed
    assert str(s) == printed.rstrip("\n")


def test_conv2d_10_filters_3x3x3_has_280_parameters_whatever_the_image_size():
    conv = getattr(nn, "Conv2d", None)
    if conv is None:
        pytest.skip("TODO: nn.Conv2d has not landed yet")
    for size in (32, 64):
        s = nn.summary(conv(3, 10, 3), (3, size, size), print_fn=None)
        assert s.total == 280
        assert s.rows[0]["output_shape"] == (None, 10, size - 2, size - 2)


def test_sequential_rows_totals_and_frozen_layer():
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2))
    model[0].requires_grad_(False)
    s = nn.summary(model, (4,), print_fn=None)
    assert [r["name"] for r in s.rows] == ["0", "1", "2"]
    assert [r["output_shape"] for r in s.rows] == [(None, 8), (None, 8), (None, 2)]
    assert [r["params"] for r in s.rows] == [40, 72, 18]
    assert s.total == 130 and s.non_trainable == 40 and s.trainable == 90
    assert s.rows[0]["trainable"] == 0


def test_batch_size_is_shown_and_used():
    s = nn.summary(nn.Linear(3, 2), 3, batch_size=-1, print_fn=None)
    assert s.rows[0]["output_shape"] == (-1, 2)
    s = nn.summary(nn.Linear(3, 2), (3,), batch_size=5, print_fn=None)
    assert s.rows[0]["output_shape"] == (5, 2)


def test_functional_model_uses_its_inputs_and_counts_shared_layers_once():
    a, b = nn.Input((4,), name="a"), nn.Input((4,), name="b")
    shared = nn.Linear(4, 4)
    model = nn.Model([a, b], nn.Concatenate()([shared(a), shared(b)]), name="siamese")
    s = model.summary(print_fn=None)
    assert [r["name"] for r in s.rows] == ["linear", "linear", "concatenate"]
    assert [r["params"] for r in s.rows] == [20, 0, 0]
    assert s.rows[-1]["output_shape"] == (None, 8)
    assert s.total == 20
    assert 'Model: "siamese"' in s.text
    assert nn.summary(model, [(4,), (4,)], print_fn=None).total == 20


def test_multiple_outputs_and_open_dims():
    x = nn.Input((None, 3))
    model = nn.Model(x, [nn.Linear(3, 2)(x), nn.Linear(3, 1)(x)])
    with pytest.raises(ValueError, match="open dims"):
        nn.summary(model, print_fn=None)
    s = nn.summary(model, (7, 3), print_fn=None)
    assert [r["output_shape"] for r in s.rows] == [(None, 7, 2), (None, 7, 1)]


def test_module_owning_parameters_and_children():
    s = nn.summary(nn.Sequential(_Block()), (4,), print_fn=None)
    assert [(r["name"], r["params"]) for r in s.rows] == [("0", 4), ("0.inner", 20)]
    assert s.total == 24


def test_no_side_effects_and_forward_restored():
    counter = _Counter()
    model = nn.Sequential(nn.Linear(2, 2), counter)
    model.train()
    nn.summary(model, (2,), print_fn=None)
    assert counter.calls == 0 and model.training and counter.training
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_forward_restored_even_on_error():
    model = nn.Sequential(nn.Linear(2, 2), _Boom())
    with pytest.raises(RuntimeError, match="boom"):
        nn.summary(model, (2,), print_fn=None)
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert model.training
    with pytest.raises(RuntimeError, match="boom"):  # its own forward again
        model(rb.ones(1, 2))
    with pytest.raises(ValueError, match="input_shape is required"):
        nn.summary(model, print_fn=None)


def test_summary_with_other_layers():
    relu, norm = getattr(nn, "ReLU", None), getattr(nn, "BatchNorm1d", None)
    if relu is None or norm is None:
        pytest.skip("nn.ReLU / nn.BatchNorm1d have not landed yet")
    bn = norm(8)
    model = nn.Sequential(nn.Linear(4, 8), bn, relu(), nn.Linear(8, 1))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    s = nn.summary(model, (4,), print_fn=None)
    assert [r["class_name"] for r in s.rows] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert s.total == 40 + 16 + 9
    for k, v in model.state_dict().items():  # running statistics untouched
        assert (v.numpy() == before[k]).all(), k
