"""Every optimiser and option against torch.optim: the same MLP (weights copied from PyTorch), the
same mini-batches, gradients computed by each framework, parameters compared every few steps over
50 steps, in float32 (rtol 1e-5, atol 1e-6) and float64 (tight). Plus state_dict round trips
(bit-exact resume, through JSON + npz), param groups, skipping, errors and allocation-free steps.
"""

from __future__ import annotations

import io
import json
import tracemalloc

import numpy as np
import pytest
import torch

import rosenblatt as rb
from rosenblatt import nn, optim

STEPS = 50
CHECK_EVERY = 5
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}


def _models(dtype):
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 4))
    theirs = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 4))
    if dtype == np.float64:
        ours, theirs = ours.double(), theirs.double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _batches(dtype, steps=STEPS, seed=1):
    r = np.random.default_rng(seed)
    X = r.standard_normal((64, 8)).astype(dtype)
    Y = r.integers(0, 4, 64)
    for _ in range(steps):
        idx = r.choice(64, 16, replace=False)
        yield X[idx], Y[idx]


def _rb_step(model, opt, x, y):
    opt.zero_grad()
    nn.CrossEntropyLoss()(model(rb.tensor(x)), rb.tensor(y)).backward()
    opt.step()


def _torch_step(model, opt, x, y):
    opt.zero_grad()
    torch.nn.CrossEntropyLoss()(model(torch.tensor(x)), torch.tensor(y)).backward()
    opt.step()


def _compare(ours, theirs, dtype, step):
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.detach().numpy(), **TOL[dtype],
                                   err_msg=f"{name} after {step} steps")


def _run_against_torch(name, kwargs, dtype, torch_kwargs=None, groups=None, prepare=None):
    ours, theirs = _models(dtype)
    if groups is None:
        opt = getattr(optim, name)(ours.parameters(), **kwargs)
        topt = getattr(torch.optim, name)(theirs.parameters(), **(torch_kwargs or kwargs))
    else:  # one group per Linear layer, with its own options
        mods = [m for m in ours if isinstance(m, nn.Linear)]
        tmods = [m for m in theirs if isinstance(m, torch.nn.Linear)]
        opt = getattr(optim, name)(
            [dict(params=list(m.parameters()), **g) for m, g in zip(mods, groups, strict=True)],
            **kwargs)
        topt = getattr(torch.optim, name)(
            [dict(params=list(m.parameters()), **g) for m, g in zip(tmods, groups, strict=True)],
            **kwargs)
    if prepare is not None:
        prepare(opt, topt, theirs)
    for step, (x, y) in enumerate(_batches(dtype), start=1):
        _rb_step(ours, opt, x, y)
        _torch_step(theirs, topt, x, y)
        if step % CHECK_EVERY == 0:
            _compare(ours, theirs, dtype, step)
    return opt, topt


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.8, weight_decay=1e-2)),
    ("SGD", dict(lr=0.1, weight_decay=1e-2)),
    ("SGD", dict(lr=0.02, maximize=True)),
    ("SGD", dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-2, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.05, lr_decay=1e-2, weight_decay=1e-2,
                     initial_accumulator_value=0.1, eps=1e-8)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-2)),
    ("Adadelta", dict(maximize=True)),
    ("RMSprop", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3, centered=True)),
    ("RMSprop", dict(lr=1e-3, momentum=0.9)),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, centered=True, momentum=0.9, weight_decay=1e-2)),
    ("RMSprop", dict(lr=1e-3, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-2, maximize=True)),
    ("Adam", dict(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=1e-2, betas=(0.8, 0.99), momentum_decay=1e-2, maximize=True)),
]


def _case_id(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch(case, dtype):
    name, kwargs = case
    previous = torch.get_default_dtype()
    if dtype == np.float64:
        # PyTorch keeps NAdam's μ-product in the default dtype; float64 to compare tightly.
        torch.set_default_dtype(torch.float64)
    try:
        _run_against_torch(name, kwargs, dtype)
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("nesterov_free_kwargs", [dict(), dict(weight_decay=1e-2)])
def test_sgd_ema_form_is_torch_dampened_from_a_zero_buffer(dtype, nesterov_free_kwargs):
    """v ← βv + (1−β)∇ (seed 002) = torch's SGD with dampening=β whose buffer starts at 0."""
    beta = 0.9

    def zero_buffers(opt, topt, theirs):
        for q in theirs.parameters():
            topt.state[q]["momentum_buffer"] = torch.zeros_like(q)

    _run_against_torch("SGD", dict(lr=0.5, momentum=beta, momentum_form="ema",
                                   **nesterov_free_kwargs), dtype,
                       torch_kwargs=dict(lr=0.5, momentum=beta, dampening=beta,
                                         **nesterov_free_kwargs),
                       prepare=zero_buffers)


def test_sgd_ema_form_against_the_formula():
    rb.manual_seed(0)
    p = nn.Parameter(np.random.default_rng(0).standard_normal(5))
    opt = optim.SGD([p], lr=0.1, momentum=0.8, momentum_form="ema")
    theta, v = p.data.copy(), np.zeros(5)
    r = np.random.default_rng(1)
    for _ in range(10):
        g = r.standard_normal(5)
        p.grad = g.copy()
        opt.step()
        v = 0.8 * v + 0.2 * g
        theta = theta - 0.1 * v
        np.testing.assert_allclose(p.data, theta, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], v, rtol=1e-14)


