"""Checks of assignment ``ex06_upsampling``: bilinear interpolation, max-unpooling, PixelShuffle (chapter 6).

``interpolate_bilinear(x, size, align_corners)`` must equal :func:`convlab.functional.interpolate`
with ``mode="bilinear"``; ``max_unpool2d(x, indices, output_size)`` must equal
:func:`convlab.functional.max_unpool2d`; ``pixel_shuffle(x, r)`` must equal
:func:`convlab.functional.pixel_shuffle` — each equal to ``torch.nn.functional`` of that name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading._core import Case, Misconception, case_rng, reference, resolve_seed, run_check

__all__ = ["check_interpolate_bilinear", "check_max_unpool2d", "check_pixel_shuffle"]


_interpolate_ref = reference("convlab.functional", "interpolate")
_unpool_ref = reference("convlab.functional", "max_unpool2d")
_shuffle_ref = reference("convlab.functional", "pixel_shuffle")
_pool_ref = reference("convlab.functional", "max_pool2d")


def _bilinear_ref(x, size, align_corners=False):
    return _interpolate_ref(x, size=tuple(size), mode="bilinear", align_corners=align_corners)


def _rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).round(2).astype(dtype)


def _resample(x, size, coords: Callable):
    """Separable bilinear resampling with source coordinates ``coords(out, in_size, out_size)``."""
    out = x.astype(np.float64)
    for axis, out_size in ((2, size[0]), (3, size[1])):
        n = out.shape[axis]
        src = coords(np.arange(out_size, dtype=np.float64), n, out_size)
        i0 = np.clip(np.trunc(src).astype(int), 0, n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = src - np.trunc(src)
        shape = [1, 1, 1, 1]
        shape[axis] = out_size
        lam = lam.reshape(shape)
        out = np.take(out, i0, axis=axis) * (1 - lam) + np.take(out, i1, axis=axis) * lam
    return out.astype(x.dtype)


def _half_pixel(clamp: bool) -> Callable:
    def coords(o, n, m):
        src = (o + 0.5) * (n / m) - 0.5
        return np.maximum(src, 0) if clamp else src

    return coords


def check_interpolate_bilinear(
    interpolate_bilinear: Callable, *, n_random: int = 0, seed: int | None = None
) -> None:
    """Check ``interpolate_bilinear(x, size, align_corners=False)`` against bilinear ``F.interpolate``.

    ``x`` is ``(N, C, H, W)``, ``size`` is ``(H_out, W_out)``; the output keeps the dtype of ``x``.

    Parameters
    ----------
    interpolate_bilinear : callable
        The function under test.
    n_random : int, optional
        Number of random cases added to the fixed ones (the hidden tests use many).
    seed : int, optional
        Seed of the random cases; default ``$CONVLAB_GRADING_SEED``, else drawn afresh.

    Raises
    ------
    CheckFailure
        Names the failing case, expected and received output, and the misconception if recognised.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(7)
    x22 = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    cases = [
        Case((x22, (4, 4)), {"align_corners": False}),
        Case((x22, (4, 4)), {"align_corners": True}),
        Case((_rand(rng, (1, 2, 3, 4)), (5, 7)), {"align_corners": False}),
        Case((_rand(rng, (1, 1, 6, 6)), (3, 4)), {"align_corners": False}),
        Case((_rand(rng, (2, 1, 3, 3)), (6, 6)), {"align_corners": True}),
        Case((_rand(rng, (1, 2, 2, 3), np.float32), (4, 6)), {"align_corners": False}),
    ]
    rand = case_rng(seed, "interpolate_bilinear")
    for _ in range(n_random):
        n, c = (int(v) for v in rand.integers(1, 3, size=2))
        h, w = (int(v) for v in rand.integers(1, 7, size=2))
        size = tuple(int(v) for v in rand.integers(1, 13, size=2))
        dtype = np.float32 if rand.random() < 0.3 else np.float64
        cases.append(
            Case(
                (_rand(rand, (n, c, h, w), dtype), size),
                {"align_corners": bool(rand.random() < 0.5)},
                random=True,
            )
        )
    ref = _bilinear_ref
    misconceptions = [
        Misconception(
            "your output matches the other `align_corners` setting. With align_corners=True the "
            "corner pixels' centres line up: src = dst * (in - 1) / (out - 1). With False (the "
            "default) the pixel edges line up: src = (dst + 0.5) * in / out - 0.5.",
            lambda x, size, align_corners=False: ref(x, size, not align_corners),
        ),
        Misconception(
            "the half-pixel offset is missing: with align_corners=False, src = (dst + 0.5) * in / out "
            "- 0.5, not dst * in / out.",
            lambda x, size, align_corners=False: _resample(x, size, lambda o, n, m: o * (n / m)),
            applies=lambda x, size, align_corners=False: not align_corners,
        ),
        Misconception(
            "near the top/left border the source coordinate is negative (e.g. -0.25) and int() "
            "rounds it towards zero, which extrapolates; clamp it to 0 first (as PyTorch does).",
            lambda x, size, align_corners=False: _resample(x, size, _half_pixel(clamp=False)),
            applies=lambda x, size, align_corners=False: not align_corners,
        ),
    ]
    run_check(
        "interpolate_bilinear",
        interpolate_bilinear,
        cases,
        _bilinear_ref,
        arg_names=("x", "size"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def _unpool_case(rng, shape, output_size, dtype=np.float64, random=False):
    x = _rand(rng, shape, dtype) + np.arange(np.prod(shape)).reshape(shape) * 1e-3  # no ties
    pooled, indices = _pool_ref(x.astype(dtype), 2, stride=2, return_indices=True)
    return Case((pooled, indices, output_size), {}, random=random)


def _unpool_with(place: Callable) -> Callable:
    def compute(x, indices, output_size):
        n, c = x.shape[:2]
        out = np.zeros((n, c, *output_size), dtype=x.dtype)
        for a in range(n):
            for b in range(c):
                rows, cols = place(indices[a, b], output_size, x.shape[2:])
                keep = (rows < output_size[0]) & (cols < output_size[1])
                out[a, b, rows[keep], cols[keep]] = x[a, b][keep]
        return out

    return compute


def check_max_unpool2d(max_unpool2d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``max_unpool2d(x, indices, output_size)`` against ``F.max_unpool2d``.

    ``x`` and ``indices`` are ``(N, C, h, w)`` as returned by ``max_pool2d(..., return_indices=True)``:
    each index is the flat position ``row * W_out + col`` of the maximum inside its
    ``(H_out, W_out) = output_size`` plane. Parameters as in :func:`check_interpolate_bilinear`.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(8)
    cases = [
        _unpool_case(rng, (1, 1, 4, 4), (4, 4)),
        _unpool_case(rng, (1, 2, 4, 6), (4, 6)),
        _unpool_case(rng, (2, 1, 5, 5), (5, 5)),
        _unpool_case(rng, (1, 3, 6, 4), (6, 4), np.float32),
    ]
    rand = case_rng(seed, "max_unpool2d")
    for _ in range(n_random):
        n, c = (int(v) for v in rand.integers(1, 3, size=2))
        h, w = (int(v) for v in rand.integers(2, 9, size=2))
        dtype = np.float32 if rand.random() < 0.3 else np.float64
        cases.append(_unpool_case(rand, (n, c, h, w), (h, w), dtype, random=True))

    def repeat(x, indices, output_size):
        up = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)
        out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
        h, w = min(up.shape[2], output_size[0]), min(up.shape[3], output_size[1])
        out[:, :, :h, :w] = up[:, :, :h, :w]
        return out

    misconceptions = [
        Misconception(
            "your output repeats every value over its window (nearest-neighbour upsampling): "
            "max-unpooling puts each value back at the one position its index records and zeros "
            "everywhere else.",
            repeat,
        ),
        Misconception(
            "the indices are decoded in column-major order: an index is row * W_out + col, so "
            "row = index // W_out and col = index % W_out.",
            _unpool_with(lambda idx, size, small: (idx % size[0], idx // size[0])),
        ),
        Misconception(
            "the indices are decoded with the width of the pooled input: they count positions in "
            "the *output* plane, row = index // W_out with W_out = output_size[1].",
            _unpool_with(lambda idx, size, small: (idx // small[1], idx % small[1])),
        ),
    ]
    run_check(
        "max_unpool2d",
        max_unpool2d,
        cases,
        lambda x, indices, output_size: _unpool_ref(x, indices, 2, output_size=tuple(output_size)),
        arg_names=("x", "indices", "output_size"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def _shuffle_order(order: tuple[int, ...], channels_last_factor: bool = False) -> Callable:
    def compute(x, r):
        n, c2, h, w = x.shape
        c = c2 // (r * r)
        if channels_last_factor:
            y = x.reshape(n, r, r, c, h, w).transpose(0, 3, 1, 2, 4, 5)
        else:
            y = x.reshape(n, c, r, r, h, w)
        return np.ascontiguousarray(y.transpose(order)).reshape(n, c, h * r, w * r)

    return compute


def check_pixel_shuffle(pixel_shuffle: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``pixel_shuffle(x, r)``: ``(N, C r², H, W) -> (N, C, H r, W r)`` as ``F.pixel_shuffle``.

    ``out[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w]``. Parameters as in
    :func:`check_interpolate_bilinear`.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(9)
    cases = [
        Case((np.arange(16.0).reshape(1, 4, 2, 2), 2), {}),
        Case((np.arange(48.0).reshape(1, 8, 2, 3), 2), {}),
        Case((_rand(rng, (2, 9, 2, 2)), 3), {}),
        Case((_rand(rng, (1, 3, 2, 2), np.float32), 1), {}),
    ]
    rand = case_rng(seed, "pixel_shuffle")
    for _ in range(n_random):
        r = int(rand.integers(1, 4))
        n, c, h, w = (int(v) for v in rand.integers(1, 4, size=4))
        dtype = np.float32 if rand.random() < 0.3 else np.float64
        cases.append(Case((_rand(rand, (n, c * r * r, h, w), dtype), r), {}, random=True))
    misconceptions = [
        Misconception(
            "the channel order is wrong: channel c*r*r + i*r + j (output channel first, then the "
            "sub-pixel row i, then column j) goes to out[c, h*r + i, w*r + j]; you read the channels "
            "as (i, j, c).",
            _shuffle_order((0, 1, 4, 2, 5, 3), channels_last_factor=True),
        ),
        Misconception(
            "the sub-pixel row and column are swapped: channel c*r*r + i*r + j fills row offset i "
            "and column offset j, not the other way round.",
            _shuffle_order((0, 1, 4, 3, 5, 2)),
        ),
        Misconception(
            "the r*r channels were tiled as blocks side by side; PixelShuffle interleaves them, each "
            "r x r output block gathers one pixel from every one of the r*r channels.",
            _shuffle_order((0, 1, 2, 4, 3, 5)),
        ),
    ]
    run_check(
        "pixel_shuffle",
        pixel_shuffle,
        cases,
        _shuffle_ref,
        arg_names=("x", "r"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )
