"""Checks of assignment ``ex04_matrix``: convolution as a matrix, and its backward pass (chapter 5).

They must equal :func:`convlab.matrix.conv_matrix` and :func:`convlab.autograd.conv2d_backward`.
"""

from __future__ import annotations

import numpy as np

from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M
from convlab.grading.shortcuts import AUTOGRAD_SHORTCUTS

__all__ = ["check_conv_matrix", "check_conv2d_backward"]


def _random_matrix(rng: np.random.Generator) -> Case:
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = (int(v) for v in rng.integers(1, 7, size=2))
    kh = int(rng.integers(1, min(h + 2 * padding, 4) + 1))
    kw = int(rng.integers(1, min(w + 2 * padding, 4) + 1))
    return Case((h, w), rng.standard_normal((kh, kw)).round(2), stride=stride, padding=padding)


_K33 = np.arange(1.0, 10.0).reshape(3, 3)


def _sizes(input_size) -> tuple[int, int]:
    return tuple(int(n) for n in np.broadcast_to(input_size, 2))


def _matrix(input_size, kernel, stride, padding, *, flat_bounds=False, row_step=None):
    """The matrix built tap by tap, with the switches of two indexing mistakes."""
    h, w = _sizes(input_size)
    kh, kw = kernel.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    matrix = np.zeros((ho * wo, h * w), dtype=kernel.dtype)
    step = w if row_step is None else row_step(h, w)
    for r, c, u, v in np.ndindex(ho, wo, kh, kw):
        row, col = r * stride + u - padding, c * stride + v - padding
        flat = row * step + col
        inside = 0 <= flat < h * w if flat_bounds else 0 <= row < h and 0 <= col < w
        if inside:
            matrix[r * wo + c, flat] = kernel[u, v]
    return matrix


check_conv_matrix = exercise(
    "conv_matrix(input_size, kernel, stride=1, padding=0)",
    reference("convlab.matrix", "conv_matrix"),
    [
        Case(4, _K33, stride=1, padding=0),
        Case((3, 3), np.array([[1.0, 2.0], [3.0, 4.0]]), stride=1, padding=0),
        Case((5, 4), np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]]), stride=1, padding=1),
        Case(5, _K33, stride=2, padding=0),
        Case((4, 5), np.array([[2.0, 1.0], [0.0, -1.0]]), stride=2, padding=1),
    ],
    _random_matrix,
    [
        M(
            "your matrix applies the flipped kernel (a true convolution): deep-learning layers slide "
            "the kernel as it is, the row of output pixel (r, c) holds kernel[u, v] in the column of "
            "input pixel (s*r + u - p, s*c + v - p).",
            kernel=lambda kernel: np.ascontiguousarray(kernel[::-1, ::-1]),
        ),
        M(
            "you returned C transposed: C maps the flattened input (H*W values) to the flattened "
            "output, so it has one row per output pixel and one column per input pixel.",
            lambda expected: expected.T,
        ),
        M(
            "your matrix acts on the padded input: C must act on the original H*W pixels; entries "
            "that would multiply padding zeros are simply left out.",
            input_size=lambda input_size, padding: tuple(
                int(n) + 2 * padding for n in np.broadcast_to(input_size, 2)
            ),
            padding=0,
        ),
        M(
            "taps on the left/right padding landed in the neighbouring row: you kept an entry when "
            "its flat column row * W + col fell inside 0..H*W - 1; check 0 <= row < H and "
            "0 <= col < W separately and leave out the taps that fall on the padding.",
            lambda input_size, kernel, stride, padding: _matrix(
                input_size, kernel, stride, padding, flat_bounds=True
            ),
            when=lambda padding: padding > 0,
        ),
        M(
            "the kernel's rows and columns are swapped (kernel.T): the row of output pixel (r, c) "
            "holds kernel[u, v], row u and column v of the kernel, in the column of input pixel "
            "(s*r + u - p, s*c + v - p).",
            kernel=lambda kernel: np.ascontiguousarray(kernel.T),
            when=lambda kernel: kernel.shape[0] == kernel.shape[1],
        ),
        M(
            "the column of input pixel (row, col) is row * W + col, with the width W (a row of the "
            "flattened image holds W pixels); you multiplied the row by the height H.",
            lambda input_size, kernel, stride, padding: _matrix(
                input_size, kernel, stride, padding, row_step=lambda h, w: h
            ),
            when=lambda input_size: len(set(_sizes(input_size))) > 1,
        ),
        M(
            "the stride is missing: with stride s, output pixel (r, c) reads the window starting at "
            "(s*r - p, s*c - p).",
            stride=1,
        ),
    ],
    doc="""Check a student's ``conv_matrix(input_size, kernel, stride=1, padding=0)``.

    ``input_size`` is ``H`` or ``(H, W)``, ``kernel`` is ``(kh, kw)``; the result ``C`` has shape
    ``(H_out * W_out, H * W)`` and the dtype of ``kernel``, with ``C @ x.ravel()`` equal to the
    deep-learning convolution (cross-correlation) of the ``(H, W)`` image ``x``, zero padded.
    """,
)


