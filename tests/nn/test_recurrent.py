"""RNN, LSTM and GRU (layers, cells, functional) against PyTorch: outputs, final states and every
gradient (input, h0/c0, each weight and bias) for 1–2 layers, both directions, batch-first both
ways, with and without variable lengths (against torch's packed sequences), float32 and float64;
finite differences; BPTT as one node per layer-direction; truncated BPTT; the vanishing gradient
of a tanh RNN against an LSTM; the example's training run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import check_gradcheck, rng, tolerances

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.nn import functional as F
from rosenblatt.ops.rnn import GRUSequence, LSTMSequence, RNNSequence

torch.set_num_threads(1)

KINDS = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
T_, B_, I_, H_ = 6, 4, 3, 5
LENGTHS = np.array([6, 2, 4, 1])  # unsorted on purpose (sorting is ours to do)


def _pair(kind, **kw):
    """A torch layer and ours with the same weights (copied from torch's state_dict)."""
    if kind.startswith("RNN"):
        kw["nonlinearity"] = "tanh" if kind == "RNN_TANH" else "relu"
        name = "RNN"
    else:
        name = kind
    theirs = getattr(torch.nn, name)(**kw)
    ours = getattr(nn, name)(**kw)
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def _np(t):
    return t.detach().numpy()


def _states(kind, s):
    return list(s) if kind == "LSTM" else [s]


def _compare_layer(kind, dtype, num_layers=1, bidirectional=False, batch_first=False,
                   lengths=None, with_hx=True, bias=True, T=T_, B=B_, tol=None):
    """Forward the same data through torch and rosenblatt, backward a random linear function of
    the output and the final states, and compare everything."""
    torch.manual_seed(0)
    theirs, ours = _pair(kind, input_size=I_, hidden_size=H_, num_layers=num_layers,
                         bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    if dtype == np.float64:
        theirs.double()
        ours.double()
    g = rng(1)
    D = 2 if bidirectional else 1
    x = g.standard_normal((B, T, I_) if batch_first else (T, B, I_)).astype(dtype)
    hs = [g.standard_normal((num_layers * D, B, H_)).astype(dtype)
          for _ in range(2 if kind == "LSTM" else 1)]
    xt = torch.tensor(x, requires_grad=True)
    xr = rb.tensor(x, requires_grad=True)
    hts = [torch.tensor(h, requires_grad=True) for h in hs]
    hrs = [rb.tensor(h, requires_grad=True) for h in hs]
    hxt = (tuple(hts) if kind == "LSTM" else hts[0]) if with_hx else None
    hxr = (tuple(hrs) if kind == "LSTM" else hrs[0]) if with_hx else None

    if lengths is None:
        out_t, st_t = theirs(xt, hxt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out_t, st_t = theirs(packed, hxt)
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first,
                                                          total_length=T)
    out_r, st_r = ours(xr, hxr, lengths=lengths)

    atol, rtol = tol or tolerances(dtype)
    assert out_r.shape == tuple(out_t.shape) and out_r.dtype == dtype
    np.testing.assert_allclose(_np(out_r), _np(out_t), atol=atol, rtol=rtol, err_msg="output")
    sts_t, sts_r = _states(kind, st_t), _states(kind, st_r)
    for k, (a, b) in enumerate(zip(sts_r, sts_t, strict=True)):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=rtol, err_msg=f"state {k}")

    gen = rng(2)
    w_out = gen.standard_normal(out_r.shape).astype(dtype)
    w_st = [gen.standard_normal(s.shape).astype(dtype) for s in sts_r]
    loss_t = (out_t * torch.tensor(w_out)).sum()
    loss_r = (out_r * rb.tensor(w_out)).sum()
    for w, a, b in zip(w_st, sts_r, sts_t, strict=True):
        loss_t = loss_t + (b * torch.tensor(w)).sum()
        loss_r = loss_r + (a * rb.tensor(w)).sum()
    loss_t.backward()
    loss_r.backward()
    np.testing.assert_allclose(xr.grad, xt.grad.numpy(), atol=atol, rtol=rtol, err_msg="dx")
    if with_hx:
        for k, (a, b) in enumerate(zip(hrs, hts, strict=True)):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=atol, rtol=rtol,
                                       err_msg=f"d{'hc'[k]}0")
    tp = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(tp), "parameter names and order must be torch's"
    for n, p in ours.named_parameters():
        assert p.grad is not None and p.grad.dtype == dtype, n
        np.testing.assert_allclose(p.grad, tp[n].grad.numpy(), atol=atol, rtol=rtol, err_msg=n)


