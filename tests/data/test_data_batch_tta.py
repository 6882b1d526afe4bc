"""Mixup and CutMix (λ weighting, label weight = pixel share, soft labels usable by
cross_entropy) and multi-scale test-time averaging (views, averaging, mode restored)."""

from __future__ import annotations

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt import nn
from rosenblatt.data import transforms as T
from rosenblatt.data.transforms import functional as F
from rosenblatt.nn import functional as NF


def labelled_images(n: int = 6, classes: int = 6):
    """Image i is constant i (so every pixel says whose it is); label i."""
    y = np.arange(n) % classes
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None],
                        (n, 1, 8, 8)).copy()
    return x, y


# ------------------------------------------------------------------------------ mixup
def test_mixup_blends_images_and_labels_with_the_same_lambda():
    x, y = labelled_images()
    mix = T.Mixup(alpha=0.4, num_classes=6)
    rb.manual_seed(0)
    xm, ym = mix(x, y)
    lam, perm = mix.last_lambda, mix.last_permutation
    assert 0.0 <= lam <= 1.0 and sorted(perm.tolist()) == list(range(6))
    np.testing.assert_allclose(xm[:, 0, 0, 0], lam * np.arange(6) + (1 - lam) * perm, rtol=1e-6)
    expected = lam * np.eye(6)[y] + (1 - lam) * np.eye(6)[y[perm]]
    np.testing.assert_allclose(ym, expected, rtol=1e-6)
    assert ym.dtype == np.float32 and xm.dtype == np.float32
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-6)


def test_mixup_x_equals_y_when_images_are_their_one_hot_labels():
    y = np.array([0, 1, 2, 2, 1])
    x = np.eye(3, dtype=np.float32)[y]
    xm, ym = T.Mixup(1.0, num_classes=3)((x, y))  # a batch tuple works too
    np.testing.assert_allclose(xm, ym, rtol=1e-6)


def test_mixup_seeded_and_lambda_distribution():
    x, y = labelled_images()
    mix = T.Mixup(0.2, num_classes=6)
    rb.manual_seed(9)
    a = mix(x, y)
    rb.manual_seed(9)
    b = mix(x, y)
    np.testing.assert_array_equal(a[0], b[0])
    lams = []
    for _ in range(400):
        mix(x, y)
        lams.append(mix.last_lambda)
    lams = np.array(lams)
    assert abs(lams.mean() - 0.5) < 0.06  # Beta(α, α) is symmetric about ½ …
    assert ((lams < 0.1) | (lams > 0.9)).mean() > 0.5  # … and with α = 0.2 U-shaped


def test_mixup_soft_labels_work_with_cross_entropy():
    x, y = labelled_images()
    _, ym = T.Mixup(1.0, num_classes=6)(x, y)
    logits = rb.tensor(np.random.default_rng(0).normal(size=(6, 6)).astype(np.float32),
                       requires_grad=True)
    loss = NF.cross_entropy(logits, ym)
    logp = logits.data - np.log(np.exp(logits.data).sum(axis=1, keepdims=True))
    assert float(loss.data) == pytest.approx(float(-(ym * logp).sum(axis=1).mean()), rel=1e-5)
    loss.backward()
    assert logits.grad.shape == (6, 6)


def test_mixup_needs_num_classes_for_indices_and_accepts_soft_labels():
    x, y = labelled_images()
    with pytest.raises(ValueError, match="num_classes"):
        T.Mixup(1.0)(x, y)
    soft = np.eye(6, dtype=np.float32)[y]
    assert T.Mixup(1.0)(x, soft)[1].shape == (6, 6)
    with pytest.raises(ValueError):
        T.Mixup(0.0)
    with pytest.raises(ValueError, match="class indices"):
        T.one_hot(np.array([0, 7]), 6)


# ------------------------------------------------------------------------------ cutmix
def test_cutmix_label_weight_is_the_pixel_share():
    x, y = labelled_images(8, 8)
    cut = T.CutMix(alpha=1.0, num_classes=8)
    rb.manual_seed(1)
    for _ in range(20):
        xm, ym = cut(x, y)
        lam, perm = cut.last_lambda, cut.last_permutation
        y1, y2, x1, x2 = cut.last_box
        for i in range(8):
            own = (xm[i] == i).mean() if perm[i] != i else 1.0
            if perm[i] != i:
                assert own == pytest.approx(lam)  # the share of pixels still its own
                assert ym[i, y[i]] == pytest.approx(lam, rel=1e-6)
                assert ym[i, y[perm[i]]] == pytest.approx(1 - lam, rel=1e-6)
            assert (xm[i, :, y1:y2, x1:x2] == perm[i]).all()
        assert lam == pytest.approx(1 - (y2 - y1) * (x2 - x1) / 64)
        np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-6)
    assert x[3].min() == 3  # input untouched


def test_cutmix_box_comes_from_lambda():
    _, y = labelled_images(4, 4)
    x = np.zeros((4, 1, 100, 80), np.float32)
    cut = T.CutMix(alpha=1.0, num_classes=4)
    rb.manual_seed(0)
    state = rb.get_rng_state()
    cut(x, y)
    rb.set_rng_state(state)  # replay the draws: λ, the permutation, the box centre
    g = rb.random.generator()
    lam = float(g.beta(1.0, 1.0))
    g.permutation(4)
    cx, cy = int(g.integers(0, 80)), int(g.integers(0, 100))
    cut_w, cut_h = int(80 * np.sqrt(1 - lam)), int(100 * np.sqrt(1 - lam))
    expected = (max(cy - cut_h // 2, 0), min(cy + cut_h // 2, 100),
                max(cx - cut_w // 2, 0), min(cx + cut_w // 2, 80))
    assert cut.last_box == expected
    with pytest.raises(ValueError, match="images"):
        cut(np.zeros((4, 3), np.float32), y)


# ------------------------------------------------------------------------------ TTA
def test_multi_scale_crops_views():
    x = np.random.default_rng(0).random((3, 10, 12)).astype(np.float32)
    views = T.MultiScaleCrops(scales=(8, 10), crop_size=6)(x)
    assert views.shape == (2 * 10, 3, 6, 6)
    np.testing.assert_array_equal(views[10:20], F.ten_crop(F.resize(x, 10), 6))
    centre = T.MultiScaleCrops(scales=(8,), crop_size=6, crops=1, flip=True)(x)
    assert centre.shape == (2, 3, 6, 6)
    np.testing.assert_array_equal(centre[1], centre[0][..., ::-1])
    with pytest.raises(ValueError, match="crop size"):
        T.MultiScaleCrops(scales=(4,), crop_size=6)


class MeanColour(nn.Module):
    """Logits = per-channel means (so predictions depend on the view's content)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def test_multi_scale_tta_averages_softmax_over_all_views():
    x = np.random.default_rng(1).random((3, 10, 10)).astype(np.float32)
    model = MeanColour()
    model.train()
    scales = (6, 8, 10)
    p = T.multi_scale_tta(model, x, scales=scales, crop_size=6)
    views = T.MultiScaleCrops(scales, 6)(x)
    z = views.mean(axis=(2, 3))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    expected = (e / e.sum(axis=1, keepdims=True)).mean(axis=0)
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    assert model.training  # mode restored
    logits = T.multi_scale_tta(model, x, scales=scales, crop_size=6, average="logits")
    np.testing.assert_allclose(logits, z.mean(axis=0), rtol=1e-6)
    batch = np.stack([x, x[:, ::-1]])
    pb = T.multi_scale_tta(model, batch, scales=scales, crop_size=6)
    assert pb.shape == (2, 3)
    np.testing.assert_allclose(pb[0], p, rtol=1e-6)


def test_tta_default_is_five_scales_times_ten_crops():
    calls = []

    def model(t):
        calls.append(t.shape)
        return t.mean(dim=(1, 2, 3)).reshape(-1, 1) * rb.ones(1, 4)

    x = np.random.default_rng(2).random((3, 224, 300)).astype(np.float32)
    out = T.multi_scale_tta(model, x)
    assert calls == [(50, 3, 224, 224)] and out.shape == (4,)
    np.testing.assert_allclose(out, 0.25, rtol=1e-6)