def _backward_case(rng, batch, c_in, c_out, h, w, kh, kw, stride, padding) -> Case:
    x, weight = draw(rng, (batch, c_in, h, w)), draw(rng, (c_out, c_in, kh, kw))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    return Case(draw(rng, (batch, c_out, ho, wo)), x, weight, stride=stride, padding=padding)


def _random_backward(rng: np.random.Generator) -> Case:
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = (int(v) for v in rng.integers(2, 8, size=2))
    kh = int(rng.integers(1, min(h + 2 * padding, 4) + 1))
    kw = int(rng.integers(1, min(w + 2 * padding, 4) + 1))
    batch, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    return _backward_case(rng, batch, c_in, c_out, h, w, kh, kw, stride, padding)


_backward = reference("convlab.autograd", "conv2d_backward")
_transpose = reference("convlab.functional", "conv_transpose2d")


def _stride_one_dx(grad_output, w, padding):
    """dx with the stride forgotten: the full convolution of grad_output, cropped by the padding."""
    return _transpose(grad_output, w, None, 1, padding)


def _reached(size, k, stride, padding):
    """How many rows of x the stamped canvas, cropped by p at both ends, covers."""
    return (size + 2 * padding - k) // stride * stride + k - 2 * padding


def _end_zeroed(dx, w, stride, padding):
    """dx with its last (H + 2p - kh) % s rows and (W + 2p - kw) % s columns set to 0."""
    dx = dx.copy()
    h, wd = dx.shape[2:]
    dx[:, :, _reached(h, w.shape[2], stride, padding) :] = 0
    dx[:, :, :, _reached(wd, w.shape[3], stride, padding) :] = 0
    return dx


def _short(x, w, stride, padding):
    """(H + 2p - kh) % s and (W + 2p - kw) % s: the rows and columns past the cropped canvas."""
    return tuple((x.shape[a] + 2 * padding - w.shape[a]) % stride for a in (2, 3))


_rng = np.random.default_rng(4)
_DB = (
    "db has the wrong sum: each bias b[f] is added to every pixel of every sample, so "
    "db[f] = grad_output[:, f].sum() over N, H_out and W_out."
)

