"""The Functional API: Input, layers called on symbolic tensors, merge layers, Model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rosenblatt as rb
from rosenblatt import nn


def _np(t):
    return t.detach().numpy()


def _lin(x, layer):
    """x Wᵀ + b in NumPy, the reference for a Linear layer."""
    return x @ _np(layer.weight).T + _np(layer.bias)


class _RunningMean(nn.Module):
    """Updates a buffer in training mode only (as batch norm does): to see probe side effects."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("seen", rb.zeros(1))
        self.scale = nn.Parameter(rb.ones(n))

    def forward(self, x):
        if self.training:
            self.seen.data += 1
        return x * self.scale


class _Pair(nn.Module):
    """A two-input layer: y = a · b summed over the features, then kept as (N, 1)."""

    def forward(self, a, b):
        return (a * b).sum(dim=-1, keepdim=True)


class _Split(nn.Module):
    """A two-output layer: the first and second half of the features."""

    def forward(self, x):
        n = x.shape[-1] // 2
        return [x[:, :n], x[:, n:]]


class _Shift(nn.Module):
    def forward(self, x, offset=0.0):
        return x + offset


class _Scale(nn.Module):
    def __init__(self, factor=2.0):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


# ------------------------------------------------------------------ Input and symbolic calls


def test_input_shape_dtype_name():
    x = nn.Input((4,), name="features")
    assert isinstance(x, nn.SymbolicTensor)
    assert x.shape == (None, 4) and x.ndim == 2 and x.dtype == np.float32
    assert x.name == "features" and x.is_input
    assert nn.Input(3).shape == (None, 3)
    assert nn.Input((2, 5), dtype="int64").dtype == np.int64
    a, b = nn.Input(2), nn.Input(2)
    assert a.name != b.name and a.name.startswith("input")
    with pytest.raises(ValueError, match="shape"):
        nn.Input((-1, 3))


def test_layer_call_infers_shape_and_records_a_node():
    x = nn.Input((4,))
    layer = nn.Linear(4, 7)
    h = layer(x)
    assert isinstance(h, nn.SymbolicTensor)
    assert h.shape == (None, 7) and h.dtype == np.float32
    assert h.node.layer is layer and h.node.inputs == [x] and h.node.outputs == [h]
    assert layer.weight.grad is None


def test_probe_runs_in_eval_mode_and_restores_training_flags():
    x = nn.Input((3,))
    layer = _RunningMean(3)
    assert layer.training
    layer(x)
    assert layer.training, "the training flag must be restored"
    assert layer.seen.item() == 0, "the probe ran in training mode"
    layer.eval()
    layer(x)
    assert not layer.training


def test_probe_error_names_the_layer_and_shapes():
    x = nn.Input((5,))
    with pytest.raises(ValueError, match=r"Linear.*\(None, 5\)"):
        nn.Linear(4, 2)(x)
    layer = _RunningMean(3)
    with pytest.raises(ValueError):
        layer(nn.Input((4,)))
    assert layer.training, "flags are restored even when the probe fails"


def test_open_dims_stay_open():
    x = nn.Input((None, 3))
    h = nn.Linear(3, 5)(x)
    assert h.shape == (None, None, 5)
    model = nn.Model(x, h)
    assert model(rb.randn(2, 7, 3)).shape == (2, 7, 5)


def test_symbolic_call_rejects_constants():
    x = nn.Input((2,))
    with pytest.raises(TypeError, match="SymbolicTensors only"):
        _Pair()(x, 3.0)
    with pytest.raises(TypeError, match="operand"):
        x + 1.0
    with pytest.raises(TypeError, match="operand"):
        2.0 * x
    with pytest.raises(TypeError):
        bool(x)


# ------------------------------------------------------------------ merge layers


