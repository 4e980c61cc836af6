"""Each ``check_*`` of :mod:`convlab.grading` is itself tested.

- the model answer (the solution cells of the source notebook) passes the fixed and many random cases;
- every planted bug fails, and the message carries the diagnosis of that misconception;
- a function that merely calls a library implementation fails with a shortcut message;
- a function that modifies its input fails, even when its output is right.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import convlab.grading as grading
from convlab.course.layout import Course
from convlab.grading import ASSIGNMENTS, CheckFailure, ShortcutError

COURSE = Course(Path(__file__).resolve().parents[1] / "exercises")


def solution_namespace(assignment: str) -> dict[str, object]:
    """Run the imports cell and the solution cells of a source notebook: the model answers."""
    namespace: dict[str, object] = {"__name__": f"convlab_solution_{assignment}"}
    for cell in json.loads(COURSE.source(assignment).read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "imports"):
            exec("".join(cell["source"]), namespace)
    return namespace


SOLUTIONS: dict[str, object] = {}
for _assignment in ASSIGNMENTS:
    SOLUTIONS.update(
        {
            name: value
            for name, value in solution_namespace(_assignment).items()
            if name in ASSIGNMENTS[_assignment]
        }
    )
S = type("Solutions", (), {k: staticmethod(v) for k, v in SOLUTIONS.items()})
ALL_FUNCTIONS = [fn for fns in ASSIGNMENTS.values() for fn in fns]
# Planted bugs and shortcuts of these live in tests/test_grading_ex02b_pooling.py.
DEDICATED = set(ASSIGNMENTS["ex02b_pooling"])


def check(name):
    return getattr(grading, f"check_{name}")


def fails_with(name, fn, *fragments, kind=CheckFailure, **kwargs):
    with pytest.raises(kind) as info:
        check(name)(fn, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_model_answer_passes_fixed_and_random_cases(name, capsys):
    check(name)(SOLUTIONS[name])
    check(name)(SOLUTIONS[name], n_random=40, seed=123)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"✔ {name} passed") for line in lines)
    assert "40 random cases (seed 123)" in lines[1]


def test_every_exercise_function_has_a_check_and_a_model_answer():
    assert len(ALL_FUNCTIONS) == 22  # ex01..ex07 and ex02b_pooling
    assert set(SOLUTIONS) == set(ALL_FUNCTIONS)
    assert all(callable(check(name)) for name in ALL_FUNCTIONS)


# --------------------------------------------------------------------------- planted bugs


def _same_start_m_over_2(f, g, mode="full"):
    full = S.convolve1d(f, g, "full")
    if mode != "same":
        return S.convolve1d(f, g, mode)
    start = len(g) // 2
    return full[start : start + len(f)]


def _convolve2d_shifted_same(image, kernel, mode="full"):
    if mode != "same":
        return S.convolve2d(image, kernel, mode)
    full = S.convolve2d(image, kernel, "full")
    (h, w), (kh, kw) = image.shape, kernel.shape
    return full[kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w]


def _pad_end(x, extra):
    return np.pad(x, ((0, 0), (0, 0), (0, extra), (0, extra)))


def _same_padding_before(i, k, s=1, d=1):
    before, after = S.same_padding(i, k, s, d)
    return after, before


def _same_padding_unclamped(i, k, s=1, d=1):
    total = (-(-i // s) - 1) * s + d * (k - 1) + 1 - i
    return total // 2, total - total // 2


def _conv_matrix_padded(input_size, kernel, stride=1, padding=0):
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    return S.conv_matrix((h + 2 * padding, w + 2 * padding), kernel, stride, 0)


def _backward_unflipped(g, x, w, stride=1, padding=0):
    dx, dw, db = S.conv2d_backward(g, x, np.ascontiguousarray(w[..., ::-1, ::-1]), stride, padding)
    return dx, S.conv2d_backward(g, x, w, stride, padding)[1], db


def _backward_uncropped(g, x, w, stride=1, padding=0):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx = S.conv2d_backward(g, xp, w, stride, 0)[0]
    _, dw, db = S.conv2d_backward(g, x, w, stride, padding)
    return dx, dw, db


def _backward_batch_dw(g, x, w, stride=1, padding=0):
    dx, _, db = S.conv2d_backward(g, x, w, stride, padding)
    dw = np.stack(
        [S.conv2d_backward(g[n : n + 1], x[n : n + 1], w, stride, padding)[1] for n in range(len(x))]
    )
    return dx, dw, db


def _transpose_output_padding_first(x, w, stride=1, padding=0, output_padding=0):
    full = S.conv_transpose2d(x, w, stride, 0, 0)
    full = np.pad(full, ((0, 0), (0, 0), (output_padding, 0), (output_padding, 0)))
    return full[:, :, padding : full.shape[2] - padding, padding : full.shape[3] - padding]


def _tf_symmetric(x, filters, output_shape, strides, padding="SAME"):
    """Crops ceil(total / 2) before: the odd pixel on the wrong side."""
    n, h, w, _ = x.shape
    kh, kw = filters.shape[:2]
    full_shape = (n, (h - 1) * strides + kh, (w - 1) * strides + kw, output_shape[3])
    full = S.tf_conv2d_transpose(x, filters, full_shape, strides, "VALID")
    full = np.pad(full, ((0, 0), (0, strides), (0, strides), (0, 0)))
    sizes = ((h, kh, output_shape[1]), (w, kw, output_shape[2]))
    top, left = (-(-max((i - 1) * strides + k - o, 0) // 2) for i, k, o in sizes)
    return full[:, top : top + output_shape[1], left : left + output_shape[2], :]


def _bilinear_no_half_pixel(x, size, align_corners=False):
    if align_corners:
        return S.interpolate_bilinear(x, size, True)
    out = x
    for axis, m in ((2, size[0]), (3, size[1])):
        n = out.shape[axis]
        src = np.arange(m) * n / m
        i0 = np.minimum(np.floor(src).astype(int), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0).reshape([m if a == axis else 1 for a in range(4)])
        out = np.take(out, i0, axis=axis) * (1 - lam) + np.take(out, i1, axis=axis) * lam
    return out.astype(x.dtype)


def _bilinear_truncating(x, size, align_corners=False):
    if align_corners:
        return S.interpolate_bilinear(x, size, True)
    out = x
    for axis, m in ((2, size[0]), (3, size[1])):
        n = out.shape[axis]
        src = (np.arange(m) + 0.5) * n / m - 0.5  # not clamped
        i0 = np.minimum(src.astype(int), n - 1)  # int() truncates towards zero
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0).reshape([m if a == axis else 1 for a in range(4)])
        out = np.take(out, i0, axis=axis) * (1 - lam) + np.take(out, i1, axis=axis) * lam
    return out.astype(x.dtype)


def _unpool_column_major(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, *output_size), dtype=x.dtype)
    for a, b in np.ndindex(n, c):
        out[a, b, indices[a, b] % output_size[0], indices[a, b] // output_size[0]] = x[a, b]
    return out


def _unpool_input_width(x, indices, output_size):
    n, c, _, w = x.shape
    out = np.zeros((n, c, *output_size), dtype=x.dtype)
    for a, b in np.ndindex(n, c):
        rows, cols = indices[a, b] // w, indices[a, b] % w
        keep = (rows < output_size[0]) & (cols < output_size[1])
        out[a, b, rows[keep], cols[keep]] = x[a, b][keep]
    return out


def _unpool_repeat(x, indices, output_size):
    up = x.repeat(2, axis=2).repeat(2, axis=3)
    out = np.zeros((*x.shape[:2], *output_size), dtype=x.dtype)
    out[:, :, : up.shape[2], : up.shape[3]] = up[:, :, : output_size[0], : output_size[1]]
    return out


def _shuffle(order, channels_last=False):
    def shuffle(x, r):
        n, c2, h, w = x.shape
        c = c2 // (r * r)
        y = (
            x.reshape(n, r, r, c, h, w).transpose(0, 3, 1, 2, 4, 5)
            if channels_last
            else x.reshape(n, c, r, r, h, w)
        )
        return y.transpose(order).reshape(n, c, h * r, w * r)

    return shuffle


def _convolutionalize_with(weight_fn, keep_bias=True):
    def convolutionalize(linear, in_channels, kernel_size):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        has_bias = linear.bias is not None and keep_bias
        conv = torch.nn.Conv2d(in_channels, linear.out_features, (kh, kw), bias=has_bias)
        with torch.no_grad():
            conv.weight.copy_(weight_fn(linear.weight, in_channels, kh, kw))
            if has_bias:
                conv.bias.copy_(linear.bias)
        return conv

    return convolutionalize


def _kernel_centre(centre_fn, size_fn=lambda f: 2 * f - f % 2):
    def bilinear_kernel(channels, factor):
        size = size_fn(factor)
        t = 1 - np.abs(np.arange(size) - centre_fn(factor, size)) / factor
        w = np.zeros((channels, channels, size, size), dtype=np.float32)
        for c in range(channels):
            w[c, c] = np.outer(t, t)
        return w

    return bilinear_kernel


def _iou_all_classes(absent):
    def mean_iou(pred, target, num_classes):
        ious = []
        for k in range(num_classes):
            union = np.sum((pred == k) | (target == k))
            ious.append(np.sum((pred == k) & (target == k)) / union if union else absent)
        return float(np.mean(ious))

    return mean_iou


def _dice(pred, target, num_classes):
    scores = []
    for k in range(num_classes):
        total = np.sum(pred == k) + np.sum(target == k)
        if total:
            scores.append(2 * np.sum((pred == k) & (target == k)) / total)
    return float(np.mean(scores))


def _crop_offset_with(padding=True, sign=1.0, centre=lambda k: (k - 1) / 2):
    def crop_offset(layers):
        a, b = 1.0, 0.0
        for kind, k, s, p in layers:
            p = p if padding else 0
            if kind == "transposed":
                a, b = a / s, b + sign * a * (p - centre(k)) / s
            else:
                a, b = a * s, b + a * (centre(k) - p)
        return -b if -b != round(-b) else int(round(-b))

    return crop_offset


def _centre(x, h, w):
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[..., top : top + h, left : left + w]


def _fuse_centre_crop(s32, s16, s8, up2, up2_pool4, up8, size):
    score = _centre(up2(s32), *s16.shape[-2:]) + s16
    score = _centre(up2_pool4(score), *s8.shape[-2:]) + s8
    return _centre(up8(score), *size)


def _fuse_without_pool3(s32, s16, s8, up2, up2_pool4, up8, size):
    score = up2(s32)[..., : s16.shape[-2], : s16.shape[-1]] + s16
    return up8(up2_pool4(score))[..., : size[0], : size[1]]


PLANTED = {
    "convolve1d": [
        (lambda f, g, mode="full": S.correlate1d(f, g, mode), "forget to reverse g"),
        (lambda f, g, mode="full": S.convolve1d(f, g, "full"), "'full' convolution"),
        (_same_start_m_over_2, "(m - 1) // 2"),
    ],
    "correlate1d": [
        (lambda f, g, mode="valid": S.convolve1d(f, g, mode), "convolution of f and g"),
        (lambda f, g, mode="valid": S.correlate1d(f, g, mode)[::-1], "your output is reversed"),
        (lambda f, g, mode="valid": S.correlate1d(f, g, "valid"), "'valid' correlation"),
        (lambda f, g, mode="same": S.correlate1d(f, g, mode), "with your default for mode"),
    ],
    "convolve2d": [
        (lambda im, k, mode="full": S.convolve2d(im, k[::-1, ::-1], mode), "forget to flip it"),
        (lambda im, k, mode="full": S.convolve2d(im, k[::-1, :], mode), "one axis only"),
        (lambda im, k, mode="full": S.convolve2d(im, k, "full"), "'full' result"),
        (_convolve2d_shifted_same, "your window is one off"),
    ],
    "conv2d": [
        (
            lambda x, w, b=None, stride=1, padding=0: S.conv2d(x, w[..., ::-1, ::-1], b, stride, padding),
            "true convolution",
        ),
        (lambda x, w, b=None, stride=1, padding=0: S.conv2d(x, w, None, stride, padding), "bias is missing"),
        (
            lambda x, w, b=None, stride=1, padding=0: S.conv2d(
                x, w.transpose(1, 0, 2, 3), b, stride, padding
            ),
            "weight channels are swapped",
        ),
        (
            lambda x, w, b=None, stride=1, padding=0: S.conv2d(
                _pad_end(x, stride - 1), w, b, stride, padding
            ),
            "rounded up",
        ),
        (
            lambda x, w, b=None, stride=1, padding=0: S.conv2d(
                np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0))), w, b, stride, 0
            ),
            "one side only",
        ),
    ],
    "conv_output_size": [
        (lambda i, k, s=1, p=0, d=1: math.ceil((i + 2 * p - d * (k - 1) - 1) / s) + 1, "ceil"),
        (lambda i, k, s=1, p=0, d=1: S.conv_output_size(i, k, s, p, 1), "dilation is missing"),
        (lambda i, k, s=1, p=0, d=1: (i + p - d * (k - 1) - 1) // s + 1, "counted once"),
        (
            lambda i, k, s=1, p=0, d=1: (i + 2 * p - d * (k - 1) - 1) // s + 1,
            "expected your function to raise ValueError",
        ),
    ],
    "conv_transpose_output_size": [
        (
            lambda i, k, s=1, p=0, output_padding=0, d=1: S.conv_transpose_output_size(i, k, s, p, 0, d),
            "is missing",
        ),
        (
            lambda i, k, s=1, p=0, output_padding=0, d=1: (i - 1) * s - 2 * p + k + output_padding,
            "dilation is missing",
        ),
        (
            lambda i, k, s=1, p=0, output_padding=0, d=1: (i - 1) * s - p + d * (k - 1) + output_padding + 1,
            "removed once",
        ),
        (
            lambda i, k, s=1, p=0, output_padding=0, d=1: i * s - 2 * p + d * (k - 1) + output_padding + 1,
            "multiplies i",
        ),
    ],
    "same_padding": [
        (_same_padding_before, "TensorFlow puts the extra pixel after"),
        (_same_padding_unclamped, "max(..., 0)"),
        (lambda i, k, s=1, d=1: ((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2), "stride is missing"),
        (lambda i, k, s=1, d=1: S.same_padding(i, k, s, 1), "dilation is missing"),
    ],
    "conv_matrix": [
        (
            lambda size, k, stride=1, padding=0: S.conv_matrix(size, k[::-1, ::-1], stride, padding),
            "flipped kernel",
        ),
        (lambda size, k, stride=1, padding=0: S.conv_matrix(size, k, stride, padding).T, "C transposed"),
        (_conv_matrix_padded, "acts on the padded input"),
        (lambda size, k, stride=1, padding=0: S.conv_matrix(size, k, 1, padding), "stride is missing"),
    ],
    "conv2d_backward": [
        (_backward_unflipped, "dx uses the kernel unflipped"),
        (_backward_uncropped, "dx still has the padding"),
        (_backward_batch_dw, "dw is not summed over the batch"),
        (
            lambda g, x, w, stride=1, padding=0: (
                *S.conv2d_backward(g, x, w, stride, padding)[:2],
                g.sum(axis=(2, 3)),
            ),
            "db has the wrong sum",
        ),
    ],
    "conv_transpose2d": [
        (
            lambda x, w, stride=1, padding=0, output_padding=0: S.conv_transpose2d(
                x, w, stride, 0, output_padding
            ),
            "not cropped",
        ),
        (
            lambda x, w, stride=1, padding=0, output_padding=0: S.conv_transpose2d(
                x, w[..., ::-1, ::-1], stride, padding, output_padding
            ),
            "kernel is not flipped in the zero-insertion view",
        ),
        (
            lambda x, w, stride=1, padding=0, output_padding=0: S.conv_transpose2d(
                x, w.transpose(1, 0, 2, 3), stride, padding, output_padding
            ),
            "weight channels are swapped",
        ),
        (_transpose_output_padding_first, "went on the wrong side"),
        (
            lambda x, w, stride=1, padding=0, output_padding=0: S.conv_transpose2d(x, w, stride, padding, 0),
            "is missing",
        ),
    ],
    "tf_conv2d_transpose": [
        (_tf_symmetric, "TensorFlow puts the extra pixel after"),
        (
            lambda x, f, shape, s, padding="SAME": S.tf_conv2d_transpose(
                x, f.transpose(0, 1, 3, 2), shape, s, padding
            ),
            "filter channels are swapped",
        ),
        (
            lambda x, f, shape, s, padding="SAME": S.tf_conv2d_transpose(x, f[::-1, ::-1], shape, s, padding),
            "kernel is flipped",
        ),
    ],
    "interpolate_bilinear": [
        (
            lambda x, size, align_corners=False: S.interpolate_bilinear(x, size, not align_corners),
            "other `align_corners`",
        ),
        (_bilinear_no_half_pixel, "half-pixel offset is missing"),
        (_bilinear_truncating, "clamp it to 0"),
    ],
    "max_unpool2d": [
        (_unpool_repeat, "nearest-neighbour upsampling"),
        (_unpool_column_major, "column-major"),
        (_unpool_input_width, "width of the pooled input"),
    ],
    "pixel_shuffle": [
        (_shuffle((0, 1, 4, 2, 5, 3), channels_last=True), "channel order is wrong"),
        (_shuffle((0, 1, 4, 3, 5, 2)), "row and column are swapped"),
        (_shuffle((0, 1, 2, 4, 3, 5)), "tiled as blocks"),
    ],
    "convolutionalize": [
        (
            _convolutionalize_with(lambda w, c, kh, kw: w.reshape(-1, kh, kw, c).permute(0, 3, 1, 2)),
            "channels-last",
        ),
        (
            _convolutionalize_with(lambda w, c, kh, kw: w.reshape(-1, c, kw, kh).transpose(2, 3)),
            "rows and columns are swapped",
        ),
        (
            _convolutionalize_with(lambda w, c, kh, kw: w.reshape(-1, c, kh, kw), keep_bias=False),
            "bias is missing",
        ),
    ],
    "bilinear_kernel": [
        (
            lambda c, f: np.broadcast_to(
                S.bilinear_kernel(1, f), (c, c, *S.bilinear_kernel(1, f).shape[2:])
            ).copy(),
            "every (output, input)",
        ),
        (_kernel_centre(lambda f, size: f - 1), "off-centre"),
        (_kernel_centre(lambda f, size: f - 0.5, lambda f: 2 * f), "kernel size is 2f - f % 2"),
    ],
    "mean_iou": [
        (_iou_all_classes(0.0), "counting it as 0"),
        (_iou_all_classes(1.0), "counting it as 1"),
        (lambda pred, target, k: float(np.mean(pred == target)), "pixel accuracy"),
        (_dice, "Dice"),
    ],
    "crop_offset": [
        (_crop_offset_with(padding=False), "padding was ignored"),
        (_crop_offset_with(sign=-1.0), "wrong sign"),
        (_crop_offset_with(centre=lambda k: k / 2), "not at k/2"),
    ],
    "fcn8s_fuse": [
        (lambda s32, s16, s8, a, b, c, size: S.fcn8s_fuse(s32, s16, s8, b, a, c, size), "swapped"),
        (_fuse_centre_crop, "centre of the larger map"),
        (_fuse_without_pool3, "score_pool3 is missing"),
    ],
}

PLANTED_CASES = [(name, i) for name, bugs in PLANTED.items() for i in range(len(bugs))]


@pytest.mark.parametrize(("name", "index"), PLANTED_CASES, ids=[f"{n}-{i}" for n, i in PLANTED_CASES])
def test_planted_bug_fails_with_its_diagnosis(name, index):
    bug, diagnosis = PLANTED[name][index]
    message = fails_with(name, bug, diagnosis, f"`{name}` failed on case")
    # the failing case is printed, and the message does not contain the stub's wording
    assert "NotImplementedError" not in message


def test_every_check_has_planted_bugs():
    assert set(PLANTED) == set(ALL_FUNCTIONS) - DEDICATED
    for assignment, names in ASSIGNMENTS.items():
        if assignment == "ex02b_pooling":
            continue
        assert sum(len(PLANTED[n]) for n in names) >= 2, assignment


def test_failure_message_shows_case_expected_received_and_tolerance():
    message = fails_with("convolve1d", lambda f, g, mode="full": S.correlate1d(f, g, mode))
    assert "case 1 of 6" in message
    assert "f: ndarray of shape (3,), dtype float64" in message
    assert "[1. 2. 3.]" in message
    assert "expected:" in message and "received:" in message
    assert "‖got − expected‖ / ‖expected‖" in message and "tolerance 1e-09" in message


def test_random_failures_name_the_seed_to_reproduce_them():
    def wrong_only_when_long(f, g, mode="full"):
        out = S.convolve1d(f, g, mode)
        return out + 1.0 if len(f) > 6 else out

    message = fails_with(
        "convolve1d", wrong_only_when_long, "seed 99", "n_random=30, seed=99)", n_random=30, seed=99
    )
    assert "random case" in message


def test_shape_dtype_and_type_are_checked_before_values():
    fails_with(
        "convolve1d", lambda f, g, mode="full": list(S.convolve1d(f, g, mode)), "expected a numpy.ndarray"
    )
    fails_with(
        "convolve1d",
        lambda f, g, mode="full": S.convolve1d(f, g, mode).astype(np.float32),
        "expected dtype float64",
    )
    fails_with(
        "conv2d",
        lambda x, w, b=None, stride=1, padding=0: torch.from_numpy(S.conv2d(x, w, b, stride, padding)),
        "numpy.ndarray",
    )
    fails_with("mean_iou", lambda p, t, k: np.array([S.mean_iou(p, t, k)]), "expected a float")
    fails_with("same_padding", lambda i, k, s=1, d=1: float(S.same_padding(i, k, s, d)[0]), "tuple of 2")


def test_stub_and_crash_are_reported():
    def stub(f, g, mode="full"):
        raise NotImplementedError("write this function")

    fails_with("convolve1d", stub, "raised NotImplementedError: it is not written yet")
    fails_with("convolve1d", lambda f, g, mode="full": f[100], "raised IndexError")
    fails_with("convolve1d", lambda f, g, mode="full": np.full(len(f) + len(g) - 1, np.nan), "NaN")


# --------------------------------------------------------------------------- shortcuts


def _np_ref(fn):
    return lambda *args, **kwargs: fn(*args, **kwargs)


SHORTCUTS = {
    "crop_offset": (
        lambda layers: __import__("convlab.fcn").fcn.crop_offset(layers),
        "convlab.fcn.crop_offset",
    ),
    "fcn8s_fuse": (
        lambda *a: __import__("convlab.fcn").fcn.fcn8s_fuse(*a),
        "convlab.fcn.fcn8s_fuse",
    ),
    "convolve1d": (lambda f, g, mode="full": np.convolve(f, g, mode), "numpy.convolve"),
    "correlate1d": (lambda f, g, mode="valid": np.correlate(f, g, mode), "numpy.correlate"),
    "convolve2d": (
        lambda im, k, mode="full": __import__("scipy.signal").signal.convolve2d(im, k, mode),
        "convolve2d",
    ),
    "conv2d": (
        lambda x, w, b=None, stride=1, padding=0: torch.nn.functional.conv2d(
            torch.from_numpy(x),
            torch.from_numpy(w),
            None if b is None else torch.from_numpy(b),
            stride,
            padding,
        ).numpy(),
        "conv2d",
    ),
    "conv_output_size": (
        lambda i, k, s=1, p=0, d=1: __import__("convlab.arithmetic").arithmetic.conv_output_size(
            i, k, s, p, d
        ),
        "convlab.arithmetic.conv_output_size",
    ),
    "conv_transpose_output_size": (
        lambda *a, **kw: __import__("convlab.arithmetic").arithmetic.conv_transpose_output_size(*a, **kw),
        "convlab.arithmetic.conv_transpose_output_size",
    ),
    "same_padding": (
        lambda *a, **kw: __import__("convlab.arithmetic").arithmetic.same_padding(*a, **kw),
        "convlab.arithmetic.same_padding",
    ),
    "conv_matrix": (
        lambda size, k, stride=1, padding=0: __import__("convlab.matrix").matrix.conv_matrix(
            size, k, stride, padding
        ),
        "convlab.matrix.conv_matrix",
    ),
    "conv2d_backward": (
        lambda g, x, w, stride=1, padding=0: __import__("convlab.autograd").autograd.conv2d_backward(
            g, x, w, stride, padding
        ),
        "convlab.autograd.conv2d_backward",
    ),
    "conv_transpose2d": (
        lambda x, w, stride=1, padding=0, output_padding=0: torch.nn.functional.conv_transpose2d(
            torch.from_numpy(x),
            torch.from_numpy(w),
            stride=stride,
            padding=padding,
            output_padding=output_padding,
        ).numpy(),
        "conv_transpose2d",
    ),
    "tf_conv2d_transpose": (
        lambda *a, **kw: __import__("convlab.transposed").transposed.tf_conv2d_transpose(*a, **kw),
        "convlab.transposed.tf_conv2d_transpose",
    ),
    "interpolate_bilinear": (
        lambda x, size, align_corners=False: torch.nn.functional.interpolate(
            torch.from_numpy(x), size=size, mode="bilinear", align_corners=align_corners
        ).numpy(),
        "interpolate",
    ),
    "max_unpool2d": (
        lambda x, idx, size: torch.nn.functional.max_unpool2d(
            torch.from_numpy(x), torch.from_numpy(idx), 2, output_size=size
        ).numpy(),
        "max_unpool2d",
    ),
    "pixel_shuffle": (lambda x, r: torch.pixel_shuffle(torch.from_numpy(x), r).numpy(), "pixel_shuffle"),
    "convolutionalize": (
        lambda *a: __import__("convlab.fcn").fcn.convolutionalize(*a),
        "convlab.fcn.convolutionalize",
    ),
    "bilinear_kernel": (
        lambda c, f: __import__("convlab.upsample").upsample.bilinear_kernel(c, f),
        "convlab.upsample.bilinear_kernel",
    ),
    "mean_iou": (
        lambda p, t, k: __import__("convlab.metrics").metrics.mean_iou(p, t, k),
        "convlab.metrics.mean_iou",
    ),
}


@pytest.mark.parametrize("name", [name for name in ALL_FUNCTIONS if name not in DEDICATED])
def test_calling_the_reference_earns_nothing(name):
    shortcut, qualname = SHORTCUTS[name]
    fails_with(name, shortcut, qualname, "The exercise is to implement", kind=ShortcutError)


def test_passing_the_reference_itself_or_a_partial_earns_nothing():
    import functools

    import convlab.signal

    fails_with("convolve1d", np.convolve, "numpy.convolve", kind=ShortcutError)
    fails_with("convolve1d", convlab.signal.convolve1d, "convlab.signal.convolve1d", kind=ShortcutError)
    fails_with(
        "correlate1d", functools.partial(np.correlate, mode="valid"), "numpy.correlate", kind=ShortcutError
    )


def test_an_alias_in_the_notebook_namespace_is_blocked_too():
    namespace = {}
    exec(
        "from numpy import convolve as my_conv\n"
        "def convolve1d(f, g, mode='full'):\n"
        "    return my_conv(f, g, mode)",
        namespace,
    )
    fails_with("convolve1d", namespace["convolve1d"], "numpy.convolve", kind=ShortcutError)


def test_a_caught_shortcut_still_fails():
    def sneaky(f, g, mode="full"):
        try:
            return np.convolve(f, g, mode)
        except Exception:
            return S.convolve1d(f, g, mode)

    fails_with("convolve1d", sneaky, "numpy.convolve", kind=ShortcutError)


def test_autograd_is_switched_off_for_the_backward_pass():
    def via_autograd(g, x, w, stride=1, padding=0):
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(w, requires_grad=True)
        xp = torch.nn.functional.pad(xt, (padding,) * 4)
        kh, kw = w.shape[2:]
        rows = [
            torch.stack(
                [
                    torch.einsum("ncab,fcab->nf", xp[:, :, i : i + kh, j : j + kw], wt)
                    for j in range(0, xp.shape[3] - kw + 1, stride)
                ],
                dim=-1,
            )
            for i in range(0, xp.shape[2] - kh + 1, stride)
        ]
        y = torch.stack(rows, dim=-2)
        dx, dw = torch.autograd.grad((y * torch.tensor(g)).sum(), (xt, wt))
        return dx.numpy(), dw.numpy(), g.sum(axis=(0, 2, 3))

    fails_with("conv2d_backward", via_autograd, "torch.autograd.grad", kind=ShortcutError)


def test_library_functions_are_restored_after_a_check_even_when_it_fails():
    import scipy.signal

    originals = (
        np.convolve,
        torch.nn.functional.conv2d,
        torch.conv2d,
        scipy.signal.convolve2d,
        torch.Tensor.backward,
    )
    with pytest.raises(CheckFailure):
        check("convolve1d")(lambda f, g, mode="full": np.convolve(f, g, mode))
    with pytest.raises(CheckFailure):
        check("conv2d_backward")(lambda *a, **k: 1 / 0)
    assert (
        np.convolve,
        torch.nn.functional.conv2d,
        torch.conv2d,
        scipy.signal.convolve2d,
        torch.Tensor.backward,
    ) == originals
    assert np.convolve([1.0, 2.0], [1.0, 1.0]).tolist() == [1.0, 3.0, 2.0]


# --------------------------------------------------------------------------- mutation


def _mutating(name):
    """A right answer computed first, then the inputs scribbled on."""
    solution = SOLUTIONS[name]

    def scribble(value):
        if isinstance(value, np.ndarray) and value.size:
            value.flat[0] += 1
        elif isinstance(value, torch.Tensor) and value.numel():
            with torch.no_grad():
                value.view(-1)[0] += 1
        elif isinstance(value, torch.nn.Module) and list(value.parameters()):
            with torch.no_grad():
                next(value.parameters()).add_(1.0)
        elif isinstance(value, list) and value:
            value.pop()

    def mutating(*args, **kwargs):
        result = solution(*args, **kwargs)
        for value in args:
            scribble(value)
        return result

    return mutating


MUTABLE = [
    name
    for name in ALL_FUNCTIONS
    if name not in ASSIGNMENTS["ex03_arithmetic"] and name not in ("bilinear_kernel", "receptive_field")
]


@pytest.mark.parametrize("name", MUTABLE)
def test_a_function_that_modifies_its_input_fails(name):
    fails_with(name, _mutating(name), "modified its input")


def test_the_seed_follows_the_environment_variable(monkeypatch, capsys):
    monkeypatch.setenv("CONVLAB_GRADING_SEED", "4242")
    check("pixel_shuffle")(SOLUTIONS["pixel_shuffle"], n_random=3)
    assert "(seed 4242)" in capsys.readouterr().out