# ------------------------------------------------------------------ layers vs torch


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tbi", "bti"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, lengths, dtype):
    _compare_layer(kind, dtype, num_layers, bidirectional, batch_first, lengths)


@pytest.mark.parametrize("kind", KINDS)
def test_layer_without_hx_and_without_bias(kind):
    _compare_layer(kind, np.float64, num_layers=2, bidirectional=True, with_hx=False)
    _compare_layer(kind, np.float64, num_layers=2, bias=False, lengths=LENGTHS)


@pytest.mark.parametrize("kind", KINDS)
def test_long_sequence_float32(kind):
    """50 steps, 2 layers, bidirectional, with lengths: float32 errors do not pile up."""
    lengths = np.array([50, 17, 33, 1])
    _compare_layer(kind, np.float32, 2, True, True, lengths, T=50, tol=(5e-5, 1e-4))


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_matches_torch(kind):
    torch.manual_seed(0)
    theirs, ours = _pair(kind, input_size=I_, hidden_size=H_, bidirectional=True, num_layers=2)
    x = rng(3).standard_normal((T_, I_)).astype(np.float32)
    out_t, st_t = theirs(torch.tensor(x))
    out_r, st_r = ours(rb.tensor(x))
    assert out_r.shape == tuple(out_t.shape) == (T_, 2 * H_)
    np.testing.assert_allclose(_np(out_r), _np(out_t), atol=1e-6)
    for a, b in zip(_states(kind, st_r), _states(kind, st_t), strict=True):
        assert a.shape == tuple(b.shape) == (4, H_)
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6)


def test_lengths_all_full_equal_no_lengths_and_mask_form():
    lstm = nn.LSTM(I_, H_, batch_first=True, bidirectional=True)
    x = rb.tensor(rng(4).standard_normal((B_, T_, I_)).astype(np.float32))
    out_a, (h_a, c_a) = lstm(x)
    out_b, (h_b, c_b) = lstm(x, lengths=[T_] * B_)
    np.testing.assert_array_equal(_np(out_a), _np(out_b))
    np.testing.assert_array_equal(_np(c_a), _np(c_b))
    mask = np.arange(T_)[None, :] < LENGTHS[:, None]  # (B, T): batch-first like the input
    out_c, (h_c, _) = lstm(x, mask=mask)
    out_d, (h_d, _) = lstm(x, lengths=LENGTHS)
    np.testing.assert_array_equal(_np(out_c), _np(out_d))
    np.testing.assert_array_equal(_np(h_c), _np(h_d))
    assert np.all(_np(out_c)[1, 2:] == 0), "outputs past a sequence's length are zero"
    with pytest.raises(ValueError, match="prefix"):
        lstm(x, mask=~mask)


def test_zero_length_keeps_initial_state_and_its_gradient():
    gru = nn.GRU(I_, H_).double()
    x = rb.tensor(rng(5).standard_normal((T_, 3, I_)))
    h0 = rb.tensor(rng(6).standard_normal((1, 3, H_)), requires_grad=True)
    out, h_n = gru(x, h0, lengths=[4, 0, 6])
    np.testing.assert_array_equal(_np(out)[:, 1], 0.0)
    np.testing.assert_array_equal(_np(h_n)[0, 1], _np(h0)[0, 1])
    h_n.sum().backward()
    np.testing.assert_array_equal(h0.grad[0, 1], 1.0)


def test_bad_arguments_name_the_layer():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\).*input_size"):
        lstm(rb.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\).*lengths"):
        lstm(rb.zeros(5, 2, 3), lengths=[6, 1])
    with pytest.raises(ValueError, match="h0"):
        lstm(rb.zeros(5, 2, 3), (rb.zeros(1, 3, 4), rb.zeros(1, 3, 4)))
    with pytest.raises(TypeError, match="dtype"):
        lstm(rb.zeros(5, 2, 3, dtype="float64"))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)


# ------------------------------------------------------------------ cells vs torch


@pytest.mark.parametrize("kind", ["RNNCell_tanh", "RNNCell_relu", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, bias, batched, dtype):
    name, _, nl = kind.partition("_")
    kw = {"nonlinearity": nl} if nl else {}
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(I_, H_, bias=bias, **kw)
    ours = getattr(nn, name)(I_, H_, bias=bias, **kw)
    ours.load_state_dict(theirs.state_dict())
    if dtype == np.float64:
        theirs.double()
        ours.double()
    g = rng(7)
    lead = (B_,) if batched else ()
    x = g.standard_normal((*lead, I_)).astype(dtype)
    hs = [g.standard_normal((*lead, H_)).astype(dtype) for _ in range(2 if name == "LSTMCell"
                                                                      else 1)]
    xt, xr = torch.tensor(x, requires_grad=True), rb.tensor(x, requires_grad=True)
    hts = [torch.tensor(h, requires_grad=True) for h in hs]
    hrs = [rb.tensor(h, requires_grad=True) for h in hs]
    yt = theirs(xt, tuple(hts) if name == "LSTMCell" else hts[0])
    yr = ours(xr, tuple(hrs) if name == "LSTMCell" else hrs[0])
    yts, yrs = (list(yt), list(yr)) if name == "LSTMCell" else ([yt], [yr])
    atol, rtol = tolerances(dtype)
    loss_t, loss_r = 0, 0
    for k, (a, b) in enumerate(zip(yrs, yts, strict=True)):
        np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=rtol)
        w = rng(8 + k).standard_normal(a.shape).astype(dtype)
        loss_t = loss_t + (b * torch.tensor(w)).sum()
        loss_r = loss_r + (a * rb.tensor(w)).sum()
    loss_t.backward()
    loss_r.backward()
    np.testing.assert_allclose(xr.grad, xt.grad.numpy(), atol=atol, rtol=rtol)
    for a, b in zip(hrs, hts, strict=True):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=atol, rtol=rtol)
    tp = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tp[n].grad.numpy(), atol=atol, rtol=rtol, err_msg=n)


def test_cell_loop_equals_layer():
    """An LSTMCell unrolled by hand computes what the LSTM layer computes."""
    lstm, cell = nn.LSTM(I_, H_).double(), nn.LSTMCell(I_, H_).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})  # drop "_l0"
    x = rb.tensor(rng(9).standard_normal((T_, B_, I_)))
    out, (h_n, c_n) = lstm(x)
    state = None
    for t in range(T_):
        state = cell(x[t], state)
    np.testing.assert_allclose(_np(state[0]), _np(h_n[0]), atol=1e-14)
    np.testing.assert_allclose(_np(state[1]), _np(c_n[0]), atol=1e-14)


# ------------------------------------------------------------------ finite differences


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_float64(kind):
    """Finite differences through two directions with variable lengths, every input checked."""
    g = rng(10)
    T, B, I, H = 4, 3, 2, 3
    G = {"LSTM": 4, "GRU": 3}.get(kind, 1)
    shapes = [(G * H, I), (G * H, H), (G * H,), (G * H,)] * 2  # forward, then reverse
    weights = [g.standard_normal(s) * 0.6 for s in shapes]
    x = g.standard_normal((T, B, I))
    states = [g.standard_normal((2, B, H)) for _ in range(2 if kind == "LSTM" else 1)]
    lengths = [4, 1, 3]
    n = len(states)

    def fn(x, *rest):
        hx, w = rest[:n], rest[n:]
        groups = [w[:4], w[4:]]
        kw = {"bidirectional": True, "lengths": lengths}
        if kind == "LSTM":
            out, (h, c) = F.lstm(x, groups, tuple(hx), **kw)
            return rb.cat([out.reshape(-1), h.reshape(-1), c.reshape(-1)])
        if kind == "GRU":
            out, h = F.gru(x, groups, hx[0], **kw)
        else:
            nl = "tanh" if kind == "RNN_TANH" else "relu"
            out, h = F.rnn(x, groups, hx[0], nonlinearity=nl, **kw)
        return rb.cat([out.reshape(-1), h.reshape(-1)])

    check_gradcheck(fn, [x, *states, *weights], atol=1e-6)


def test_one_graph_node_per_layer_and_direction():
    """BPTT is one hand-written op per layer-direction, however long the sequence."""
    lstm = nn.LSTM(I_, H_, num_layers=2, bidirectional=True)
    out, (h, c) = lstm(rb.randn(40, B_, I_))
    seen, stack, kinds = set(), [out._node, h._node, c._node], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or isinstance(node, rb.Tensor):
            continue
        seen.add(id(node))
        kinds.append(type(node).__name__)
        stack.extend(node.parents)
    assert kinds.count("LSTMSequence") == 4
    assert len(kinds) < 30, f"the graph should not grow with the sequence: {kinds}"


