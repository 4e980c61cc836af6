"""Mistakes students make, planted one by one: each check must fail and say what went wrong.

The table ``PLANTED`` lists, per exercise function, student functions that each contain one
common mistake (a formula, index, boundary, axis or default gone wrong; the ones CS231n and d2l
forums report), written from the formulas and not from the checks' own catalogue, with the
substring of the diagnosis that is true of it. The test asserts that the check fails and that
the true diagnosis is *among* the diagnoses of the :class:`CheckFailure` (how many are shown,
and in which order, is the running framework's business), and that no diagnosis given is one
that the table marks as false for that mistake.

A mistake whose failing case is one that must raise (the right formula with no ``ValueError``
for an impossible size) is listed with the substring ``ValueError``: the catalogue has nothing
to add there, and no misconception hint may be shown.

Run ``python tests/test_grading_misconceptions.py`` to print the coverage table (true diagnosis,
none, or a false one, per planted mistake).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import convlab.grading as grading
from convlab.course.layout import Course
from convlab.grading import ASSIGNMENTS, CheckFailure

COURSE = Course(Path(__file__).resolve().parents[1] / "exercises")


def _solutions() -> dict[str, object]:
    """The model answers: the imports and solution cells of every source notebook."""
    found: dict[str, object] = {}
    for assignment, names in ASSIGNMENTS.items():
        namespace: dict[str, object] = {"__name__": f"convlab_solution_{assignment}"}
        for cell in json.loads(COURSE.source(assignment).read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "imports"):
                exec("".join(cell["source"]), namespace)
        found.update({name: namespace[name] for name in names if name in namespace})
    return found


S = type("Solutions", (), {k: staticmethod(v) for k, v in _solutions().items()})


# =========================================================================== ex01_conv1d


def _full(f, g):
    """The full convolution, by its definition y[t] = sum_j f[j] g[t - j]."""
    n, m = len(f), len(g)
    y = np.zeros(n + m - 1)
    for t in range(n + m - 1):
        for j in range(n):
            if 0 <= t - j < m:
                y[t] += f[j] * g[t - j]
    return y


def _modes(full, n, m, mode, same_start):
    if mode == "full":
        return full
    if mode == "valid":
        return full[m - 1 : n]
    return full[same_start : same_start + n]


def conv1d_not_flipped(f, g, mode="full"):
    return _modes(_full(f, g[::-1]), len(f), len(g), mode, (len(g) - 1) // 2)


def conv1d_same_matlab(f, g, mode="full"):
    return _modes(_full(f, g), len(f), len(g), mode, len(g) // 2)


def conv1d_same_causal(f, g, mode="full"):
    return _modes(_full(f, g), len(f), len(g), mode, 0)


def conv1d_valid_one_short(f, g, mode="full"):
    n, m = len(f), len(g)
    return _full(f, g)[m - 1 : n - 1] if mode == "valid" else S.convolve1d(f, g, mode)


def conv1d_full_one_short(f, g, mode="full"):
    return _full(f, g)[:-1] if mode == "full" else S.convolve1d(f, g, mode)


def conv1d_default_same(f, g, mode="same"):
    return S.convolve1d(f, g, mode)


def _corr_full(f, g):
    """Full correlation, c[k] = sum_j f[j + k - (m - 1)] g[j]."""
    n, m = len(f), len(g)
    c = np.zeros(n + m - 1)
    for k in range(n + m - 1):
        for j in range(m):
            if 0 <= j + k - (m - 1) < n:
                c[k] += f[j + k - (m - 1)] * g[j]
    return c


def corr1d_flipped(f, g, mode="valid"):
    return S.convolve1d(f, g, mode)


def corr1d_reversed(f, g, mode="valid"):
    return S.correlate1d(f, g, mode)[::-1].copy()


def corr1d_default_full(f, g, mode="full"):
    return S.correlate1d(f, g, mode)


def corr1d_same_matlab(f, g, mode="valid"):
    return _modes(_corr_full(f, g), len(f), len(g), mode, len(g) // 2)


def corr1d_valid_one_short(f, g, mode="valid"):
    n, m = len(f), len(g)
    return _corr_full(f, g)[m - 1 : n - 1] if mode == "valid" else S.correlate1d(f, g, mode)


# =========================================================================== ex02_conv2d


def conv2d_not_flipped(image, kernel, mode="full"):
    return S.convolve2d(image, kernel[::-1, ::-1].copy(), mode)


def conv2d_rows_flipped_only(image, kernel, mode="full"):
    return S.convolve2d(image, kernel[::-1, :].copy(), mode)


def conv2d_same_matlab(image, kernel, mode="full"):
    if mode != "same":
        return S.convolve2d(image, kernel, mode)
    (h, w), (kh, kw) = image.shape, kernel.shape
    return S.convolve2d(image, kernel, "full")[kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w]


def conv2d_kernel_transposed(image, kernel, mode="full"):
    return S.convolve2d(image, kernel.T.copy(), mode)


def conv2d_valid_one_short(image, kernel, mode="full"):
    out = S.convolve2d(image, kernel, mode)
    return out[:-1, :-1] if mode == "valid" else out


def conv2d_default_same(image, kernel, mode="same"):
    return S.convolve2d(image, kernel, mode)


def _layer(x, w, b, stride, padding, *, flip=False, pad_mode="constant", bias_times=1, size=None):
    """A conv2d layer written as loops, with switches for the mistakes."""
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    if flip:
        w = w[..., ::-1, ::-1]
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=pad_mode)
    ho, wo = size if size is not None else ((h + 2 * p - kh) // stride + 1, (wd + 2 * p - kw) // stride + 1)
    xp = np.pad(xp, ((0, 0), (0, 0), (0, kh + stride * ho), (0, kw + stride * wo)))  # room to read zeros
    y = np.zeros((n, c_out, ho, wo), dtype=x.dtype)
    for r, c in np.ndindex(ho, wo):
        window = xp[:, :, r * stride : r * stride + kh, c * stride : c * stride + kw]
        y[:, :, r, c] = np.einsum("nquv,fquv->nf", window, w)
    if b is not None:
        y += bias_times * b[None, :, None, None]
    return y


def layer_true_convolution(x, w, b=None, stride=1, padding=0):
    return _layer(x, w, b, stride, padding, flip=True)


def layer_no_bias(x, w, b=None, stride=1, padding=0):
    return _layer(x, w, None, stride, padding)


def layer_bias_per_input_channel(x, w, b=None, stride=1, padding=0):
    return _layer(x, w, b, stride, padding, bias_times=x.shape[1])


def layer_edge_padding(x, w, b=None, stride=1, padding=0):
    return _layer(x, w, b, stride, padding, pad_mode="edge")


def layer_reflect_padding(x, w, b=None, stride=1, padding=0):
    return _layer(x, w, b, stride, padding, pad_mode="reflect")


def layer_wrap_padding(x, w, b=None, stride=1, padding=0):
    return _layer(x, w, b, stride, padding, pad_mode="wrap")


def layer_size_without_padding(x, w, b=None, stride=1, padding=0):
    (h, wd), (kh, kw) = x.shape[2:], w.shape[2:]
    size = ((h - kh) // stride + 1, (wd - kw) // stride + 1)
    return _layer(x, w, b, stride, padding, size=size)


def layer_subsampled_input(x, w, b=None, stride=1, padding=0):
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))[:, :, ::stride, ::stride]
    return _layer(np.ascontiguousarray(xp), w, b, 1, 0)


def layer_size_ceil(x, w, b=None, stride=1, padding=0):
    (h, wd), (kh, kw) = x.shape[2:], w.shape[2:]
    p = padding
    size = (math.ceil((h + 2 * p - kh) / stride) + 1, math.ceil((wd + 2 * p - kw) / stride) + 1)
    return _layer(x, w, b, stride, padding, size=size)


# =========================================================================== ex02b_pooling


def _pool(x, k, s, *, width=None, ceil=False):
    n, c, h, w = x.shape
    rnd = math.ceil if ceil else math.floor
    ho, wo = rnd((h - k) / s) + 1, rnd((w - k) / s) + 1
    out, idx = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), dtype=np.int64)
    for a, ch, r, col in np.ndindex(n, c, ho, wo):
        window = x[a, ch, r * s : r * s + k, col * s : col * s + k]
        u, v = np.unravel_index(np.argmax(window), window.shape)
        out[a, ch, r, col] = window[u, v]
        idx[a, ch, r, col] = (r * s + u) * (w if width is None else width(h, w)) + (col * s + v)
    return out, idx


def pool_stride_one(x, kernel_size, stride=None):
    return _pool(x, kernel_size, 1 if stride is None else stride)


def pool_index_times_height(x, kernel_size, stride=None):
    return _pool(x, kernel_size, stride or kernel_size, width=lambda h, w: h)


def pool_partial_windows(x, kernel_size, stride=None):
    return _pool(x, kernel_size, stride or kernel_size, ceil=True)


def pool_window_index(x, kernel_size, stride=None):
    out, idx = S.max_pool2d(x, kernel_size, stride)
    s, w = stride or kernel_size, x.shape[-1]
    rows = np.arange(idx.shape[-2])[:, None] * s
    cols = np.arange(idx.shape[-1])[None, :] * s
    return out, (idx // w - rows) * kernel_size + (idx % w - cols)


def pool_backward_assigned(grad_output, indices, input_shape):
    n, c, h, w = input_shape
    dx = np.zeros((n, c, h * w))
    for a, ch in np.ndindex(n, c):
        dx[a, ch, indices[a, ch].ravel()] = grad_output[a, ch].ravel()  # the last write wins
    return dx.reshape(input_shape)


def pool_backward_mask(grad_output, indices, input_shape):
    n, c, h, w = input_shape
    dx = np.zeros((n, c, h * w))
    for a, ch in np.ndindex(n, c):
        dx[a, ch, indices[a, ch].ravel()] = 1.0
    return dx.reshape(input_shape)


def pool_backward_count(grad_output, indices, input_shape):
    n, c, h, w = input_shape
    dx = np.zeros((n, c, h * w))
    for a, ch in np.ndindex(n, c):
        np.add.at(dx[a, ch], indices[a, ch].ravel(), 1.0)
    return dx.reshape(input_shape)


def _field(layers, *, jump=True, multiply=False, plus_p=False, dilation=True, first_pixel=False):
    size, j, start = 1, 1, 0.0
    for k, s, p, d in layers:
        span = (d if dilation else 1) * (k - 1)
        size = size * k if multiply else size + span * j
        start += (span / 2 + (p if plus_p else -p)) * j
        j = j * s if jump else j
    if first_pixel:
        start -= (size - 1) / 2
    return size, j, start


def field_jump_never_multiplied(layers):
    return _field(layers, jump=False)


def field_sizes_multiplied(layers):
    return _field(layers, multiply=True)


def field_padding_added(layers):
    return _field(layers, plus_p=True)


def field_dilation_ignored(layers):
    return _field(layers, dilation=False)


def field_start_first_pixel(layers):
    return _field(layers, first_pixel=True)


# =========================================================================== ex03_arithmetic


def size_no_raise(i, k, s=1, p=0, d=1):
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


def _raising(o):
    if o < 1:
        raise ValueError(f"no window fits: output size {o}")
    return o


def size_ceil(i, k, s=1, p=0, d=1):
    return _raising(math.ceil((i + 2 * p - d * (k - 1) - 1) / s) + 1)


def size_span_without_minus_one(i, k, s=1, p=0, d=1):
    return _raising((i + 2 * p - d * (k - 1)) // s + 1)


def size_dilation_times_k(i, k, s=1, p=0, d=1):
    return _raising((i + 2 * p - d * k) // s + 1)


def size_true_division(i, k, s=1, p=0, d=1):
    return _raising((i + 2 * p - d * (k - 1) - 1) / s + 1)


def size_padding_once(i, k, s=1, p=0, d=1):
    return _raising((i + p - d * (k - 1) - 1) // s + 1)


def _tsize(i, k, s, p, output_padding, d):
    if output_padding >= max(s, d):
        raise ValueError("output_padding too large")
    return _raising((i - 1) * s - 2 * p + d * (k - 1) + output_padding + 1)


def tsize_no_output_padding(i, k, s=1, p=0, output_padding=0, d=1):
    return _tsize(i, k, s, p, 0, d)


def tsize_padding_added(i, k, s=1, p=0, output_padding=0, d=1):
    return _tsize(i, k, s, -p, output_padding, d)


def tsize_dilation_times_k(i, k, s=1, p=0, output_padding=0, d=1):
    return _tsize(i, k, s, p, output_padding, d) + d - 1


def tsize_stride_times_i(i, k, s=1, p=0, output_padding=0, d=1):
    return _tsize(i, k, s, p, output_padding, d) + s


def _same(i, k, s, d, *, outputs=None, split=None):
    o = -(-i // s) if outputs is None else outputs(i, s)
    total = max((o - 1) * s + d * (k - 1) + 1 - i, 0)
    return (total // 2, total - total // 2) if split is None else split(total)


def same_odd_pixel_before(i, k, s=1, d=1):
    return _same(i, k, s, d, split=lambda t: (t - t // 2, t // 2))


def same_floor_outputs(i, k, s=1, d=1):
    return _same(i, k, s, d, outputs=lambda i, s: max(i // s, 1))


def same_symmetric(i, k, s=1, d=1):
    return _same(i, k, s, d, split=lambda t: (t // 2, t // 2))


def same_no_stride(i, k, s=1, d=1):
    return _same(i, k, 1, d)


# =========================================================================== ex04_matrix


def _matrix(input_size, kernel, stride, padding, *, flat_check=False, width=None, flip=False):
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    if flip:
        kernel = kernel[::-1, ::-1]
    kh, kw = kernel.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    C = np.zeros((ho * wo, h * w), dtype=kernel.dtype)
    step = w if width is None else width(h, w)
    for r, c, u, v in np.ndindex(ho, wo, kh, kw):
        row, col = r * stride + u - padding, c * stride + v - padding
        flat = row * step + col
        inside = 0 <= flat < h * w if flat_check else 0 <= row < h and 0 <= col < w
        if inside:
            C[r * wo + c, flat] = kernel[u, v]
    return C


def matrix_flipped(input_size, kernel, stride=1, padding=0):
    return _matrix(input_size, kernel, stride, padding, flip=True)


def matrix_flat_bounds_only(input_size, kernel, stride=1, padding=0):
    return _matrix(input_size, kernel, stride, padding, flat_check=True)


def matrix_kernel_transposed(input_size, kernel, stride=1, padding=0):
    return _matrix(input_size, kernel.T.copy(), stride, padding)


def matrix_row_times_height(input_size, kernel, stride=1, padding=0):
    return _matrix(input_size, kernel, stride, padding, width=lambda h, w: h)


def matrix_on_padded_input(input_size, kernel, stride=1, padding=0):
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    return _matrix((h + 2 * padding, w + 2 * padding), kernel, stride, 0)


def backward_dx_unflipped(grad_output, x, w, stride=1, padding=0):
    dx, dw, db = S.conv2d_backward(grad_output, x, w, stride, padding)
    dx = S.conv2d_backward(grad_output, x, np.ascontiguousarray(w[..., ::-1, ::-1]), stride, padding)[0]
    return dx, dw, db


def backward_db_mean(grad_output, x, w, stride=1, padding=0):
    dx, dw, _ = S.conv2d_backward(grad_output, x, w, stride, padding)
    return dx, dw, grad_output.mean(axis=(0, 2, 3))


def backward_db_per_sample(grad_output, x, w, stride=1, padding=0):
    dx, dw, _ = S.conv2d_backward(grad_output, x, w, stride, padding)
    return dx, dw, grad_output.sum(axis=(2, 3))


def backward_dw_flipped(grad_output, x, w, stride=1, padding=0):
    dx, dw, db = S.conv2d_backward(grad_output, x, w, stride, padding)
    return dx, np.ascontiguousarray(dw[..., ::-1, ::-1]), db


def backward_dw_channels_transposed(grad_output, x, w, stride=1, padding=0):
    dx, dw, db = S.conv2d_backward(grad_output, x, w, stride, padding)
    return dx, np.ascontiguousarray(dw.transpose(1, 0, 2, 3)), db


def backward_dx_no_zero_insertion(grad_output, x, w, stride=1, padding=0):
    """dx as the full convolution of grad_output with the flipped kernel, stride forgotten."""
    dx, dw, db = S.conv2d_backward(grad_output, x, w, stride, padding)
    kh, kw = w.shape[2:]
    g = np.pad(grad_output, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    ho, wo = g.shape[2] - kh + 1, g.shape[3] - kw + 1
    full = np.zeros((x.shape[0], x.shape[1], ho, wo))
    flipped = w[..., ::-1, ::-1]
    for r, c in np.ndindex(ho, wo):
        full[:, :, r, c] = np.einsum("nfuv,fquv->nq", g[:, :, r : r + kh, c : c + kw], flipped)
    p = padding
    return full[:, :, p : ho - p, p : wo - p], dw, db


def backward_dx_unreached_rows_dropped(grad_output, x, w, stride=1, padding=0):
    """dx from the stamps alone: the rows and columns that no window reaches are missing."""
    dx, dw, db = S.conv2d_backward(grad_output, x, w, stride, padding)
    kh, kw = w.shape[2:]
    ho, wo = grad_output.shape[2:]
    h, wd = (ho - 1) * stride + kh - 2 * padding, (wo - 1) * stride + kw - 2 * padding
    return dx[:, :, :h, :wd], dw, db


def backward_dx_short_rows_as_zeros(grad_output, x, w, stride=1, padding=0):
    """dx from the stamps cropped by p at both ends, the short rows and columns filled with 0."""
    dx, dw, db = backward_dx_unreached_rows_dropped(grad_output, x, w, stride, padding)
    h, wd = x.shape[2:]
    return np.pad(dx, ((0, 0), (0, 0), (0, h - dx.shape[2]), (0, wd - dx.shape[3]))), dw, db


# =========================================================================== ex05_transposed


def _stamp(x, w, stride, *, extra=0):
    n, _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    full = np.zeros((n, c_out, (h - 1) * stride + kh + extra, (wd - 1) * stride + kw + extra), dtype=x.dtype)
    for r, c in np.ndindex(h, wd):
        full[:, :, r * stride : r * stride + kh, c * stride : c * stride + kw] += np.einsum(
            "nq,qfuv->nfuv", x[:, :, r, c], w
        )
    return full


def transpose_not_cropped(x, w, stride=1, padding=0, output_padding=0):
    return _stamp(x, w, stride, extra=output_padding)


def transpose_s_zeros(x, w, stride=1, padding=0, output_padding=0):
    full = _stamp(x, w, stride + 1, extra=output_padding)
    p = padding
    return full[:, :, p : full.shape[2] - p, p : full.shape[3] - p]


def transpose_crop_top_left_only(x, w, stride=1, padding=0, output_padding=0):
    full = _stamp(x, w, stride, extra=output_padding)
    return full[:, :, padding:, padding:]


def transpose_padding_added(x, w, stride=1, padding=0, output_padding=0):
    p = padding
    return np.pad(_stamp(x, w, stride, extra=output_padding), ((0, 0), (0, 0), (p, p), (p, p)))


def transpose_output_padding_zeros(x, w, stride=1, padding=0, output_padding=0):
    full = _stamp(x, w, stride)
    p, a = padding, output_padding
    cropped = full[:, :, p : full.shape[2] - p, p : full.shape[3] - p]
    return np.pad(cropped, ((0, 0), (0, 0), (0, a), (0, a)))


def transpose_output_padding_first(x, w, stride=1, padding=0, output_padding=0):
    p, a = padding, output_padding
    full = np.pad(_stamp(x, w, stride), ((0, 0), (0, 0), (a, 0), (a, 0)))
    return full[:, :, p : full.shape[2] - p, p : full.shape[3] - p]


def transpose_channels_swapped(x, w, stride=1, padding=0, output_padding=0):
    return S.conv_transpose2d(
        x, np.ascontiguousarray(w.transpose(1, 0, 2, 3)), stride, padding, output_padding
    )


def _tf(x, filters, output_shape, strides, padding, top_left):
    n, h, wd, _ = x.shape
    kh, kw, c_out, _ = filters.shape
    s = strides
    full = np.zeros((n, (h - 1) * s + kh + s, (wd - 1) * s + kw + s, c_out))
    for r, c in np.ndindex(h, wd):
        full[:, r * s : r * s + kh, c * s : c * s + kw, :] += np.einsum(
            "nq,uvfq->nuvf", x[:, r, c, :], filters
        )
    crops = []
    for i, k, o in ((h, kh, output_shape[1]), (wd, kw, output_shape[2])):
        total = max((i - 1) * s + k - o, 0) if padding == "SAME" else 0
        crops.append(top_left(total))
    (t, left), (oh, ow) = crops, output_shape[1:3]
    return full[:, t : t + oh, left : left + ow, :]


def tf_odd_pixel_before(x, filters, output_shape, strides, padding="SAME"):
    return _tf(x, filters, output_shape, strides, padding, lambda total: total - total // 2)


def tf_top_left_crop(x, filters, output_shape, strides, padding="SAME"):
    return _tf(x, filters, output_shape, strides, padding, lambda total: 0)


def tf_flipped(x, filters, output_shape, strides, padding="SAME"):
    return _tf(x, filters[::-1, ::-1], output_shape, strides, padding, lambda total: total // 2)


# =========================================================================== ex06_upsampling


def _bilinear(x, size, align_corners, *, coords=None, swap_weights=False, nearest_index=False):
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
        i0 = np.clip(np.round(src) if nearest_index else np.floor(src), 0, n - 1).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0).reshape([m if a == axis else 1 for a in range(4)])
        if swap_weights:
            lam = 1 - lam
        out = np.take(out, i0, axis=axis) * (1 - lam) + np.take(out, i1, axis=axis) * lam
    return out.astype(x.dtype)


def bilinear_other_corners(x, size, align_corners=False):
    return _bilinear(x, size, not align_corners)


def bilinear_weights_swapped(x, size, align_corners=False):
    return _bilinear(x, size, align_corners, swap_weights=True)


def bilinear_rounded_index(x, size, align_corners=False):
    return _bilinear(x, size, align_corners, nearest_index=True)


def bilinear_scale_inverted(x, size, align_corners=False):
    if align_corners:
        return _bilinear(x, size, True)
    return _bilinear(x, size, False, coords=lambda t, n, m: np.maximum((t + 0.5) * m / n - 0.5, 0))


def bilinear_size_as_width_height(x, size, align_corners=False):
    return _bilinear(x, (size[1], size[0]), align_corners)


def bilinear_no_half_pixel(x, size, align_corners=False):
    if align_corners:
        return _bilinear(x, size, True)
    return _bilinear(x, size, False, coords=lambda t, n, m: t * n / m)


def unpool_window_corner(x, indices, output_size):
    out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    h, w = x.shape[2:]
    out[:, :, 0 : 2 * h : 2, 0 : 2 * w : 2] = x
    return out


def unpool_whole_array(x, indices, output_size):
    out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    flat = out.reshape(-1)
    for a, c in np.ndindex(*x.shape[:2]):
        flat[indices[a, c].ravel()] = x[a, c].ravel()
    return out


def unpool_doubled_size(x, indices, output_size):
    h, w = x.shape[2:]
    return (
        S.max_unpool2d(x, indices, (2 * h, 2 * w))
        if (2 * h, 2 * w) != tuple(output_size)
        else (S.max_unpool2d(x, indices, output_size))
    )


def unpool_column_major(x, indices, output_size):
    out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    for a, c in np.ndindex(*x.shape[:2]):
        out[a, c, indices[a, c] % output_size[0], indices[a, c] // output_size[0]] = x[a, c]
    return out


def shuffle_plain_reshape(x, r):
    n, c2, h, w = x.shape
    return x.reshape(n, c2 // (r * r), h * r, w * r).copy()


def shuffle_channels_last(x, r):
    n, c2, h, w = x.shape
    c = c2 // (r * r)
    return x.reshape(n, r, r, c, h, w).transpose(0, 3, 4, 1, 5, 2).reshape(n, c, h * r, w * r)


def shuffle_row_column_swapped(x, r):
    n, c2, h, w = x.shape
    c = c2 // (r * r)
    return x.reshape(n, c, r, r, h, w).transpose(0, 1, 4, 3, 5, 2).reshape(n, c, h * r, w * r)


def shuffle_blocks(x, r):
    n, c2, h, w = x.shape
    c = c2 // (r * r)
    return x.reshape(n, c, r, r, h, w).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h * r, w * r)


# =========================================================================== ex07_fcn


def _conv_from(linear, in_channels, kernel_size, weight, bias=True):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    has_bias = linear.bias is not None and bias
    conv = torch.nn.Conv2d(in_channels, linear.out_features, (kh, kw), bias=has_bias)
    with torch.no_grad():
        conv.weight.copy_(weight(linear.weight.detach(), in_channels, kh, kw))
        if has_bias:
            conv.bias.copy_(linear.bias)
    return conv


def convolutionalize_channels_last(linear, in_channels, kernel_size):
    return _conv_from(
        linear, in_channels, kernel_size, lambda w, c, kh, kw: w.reshape(-1, kh, kw, c).permute(0, 3, 1, 2)
    )


def convolutionalize_flipped(linear, in_channels, kernel_size):
    return _conv_from(
        linear, in_channels, kernel_size, lambda w, c, kh, kw: w.reshape(-1, c, kh, kw).flip(2, 3)
    )


def convolutionalize_no_bias(linear, in_channels, kernel_size):
    return _conv_from(linear, in_channels, kernel_size, lambda w, c, kh, kw: w.reshape(-1, c, kh, kw), False)


def _kernel(channels, factor, *, size=None, centre=None, all_pairs=False):
    k = 2 * factor - factor % 2 if size is None else size(factor)
    mid = (factor - 1 if k % 2 else factor - 0.5) if centre is None else centre(factor, k)
    t = 1 - np.abs(np.arange(k) - mid) / factor
    w = np.zeros((channels, channels, k, k), dtype=np.float32)
    for a in range(channels):
        for b in range(channels) if all_pairs else (a,):
            w[a, b] = np.outer(t, t)
    return w


def kernel_centre_half_size(channels, factor):
    return _kernel(channels, factor, centre=lambda f, k: k // 2)


def kernel_all_pairs(channels, factor):
    return _kernel(channels, factor, all_pairs=True)


def kernel_size_always_even(channels, factor):
    return _kernel(channels, factor, size=lambda f: 2 * f, centre=lambda f, k: f - 0.5)


def _ious(pred, target, num_classes, union_minus=True):
    inter, union = [], []
    for k in range(num_classes):
        i = np.sum((pred == k) & (target == k))
        u = np.sum(pred == k) + np.sum(target == k) - (i if union_minus else 0)
        inter.append(i)
        union.append(u)
    return np.array(inter, float), np.array(union, float)


def iou_pooled_over_classes(pred, target, num_classes):
    inter, union = _ious(pred, target, num_classes)
    return float(inter.sum() / union.sum())


def iou_union_not_subtracted(pred, target, num_classes):
    inter, union = _ious(pred, target, num_classes, union_minus=False)
    return float(np.mean(inter[union > 0] / union[union > 0]))


def iou_target_classes_only(pred, target, num_classes):
    inter, union = _ious(pred, target, num_classes)
    present = np.isin(np.arange(num_classes), target)
    return float(np.mean(inter[present] / union[present]))


def iou_per_image(pred, target, num_classes):
    if pred.ndim < 3:
        return S.mean_iou(pred, target, num_classes)
    return float(np.mean([S.mean_iou(p, t, num_classes) for p, t in zip(pred, target, strict=True)]))


def iou_absent_as_zero(pred, target, num_classes):
    inter, union = _ious(pred, target, num_classes)
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 0.0)))


def _offset(layers, *, jump=True, sign=1, transposed_as_conv=False, padding=True):
    a, b = 1.0, 0.0
    for kind, k, s, p in layers:
        p = p if padding else 0
        scale = a if jump else 1.0
        if kind == "transposed" and not transposed_as_conv:
            a, b = a / s, b + scale * (p - (k - 1) / 2) / s
        else:
            a, b = a * s, b + scale * ((k - 1) / 2 - p)
    return int(round(-sign * b))


def offset_not_scaled_by_jump(layers):
    return _offset(layers, jump=False)


def offset_sign(layers):
    return _offset(layers, sign=-1)


def offset_transposed_as_conv(layers):
    return _offset(layers, transposed_as_conv=True)


def offset_padding_ignored(layers):
    return _offset(layers, padding=False)


def fuse_not_cropped_at_end(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size):
    h4, w4 = score_pool4.shape[-2:]
    h3, w3 = score_pool3.shape[-2:]
    score = up2(score_fr)[..., :h4, :w4] + score_pool4
    score = up2_pool4(score)[..., :h3, :w3] + score_pool3
    return up8(score)


def fuse_centre_crops(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size):
    def centre(t, h, w):
        top, left = (t.shape[-2] - h) // 2, (t.shape[-1] - w) // 2
        return t[..., top : top + h, left : left + w]

    score = centre(up2(score_fr), *score_pool4.shape[-2:]) + score_pool4
    score = centre(up2_pool4(score), *score_pool3.shape[-2:]) + score_pool3
    return centre(up8(score), *size)


def fuse_upsamplers_swapped(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size):
    return S.fcn8s_fuse(score_fr, score_pool4, score_pool3, up2_pool4, up2, up8, size)


# =========================================================================== the table

# The float the check cannot yet tell from the int it expects: the running framework asks whether
# a mistake's value differs from the expected one with the expected value in the student's place,
# and 2 passes for 2.0 that way round (while the student's 2.0 fails for the expected 2).
XFAIL_FLOAT = "the framework's `differs from the expected` test takes 2.0 for 2"

# exercise function -> [(planted function, substring of its true diagnosis or None, other true
# ones[, why there is none])]. None: the mistake makes the function raise on the first failing
# case; the message shows that error, and no misconception can reproduce it (a framework that
# reports another failing case may find its hint, given among the other true ones).
PLANTED: dict[str, list[tuple]] = {
    "convolve1d": [
        (conv1d_not_flipped, "forget to reverse g", ()),
        (conv1d_same_matlab, "MATLAB", ()),
        (conv1d_same_causal, "first n values of 'full'", ()),
        (conv1d_valid_one_short, "'valid' has n - m + 1", ()),
        (conv1d_full_one_short, "'full' has n + m - 1", ("your output is the 'same' convolution",)),
        (conv1d_default_same, "without `mode`", ("'same' convolution",)),
    ],
    "correlate1d": [
        (corr1d_flipped, "convolution of f and g", ()),
        (corr1d_reversed, "your output is reversed", ()),
        (corr1d_default_full, "without `mode`", ("'full' correlation",)),
        (corr1d_same_matlab, "MATLAB", ()),
        (corr1d_valid_one_short, "'valid' has n - m + 1", ()),
    ],
    "convolve2d": [
        (conv2d_not_flipped, "forget to flip it", ()),
        (conv2d_rows_flipped_only, "one axis only", ("your output equals the correlation",)),
        (conv2d_same_matlab, "MATLAB", ()),
        (conv2d_kernel_transposed, "kernel.T", ()),
        (conv2d_valid_one_short, "'valid' is (H - kh + 1", ()),
        (conv2d_default_same, "without `mode`", ("'same' result",)),
    ],
    "conv2d": [
        (layer_true_convolution, "true convolution", ()),
        (layer_no_bias, "bias is missing", ()),
        (layer_bias_per_input_channel, "once per input channel", ()),
        (layer_edge_padding, "adds zeros", ()),
        (layer_reflect_padding, "adds zeros", ()),
        (layer_wrap_padding, "mode='wrap'", ("mode='reflect'",)),
        (layer_size_without_padding, "H + 2p", ()),
        (layer_subsampled_input, "subsampled the input", ()),
        (layer_size_ceil, "rounded up", ()),
    ],
    "max_pool2d": [
        (pool_stride_one, "stride defaults to 1", ()),
        (pool_index_times_height, "multiplies the row by the height", ()),
        (pool_partial_windows, "partial", ()),
        (pool_window_index, "positions inside the window", ()),
    ],
    "max_pool2d_backward": [
        (pool_backward_assigned, "accumulate", ()),
        (pool_backward_mask, "grad_output value", ()),
        (pool_backward_count, "count of its windows", ("marked each maximum with 1",)),
    ],
    "receptive_field": [
        (field_jump_never_multiplied, "jump is never multiplied", ()),
        (field_sizes_multiplied, "sizes add", ()),
        (field_padding_added, "minus p", ()),
        (field_dilation_ignored, "dilation is ignored", ()),
        (field_start_first_pixel, "first pixel of the field", ()),
    ],
    "conv_output_size": [
        (size_no_raise, "ValueError", ()),
        (size_ceil, "rounded up", ()),
        (size_span_without_minus_one, "left out the - 1", ()),
        (size_dilation_times_k, "not d * k", ()),
        (size_true_division, "floor division", ()),
        (size_padding_once, "counted once", ()),
    ],
    "conv_transpose_output_size": [
        (tsize_no_output_padding, "`output_padding` is missing", ()),
        (tsize_padding_added, "subtracts 2p", ()),
        (tsize_dilation_times_k, "not d * k", ()),
        (tsize_stride_times_i, "multiplies i", ()),
    ],
    "same_padding": [
        (same_odd_pixel_before, "TensorFlow puts the extra pixel after", ()),
        (same_floor_outputs, "ceil(i / s) outputs", ()),
        (same_symmetric, "lost the odd pixel", ()),
        (same_no_stride, "stride is missing", ()),
    ],
    "conv_matrix": [
        (matrix_flipped, "flipped kernel", ()),
        (matrix_flat_bounds_only, "neighbouring row", ()),
        (matrix_kernel_transposed, "kernel.T", ()),
        (
            matrix_row_times_height,
            None,
            ("row * W + col",),
            "H > W: the index runs past H*W, IndexError on case 3",
        ),
        (matrix_on_padded_input, "acts on the padded input", ()),
    ],
    "conv2d_backward": [
        (backward_dx_unflipped, "dx uses the kernel unflipped", ()),
        (backward_db_mean, "not a mean", ()),
        (backward_db_per_sample, "db has the wrong sum", ()),
        (backward_dw_flipped, "dw is flipped", ()),
        (backward_dw_channels_transposed, "dw has the layout of w", ()),
        (backward_dx_no_zero_insertion, "insert s - 1 zeros", ("dx must have the shape of x",)),
        (backward_dx_unreached_rows_dropped, "dx must have the shape of x", ()),
        (backward_dx_short_rows_as_zeros, "instead of appending zeros", ()),
    ],
    "conv_transpose2d": [
        (transpose_not_cropped, "not cropped", ()),
        (transpose_s_zeros, "s - 1 zeros", ()),
        (transpose_crop_top_left_only, "one side only", ()),
        (transpose_padding_added, "enlarged", ()),
        (transpose_output_padding_zeros, "not all zeros", ()),
        (transpose_output_padding_first, "went on the wrong side", ()),
        (transpose_channels_swapped, "weight channels are swapped", ()),
    ],
    "tf_conv2d_transpose": [
        (tf_odd_pixel_before, "TensorFlow puts the extra pixel after", ()),
        (tf_top_left_crop, "kept the top-left corner", ()),
        (tf_flipped, "kernel is flipped", ()),
    ],
    "interpolate_bilinear": [
        (bilinear_other_corners, "other `align_corners`", ()),
        (bilinear_weights_swapped, "weights are swapped", ()),
        (bilinear_rounded_index, "not round(src)", ()),
        (bilinear_scale_inverted, "in / out", ()),
        (bilinear_size_as_width_height, "rows first", ()),
        (bilinear_no_half_pixel, "half-pixel offset is missing", ()),
    ],
    "max_unpool2d": [
        (unpool_window_corner, "top-left corner of its window", ()),
        (unpool_whole_array, "writes into out[n, c] only", ()),
        (unpool_doubled_size, None, (), "an index past 4hw: IndexError on case 3"),
        (unpool_column_major, "column-major", ()),
    ],
    "pixel_shuffle": [
        (shuffle_plain_reshape, "plain reshape", ("tiled as blocks",)),
        (shuffle_channels_last, "channel order is wrong", ()),
        (shuffle_row_column_swapped, "row and column are swapped", ()),
        (shuffle_blocks, "tiled as blocks", ("plain reshape",)),
    ],
    "convolutionalize": [
        (convolutionalize_channels_last, "channels-last", ()),
        (convolutionalize_flipped, "no flip", ()),
        (convolutionalize_no_bias, "bias is missing", ()),
    ],
    "bilinear_kernel": [
        (kernel_centre_half_size, "K // 2", ()),
        (kernel_all_pairs, "every (output, input)", ()),
        (kernel_size_always_even, "kernel size is 2f - f % 2", ()),
    ],
    "mean_iou": [
        (iou_pooled_over_classes, "total intersection", ()),
        (iou_union_not_subtracted, "subtract the intersection", ()),
        (iou_target_classes_only, "predicted but absent from the target", ("pixel accuracy",)),
        (iou_per_image, "per image", ()),
        (iou_absent_as_zero, "counting it as 0", ()),
    ],
    "crop_offset": [
        (offset_not_scaled_by_jump, "product of the strides", ()),
        (offset_sign, "opposite sign", ()),
        (offset_transposed_as_conv, "like a convolution", ()),
        (offset_padding_ignored, "padding was ignored", ()),
    ],
    "fcn8s_fuse": [
        (fuse_not_cropped_at_end, "crop it to `size`", ()),
        (fuse_centre_crops, "centre of the larger map", ()),
        (fuse_upsamplers_swapped, "swapped", ()),
    ],
}

ROWS = [(name, i) for name, rows in PLANTED.items() for i in range(len(rows))]


def diagnoses(name: str, fn) -> list[str] | None:
    """The diagnoses of the check's failure, or None when the check passes."""
    try:
        getattr(grading, f"check_{name}")(fn)
    except CheckFailure as failure:
        found = getattr(failure, "diagnoses", None)
        if found is None:  # the message's "Diagnosis: " lines
            found = [
                line[len("Diagnosis: ") :]
                for line in str(failure).splitlines()
                if line.startswith("Diagnosis: ")
            ]
        return list(found)
    return None


