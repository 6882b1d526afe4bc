"""The deterministic image operations behind the transforms, on NumPy arrays.

Every function works on the last two axes (H, W) of an array, so it takes one CHW image, an
(H, W) map or an (N, C, H, W) batch alike, and never writes to its input. Interpolating
operations (``resize``, ``warp_affine``, ``lens_distort``) compute in floating point; an integer
input comes back rounded and clipped to its own dtype (as torchvision does for uint8).

Coordinates follow PyTorch's ``align_corners=False`` convention: pixel j covers [j, j+1) and its
centre is j + ½, so output pixel j of a resize from n to m samples the input at
``s = (j + ½)·n/m − ½``; an affine warp turns about the image centre ((W−1)/2, (H−1)/2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["hflip", "vflip", "pad", "crop", "center_crop", "resize", "resized_crop",
           "output_size", "affine_matrix", "warp_affine", "sample", "lens_distort",
           "five_crop", "ten_crop", "as_size"]


def as_size(size: int | Sequence[int], what: str = "size") -> tuple[int, int]:
    """(h, w) from an int (a square) or a pair."""
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{what} must be an int or (h, w), got {size}")
    return size[0], size[1]


def _float(x: np.ndarray) -> np.ndarray:
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _restore(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "f":
        return out.astype(dtype, copy=False)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(dtype)
    return out.astype(dtype)


def hflip(x: np.ndarray) -> np.ndarray:
    """Mirror left ↔ right: ``out[..., i, j] = x[..., i, W−1−j]``."""
    return np.ascontiguousarray(x[..., ::-1])


def vflip(x: np.ndarray) -> np.ndarray:
    """Mirror top ↔ bottom: ``out[..., i, j] = x[..., H−1−i, j]``."""
    return np.ascontiguousarray(x[..., ::-1, :])


def pad(x: np.ndarray, padding: int | Sequence[int], mode: str = "constant",
        fill: float = 0.0) -> np.ndarray:
    """Pad H and W. ``padding``: p (all sides), (left/right, top/bottom) or (left, top, right,
    bottom); ``mode``: "constant" (``fill``), "edge", "reflect" (no edge repeat), "symmetric"."""
    if isinstance(padding, (int, np.integer)):
        left = top = right = bottom = int(padding)
    elif len(padding) == 2:
        left, top = (int(p) for p in padding)
        right, bottom = left, top
    elif len(padding) == 4:
        left, top, right, bottom = (int(p) for p in padding)
    else:
        raise ValueError(f"padding must be an int or 2 or 4 ints, got {padding}")
    if mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"padding mode must be constant, edge, reflect or symmetric, got {mode}")
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=mode)


def crop(x: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """``x[..., top:top+height, left:left+width]`` (a copy); the box must lie inside."""
    h, w = x.shape[-2:]
    if top < 0 or left < 0 or top + height > h or left + width > w or height < 1 or width < 1:
        raise ValueError(f"crop box (top={top}, left={left}, h={height}, w={width}) is not "
                         f"inside the {h}x{w} image")
    return np.ascontiguousarray(x[..., top:top + height, left:left + width])


def center_crop(x: np.ndarray, size: int | Sequence[int]) -> np.ndarray:
    """The central (h, w) box, top = round((H − h)/2), left = round((W − w)/2); an image smaller
    than the box is first zero-padded to it (as torchvision)."""
    th, tw = as_size(size)
    h, w = x.shape[-2:]
    if th > h or tw > w:
        dl, dt = max(tw - w, 0) // 2, max(th - h, 0) // 2
        x = pad(x, (dl, dt, max(tw - w, 0) - dl, max(th - h, 0) - dt))
        h, w = x.shape[-2:]
    return crop(x, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def output_size(h: int, w: int, size: int | Sequence[int],
                max_size: int | None = None) -> tuple[int, int]:
    """(new_h, new_w): an int resizes the *shorter* side to ``size`` and the longer one to
    ``int(size·long/short)`` (capped at ``max_size``); a pair is the exact (h, w)."""
    if isinstance(size, (int, np.integer)) or len(size) == 1:
        s = int(size) if isinstance(size, (int, np.integer)) else int(size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None and new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), int(max_size)
        return (new_long, new_short) if w <= h else (new_short, new_long)
    return as_size(size)


def _linear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps along one axis: out[j] = (1 − t)·in[i0] + t·in[i1] (PyTorch's rule)."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def resize(x: np.ndarray, size: int | Sequence[int], interpolation: str = "bilinear",
           max_size: int | None = None) -> np.ndarray:
    """Resize H, W to ``output_size(H, W, size, max_size)``.

    "bilinear" is PyTorch's ``interpolate(mode="bilinear", align_corners=False,
    antialias=False)``: output pixel j reads s = (j + ½)·n_in/n_out − ½ (clamped at 0) and mixes
    pixels ⌊s⌋ and ⌊s⌋+1 with weights 1 − (s − ⌊s⌋) and s − ⌊s⌋, rows then columns. Without
    antialiasing a large reduction skips pixels (aliases), as torchvision with
    ``antialias=False``. "nearest" reads pixel ⌊j·n_in/n_out⌋ (PyTorch's "nearest").
    """
    h, w = x.shape[-2:]
    oh, ow = output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return x.copy()
    if interpolation == "nearest":
        rows = np.minimum(np.floor(np.arange(oh) * (h / oh)).astype(np.int64), h - 1)
        cols = np.minimum(np.floor(np.arange(ow) * (w / ow)).astype(np.int64), w - 1)
        return np.ascontiguousarray(x[..., rows[:, None], cols[None, :]])
    if interpolation != "bilinear":
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    dtype = x.dtype
    y = _float(x)
    ft = y.dtype.type
    r0, r1, tr = _linear_taps(h, oh)
    tr = tr.astype(ft)[:, None]
    y = y[..., r0, :] * (1 - tr) + y[..., r1, :] * tr
    c0, c1, tc = _linear_taps(w, ow)
    tc = tc.astype(ft)
    y = y[..., c0] * (1 - tc) + y[..., c1] * tc
    return _restore(y, dtype)


def resized_crop(x: np.ndarray, top: int, left: int, height: int, width: int,
                 size: int | Sequence[int], interpolation: str = "bilinear") -> np.ndarray:
    """``resize(crop(x, top, left, height, width), size)``."""
    return resize(crop(x, top, left, height, width), size, interpolation)


def five_crop(x: np.ndarray, size: int | Sequence[int]) -> np.ndarray:
    """The four corner crops and the centre crop, stacked on a new first axis (5, …, h, w), in
    torchvision's order: top-left, top-right, bottom-left, bottom-right, centre."""
    th, tw = as_size(size)
    h, w = x.shape[-2:]
    if th > h or tw > w:
        raise ValueError(f"crop size {(th, tw)} is bigger than the {h}x{w} image")
    return np.stack([crop(x, 0, 0, th, tw), crop(x, 0, w - tw, th, tw),
                     crop(x, h - th, 0, th, tw), crop(x, h - th, w - tw, th, tw),
                     center_crop(x, (th, tw))])


def ten_crop(x: np.ndarray, size: int | Sequence[int], vertical_flip: bool = False
             ) -> np.ndarray:
    """``five_crop`` of the image then of its mirror image (horizontal, or vertical): (10, …)."""
    flipped = vflip(x) if vertical_flip else hflip(x)
    return np.concatenate([five_crop(x, size), five_crop(flipped, size)])


def affine_matrix(angle: float, translate: Sequence[float] = (0.0, 0.0), scale: float = 1.0,
                  shear: Sequence[float] = (0.0, 0.0),
                  center: Sequence[float] = (0.0, 0.0)) -> np.ndarray:
    """The *inverse* affine map (2, 3), output → input coordinates, measured from the centre.

    The forward map is M = T·C·R·S·Sh·C⁻¹ (torchvision's convention): shear by (sx, sy) degrees,
    scale, rotate by ``angle`` degrees (clockwise on screen, y pointing down), translate by
    (tx, ty) pixels. With rotation θ and shears φx, φy, R·S·Sh (no scale) = [[a, b], [c, d]],

        a = cos(θ − φy)/cos φy,   b = −cos(θ − φy)·tan φx / cos φy − sin θ,
        c = sin(θ − φy)/cos φy,   d = −sin(θ − φy)·tan φx / cos φy + cos θ,

    whose determinant is 1, so the inverse is [[d, −b], [−c, a]]/scale, followed by the inverse
    translation; the result maps an output point (x, y) to the input point it reads.
    """
    rot = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return np.asarray(m, dtype=np.float64).reshape(2, 3)


def sample(x: np.ndarray, ys: np.ndarray, xs: np.ndarray, fill: float = 0.0,
           interpolation: str = "bilinear") -> np.ndarray:
    """Read ``x`` at the (fractional) pixel positions (ys, xs), each of shape (Ho, Wo).

    Bilinear: out = Σ over the four neighbours (y0 + i, x0 + j) of weight · value, weights
    (1 − fy or fy)·(1 − fx or fx); a neighbour outside the image reads as ``fill`` (with fill 0
    this is ``grid_sample(padding_mode="zeros", align_corners=False)``). Nearest: the rounded
    position, ``fill`` outside.
    """
    dtype = x.dtype
    v = _float(x)
    h, w = v.shape[-2:]
    ft = v.dtype.type
    if interpolation == "nearest":
        yi = np.rint(ys).astype(np.int64)
        xi = np.rint(xs).astype(np.int64)
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        out = np.where(inside, v[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], ft(fill))
        return _restore(out, dtype)
    if interpolation != "bilinear":
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    fy = (ys - y0).astype(ft)
    fx = (xs - x0).astype(ft)
    out = np.zeros(v.shape[:-2] + ys.shape, dtype=v.dtype)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            val = v[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
            out += (wy * wx) * np.where(inside, val, ft(fill))
    return _restore(out, dtype)


def _centred_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres relative to the image centre: (yc, xc), each (H, W)."""
    yc = np.arange(h, dtype=np.float64) - (h - 1) / 2.0
    xc = np.arange(w, dtype=np.float64) - (w - 1) / 2.0
    return np.meshgrid(yc, xc, indexing="ij")


def warp_affine(x: np.ndarray, inverse: np.ndarray, fill: float = 0.0,
                interpolation: str = "bilinear") -> np.ndarray:
    """Output pixel (x, y) (from the centre) = input at ``inverse @ (x, y, 1)`` (from the
    centre): inverse mapping, so every output pixel gets exactly one value."""
    h, w = x.shape[-2:]
    yc, xc = _centred_grid(h, w)
    m = np.asarray(inverse, dtype=np.float64)
    xs = m[0, 0] * xc + m[0, 1] * yc + m[0, 2] + (w - 1) / 2.0
    ys = m[1, 0] * xc + m[1, 1] * yc + m[1, 2] + (h - 1) / 2.0
    return sample(x, ys, xs, fill, interpolation)


def lens_distort(x: np.ndarray, k1: float, k2: float = 0.0, fill: float = 0.0,
                 interpolation: str = "bilinear") -> np.ndarray:
    """Radial (Brown–Conrady) lens distortion about the image centre.

    With output point p (from the centre) in units of the half-diagonal ρ = ½√(H² + W²),
    r² = |p|²/ρ², the output reads the input at p·(1 + k1·r² + k2·r⁴). k > 0 reads further
    out the further from the centre — magnification falls off towards the edges: barrel
    distortion; k < 0 gives pincushion distortion; k1 = k2 = 0 is the identity.
    """
    h, w = x.shape[-2:]
    yc, xc = _centred_grid(h, w)
    rho2 = (h * h + w * w) / 4.0
    r2 = (xc * xc + yc * yc) / rho2
    factor = 1.0 + k1 * r2 + k2 * r2 * r2
    return sample(x, yc * factor + (h - 1) / 2.0, xc * factor + (w - 1) / 2.0, fill,
                  interpolation)