@pytest.mark.parametrize("cls, ref", [
    (nn.Add, lambda a, b, c: a + b + c),
    (nn.Multiply, lambda a, b, c: a * b * c),
    (nn.Average, lambda a, b, c: (a + b + c) / 3),
    (nn.Concatenate, lambda a, b, c: np.concatenate([a, b, c], -1)),
])
def test_merge_layers_on_real_tensors(cls, ref):
    g = np.random.default_rng(0)
    arrays = [g.standard_normal((4, 3)).astype(np.float32) for _ in range(3)]
    ts = [rb.tensor(a) for a in arrays]
    expected = ref(*arrays)
    np.testing.assert_allclose(cls()(ts).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(cls()(*ts).numpy(), expected, rtol=1e-6)


def test_subtract_matmul_concatenate_dim():
    g = np.random.default_rng(1)
    a, b = (g.standard_normal((2, 3, 3)).astype(np.float32) for _ in range(2))
    np.testing.assert_allclose(nn.Subtract()(rb.tensor(a), rb.tensor(b)).numpy(), a - b)
    np.testing.assert_allclose(nn.MatMul()([rb.tensor(a), rb.tensor(b)]).numpy(), a @ b,
                               rtol=1e-5)
    out = nn.Concatenate(dim=1)([rb.tensor(a), rb.tensor(b)])
    np.testing.assert_allclose(out.numpy(), np.concatenate([a, b], 1))
    assert nn.Concatenate(axis=0).dim == 0
    with pytest.raises(ValueError, match="takes 2 inputs"):
        nn.Subtract()(rb.tensor(a), rb.tensor(b), rb.tensor(a))


def test_merge_gradients_match_torch():
    g = np.random.default_rng(2)
    a, b = (g.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
    ours = [rb.tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    y = nn.Average()(nn.Multiply()(ours), nn.Concatenate(dim=0)(ours)[:3])
    t = ((theirs[0] * theirs[1]) + torch.cat(theirs, 0)[:3]) / 2
    (y * y).sum().backward()
    (t * t).sum().backward()
    for o, th in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad, th.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_operators_build_merge_nodes():
    a, b = nn.Input((3, 3)), nn.Input((3, 3))
    outs = [a + b, a - b, a * b, a @ b]
    kinds = [type(o.node.layer) for o in outs]
    assert kinds == [nn.Add, nn.Subtract, nn.Multiply, nn.MatMul]
    model = nn.Model([a, b], outs)
    g = np.random.default_rng(3)
    x, y = (g.standard_normal((2, 3, 3)).astype(np.float32) for _ in range(2))
    got = model(rb.tensor(x), rb.tensor(y))
    for out, ref in zip(got, [x + y, x - y, x * y, x @ y], strict=True):
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert [type(m).__name__ for m in model.layers] == ["Add", "Subtract", "Multiply", "MatMul"]


def test_merge_layer_called_with_a_list_of_symbolic_tensors():
    a, b = nn.Input((4,)), nn.Input((2,))
    cat = nn.Concatenate()([a, b])
    assert cat.shape == (None, 6) and cat.node.call_style == "list"
    model = nn.Model([a, b], cat)
    out = model([rb.ones(3, 4), rb.zeros(3, 2)])
    np.testing.assert_array_equal(out.numpy(), np.concatenate([np.ones((3, 4)),
                                                               np.zeros((3, 2))], 1))


# ------------------------------------------------------------------ Model


def test_mlp_model_forward_names_and_state_dict():
    x = nn.Input((4,))
    l1, l2 = nn.Linear(4, 8), nn.Linear(8, 2)
    model = nn.Model(x, l2(l1(x)))
    assert isinstance(model, nn.Module) and nn.Functional is nn.Model
    assert [n for n, _ in model.named_children()] == ["linear", "linear_1"]
    assert list(model.state_dict()) == ["linear.weight", "linear.bias",
                                        "linear_1.weight", "linear_1.bias"]
    assert model.get_layer("linear_1") is l2 and model.layers == [l1, l2]
    assert len(list(model.parameters())) == 4
    xv = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    out = model(rb.tensor(xv))
    np.testing.assert_allclose(_np(out), _lin(_lin(xv, l1), l2), rtol=1e-5, atol=1e-6)
    assert model(xv).shape == (5, 2), "NumPy arrays are accepted too"


def test_explicit_layer_names_and_conflicts():
    x = nn.Input((4,), name="pixels")
    enc = nn.Linear(4, 3)
    enc.name = "encoder"
    dec = nn.Linear(3, 4)
    model = nn.Model(x, dec(enc(x)), name="autoencoder")
    assert [n for n, _ in model.named_children()] == ["encoder", "linear"]
    assert "encoder.weight" in model.state_dict()
    assert "autoencoder" in repr(model)
    bad = nn.Linear(4, 4)
    bad.name = "pixels"
    with pytest.raises(ValueError, match="used twice"):
        nn.Model(x, bad(x))
    bad.name = "forward"
    with pytest.raises(ValueError, match="cannot be named"):
        nn.Model(x, bad(x))


def test_skip_connection_matches_torch():
    x = nn.Input((6,))
    l1, l2 = nn.Linear(6, 6), nn.Linear(6, 6)
    h = l1(x)
    y = nn.Add()([l2(h), x])  # residual: y = l2(l1(x)) + x
    model = nn.Model(x, y)

    t1, t2 = torch.nn.Linear(6, 6), torch.nn.Linear(6, 6)
    with torch.no_grad():
        for t, o in ((t1, l1), (t2, l2)):
            t.weight.copy_(torch.tensor(_np(o.weight)))
            t.bias.copy_(torch.tensor(_np(o.bias)))
    xv = np.random.default_rng(4).standard_normal((3, 6)).astype(np.float32)
    xo = rb.tensor(xv, requires_grad=True)
    xt = torch.tensor(xv, requires_grad=True)
    yo = model(xo)
    yt = t2(t1(xt)) + xt
    np.testing.assert_allclose(_np(yo), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(l1.weight.grad, t1.weight.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_shared_layer_shares_parameters_and_accumulates_grads():
    a, b = nn.Input((4,), name="a"), nn.Input((4,), name="b")
    shared = nn.Linear(4, 4)
    y = shared(shared(a)) + shared(b)  # three calls, one layer
    model = nn.Model([a, b], y)
    assert [n for n, _ in model.named_children()] == ["linear", "add"]
    assert len(list(model.parameters())) == 2

    ts = torch.nn.Linear(4, 4)
    with torch.no_grad():
        ts.weight.copy_(torch.tensor(_np(shared.weight)))
        ts.bias.copy_(torch.tensor(_np(shared.bias)))
    g = np.random.default_rng(5)
    av, bv = (g.standard_normal((2, 4)).astype(np.float32) for _ in range(2))
    out = model(rb.tensor(av), rb.tensor(bv))
    ref = ts(ts(torch.tensor(av))) + ts(torch.tensor(bv))
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(shared.weight.grad, ts.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(shared.bias.grad, ts.bias.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_multiple_inputs_and_outputs():
    a, b = nn.Input((3,), name="left"), nn.Input((2,), name="right")
    pa, pb = nn.Linear(3, 4), nn.Linear(2, 4)
    ha, hb = pa(a), pb(b)
    joined = nn.Concatenate()([ha, hb])
    score = _Pair()(ha, hb)  # a layer taking two inputs: layer(a, b)
    first, second = _Split()(joined)  # a layer returning two outputs
    model = nn.Model([a, b], [score, first, second, joined])
    assert score.shape == (None, 1) and first.shape == (None, 4)

    g = np.random.default_rng(6)
    av, bv = g.standard_normal((5, 3)).astype(np.float32), g.standard_normal((5, 2)).astype(
        np.float32)
    ra, rb_ = _lin(av, pa), _lin(bv, pb)
    outs = model(rb.tensor(av), rb.tensor(bv))
    assert isinstance(outs, list) and len(outs) == 4
    np.testing.assert_allclose(_np(outs[0]), (ra * rb_).sum(-1, keepdims=True), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(_np(outs[1]), ra, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(outs[2]), rb_, rtol=1e-5, atol=1e-6)
    by_list = model([rb.tensor(av), rb.tensor(bv)])
    by_name = model({"right": rb.tensor(bv), "left": rb.tensor(av)})
    for o1, o2, o3 in zip(outs, by_list, by_name, strict=True):
        np.testing.assert_array_equal(_np(o1), _np(o2))
        np.testing.assert_array_equal(_np(o1), _np(o3))
    with pytest.raises(ValueError, match="expects 2 input"):
        model(rb.tensor(av))


def test_single_output_given_as_list_returns_a_list():
    x = nn.Input((2,))
    model = nn.Model([x], [nn.Linear(2, 1)(x)])
    out = model(rb.ones(3, 2))
    assert isinstance(out, list) and out[0].shape == (3, 1)
    assert isinstance(nn.Model(x, nn.Linear(2, 1)(x))(rb.ones(3, 2)), rb.Tensor)


def test_wrong_input_shape_names_the_input_and_shapes():
    x = nn.Input((4,), name="features")
    model = nn.Model(x, nn.Linear(4, 2)(x))
    with pytest.raises(ValueError) as err:
        model(rb.ones(3, 5))
    msg = str(err.value)
    assert "'features'" in msg and "(None, 4)" in msg and "(3, 5)" in msg
    with pytest.raises(ValueError, match=r"\(None, 4\)"):
        model(rb.ones(4))


def test_output_not_depending_on_inputs_names_the_missing_input():
    a, b = nn.Input((2,), name="used"), nn.Input((2,), name="forgotten")
    y = nn.Add()(nn.Linear(2, 2)(a), b)
    with pytest.raises(ValueError, match="'forgotten'"):
        nn.Model(a, y)
    with pytest.raises(ValueError, match="Input"):
        nn.Model(y, y)  # an intermediate tensor is not an Input
    with pytest.raises(TypeError):
        nn.Model(a, [])


def test_unused_input_is_allowed():
    a, b = nn.Input((2,)), nn.Input((3,))
    model = nn.Model([a, b], nn.Linear(2, 1)(a))
    assert model(rb.ones(4, 2), rb.ones(4, 3)).shape == (4, 1)


def test_identity_model_and_constant_kwargs():
    x = nn.Input((3,))
    assert nn.Model(x, x)(rb.ones(2, 3)).shape == (2, 3)
    y = _Shift()(x, offset=2.0)
    assert y.node.kwargs == {"offset": 2.0}
    np.testing.assert_array_equal(_np(nn.Model(x, y)(rb.ones(2, 3))), np.full((2, 3), 3.0))


def test_nested_model_as_a_layer():
    x = nn.Input((4,))
    inner = nn.Model(x, nn.Linear(4, 3)(x))
    z = nn.Input((4,))
    h1, h2 = inner(z), inner(z)  # called twice: one child, shared weights
    outer = nn.Model(z, nn.Add()([h1, h2]))
    assert h1.shape == (None, 3)
    assert [n for n, _ in outer.named_children()] == ["model", "add"]
    assert list(outer.state_dict()) == ["model.linear.weight", "model.linear.bias"]
    v = rb.randn(2, 4)
    np.testing.assert_allclose(_np(outer(v)), 2 * _np(inner(v)), rtol=1e-6)
    seq = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    y = seq(z)
    assert y.shape == (None, 2)
    np.testing.assert_allclose(_np(nn.Model(z, y)(v)), _np(seq(v)))


def test_train_and_eval_propagate_to_layers():
    x = nn.Input((3,))
    layer = _RunningMean(3)
    model = nn.Model(x, layer(x))
    model.eval()
    assert not layer.training
    model(rb.ones(2, 3))
    assert layer.seen.item() == 0
    model.train()
    model(rb.ones(2, 3))
    assert layer.seen.item() == 1


def test_deep_chain_builds_and_runs_without_recursion():
    depth = 1500  # deeper than Python's default recursion limit
    x = nn.Input((2,))
    h = x
    for _ in range(depth):
        h = _Scale(1.0)(h)
    model = nn.Model(x, h)
    assert len(model.layers) == depth
    np.testing.assert_array_equal(_np(model(rb.ones(2, 2))), np.ones((2, 2)))


def test_subclassing_module_is_the_other_way():
    class _ResidualMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4)
            self.linear_1 = nn.Linear(4, 4)

        def forward(self, x):
            return self.linear_1(self.linear(x)) + x

    sub = _ResidualMLP()
    x = nn.Input((4,))
    l1, l2 = nn.Linear(4, 4), nn.Linear(4, 4)
    func = nn.Model(x, l2(l1(x)) + x)
    assert list(sub.state_dict()) == [k for k in func.state_dict() if not k.startswith("add")]
    func.load_state_dict(sub.state_dict())
    v = rb.randn(3, 4)
    np.testing.assert_allclose(_np(func(v)), _np(sub(v)), rtol=1e-6)
    # a subclassed module can itself be called on symbolic tensors
    assert sub(x).shape == (None, 4)


def test_int_input_with_embedding_and_flatten():
    emb, flat = getattr(nn, "Embedding", None), getattr(nn, "Flatten", None)
    if emb is None or flat is None:
        pytest.skip("nn.Embedding / nn.Flatten have not landed yet")
    x = nn.Input((5,), dtype="int64")
    h = flat()(emb(10, 3)(x))  # the probe feeds zeros: valid indices
    assert h.shape == (None, 15)
    model = nn.Model(x, nn.Linear(15, 2)(h))
    idx = rb.tensor(np.arange(10).reshape(2, 5), dtype=np.int64)
    assert model(idx).shape == (2, 2)


def test_deepcopy_keeps_sharing_inside_the_copy():
    import copy

    x = nn.Input((4,))
    shared = nn.Linear(4, 4)
    model = nn.Model(x, shared(shared(x)) + x)
    clone = copy.deepcopy(model)
    v = rb.randn(2, 4)
    np.testing.assert_array_equal(_np(model(v)), _np(clone(v)))
    with rb.no_grad():
        clone.linear.weight.zero_()
    # W = 0: s(s(x)) = b, so the copy gives x + b while the original is untouched
    np.testing.assert_allclose(_np(clone(v)), _np(v) + _np(clone.linear.bias), rtol=1e-6)
    assert clone.layers[0] is clone.linear and model.linear.weight.abs().sum().item() > 0
