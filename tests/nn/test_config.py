"""get_config / from_config and JSON round trips: build → JSON → rebuild → load_state_dict →
identical outputs, for Sequential and Functional models."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import nn


def _np(t):
    return t.detach().numpy()


def _round_trip(model):
    """JSON out and back, weights copied; checks the JSON is stable and the keys agree."""
    text = nn.model_to_json(model)
    json.loads(text)  # plain JSON
    clone = nn.model_from_json(text)
    assert type(clone) is type(model) and clone is not model
    assert nn.model_to_json(clone) == text, "the rebuilt model must describe itself the same way"
    assert list(clone.state_dict()) == list(model.state_dict())
    clone.load_state_dict(model.state_dict())
    return clone


def _same_outputs(a, b, *inputs):
    a.eval()
    b.eval()
    ya, yb = a(*inputs), b(*inputs)
    ya = ya if isinstance(ya, list) else [ya]
    yb = yb if isinstance(yb, list) else [yb]
    assert len(ya) == len(yb)
    for u, v in zip(ya, yb, strict=True):
        np.testing.assert_array_equal(_np(u), _np(v))


class _Gate(nn.Module):
    """A custom layer with a config and a constant keyword argument in forward."""

    def __init__(self, n, bias=0.5):
        super().__init__()
        self.n, self.bias_value = n, bias
        self.gain = nn.Parameter(rb.randn(n))

    def forward(self, x, scale=1.0):
        return x * self.gain * scale + self.bias_value

    def get_config(self):
        return {"n": self.n, "bias": self.bias_value}


class _NoConfig(nn.Module):
    def forward(self, x):
        return x


# ------------------------------------------------------------------ layers


def test_linear_and_merge_layer_configs():
    lin = nn.Linear(3, 5, bias=False)
    cfg = lin.get_config()
    assert {k: cfg[k] for k in ("in_features", "out_features", "bias")} == \
        {"in_features": 3, "out_features": 5, "bias": False}
    again = nn.Linear.from_config(json.loads(json.dumps(cfg)))
    assert again.weight.shape == (5, 3) and again.bias is None
    assert nn.Concatenate(dim=1).get_config() == {"dim": 1}
    assert nn.Concatenate.from_config({"dim": 0}).dim == 0
    for cls in (nn.Add, nn.Subtract, nn.Multiply, nn.Average, nn.MatMul):
        assert isinstance(cls.from_config(cls().get_config()), cls)


# ------------------------------------------------------------------ Sequential


def test_sequential_json_round_trip():
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2))
    clone = _round_trip(model)
    assert json.loads(nn.model_to_json(model))["class_name"] == "Sequential"
    _same_outputs(model, clone, rb.randn(5, 4))


def test_sequential_inside_sequential_and_model_inside_sequential():
    x = nn.Input((8,))
    head = nn.Model(x, nn.Linear(8, 3)(x) + nn.Linear(8, 3)(x))
    model = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.Linear(8, 8)), head)
    clone = _round_trip(model)
    _same_outputs(model, clone, rb.randn(2, 4))


def _optional_layer(name, args):
    cls = getattr(nn, name, None)
    if cls is None:
        pytest.skip(f"nn.{name} has not landed yet")
    try:
        layer = cls(*args)
    except TypeError as err:
        pytest.skip(f"nn.{name}{args}: unexpected signature ({err})")
    try:
        layer.get_config()
    except NotImplementedError:
        pytest.skip(f"nn.{name} has no get_config() yet")
    return layer


@pytest.mark.parametrize("name, args", [
    ("ReLU", ()), ("Tanh", ()), ("Sigmoid", ()), ("LeakyReLU", (0.1,)), ("ELU", ()),
    ("GELU", ()), ("Softmax", ()), ("Dropout", (0.5,)), ("BatchNorm1d", (8,)),
    ("LayerNorm", (8,)),
])
def test_sequential_round_trip_with_other_layers(name, args):
    layer = _optional_layer(name, args)
    model = nn.Sequential(nn.Linear(4, 8), layer, nn.Linear(8, 3))
    model.train()
    model(rb.randn(16, 4))  # batch norm: move the running statistics away from their start
    clone = _round_trip(model)
    _same_outputs(model, clone, rb.randn(6, 4))


@pytest.mark.parametrize("name, args", [("ReLU", ()), ("Dropout", (0.25,)),
                                        ("BatchNorm1d", (8,))])
def test_functional_round_trip_with_other_layers(name, args):
    layer = _optional_layer(name, args)
    x = nn.Input((4,))
    h = nn.Linear(4, 8)(x)
    model = nn.Model(x, nn.Linear(8, 2)(layer(h) + h))
    model.train()
    model(rb.randn(16, 4))
    clone = _round_trip(model)
    _same_outputs(model, clone, rb.randn(5, 4))


# ------------------------------------------------------------------ Functional


def test_model_config_structure():
    x = nn.Input((4,), name="x")
    shared = nn.Linear(4, 4)
    y = shared(shared(x))
    model = nn.Model(x, nn.Concatenate()([y, x]), name="net")
    cfg = model.get_config()
    assert cfg["name"] == "net"
    assert cfg["inputs"] == [{"name": "x", "shape": [4], "dtype": "float32"}]
    lin = cfg["layers"][0]
    assert lin["class_name"] == "Linear" and lin["name"] == "linear"
    assert lin["config"] == nn.Linear(4, 4).get_config()
    assert lin["config"]["in_features"] == 4
    assert [n["args"] for n in lin["inbound_nodes"]] == [[["x", 0, 0]], [["linear", 0, 0]]]
    cat = cfg["layers"][1]
    assert cat["inbound_nodes"] == [{"call": "list", "args": [["linear", 1, 0], ["x", 0, 0]],
                                     "kwargs": {}}]
    assert cfg["outputs"] == [["concatenate", 0, 0]]
    assert json.loads(json.dumps(cfg)) == cfg


def test_model_round_trip_skip_shared_multi_io():
    a, b = nn.Input((4,), name="a"), nn.Input((3,), name="b")
    shared = nn.Linear(4, 4)
    named = nn.Linear(3, 4)
    named.name = "side"
    h = shared(a)
    h2 = shared(h) + a  # shared twice, skip connection
    s = named(b)
    gate = _Gate(4)(s, scale=2.0)  # constant keyword argument
    out1 = nn.Average()([h2, gate])
    out2 = nn.Concatenate(dim=-1)([h, s, gate])
    inner_in = nn.Input((4,))
    inner = nn.Model(inner_in, nn.Sequential(nn.Linear(4, 2))(inner_in), name="head")
    out3 = inner(out1)
    model = nn.Model([a, b], [out1, out2, out3], name="multi")
    clone = _round_trip(model)
    assert [n for n, _ in clone.named_children()] == [n for n, _ in model.named_children()]
    assert clone.get_layer("side").in_features == 3
    assert clone.name == "multi"
    g = np.random.default_rng(0)
    av, bv = g.standard_normal((5, 4)), g.standard_normal((5, 3))
    _same_outputs(model, clone, rb.tensor(av.astype(np.float32)), rb.tensor(bv.astype(np.float32)))


def test_rebuild_keeps_the_order_of_first_calls():
    # layer order by first call: d1, d2, d3, d4 — although d4's call is ready long before d3's
    x = nn.Input((4,))
    d1, d2, d3, d4 = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2), nn.Linear(4, 1)
    c = d1(d2(d1(x)))
    e, f = d3(c), d4(x)
    model = nn.Model(x, [e, f])
    assert model.layers == [d1, d2, d3, d4]
    clone = _round_trip(model)
    assert [type(m).__name__ + str(m.out_features) for m in clone.layers] == \
        ["Linear4", "Linear4", "Linear2", "Linear1"]
    _same_outputs(model, clone, rb.randn(3, 4))


def test_model_method_to_json_and_int_input():
    x = nn.Input((3,), dtype="int64", name="idx")
    y = nn.Input((3,), name="y")
    model = nn.Model([x, y], y)
    clone = nn.model_from_json(model.to_json(indent=2))
    assert clone.inputs[0].dtype == np.int64 and clone.inputs[0].name == "idx"


# ------------------------------------------------------------------ errors and safety


def test_unknown_class_is_refused_without_eval():
    for name in ("NoSuchLayer", "os.system", "__import__"):
        text = json.dumps({"class_name": name, "config": {}})
        with pytest.raises(ValueError, match="unknown layer class"):
            nn.model_from_json(text)
    with pytest.raises(ValueError, match="not valid JSON"):
        nn.model_from_json("{not json")
    with pytest.raises(ValueError, match="class_name"):
        nn.model_from_json("[1, 2]")
    with pytest.raises(ValueError, match="unsupported format"):
        nn.model_from_json(json.dumps({"format": "other", "class_name": "Linear", "config": {}}))


def test_layer_without_get_config_is_named():
    x = nn.Input((2,))
    model = nn.Model(x, _NoConfig()(x))
    with pytest.raises(NotImplementedError, match="'no_config'"):
        model.get_config()


def test_non_json_config_is_reported():
    x = nn.Input((2,))
    gate = _Gate(2, bias=object())
    model = nn.Model(x, x)
    model.extra = gate
    with pytest.raises(TypeError, match="not JSON-compatible"):
        nn.model_to_json(nn.Sequential(gate))
    numpy_cfg = nn.Sequential(_Gate(2, bias=np.float32(0.25)))
    assert nn.model_from_json(nn.model_to_json(numpy_cfg))[0].bias_value == 0.25


def test_broken_graph_config_is_refused():
    x = nn.Input((2,), name="x")
    cfg = nn.Model(x, nn.Linear(2, 2)(x)).get_config()
    cfg["layers"][0]["inbound_nodes"][0]["args"] = [["nowhere", 0, 0]]
    with pytest.raises(ValueError, match="linear"):
        nn.Model.from_config(cfg)