def verdict(name: str, index: int) -> tuple[str, list[str] | None]:
    """'true', 'none', 'false' (a diagnosis that is not true of the mistake) or 'passes'."""
    fn, expected, others, *_ = PLANTED[name][index]
    found = diagnoses(name, fn)
    if found is None:
        return "passes", None
    true = tuple(t for t in (expected, *others) if t is not None)
    if any(not any(t in d for t in true) for d in found):
        return "false", found
    if expected == "ValueError" or found:
        return "true", found
    return "none", found


def _param(name, index):
    fn, _, _, *why = PLANTED[name][index]
    marks = [pytest.mark.xfail(reason=why[0], strict=False)] if why and why[0] == XFAIL_FLOAT else []
    return pytest.param(name, index, marks=marks, id=f"{name}-{fn.__name__}")


@pytest.mark.parametrize(("name", "index"), [_param(n, i) for n, i in ROWS])
def test_planted_mistake_fails_with_its_true_diagnosis(name, index):
    fn, expected, others, *_ = PLANTED[name][index]
    found = diagnoses(name, fn)
    assert found is not None, f"{fn.__name__} passes check_{name}"
    true = tuple(t for t in (expected, *others) if t is not None)
    assert all(any(t in d for t in true) for d in found), (
        f"{fn.__name__}: a diagnosis is not true of it: {found}"
    )
    # None: it raises on the case the message reports (the error is the message, no hint can
    # reproduce it); "ValueError": the case must raise, and only the framework's line is due there
    if expected not in (None, "ValueError"):  # a case that must raise: only the framework's own line
        assert any(t in d for t in true for d in found), f"{fn.__name__}: {true!r} not among {found}"


def test_the_table_covers_every_exercise_function_with_forty_mistakes():
    assert set(PLANTED) == {name for names in ASSIGNMENTS.values() for name in names}
    assert len(ROWS) >= 40


if __name__ == "__main__":  # the coverage table
    counts: dict[str, int] = {}
    for name, index in ROWS:
        result, found = verdict(name, index)
        counts[result] = counts.get(result, 0) + 1
        why = PLANTED[name][index][3:]
        print(f"{result:6} {name:27} {PLANTED[name][index][0].__name__:38} {found} {why[0] if why else ''}")
    print(counts, "of", len(ROWS), file=sys.stderr)
