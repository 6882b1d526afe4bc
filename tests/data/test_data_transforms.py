"""Per-image transforms: exact results on tiny hand-made images, value ranges, identities,
determinism under ``rb.manual_seed``, and PyTorch as the oracle for bilinear resizing and
affine sampling (``interpolate`` / ``grid_sample``, what torchvision calls underneath)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rosenblatt as rb
from rosenblatt.data import transforms as T
from rosenblatt.data.transforms import functional as F

torch = pytest.importorskip("torch")

SQUARE = np.array([[[1.0, 2.0], [3.0, 4.0]]], dtype=np.float32)  # (1, 2, 2)


def image(c: int = 3, h: int = 9, w: int = 11, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w)).astype(np.float32)


def same_under_seed(t, x, seed: int = 5) -> None:
    rb.manual_seed(seed)
    a = t(x)
    rb.manual_seed(seed)
    b = t(x)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ base
def test_to_tensor_hwc_uint8_to_chw_float():
    hwc = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    out = T.ToTensor()(hwc)
    assert out.shape == (3, 2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 0, 2], hwc[0, 2, 1] / 255.0)
    assert T.ToTensor()(np.zeros((4, 5), np.uint8)).shape == (1, 4, 5)
    assert T.ToTensor()(np.full((2, 2, 1), 0.5)).max() == np.float32(0.5)  # floats: no scaling
    pil = pytest.importorskip("PIL.Image")
    np.testing.assert_array_equal(T.ToTensor()(pil.fromarray(hwc)), out)


def test_normalize_exact_and_from_data():
    x = image(3, 4, 5)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    out = T.Normalize(mean, std)(x)
    expected = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std,
                                                                          np.float32)[:, None, None]
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    batch = np.stack([image(3, 4, 5, s) for s in range(6)])
    z = T.Normalize.from_data(batch)(batch)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        T.Normalize([0.0, 0.0], [1.0, 1.0])(x)
    with pytest.raises(ValueError, match="positive"):
        T.Normalize(0.0, 0.0)


def test_min_max_scale():
    x = np.array([[[2.0, 4.0], [6.0, 10.0]]], np.float32)
    np.testing.assert_allclose(T.MinMaxScale()(x), [[[0.0, 0.25], [0.5, 1.0]]])
    np.testing.assert_allclose(T.MinMaxScale((-1, 1))(x), [[[-1.0, -0.5], [0.0, 1.0]]])
    fixed = T.MinMaxScale(data_min=0.0, data_max=20.0)(x)
    np.testing.assert_allclose(fixed, x / 20.0)
    assert T.MinMaxScale()(np.ones((1, 2, 2), np.float32)).max() == 0.0  # constant → lo
    fitted = T.MinMaxScale.from_data(np.stack([x, 2 * x]), per_channel=True)
    np.testing.assert_allclose(fitted(2 * x).max(), 1.0)


def test_compose_lambda_random_apply_choice_and_repr():
    t = T.Compose([T.Lambda(lambda a: a + 1), T.Normalize(0.0, 2.0)])
    np.testing.assert_allclose(t(SQUARE), (SQUARE + 1) / 2)
    assert "Normalize(mean=[0.0], std=[2.0])" in repr(t) and "Compose([" in repr(t)
    flip = T.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(T.RandomApply([flip], p=0.0)(SQUARE), SQUARE)
    np.testing.assert_array_equal(T.RandomApply([flip], p=1.0)(SQUARE), flip(SQUARE))
    pick = T.RandomChoice([flip, T.RandomVerticalFlip(p=1.0)], p=[0.0, 1.0])
    np.testing.assert_array_equal(pick(SQUARE), SQUARE[:, ::-1])
    assert repr(T.RandomCrop(4, padding=2)).startswith("RandomCrop(size=(4, 4), padding=2")


# ------------------------------------------------------------------------------ flips, crops
def test_flips_exact():
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(SQUARE), [[[2, 1], [4, 3]]])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(SQUARE), [[[3, 4], [1, 2]]])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(SQUARE), SQUARE)
    rb.manual_seed(0)
    flipped = sum(int(T.RandomHorizontalFlip(0.3)(SQUARE)[0, 0, 0] == 2) for _ in range(2000))
    assert 500 < flipped < 700


def test_random_crop_coordinates_and_padding():
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    crop = T.RandomCrop(3)
    rb.manual_seed(1)
    top, left = crop.params(5, 5)
    rb.manual_seed(1)
    out = crop(x)
    np.testing.assert_array_equal(out, x[:, top:top + 3, left:left + 3])
    same_under_seed(crop, x)
    rb.manual_seed(0)
    corners = {tuple(T.RandomCrop(2)(SQUARE[:, :2, :2]).ravel())}
    assert corners == {(1.0, 2.0, 3.0, 4.0)}  # crop = image size: the image
    padded = T.RandomCrop(4, padding=1)  # a 4×4 image padded to 6×6: 3 × 3 positions
    rb.manual_seed(0)
    seen = {padded.params(6, 6) for _ in range(200)}
    assert seen == {(i, j) for i in range(3) for j in range(3)}
    ones = np.ones((1, 4, 4), np.float32)
    rb.manual_seed(0)
    zeros_seen = {int((padded(ones) == 0).sum()) for _ in range(100)}
    assert zeros_seen == {0, 4, 7}  # centred, one padded edge (4), a corner (4 + 4 − 1)
    p = T.RandomCrop((2, 2), padding=1, padding_mode="edge")
    assert p(SQUARE).shape == (1, 2, 2)
    assert T.RandomCrop(4, pad_if_needed=True)(SQUARE).shape == (1, 4, 4)
    with pytest.raises(ValueError, match="bigger"):
        T.RandomCrop(3)(SQUARE)


def test_pad_modes():
    row = np.array([[[1.0, 2.0, 3.0]]])
    assert F.pad(row, (2, 0), "reflect")[0, 0].tolist() == [3, 2, 1, 2, 3, 2, 1]
    assert F.pad(row, (2, 0), "symmetric")[0, 0].tolist() == [2, 1, 1, 2, 3, 3, 2]
    assert F.pad(row, (1, 0), "edge")[0, 0].tolist() == [1, 1, 2, 3, 3]
    assert F.pad(row, (1, 0, 0, 0), "constant", 9)[0, 0].tolist() == [9, 1, 2, 3]


def test_center_crop_and_five_ten_crop():
    x = np.arange(30, dtype=np.float32).reshape(1, 5, 6)
    np.testing.assert_array_equal(T.CenterCrop(3)(x), x[:, 1:4, 2:4 + 1])  # round(1.5) = 2
    assert T.CenterCrop((7, 6))(x).shape == (1, 7, 6)  # padded when too small
    five = T.FiveCrop(2)(x)
    assert five.shape == (5, 1, 2, 2)
    np.testing.assert_array_equal(five[0], x[:, :2, :2])
    np.testing.assert_array_equal(five[1], x[:, :2, 4:])
    np.testing.assert_array_equal(five[2], x[:, 3:, :2])
    np.testing.assert_array_equal(five[3], x[:, 3:, 4:])
    np.testing.assert_array_equal(five[4], F.center_crop(x, 2))
    ten = T.TenCrop(2)(x)
    assert ten.shape == (10, 1, 2, 2)
    np.testing.assert_array_equal(ten[5], x[:, :2, ::-1][:, :, :2])  # top-left of the mirror
    with pytest.raises(ValueError, match="bigger"):
        T.FiveCrop(6)(x)


# ------------------------------------------------------------------------------ resize
def test_resize_same_size_is_identity_and_output_sizes():
    x = image(3, 6, 8)
    np.testing.assert_array_equal(T.Resize((6, 8))(x), x)
    np.testing.assert_array_equal(T.Resize(6)(x), x)
    assert F.output_size(6, 8, 3) == (3, 4)
    assert F.output_size(10, 7, 5) == (7, 5)  # int(5·10/7) = 7
    assert F.output_size(6, 8, 4, max_size=5) == (4, 5)  # long side int(4·8/6) = 5
    assert F.output_size(6, 8, 4, max_size=4) == (3, 4)  # capped: short int(4·4/5) = 3
    assert T.Resize(3)(x).shape == (3, 3, 4)
    assert T.Resize([3])(x).shape == (3, 3, 4)  # [s] is the shorter side too


@pytest.mark.parametrize("size", [(4, 5), (13, 17), (9, 3), (1, 1)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_resize_matches_torch_interpolate(size, mode):
    x = image(2, 7, 6, seed=3)
    kw = {"align_corners": False, "antialias": False} if mode == "bilinear" else {}
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=size, mode=mode,
                                          **kw)[0].numpy()
    np.testing.assert_allclose(F.resize(x, size, mode), ref, rtol=1e-5, atol=1e-6)


def test_resize_uint8_rounds_and_batches():
    x = np.array([[[0, 255]]], dtype=np.uint8)
    out = F.resize(x, (1, 4))
    assert out.dtype == np.uint8 and out.tolist() == [[[0, 64, 191, 255]]]
    batch = np.stack([image(seed=s) for s in range(3)])
    np.testing.assert_array_equal(F.resize(batch, (4, 4))[1], F.resize(batch[1], (4, 4)))


def test_random_resize_short_side_range():
    x = image(1, 8, 12)
    rb.manual_seed(0)
    sides = {T.RandomResize(4, 6)(x).shape[-2] for _ in range(60)}
    assert sides == {4, 5, 6}


def test_random_resized_crop_params_and_identity():
    x = image(3, 10, 10)
    t = T.RandomResizedCrop(6, scale=(0.2, 0.9))
    rb.manual_seed(2)
    for _ in range(50):
        top, left, h, w = t.params(10, 10)
        assert 0 <= top <= 10 - h and 0 <= left <= 10 - w
        assert 0.2 * 100 * 0.75 <= h * w <= 0.9 * 100 * 1.34  # area within scale (± rounding)
        assert 3 / 4 - 0.2 <= w / h <= 4 / 3 + 0.2
    assert t(x).shape == (3, 6, 6)
    whole = T.RandomResizedCrop(10, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    np.testing.assert_array_equal(whole(x), x)
    same_under_seed(t, x)
    # nothing fits (ratio far from the image's): the centred fallback, aspect clamped
    wide = T.RandomResizedCrop(4, scale=(1.0, 1.0), ratio=(4.0, 5.0))
    assert wide.params(10, 10) == (4, 0, 2, 10)


# ------------------------------------------------------------------------------ affine, lens
def test_affine_identity_and_exact_moves():
    x = image(2, 5, 5)
    np.testing.assert_allclose(T.RandomAffine(0, translate=(0, 0), scale=(1, 1), shear=0)(x), x,
                               atol=1e-6)
    clockwise = F.warp_affine(x, F.affine_matrix(90.0))
    np.testing.assert_allclose(clockwise, np.rot90(x, k=-1, axes=(1, 2)), atol=1e-6)
    shifted = F.warp_affine(x, F.affine_matrix(0.0, translate=(1, 0)))
    np.testing.assert_allclose(shifted[:, :, 1:], x[:, :, :-1], atol=1e-6)
    np.testing.assert_array_equal(shifted[:, :, 0], 0.0)  # from outside: fill
    filled = F.warp_affine(x, F.affine_matrix(0.0, translate=(0, 2)), fill=0.5)
    np.testing.assert_allclose(filled[:, :2], 0.5)


def test_affine_matrix_is_the_inverse_of_rotation_scale_shear():
    m = F.affine_matrix(30.0, translate=(2.0, -1.0), scale=1.5, shear=(10.0, 5.0))
    rot, sx, sy = math.radians(30), math.radians(10), math.radians(5)
    rotation = np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]])
    shear_y = np.array([[1.0, 0.0], [-math.tan(sy), 1.0]])
    shear_x = np.array([[1.0, -math.tan(sx)], [0.0, 1.0]])
    forward = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(forward[:2, :2], 1.5 * rotation @ shear_y @ shear_x, atol=1e-12)
    np.testing.assert_allclose(forward[:2, 2], [2.0, -1.0], atol=1e-12)  # the translation


def test_warp_matches_torch_grid_sample():
    x = image(3, 6, 7, seed=4)
    m = F.affine_matrix(25.0, translate=(1.0, -2.0), scale=0.8, shear=(12.0, -6.0))
    h, w = x.shape[-2:]
    # torchvision's _gen_affine_grid: centred pixel coordinates → normalised by (w/2, h/2)
    xs = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, w, dtype=torch.float64)
    ys = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, h, dtype=torch.float64)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    base = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1)
    grid = base @ torch.from_numpy(m).T / torch.tensor([0.5 * w, 0.5 * h], dtype=torch.float64)
    ref = torch.nn.functional.grid_sample(torch.from_numpy(x)[None].double(), grid[None],
                                          mode="bilinear", padding_mode="zeros",
                                          align_corners=False)[0].numpy()
    np.testing.assert_allclose(F.warp_affine(x, m), ref, atol=1e-5)


def test_random_affine_ranges_and_seed():
    t = T.RandomAffine(degrees=15, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=(-5, 5, -3, 3))
    rb.manual_seed(0)
    for _ in range(50):
        angle, (tx, ty), s, (shx, shy) = t.params(10, 20)
        assert -15 <= angle <= 15 and abs(tx) <= 2 and abs(ty) <= 2 and tx == round(tx)
        assert 0.9 <= s <= 1.1 and -5 <= shx <= 5 and -3 <= shy <= 3
    x = image(3, 10, 20)
    out = t(x)
    assert out.shape == x.shape and out.min() >= 0.0 and out.max() <= 1.0
    same_under_seed(t, x)
    assert T.RandomRotation(10)(x).shape == x.shape
    with pytest.raises(ValueError):
        T.RandomAffine(0, shear=(1, 2, 3))


def test_lens_distortion():
    x = image(1, 9, 9)
    np.testing.assert_allclose(T.LensDistortion(0.0, 0.0)(x), x, atol=1e-6)
    centre = T.LensDistortion(0.3)(x)
    assert centre[0, 4, 4] == pytest.approx(x[0, 4, 4])  # the centre does not move
    grid = np.zeros((1, 21, 21), np.float32)
    grid[:, :, 2] = 1.0  # a straight vertical line near the left edge (column 2)
    cols = np.arange(21)

    def centroid(img, row):
        return float((img[0, row] * cols).sum() / img[0, row].sum())

    barrel = F.lens_distort(grid, 0.4)  # pulled inwards, more so far from the centre: ( bulge
    assert 2.0 < centroid(barrel, 10) < centroid(barrel, 2)
    pin = F.lens_distort(grid, -0.3)  # pushed outwards, more so far from the centre: ) pinch
    assert centroid(pin, 3) < centroid(pin, 10) < 2.0
    same_under_seed(T.LensDistortion((-0.2, 0.2), (-0.05, 0.05)), x)


# ------------------------------------------------------------------------------ colour
def test_color_jitter_identity_and_formulas():
    x = image(3, 4, 4)
    ident = T.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(1, 1))
    np.testing.assert_array_equal(ident(x), x)
    np.testing.assert_allclose(T.adjust_brightness(x, 0.5), x * 0.5, rtol=1e-6)
    gray = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(T.rgb_to_grayscale(x)[0], gray, rtol=1e-6)
    np.testing.assert_allclose(T.adjust_contrast(x, 0.0), np.broadcast_to(gray.mean(), x.shape),
                               rtol=1e-5)
    np.testing.assert_allclose(T.adjust_saturation(x, 0.0), np.broadcast_to(gray, x.shape),
                               rtol=1e-5)
    np.testing.assert_allclose(T.adjust_saturation(x, 1.5),
                               np.clip(1.5 * x - 0.5 * gray, 0, 1), rtol=1e-5, atol=1e-7)
    one = image(1, 4, 4)
    np.testing.assert_array_equal(T.adjust_saturation(one, 0.2), one)


def test_color_jitter_random_stays_in_range_and_is_seeded():
    x = image(3, 6, 6)
    t = T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
    assert t.brightness == (0.6, 1.4)
    out = t(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    same_under_seed(t, x)
    assert T.ColorJitter(brightness=0).brightness is None


# ------------------------------------------------------------------------------ erase
def test_cutout_hole_size_and_fill():
    x = np.ones((2, 10, 10), np.float32)
    cut = T.Cutout(n_holes=1, length=4)
    rb.manual_seed(3)
    (y1, y2, x1, x2), = cut.boxes(10, 10)
    rb.manual_seed(3)
    out = cut(x)
    expected = x.copy()
    expected[:, y1:y2, x1:x2] = 0.0
    np.testing.assert_array_equal(out, expected)
    assert (y2 - y1) <= 4 and (x2 - x1) <= 4
    assert x.min() == 1.0  # input untouched
    rb.manual_seed(0)
    interior = [b for b in (cut.boxes(100, 100)[0] for _ in range(50))
                if 2 <= b[0] and b[1] <= 98 and 2 <= b[2] and b[3] <= 98]
    assert all((b[1] - b[0], b[3] - b[2]) == (4, 4) for b in interior) and interior


def test_random_erasing():
    x = np.ones((3, 20, 20), np.float32)
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(x), x)
    t = T.RandomErasing(p=1.0, scale=(0.1, 0.1), ratio=(1.0, 1.0), value=(0.0, 0.5, 2.0))
    out = t(x)
    erased = out[0] == 0.0
    assert erased.sum() == 36  # round(√40) = 6 → a 6×6 box
    np.testing.assert_array_equal(out[1][erased], 0.5)
    np.testing.assert_array_equal(out[2][erased], 2.0)
    noise = T.RandomErasing(p=1.0, value="random")(x)
    assert (noise != 1.0).any() and x.min() == 1.0
    same_under_seed(T.RandomErasing(p=1.0), x)
    none_fit = T.RandomErasing(p=1.0, scale=(1.0, 1.0))
    np.testing.assert_array_equal(none_fit(x), x)