check_conv2d_backward = exercise(
    "conv2d_backward(grad_output, x, w, stride=1, padding=0)",
    _backward,
    [
        _backward_case(_rng, 1, 1, 1, 4, 4, 3, 3, 1, 0),
        _backward_case(_rng, 2, 3, 4, 5, 5, 3, 3, 1, 1),
        _backward_case(_rng, 2, 2, 3, 7, 6, 3, 2, 2, 1),
        # (H + 2p - k) % s = 2 > p = 1: one short row on the canvas, one past it
        _backward_case(np.random.default_rng(41), 1, 1, 2, 6, 5, 3, 2, 3, 1),
        _backward_case(_rng, 1, 2, 2, 5, 5, 2, 2, 2, 0),
    ],
    _random_backward,
    [
        M(
            "dx uses the kernel unflipped: dx is the *transposed* convolution of grad_output with w "
            "(every output gradient stamps the kernel back onto the window it came from); written as "
            "a full convolution, that slides the kernel rotated by 180 degrees.",
            w=lambda w: np.ascontiguousarray(w[..., ::-1, ::-1]),
            part=0,
        ),
        M(
            "dx still has the padding: compute the gradient w.r.t. the padded input, then crop p "
            "rows/columns from every side so that dx has the shape of x.",
            x=lambda x, padding: np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))),
            padding=0,
            part=0,
        ),
        M(
            "dw is not summed over the batch: the same weights serve every sample, so their "
            "gradient adds the contributions of all N samples (shape (C_out, C_in, kh, kw)).",
            lambda grad_output, x, w, stride, padding: np.stack(
                [
                    _backward(g[None], xn[None], w, stride, padding)[1]
                    for g, xn in zip(grad_output, x, strict=True)
                ]
            ),
            part=1,
        ),
        M(
            "dw is flipped: dw[f, q, u, v] sums delta[n, f, r, c] * x_pad[n, q, s*r + u, s*c + v] over "
            "n, r and c (a correlation of the padded input with grad_output, as in the forward pass), "
            "with no 180-degree rotation.",
            lambda expected: np.ascontiguousarray(expected[1][..., ::-1, ::-1]),
            part=1,
        ),
        M(
            "dw has the layout of w, (C_out, C_in, kh, kw): dw[f, q] pairs output channel f with "
            "input channel q; yours has the two channel axes the other way round.",
            lambda expected: np.ascontiguousarray(expected[1].transpose(1, 0, 2, 3)),
            part=1,
        ),
        M(
            "with stride s, grad_output[r, c] goes back to the window at (s*r - p, s*c - p): insert "
            "s - 1 zeros between the rows and columns of grad_output before the full convolution "
            "with w, which slides the kernel rotated by 180 degrees (or stamp w at (s*r, s*c) for "
            "every grad_output[r, c]).",
            lambda grad_output, w, padding: _stride_one_dx(grad_output, w, padding),
            when=lambda grad_output, stride: stride > 1 and max(grad_output.shape[2:]) > 1,
            part=0,
        ),
        M(
            "dx must have the shape of x: yours is r = (H + 2p - kh) % s rows short at the bottom "
            "(and (W + 2p - kw) % s columns at the right). Give the transposed convolution "
            "output_padding = r: it keeps the first min(r, p) of those rows from the stamped canvas, "
            "where cropping p at the bottom removed them, and adds the rest, past the canvas, as "
            "zeros (no window reads them).",
            lambda x, w, stride, padding, expected: expected[0][
                :,
                :,
                : _reached(x.shape[2], w.shape[2], stride, padding),
                : _reached(x.shape[3], w.shape[3], stride, padding),
            ],
            when=lambda x, w, stride, padding: any(_short(x, w, stride, padding)),
            part=0,
        ),
        M(
            "the last r = (H + 2p - kh) % s rows of dx (and the last (W + 2p - kw) % s columns) are "
            "not all zero: the first min(r, p) of them lie on the stamped canvas, where cropping p at "
            "the bottom cut them off. Give the transposed convolution output_padding = r instead of "
            "appending zeros: it keeps those rows and adds zeros only past the canvas.",
            lambda w, stride, padding, expected: _end_zeroed(expected[0], w, stride, padding),
            when=lambda x, w, stride, padding: padding > 0 and any(_short(x, w, stride, padding)),
            part=0,
        ),
        M(
            "db is a sum, not a mean: every output pixel of every sample adds b[f] once, so "
            "db[f] = grad_output[:, f].sum() over N, H_out and W_out.",
            lambda grad_output: grad_output.mean(axis=(0, 2, 3)),
            part=2,
        ),
        M(_DB, lambda grad_output: grad_output.sum(axis=(2, 3)), part=2),
        M(_DB, lambda grad_output: grad_output.sum(axis=0), part=2),
    ],
    doc="""Check ``conv2d_backward(grad_output, x, w, stride=1, padding=0) -> (dx, dw, db)``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in, kh, kw)``, ``grad_output`` is the
    gradient of the loss w.r.t. ``conv2d(x, w, b, stride, padding)``; the result is the gradient
    w.r.t. ``x``, ``w`` and the bias ``b`` (shape ``(C_out,)``), as torch autograd computes it.
    Autograd itself is switched off while the function runs.
    """,
    blocked=AUTOGRAD_SHORTCUTS,
)