@pytest.mark.parametrize("name,kwargs,groups", [
    ("SGD", dict(lr=0.1, momentum=0.9),
     [dict(lr=0.2), dict(lr=0.05, momentum=0.5), dict(weight_decay=1e-2, nesterov=True)]),
    ("Adam", dict(lr=1e-2), [dict(lr=3e-2), dict(betas=(0.5, 0.9)), dict(amsgrad=True)]),
    ("RMSprop", dict(lr=1e-3), [dict(centered=True), dict(lr=1e-2), dict(momentum=0.5)]),
])
def test_param_groups_match_torch(name, kwargs, groups):
    opt, topt = _run_against_torch(name, kwargs, np.float32, groups=groups)
    for ours, theirs in zip(opt.param_groups, topt.param_groups, strict=True):
        for key in ours:
            if key != "params" and key in theirs:
                assert ours[key] == theirs[key], key


def test_param_groups_layout():
    a, b = nn.Parameter(np.zeros(3)), nn.Parameter(np.zeros(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"][0] is b
    assert set(opt.param_groups[0]) == {"params", "lr", "momentum", "dampening", "weight_decay",
                                        "nesterov", "maximize", "momentum_form"}
    c = nn.Parameter(np.zeros(1))
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_skips_none_grads_and_frozen_parameters():
    a = nn.Parameter(np.ones(3))
    b = nn.Parameter(np.ones(3))
    c = nn.Parameter(np.ones(3))
    opt = optim.Adam([a, b, c], lr=0.1)
    a.grad = np.ones(3)
    c.grad = np.ones(3)
    c.requires_grad_(False)
    opt.step()
    assert np.all(a.data < 1) and np.all(b.data == 1) and np.all(c.data == 1)
    assert a in opt.state and b not in opt.state and c not in opt.state


def test_zero_grad():
    p = nn.Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.all(g == 0)
    opt.zero_grad()
    assert p.grad is None


def test_closure_returns_loss():
    w = nn.Parameter(np.array([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.data, [1.5])  # 3 − 0.25·6


@pytest.mark.parametrize("bad", [
    lambda p: optim.SGD(p, lr=-1.0),
    lambda p: optim.SGD(p, lr=0.1, nesterov=True),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, momentum_form="heavy"),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, momentum_form="ema", dampening=0.5),
    lambda p: optim.Adam(p, betas=(1.0, 0.999)),
    lambda p: optim.Adagrad(p, lr_decay=-1),
    lambda p: optim.RMSprop(p, alpha=-0.1),
    lambda p: optim.NAdam(p, momentum_decay=-1),
    lambda p: optim.Adadelta(p, rho=1.5),
    lambda p: optim.SGD([], lr=0.1),
])
def test_invalid_arguments(bad):
    with pytest.raises(ValueError):
        bad([nn.Parameter(np.zeros(2))])


def test_rejects_non_leaves_and_single_tensors():
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(TypeError):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)


# ------------------------------------------------------------------ checkpoints

RESUME_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("SGD", dict(lr=0.1, momentum=0.9, momentum_form="ema")),
    ("Adagrad", dict(lr=0.05, lr_decay=1e-2, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2)),
]


def _to_json_npz(state_dict):
    """A checkpoint as a training loop would write it: arrays to .npz, the rest to JSON."""
    arrays, meta = {}, {"param_groups": state_dict["param_groups"], "state": {}}
    for idx, entries in state_dict["state"].items():
        meta["state"][idx] = {}
        for key, value in entries.items():
            if isinstance(value, np.ndarray):
                arrays[f"{idx}/{key}"] = value
                meta["state"][idx][key] = {"npz": f"{idx}/{key}"}
            else:
                assert isinstance(value, (int, float)), (key, type(value))
                meta["state"][idx][key] = value
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return json.dumps(meta), buf.getvalue()


def _from_json_npz(text, blob):
    meta = json.loads(text)
    arrays = np.load(io.BytesIO(blob))
    for entries in meta["state"].values():
        for key, value in entries.items():
            if isinstance(value, dict):
                entries[key] = arrays[value["npz"]]
    return meta