def test_ops_directly_on_arrays():
    """The ops can be called on arrays with a time-major layout (T, B, I)."""
    g = rng(11)
    x = g.standard_normal((3, 2, 4))
    h0 = np.zeros((2, 5))
    for op, G, extra in [(RNNSequence, 1, ()), (LSTMSequence, 4, (h0,)), (GRUSequence, 3, ())]:
        W_ih, W_hh = g.standard_normal((G * 5, 4)), g.standard_normal((G * 5, 5))
        Y = op.apply(x, h0, *extra, W_ih, W_hh, None, None)
        assert Y.shape == (3 + 1 + len(extra), 2, 5)
        np.testing.assert_array_equal(_np(Y)[2], _np(Y)[3])  # h_n is the last output


def test_reused_buffers_never_touch_live_results():
    """The ops reuse their big arrays only when nothing else refers to them: an output kept by
    the caller and a graph kept with retain_graph survive later calls unchanged."""
    for layer in (nn.LSTM(I_, H_), nn.GRU(I_, H_), nn.RNN(I_, H_)):
        x1, x2 = rb.randn(T_, B_, I_), rb.randn(T_, B_, I_)
        out1, _ = layer(x1)
        kept = _np(out1).copy()
        out1.sum().backward(retain_graph=True)
        first = [p.grad.copy() for p in layer.parameters()]
        layer.zero_grad()
        for _ in range(2):  # same shapes: would land on out1's and the graph's arrays
            out2, _ = layer(x2)
            out2.sum().backward()
        np.testing.assert_array_equal(_np(out1), kept)
        layer.zero_grad()
        out1.sum().backward()  # through the retained graph again
        for a, p in zip(first, layer.parameters(), strict=True):
            np.testing.assert_array_equal(p.grad, a)


# ------------------------------------------------------------------ parameters and modules


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_names_shapes_and_init_are_torchs(kind):
    theirs, ours = _pair(kind, input_size=7, hidden_size=6, num_layers=3, bidirectional=True)
    mine = ours.state_dict()
    assert list(mine) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert mine[k].shape == tuple(v.shape)
    rb.manual_seed(1)
    fresh = type(ours)(7, 6, num_layers=3, bidirectional=True)
    bound = 1 / np.sqrt(6)
    values = np.concatenate([p.data.ravel() for p in fresh.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)  # uniform's std


def test_config_round_trip_and_repr():
    for layer in [nn.LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.25, bidirectional=True),
                  nn.RNN(3, 4, nonlinearity="relu", bias=False), nn.GRU(3, 4),
                  nn.LSTMCell(3, 4), nn.RNNCell(3, 4, nonlinearity="relu"),
                  nn.GRUCell(3, 4, bias=False)]:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        assert repr(clone) == repr(layer)
        assert list(clone.state_dict()) == list(layer.state_dict())
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"


def test_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(I_, H_, num_layers=3, dropout=0.5)
    x = rb.randn(T_, B_, I_)
    lstm.eval()
    a, _ = lstm(x)
    b, _ = lstm(x)
    np.testing.assert_array_equal(_np(a), _np(b))
    lstm.train()
    rb.manual_seed(3)
    c, _ = lstm(x)
    rb.manual_seed(3)
    d, _ = lstm(x)
    np.testing.assert_array_equal(_np(c), _np(d))  # masks come from rb's generator
    assert not np.allclose(_np(a), _np(c))
    one = nn.GRU(I_, H_, dropout=0.5)  # a single layer has no "between": no dropout at all
    one.eval()
    e, _ = one(x)
    one.train()
    f, _ = one(x)
    np.testing.assert_array_equal(_np(e), _np(f))


def test_embedding_then_lstm_learns_a_text_task():
    """Token ids → Embedding → LSTM → Linear on the last state: gradients reach the embedding and
    the loss falls (task: does token 1 occur in the sequence?)."""
    rb.manual_seed(0)
    g = rng(12)
    tokens = g.integers(2, 10, size=(64, 12))
    labels = g.random(64) < 0.5
    tokens[labels, g.integers(0, 12, size=int(labels.sum()))] = 1
    emb, lstm, head = nn.Embedding(10, 8, padding_idx=0), nn.LSTM(8, 16, batch_first=True), \
        nn.Linear(16, 1)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = rb.optim.Adam(params, lr=0.02)
    losses = []
    for _ in range(40):
        _, (h, _) = lstm(emb(tokens))
        loss = F.binary_cross_entropy_with_logits(head(h[-1]).reshape(-1),
                                                  labels.astype(np.float32))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert emb.weight.grad is not None and np.abs(emb.weight.grad[1]).sum() > 0
    assert losses[-1] < 0.5 * losses[0]


# ------------------------------------------------------------------ truncated BPTT


