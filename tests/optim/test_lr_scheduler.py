"""Learning-rate schedules against torch.optim.lr_scheduler: the same sequence of learning rates
(and momenta, for OneCycleLR) over 100 steps, for one and for two param groups; state_dict
round trips."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch

from rosenblatt import nn, optim
from rosenblatt.optim import lr_scheduler as ours_sched

theirs_sched = torch.optim.lr_scheduler


def _optimizers(kind="SGD", lrs=(0.1,)):
    """Our optimiser and PyTorch's, each with one param group per entry of ``lrs``."""
    ours = [nn.Parameter(np.zeros(2, np.float32)) for _ in lrs]
    theirs = [torch.zeros(2, requires_grad=True) for _ in lrs]
    kwargs = dict(momentum=0.9) if kind == "SGD" else {}
    opt = getattr(optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(ours, lrs,
                                                                             strict=True)],
                               **kwargs)
    topt = getattr(torch.optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(theirs, lrs,
                                                                                   strict=True)],
                                      **kwargs)
    return opt, topt


def _sequence(opt, sched, steps, metrics=None, extra=None):
    out = []
    for i in range(steps):
        opt.step()  # no gradients: nothing moves, but the order is the documented one
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        row = list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups]
        if extra is not None:
            row += extra(opt)
        out.append(row)
    return out


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, err_msg=f"step {i + 1}")


SCHEDULES = {
    "StepLR halve every 5": lambda m, o: m.StepLR(o, step_size=5, gamma=0.5),
    "StepLR /10 every 20": lambda m, o: m.StepLR(o, step_size=20, gamma=0.1),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[10, 30, 30, 70], gamma=0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.95),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),
    "CosineAnnealingLR T=100": lambda m, o: m.CosineAnnealingLR(o, T_max=100),
    "LinearLR warm-up": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=10),
    "LinearLR decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                              total_iters=60),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.1 * e)),
    "SequentialLR warm-up + cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=10),
            m.CosineAnnealingLR(o, T_max=90, eta_min=1e-4)], milestones=[10]),
    "SequentialLR three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.25, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=7, gamma=0.5)], milestones=[5, 40]),
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warnings about stepping order
        yield


@pytest.mark.parametrize("lrs", [(0.1,), (0.1, 0.03)], ids=["1group", "2groups"])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name, lrs):
    opt, topt = _optimizers(lrs=lrs)
    sched = SCHEDULES[name](ours_sched, opt)
    tsched = SCHEDULES[name](theirs_sched, topt)
    assert sched.get_last_lr() == tsched.get_last_lr()  # epoch 0, right after construction
    _assert_same(_sequence(opt, sched, 100), _sequence(topt, tsched, 100))


def test_notes_step_schedules():
    """The notes' 'halve every 5 epochs' and 'divide by 10 every 20 epochs'."""
    opt, _ = _optimizers(lrs=(1.0,))
    sched = ours_sched.StepLR(opt, step_size=5, gamma=0.5)
    lrs = [sched.get_last_lr()[0]] + [r[0] for r in _sequence(opt, sched, 14)]
    assert lrs == [1.0] * 5 + [0.5] * 5 + [0.25] * 5


def test_warmup_helper_matches_torch_sequential():
    opt, topt = _optimizers(lrs=(0.2, 0.05))
    sched = ours_sched.warmup(opt, 8, ours_sched.CosineAnnealingLR(opt, T_max=92),
                              start_factor=0.05)
    tsched = theirs_sched.SequentialLR(
        topt, [theirs_sched.LinearLR(topt, start_factor=0.05, end_factor=1.0, total_iters=8),
               theirs_sched.CosineAnnealingLR(topt, T_max=92)], milestones=[8])
    _assert_same(_sequence(opt, sched, 100), _sequence(topt, tsched, 100))
    opt, topt = _optimizers()
    sched = ours_sched.warmup(opt, 10)
    tsched = theirs_sched.LinearLR(topt, start_factor=0.1, total_iters=10)
    _assert_same(_sequence(opt, sched, 30), _sequence(topt, tsched, 30))