@pytest.mark.parametrize("case", RESUME_CASES, ids=[_case_id(c) for c in RESUME_CASES])
def test_state_dict_resume_is_bit_exact(case):
    name, kwargs = case
    batches = list(_batches(np.float32, steps=40))

    straight, _ = _models(np.float32)
    opt = getattr(optim, name)(straight.parameters(), **kwargs)
    for x, y in batches:
        _rb_step(straight, opt, x, y)

    first, _ = _models(np.float32)
    opt1 = getattr(optim, name)(first.parameters(), **kwargs)
    for x, y in batches[:20]:
        _rb_step(first, opt1, x, y)
    text, blob = _to_json_npz(opt1.state_dict())
    weights = {k: v.numpy().copy() for k, v in first.state_dict().items()}

    resumed, _ = _models(np.float32)
    resumed.load_state_dict(weights)
    opt2 = getattr(optim, name)(resumed.parameters(), lr=123.0)  # the checkpoint's lr wins
    opt2.load_state_dict(_from_json_npz(text, blob))
    assert opt2.param_groups[0]["lr"] == opt1.param_groups[0]["lr"]
    for x, y in batches[20:]:
        _rb_step(resumed, opt2, x, y)
    for (key, p), q in zip(straight.named_parameters(), resumed.parameters(), strict=True):
        assert np.array_equal(p.data, q.data), key


def test_state_dict_layout_is_torchs():
    ours, theirs = _models(np.float32)
    opt = optim.Adam([{"params": list(ours[0].parameters())},
                      {"params": list(ours[2].parameters()) + list(ours[4].parameters()),
                       "lr": 0.1}], amsgrad=True)
    topt = torch.optim.Adam([{"params": list(theirs[0].parameters())},
                             {"params": list(theirs[2].parameters())
                              + list(theirs[4].parameters()), "lr": 0.1}], amsgrad=True)
    for x, y in _batches(np.float32, steps=3):
        _rb_step(ours, opt, x, y)
        _torch_step(theirs, topt, x, y)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3, 4, 5]]
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for idx in sd["state"]:
        assert set(sd["state"][idx]) == set(tsd["state"][idx])
        assert sd["state"][idx]["step"] == 3 and isinstance(sd["state"][idx]["step"], int)
        assert type(sd["state"][idx]["exp_avg"]) is np.ndarray
    for g, tg in zip(sd["param_groups"], tsd["param_groups"], strict=True):
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
            assert g[key] == tg[key]
    json.dumps(sd["param_groups"])  # options are plain values
    # A saved dict does not change when training continues.
    before = sd["state"][0]["exp_avg"].copy()
    for x, y in _batches(np.float32, steps=1, seed=5):
        _rb_step(ours, opt, x, y)
    assert np.array_equal(sd["state"][0]["exp_avg"], before)


@pytest.mark.parametrize("name,kwargs", [("NAdam", dict(lr=1e-2)),
                                         ("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=1e-2, amsgrad=True))])
def test_loads_a_torch_optimizer_state_dict(name, kwargs):
    """PyTorch's tensors (step as a 0-d float tensor) load into our optimiser and training
    continues in step with PyTorch."""
    ours, theirs = _models(np.float32)
    topt = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    batches = list(_batches(np.float32, steps=20))
    for x, y in batches[:10]:
        _torch_step(theirs, topt, x, y)
    ours.load_state_dict(theirs.state_dict())
    opt = getattr(optim, name)(ours.parameters(), lr=123.0)
    opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == kwargs["lr"]
    if name != "SGD":
        assert opt.state[ours[0].weight]["step"] == 10
    for x, y in batches[10:]:
        _rb_step(ours, opt, x, y)
        _torch_step(theirs, topt, x, y)
    _compare(ours, theirs, np.float32, 20)


def test_load_state_dict_checks_groups():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameters in group 0"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


# ------------------------------------------------------------------ cost of a step


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda ps: optim.Adam(ps, lr=1e-3, amsgrad=True),
    lambda ps: optim.NAdam(ps, weight_decay=1e-2),
    lambda ps: optim.RMSprop(ps, centered=True, momentum=0.9),
    lambda ps: optim.Adagrad(ps),
    lambda ps: optim.Adadelta(ps),
], ids=["sgd-momentum", "sgd-nesterov-wd", "adam-amsgrad", "nadam", "rmsprop", "adagrad",
        "adadelta"])
def test_steps_allocate_nothing_once_warm(make):
    """After the first step a step allocates no parameter-sized arrays: updates are in place
    and temporaries live in reused scratch buffers."""
    r = np.random.default_rng(0)
    params = [nn.Parameter(r.standard_normal(s).astype(np.float32))
              for s in [(256, 128), (256,), (10, 256), (10,)]]
    for p in params:
        p.grad = r.standard_normal(p.shape).astype(np.float32)
    opt = make(params)
    opt.step()
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16_000, f"a step allocated {peak} bytes (largest parameter: {256 * 128 * 4})"