def test_tbptt_chunks_carry_state_and_cut_gradients():
    """Chunks with the state carried: the same forward as the whole sequence; with the state
    detached between chunks, the same gradients as torch doing the same."""
    torch.manual_seed(0)
    theirs, ours = _pair("LSTM", input_size=I_, hidden_size=H_, batch_first=True)
    theirs.double()
    ours.double()
    x = rng(13).standard_normal((B_, 10, I_))
    full, _ = ours(rb.tensor(x))
    state_r, state_t, outs = None, None, []
    chunks_r = F.tbptt_chunks(rb.tensor(x), 4, batch_first=True)
    chunks_t = F.tbptt_chunks(torch.tensor(x), 4, batch_first=True)
    for xr, xt in zip(chunks_r, chunks_t, strict=True):
        out_r, state_r = ours(xr, state_r)
        out_t, state_t = theirs(xt, state_t)
        (out_r ** 2).sum().backward()
        (out_t ** 2).sum().backward()
        outs.append(_np(out_r))
        state_r = F.detach_state(state_r)
        state_t = tuple(s.detach() for s in state_t)
    assert [o.shape[1] for o in outs] == [4, 4, 2]
    np.testing.assert_allclose(np.concatenate(outs, axis=1), _np(full), atol=1e-14)
    tp = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():  # gradients accumulated over the three chunks
        np.testing.assert_allclose(p.grad, tp[n].grad.numpy(), atol=1e-12, err_msg=n)
    with pytest.raises(ValueError):
        next(F.tbptt_chunks(rb.tensor(x), 0))


# ------------------------------------------------------------------ vanishing gradients


def _early_late_ratio(layer, T, seed):
    """‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ for L = Σ h_T (the last output): how much of the gradient that
    reaches the last input survives the trip back to the first."""
    x = rb.tensor(rng(seed).standard_normal((T, 8, layer.input_size)), requires_grad=True)
    out, _ = layer(x)
    out[-1].sum().backward()
    g = x.grad
    return np.linalg.norm(g[0]) / np.linalg.norm(g[-1])


def test_tanh_rnn_gradient_vanishes_lstm_much_less():
    """The notes: RNNs suffer from vanishing gradients; the LSTM's cell path mitigates it.

    Both layers (H = 64) use PyTorch's default init U(−1/√H, 1/√H); the one change is the LSTM's
    forget-gate bias, set to 1 (bᵢ_f = 1, bₕ_f = 0; Gers et al. 2000, Jozefowicz et al. 2015).
    Why: with the default init the forget gate starts at f ≈ σ(0) = 0.5, which halves the
    gradient carried along the cell at every step, and the LSTM's ratio vanishes too
    (measured: ≈ 1e-19 at T = 100, against ≈ 4e-24 for the tanh RNN); with f ≈ σ(1) ≈ 0.73 the
    cell forgets slowly from the start (measured ≈ 5e-7 at T = 100). Float64, so that the RNN's
    ~1e-24 does not underflow float32. Geometric mean over 3 seeds of weights and data.
    """
    lengths = (10, 50, 100)
    ratios: dict[str, list[float]] = {"rnn": [], "lstm": []}
    H = 64
    for T in lengths:
        per: dict[str, list[float]] = {"rnn": [], "lstm": []}
        for seed in range(3):
            rb.manual_seed(seed)
            rnn, lstm = nn.RNN(4, H).double(), nn.LSTM(4, H).double()
            lstm.bias_ih_l0.data[H : 2 * H] = 1.0
            lstm.bias_hh_l0.data[H : 2 * H] = 0.0
            per["rnn"].append(_early_late_ratio(rnn, T, seed))
            per["lstm"].append(_early_late_ratio(lstm, T, seed))
        for k in ratios:
            ratios[k].append(float(np.exp(np.mean(np.log(per[k])))))
    rnn_drop = ratios["rnn"][0] / ratios["rnn"][-1]
    lstm_drop = ratios["lstm"][0] / ratios["lstm"][-1]
    assert ratios["rnn"][0] > ratios["rnn"][1] > ratios["rnn"][2], ratios
    assert rnn_drop > 1e15, ratios  # T = 10 → 100: more than fifteen orders of magnitude
    assert lstm_drop < 1e8, ratios  # the LSTM loses far fewer
    assert ratios["lstm"][-1] > 1e10 * ratios["rnn"][-1], ratios


# ------------------------------------------------------------------ the example


def test_sequence_classification_example_learns():
    path = Path(__file__).resolve().parents[2] / "examples" / "sequence_classification.py"
    spec = importlib.util.spec_from_file_location("sequence_classification_example", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    result = module.main(["--quick"])
    assert result["final_mse"] < 0.25 * result["baseline_mse"], result
