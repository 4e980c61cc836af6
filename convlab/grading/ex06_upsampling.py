"""Checks of assignment ``ex06_upsampling``: bilinear interpolation, max-unpooling, PixelShuffle (chapter 7).

Each must equal :mod:`convlab.functional` (and ``torch.nn.functional``) of that name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = ["check_interpolate_bilinear", "check_max_unpool2d", "check_pixel_shuffle"]


def _resample(x, size, coords: Callable):
    """Separable bilinear resampling with source coordinates ``coords(out, in_size, out_size)``."""
    out = x.astype(np.float64)
    for axis, out_size in ((2, size[0]), (3, size[1])):
        n = out.shape[axis]
        src = coords(np.arange(out_size, dtype=np.float64), n, out_size)
        i0 = np.clip(np.trunc(src).astype(int), 0, n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - np.trunc(src)).reshape([out_size if a == axis else 1 for a in range(4)])
        out = np.take(out, i0, axis=axis) * (1 - lam) + np.take(out, i1, axis=axis) * lam
    return out.astype(x.dtype)


def _bilinear(x, size, align_corners, *, coords=None, swap=False, rounded=False):
    """Bilinear resampling as PyTorch does it, with switches for three mistakes."""
    out = x.astype(np.float64)
    for axis, m in ((2, size[0]), (3, size[1])):
        n = out.shape[axis]
        t = np.arange(m, dtype=np.float64)
        if coords is not None:
            src = coords(t, n, m)
        elif align_corners:
            src = t * (n - 1) / (m - 1) if m > 1 else np.zeros(m)
        else:
            src = np.maximum((t + 0.5) * n / m - 0.5, 0)
        i0 = np.clip(np.round(src) if rounded else np.floor(src), 0, n - 1).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0).reshape([m if a == axis else 1 for a in range(4)])
        if swap:
            lam = 1 - lam
        out = np.take(out, i0, axis=axis) * (1 - lam) + np.take(out, i1, axis=axis) * lam
    return out.astype(x.dtype)


def _random_image(rng: np.random.Generator) -> Case:
    n, c, h, w = (int(v) for v in (*rng.integers(1, 3, size=2), *rng.integers(1, 7, size=2)))
    size = tuple(int(v) for v in rng.integers(1, 13, size=2))
    dtype = np.float32 if rng.random() < 0.3 else np.float64
    return Case(draw(rng, (n, c, h, w), dtype), size, align_corners=bool(rng.random() < 0.5))


_rng, _X22 = np.random.default_rng(7), np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
_interpolate = reference(
    "convlab.functional", "interpolate", lambda f, x, size, a: f(x, tuple(size), None, "bilinear", a)
)

check_interpolate_bilinear = exercise(
    "interpolate_bilinear(x, size, align_corners=False)",
    _interpolate,
    [
        Case(_X22, (4, 4), align_corners=False),
        Case(_X22, (4, 4), align_corners=True),
        Case(draw(_rng, (1, 2, 3, 4)), (5, 7), align_corners=False),
        Case(draw(_rng, (1, 1, 6, 6)), (3, 4), align_corners=False),
        Case(draw(_rng, (2, 1, 3, 3)), (6, 6), align_corners=True),
        Case(draw(_rng, (1, 2, 2, 3), np.float32), (4, 6), align_corners=False),
    ],
    _random_image,
    [
        M(
            "your output matches the other `align_corners` setting. With align_corners=True the "
            "corner pixels' centres line up: src = dst * (in - 1) / (out - 1). With False (the "
            "default) the pixel edges line up: src = (dst + 0.5) * in / out - 0.5.",
            align_corners=lambda align_corners: not align_corners,
        ),
        M(
            "the half-pixel offset is missing: with align_corners=False, src = (dst + 0.5) * in / out "
            "- 0.5, not dst * in / out.",
            lambda x, size: _resample(x, size, lambda o, n, m: o * (n / m)),
            when=lambda align_corners: not align_corners,
        ),
        M(
            "near the top/left border the source coordinate is negative (e.g. -0.25) and int() "
            "rounds it towards zero, which extrapolates; clamp it to 0 first (as PyTorch does).",
            lambda x, size: _resample(x, size, lambda o, n, m: (o + 0.5) * (n / m) - 0.5),
            when=lambda align_corners: not align_corners,
        ),
        M(
            "the two weights are swapped: the nearer pixel gets the larger weight, "
            "(1 - λ) x[i0] + λ x[i1] with i0 = floor(src) and λ = src - i0.",
            lambda x, size, align_corners: _bilinear(x, size, align_corners, swap=True),
        ),
        M(
            "i0 is floor(src), the pixel at or before the sample point, not round(src): past each "
            "half pixel round() picks the next pixel and the weight src - i0 turns negative.",
            lambda x, size, align_corners: _bilinear(x, size, align_corners, rounded=True),
        ),
        M(
            "the scale is in / out (input pixels per output pixel): src = (dst + 0.5) * in / out - 0.5; "
            "you used out / in.",
            lambda x, size: _bilinear(
                x, size, False, coords=lambda t, n, m: np.maximum((t + 0.5) * m / n - 0.5, 0)
            ),
            when=lambda align_corners: not align_corners,
        ),
        M(
            "`size` is (H_out, W_out), rows first; your output is resized to (W_out, H_out).",
            lambda x, size, align_corners: _bilinear(x, (size[1], size[0]), align_corners),
            when=lambda size: size[0] != size[1],
        ),
    ],
    doc="""Check ``interpolate_bilinear(x, size, align_corners=False)`` against bilinear ``F.interpolate``.

    ``x`` is ``(N, C, H, W)``, ``size`` is ``(H_out, W_out)``; the output keeps the dtype of ``x``.
    """,
)

_pool = reference("convlab.functional", "max_pool2d")


def _unpool_case(rng, shape, dtype=np.float64) -> Case:
    x = draw(rng, shape, dtype) + np.arange(np.prod(shape)).reshape(shape) * 1e-3  # no ties
    pooled, indices = _pool(x.astype(dtype), 2, stride=2, return_indices=True)
    return Case(pooled, indices, shape[2:])


def _random_unpool(rng: np.random.Generator) -> Case:
    n, c, h, w = (int(v) for v in (*rng.integers(1, 3, size=2), *rng.integers(2, 9, size=2)))
    return _unpool_case(rng, (n, c, h, w), np.float32 if rng.random() < 0.3 else np.float64)


def _unpool_with(place: Callable) -> Callable:
    """Unpooling with indices decoded as ``rows, cols = place(index, output_size, pooled_size)``."""

    def compute(x, indices, output_size):
        out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
        for a, b in np.ndindex(*x.shape[:2]):
            rows, cols = place(indices[a, b], output_size, x.shape[2:])
            keep = (rows < output_size[0]) & (cols < output_size[1])
            out[a, b, rows[keep], cols[keep]] = x[a, b][keep]
        return out

    return compute


def _corner(x, output_size):
    out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    h, w = x.shape[2:]
    out[:, :, 0 : 2 * h : 2, 0 : 2 * w : 2] = x
    return out


def _unpool_flat(x, indices, output_size):
    """Per-plane indices scattered into the whole flattened (N, C, H_out, W_out) array."""
    out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    flat = out.reshape(-1)
    for a, b in np.ndindex(*x.shape[:2]):
        flat[indices[a, b].ravel()] = x[a, b].ravel()
    return out


def _repeat(x, output_size):
    up, out = x.repeat(2, axis=2).repeat(2, axis=3), np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    h, w = min(up.shape[2], output_size[0]), min(up.shape[3], output_size[1])
    out[:, :, :h, :w] = up[:, :, :h, :w]
    return out


_rng = np.random.default_rng(8)

check_max_unpool2d = exercise(
    "max_unpool2d(x, indices, output_size)",
    reference(
        "convlab.functional",
        "max_unpool2d",
        lambda f, x, indices, size: f(x, indices, 2, None, 0, tuple(size)),
    ),
    [_unpool_case(_rng, s) for s in ((1, 1, 4, 4), (1, 2, 4, 6), (2, 1, 5, 5))]
    + [_unpool_case(_rng, (1, 3, 6, 4), np.float32)],
    _random_unpool,
    [
        M(
            "your output repeats every value over its window (nearest-neighbour upsampling): "
            "max-unpooling puts each value back at the one position its index records and zeros "
            "everywhere else.",
            _repeat,
        ),
        M(
            "each value goes to the position its index records (row = index // W_out, col = "
            "index % W_out in the output_size plane), not to the top-left corner of its window.",
            lambda x, output_size: _corner(x, output_size),
        ),
        M(
            "the indices are positions inside each H_out x W_out plane: sample n, channel c writes "
            "into out[n, c] only (scatter per plane, e.g. np.put_along_axis on an (N, C, H_out*W_out) "
            "array), not into the whole flattened array.",
            _unpool_flat,
            when=lambda x: x.shape[0] * x.shape[1] > 1,
        ),
        M(
            "the indices are decoded in column-major order: an index is row * W_out + col, so "
            "row = index // W_out and col = index % W_out.",
            _unpool_with(lambda idx, size, small: (idx % size[0], idx // size[0])),
        ),
        M(
            "the indices are decoded with the width of the pooled input: they count positions in "
            "the *output* plane, row = index // W_out with W_out = output_size[1].",
            _unpool_with(lambda idx, size, small: (idx // small[1], idx % small[1])),
        ),
    ],
    doc="""Check ``max_unpool2d(x, indices, output_size)`` against ``F.max_unpool2d``.

    ``x`` and ``indices`` are ``(N, C, h, w)`` as returned by ``max_pool2d(..., return_indices=True)``:
    each index is the flat position ``row * W_out + col`` of the maximum inside its
    ``(H_out, W_out) = output_size`` plane.
    """,
)


def _shuffle(order: tuple[int, ...], factor_first: bool = False) -> Callable:
    """PixelShuffle with the axes (n, c, i, j, h, w), or (n, i, j, c, h, w), put in ``order``."""

    def compute(x, r):
        n, c, h, w = x.shape[0], x.shape[1] // (r * r), *x.shape[2:]
        y = (
            x.reshape(n, r, r, c, h, w).transpose(0, 3, 1, 2, 4, 5)
            if factor_first
            else x.reshape(n, c, r, r, h, w)
        )
        return np.ascontiguousarray(y.transpose(order)).reshape(n, c, h * r, w * r)

    return compute


def _random_shuffle(rng: np.random.Generator) -> Case:
    r, (n, c, h, w) = int(rng.integers(1, 4)), (int(v) for v in rng.integers(1, 4, size=4))
    return Case(draw(rng, (n, c * r * r, h, w), np.float32 if rng.random() < 0.3 else np.float64), r)


_rng = np.random.default_rng(9)

check_pixel_shuffle = exercise(
    "pixel_shuffle(x, r)",
    reference("convlab.functional", "pixel_shuffle"),
    [
        Case(np.arange(16.0).reshape(1, 4, 2, 2), 2),
        Case(np.arange(48.0).reshape(1, 8, 2, 3), 2),
        Case(draw(_rng, (2, 9, 2, 2)), 3),
        Case(draw(_rng, (1, 3, 2, 2), np.float32), 1),
    ],
    _random_shuffle,
    [
        M(
            "a plain reshape does not interleave the channels: reshape to (N, C, r, r, H, W), move "
            "the axes to (N, C, H, r, W, r) with transpose, then reshape to (N, C, H*r, W*r).",
            lambda x, r: x.reshape(x.shape[0], x.shape[1] // (r * r), x.shape[2] * r, x.shape[3] * r),
            when=lambda r: r > 1,
        ),
        M(
            "the channel order is wrong: channel c*r*r + i*r + j (output channel first, then the "
            "sub-pixel row i, then column j) goes to out[c, h*r + i, w*r + j]; you read the channels "
            "as (i, j, c).",
            _shuffle((0, 1, 4, 2, 5, 3), factor_first=True),
        ),
        M(
            "the sub-pixel row and column are swapped: channel c*r*r + i*r + j fills row offset i "
            "and column offset j, not the other way round.",
            _shuffle((0, 1, 4, 3, 5, 2)),
        ),
        M(
            "the r*r channels were tiled as blocks side by side; PixelShuffle interleaves them, each "
            "r x r output block gathers one pixel from every one of the r*r channels.",
            _shuffle((0, 1, 2, 4, 3, 5)),
        ),
    ],
    doc="""Check ``pixel_shuffle(x, r)``: ``(N, C r², H, W) -> (N, C, H r, W r)`` as ``F.pixel_shuffle``.

    ``out[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w]``.
    """,
)