def _plateau_metrics():
    """Improving, flat, slightly better (below the threshold), better, noisy, flat again."""
    seq = [1.0 - 0.05 * i for i in range(10)]
    seq += [0.55] * 15
    seq += [0.55 * (1 - 5e-5)] * 5
    seq += [0.4, 0.39, 0.41, 0.42, 0.38] * 4
    seq += [0.38] * 25
    seq += [0.2 + 0.01 * (i % 3) for i in range(25)]
    return seq


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(factor=0.5, patience=3),
    dict(factor=0.5, patience=2, cooldown=4),
    dict(factor=0.1, patience=1, min_lr=1e-3),
    dict(factor=0.5, patience=2, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", factor=0.5, patience=3),
    dict(mode="max", factor=0.5, patience=2, threshold_mode="abs", cooldown=2),
    dict(factor=0.5, patience=0, min_lr=[1e-2, 1e-3], eps=1e-3),
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_reduce_on_plateau_matches_torch(kwargs):
    metrics = _plateau_metrics()
    if kwargs.get("mode") == "max":
        metrics = [-m for m in metrics]
    opt, topt = _optimizers(lrs=(0.1, 0.05))
    sched = ours_sched.ReduceLROnPlateau(opt, **kwargs)
    tsched = theirs_sched.ReduceLROnPlateau(topt, **kwargs)
    ours = _sequence(opt, sched, len(metrics), metrics,
                     extra=lambda o: [sched.num_bad_epochs, sched.cooldown_counter, sched.best])
    theirs = _sequence(topt, tsched, len(metrics), metrics,
                       extra=lambda o: [tsched.num_bad_epochs, tsched.cooldown_counter,
                                        tsched.best])
    _assert_same(ours, theirs)
    assert ours[-1][0] < 0.1  # the schedule did reduce


def test_reduce_on_plateau_notes_setting_stops_at_min_lr():
    opt, _ = _optimizers(lrs=(1e-3,))
    sched = ours_sched.ReduceLROnPlateau(opt, "min", factor=0.1, patience=10, min_lr=1e-6)
    for _ in range(200):
        sched.step(1.0)
    assert math.isclose(sched.get_last_lr()[0], 1e-6)  # 1e-3·0.1³ rounds just above


def _momenta(opt):
    out = []
    for g in opt.param_groups:
        out.append(g["betas"][0] if "betas" in g else g["momentum"])
    return out


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("kwargs", [
    dict(max_lr=1.0, total_steps=100),
    dict(max_lr=[1.0, 0.5], epochs=10, steps_per_epoch=10, pct_start=0.25,
         anneal_strategy="linear"),
    dict(max_lr=0.3, total_steps=100, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.3, total_steps=100, cycle_momentum=False),
    dict(max_lr=0.3, total_steps=100, base_momentum=0.8, max_momentum=[0.99, 0.9],
         pct_start=0.4),
], ids=["cos", "linear-epochs", "three-phase", "no-momentum", "momenta"])
def test_one_cycle_matches_torch(kind, kwargs):
    opt, topt = _optimizers(kind, lrs=(0.1, 0.2))
    sched = ours_sched.OneCycleLR(opt, **kwargs)
    tsched = theirs_sched.OneCycleLR(topt, **kwargs)
    assert _momenta(opt) == _momenta(topt)
    ours = _sequence(opt, sched, 99, extra=_momenta)
    theirs = _sequence(topt, tsched, 99, extra=_momenta)
    _assert_same(ours, theirs)
    for key in ("initial_lr", "max_lr", "min_lr"):
        assert [g[key] for g in opt.param_groups] == [g[key] for g in topt.param_groups]
    with pytest.raises(ValueError, match="Tried to step"):
        sched.step()
        sched.step()


def test_one_cycle_needs_momentum():
    opt = optim.Adagrad([nn.Parameter(np.zeros(1))])
    with pytest.raises(ValueError, match="momentum"):
        ours_sched.OneCycleLR(opt, max_lr=0.1, total_steps=10)


@pytest.mark.parametrize("name", ["StepLR halve every 5", "MultiStepLR", "CosineAnnealingLR",
                                  "SequentialLR warm-up + cosine", "LambdaLR"])
def test_state_dict_resume(name):
    opt, _ = _optimizers(lrs=(0.1, 0.02))
    sched = SCHEDULES[name](ours_sched, opt)
    straight = _sequence(opt, sched, 60)

    opt1, _ = _optimizers(lrs=(0.1, 0.02))
    sched1 = SCHEDULES[name](ours_sched, opt1)
    first = _sequence(opt1, sched1, 25)
    saved_sched = json.loads(json.dumps(sched1.state_dict()))
    saved_opt = json.loads(json.dumps(opt1.state_dict()))

    opt2, _ = _optimizers(lrs=(0.1, 0.02))
    sched2 = SCHEDULES[name](ours_sched, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    second = _sequence(opt2, sched2, 35)
    assert first + second == straight


def test_plateau_and_one_cycle_state_dict_resume():
    metrics = _plateau_metrics()
    opt, _ = _optimizers()
    sched = ours_sched.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    straight = _sequence(opt, sched, len(metrics), metrics)
    opt1, _ = _optimizers()
    sched1 = ours_sched.ReduceLROnPlateau(opt1, factor=0.5, patience=2, cooldown=1)
    first = _sequence(opt1, sched1, 40, metrics)
    opt2, _ = _optimizers()
    sched2 = ours_sched.ReduceLROnPlateau(opt2, factor=0.5, patience=2, cooldown=1)
    opt2.load_state_dict(json.loads(json.dumps(opt1.state_dict())))
    sched2.load_state_dict(json.loads(json.dumps(sched1.state_dict())))
    assert first + _sequence(opt2, sched2, len(metrics) - 40, metrics[40:]) == straight

    opt, _ = _optimizers("Adam")
    sched = ours_sched.OneCycleLR(opt, max_lr=0.5, total_steps=50)
    straight = _sequence(opt, sched, 50, extra=_momenta)
    opt1, _ = _optimizers("Adam")
    sched1 = ours_sched.OneCycleLR(opt1, max_lr=0.5, total_steps=50)
    first = _sequence(opt1, sched1, 20, extra=_momenta)
    opt2, _ = _optimizers("Adam")
    sched2 = ours_sched.OneCycleLR(opt2, max_lr=0.5, total_steps=50)
    opt2.load_state_dict(json.loads(json.dumps(opt1.state_dict())))
    sched2.load_state_dict(json.loads(json.dumps(sched1.state_dict())))
    assert isinstance(opt2.param_groups[0]["betas"], tuple)
    assert first + _sequence(opt2, sched2, 30, extra=_momenta) == straight


def test_resuming_with_last_epoch_matches_torch():
    opt, topt = _optimizers()
    for o in (opt, topt):
        o.param_groups[0]["initial_lr"] = 0.1
    sched = ours_sched.CosineAnnealingLR(opt, T_max=40, last_epoch=14)
    tsched = theirs_sched.CosineAnnealingLR(topt, T_max=40, last_epoch=14)
    _assert_same(_sequence(opt, sched, 30), _sequence(topt, tsched, 30))
    opt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        ours_sched.StepLR(opt, 5, last_epoch=3)


def test_errors():
    opt, _ = _optimizers()
    with pytest.raises(TypeError):
        ours_sched.StepLR(object(), 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ours_sched.SequentialLR(opt, [ours_sched.StepLR(opt, 5)], milestones=[3])
    with pytest.raises(ValueError):
        ours_sched.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError):
        ours_sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError):
        ours_sched.LinearLR(opt, start_factor=0.0)
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="another optimizer"):
        ours_sched.SequentialLR(opt, [ours_sched.StepLR(opt, 5), ours_sched.StepLR(other, 5)],
                                milestones=[3])
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)
