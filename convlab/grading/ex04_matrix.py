"""Checks of assignment ``ex04_matrix``: convolution as a matrix, and its backward pass (chapter 4).

``conv_matrix(input_size, kernel, stride, padding)`` must equal :func:`convlab.matrix.conv_matrix`
for a 2-D kernel (one channel): ``C @ x.ravel()`` is the cross-correlation of ``x``.
``conv2d_backward(grad_output, x, w, stride, padding)`` must equal
:func:`convlab.autograd.conv2d_backward` (= torch autograd): the tuple ``(dx, dw, db)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading._core import (
    AUTOGRAD_SHORTCUTS,
    Case,
    Misconception,
    case_rng,
    reference,
    resolve_seed,
    run_check,
)

__all__ = ["check_conv_matrix", "check_conv2d_backward"]

_matrix_ref = reference("convlab.matrix", "conv_matrix")
_backward_ref = reference("convlab.autograd", "conv2d_backward")


def _size(input_size):
    return (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)


def check_conv_matrix(conv_matrix: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check a student's ``conv_matrix(input_size, kernel, stride=1, padding=0)``.

    ``input_size`` is ``H`` or ``(H, W)``, ``kernel`` is ``(kh, kw)``; the result ``C`` has shape
    ``(H_out * W_out, H * W)`` and the dtype of ``kernel``, with ``C @ x.ravel()`` equal to the
    deep-learning convolution (cross-correlation) of the ``(H, W)`` image ``x``, zero padded.

    Parameters
    ----------
    conv_matrix : callable
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
    k33 = np.arange(1.0, 10.0).reshape(3, 3)
    cases = [
        Case((4, k33), {"stride": 1, "padding": 0}),
        Case(((3, 3), np.array([[1.0, 2.0], [3.0, 4.0]])), {"stride": 1, "padding": 0}),
        Case(((5, 4), np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]])), {"stride": 1, "padding": 1}),
        Case((5, k33), {"stride": 2, "padding": 0}),
        Case(((4, 5), np.array([[2.0, 1.0], [0.0, -1.0]])), {"stride": 2, "padding": 1}),
    ]
    rng = case_rng(seed, "conv_matrix")
    for _ in range(n_random):
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        h, w = (int(v) for v in rng.integers(1, 7, size=2))
        kh = int(rng.integers(1, min(h + 2 * padding, 4) + 1))
        kw = int(rng.integers(1, min(w + 2 * padding, 4) + 1))
        kernel = rng.standard_normal((kh, kw)).round(2)
        cases.append(Case(((h, w), kernel), {"stride": stride, "padding": padding}, random=True))
    ref = _matrix_ref
    misconceptions = [
        Misconception(
            "your matrix applies the flipped kernel (a true convolution): deep-learning layers slide "
            "the kernel as it is, row r of C holds kernel[a, b] at the column of input pixel "
            "(s*i + a - p, s*j + b - p).",
            lambda input_size, kernel, stride=1, padding=0: ref(
                input_size, np.ascontiguousarray(kernel[::-1, ::-1]), stride, padding
            ),
        ),
        Misconception(
            "you returned C transposed: C maps the flattened input (H*W values) to the flattened "
            "output, so it has one row per output pixel and one column per input pixel.",
            lambda input_size, kernel, stride=1, padding=0: ref(input_size, kernel, stride, padding).T,
        ),
        Misconception(
            "your matrix acts on the padded input: C must act on the original H*W pixels; entries "
            "that would multiply padding zeros are simply left out.",
            lambda input_size, kernel, stride=1, padding=0: ref(
                tuple(n + 2 * padding for n in _size(input_size)), kernel, stride, 0
            ),
            applies=lambda input_size, kernel, stride=1, padding=0: padding > 0,
        ),
        Misconception(
            "the stride is missing: with stride s, output pixel (i, j) reads the window starting at "
            "(s*i - p, s*j - p).",
            lambda input_size, kernel, stride=1, padding=0: ref(input_size, kernel, 1, padding),
            applies=lambda input_size, kernel, stride=1, padding=0: stride > 1,
        ),
    ]
    run_check(
        "conv_matrix",
        conv_matrix,
        cases,
        _matrix_ref,
        arg_names=("input_size", "kernel"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def _rand(rng, shape):
    return rng.standard_normal(shape).round(2)


def _backward_case(rng, batch, c_in, c_out, h, w, kh, kw, stride, padding, random=False):
    x = _rand(rng, (batch, c_in, h, w))
    weight = _rand(rng, (c_out, c_in, kh, kw))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    grad = _rand(rng, (batch, c_out, ho, wo))
    return Case((grad, x, weight), {"stride": stride, "padding": padding}, random=random)


def check_conv2d_backward(conv2d_backward: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``conv2d_backward(grad_output, x, w, stride=1, padding=0) -> (dx, dw, db)``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in, kh, kw)``, ``grad_output`` is the
    gradient of the loss w.r.t. ``conv2d(x, w, b, stride, padding)``; the result is the gradient
    w.r.t. ``x``, ``w`` and the bias ``b`` (shape ``(C_out,)``), as torch autograd computes it.
    Autograd itself is switched off while the function runs. Parameters as in
    :func:`check_conv_matrix`.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(4)
    cases = [
        _backward_case(rng, 1, 1, 1, 4, 4, 3, 3, 1, 0),
        _backward_case(rng, 2, 3, 4, 5, 5, 3, 3, 1, 1),
        _backward_case(rng, 2, 2, 3, 7, 6, 3, 2, 2, 1),
        _backward_case(rng, 1, 2, 2, 5, 5, 2, 2, 2, 0),
    ]
    rand = case_rng(seed, "conv2d_backward")
    for _ in range(n_random):
        stride, padding = int(rand.integers(1, 4)), int(rand.integers(0, 3))
        h, w = (int(v) for v in rand.integers(2, 8, size=2))
        kh = int(rand.integers(1, min(h + 2 * padding, 4) + 1))
        kw = int(rand.integers(1, min(w + 2 * padding, 4) + 1))
        batch, c_in, c_out = (int(v) for v in rand.integers(1, 4, size=3))
        cases.append(_backward_case(rand, batch, c_in, c_out, h, w, kh, kw, stride, padding, random=True))
    ref = _backward_ref

    def replaced(index, make):
        def compute(grad_output, x, w, stride=1, padding=0):
            out = list(ref(grad_output, x, w, stride, padding))
            out[index] = make(grad_output, x, w, stride, padding)
            return tuple(out)

        return compute

    def per_sample_dw(g, x, w, s, p):
        return np.stack([ref(g[n : n + 1], x[n : n + 1], w, s, p)[1] for n in range(len(x))])

    def unflipped_dx(g, x, w, s, p):
        return ref(g, x, np.ascontiguousarray(w[..., ::-1, ::-1]), s, p)[0]

    def padded_dx(g, x, w, s, p):
        return ref(g, np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), w, s, 0)[0]

    misconceptions = [
        Misconception(
            "dx uses the kernel unflipped: dx is the *transposed* convolution of grad_output with w "
            "(every output gradient stamps the kernel back onto the window it came from); written as "
            "a full convolution, that slides the kernel rotated by 180 degrees.",
            replaced(0, unflipped_dx),
        ),
        Misconception(
            "dx still has the padding: compute the gradient w.r.t. the padded input, then crop p "
            "rows/columns from every side so that dx has the shape of x.",
            replaced(0, padded_dx),
            applies=lambda grad_output, x, w, stride=1, padding=0: padding > 0,
        ),
        Misconception(
            "dw is not summed over the batch: the same weights serve every sample, so their "
            "gradient adds the contributions of all N samples (shape (C_out, C_in, kh, kw)).",
            replaced(1, per_sample_dw),
        ),
        Misconception(
            "db has the wrong sum: each bias b[f] is added to every pixel of every sample, so "
            "db[f] = grad_output[:, f].sum() over N, H_out and W_out.",
            replaced(2, lambda g, x, w, s, p: g.sum(axis=(2, 3))),
        ),
        Misconception(
            "db has the wrong sum: each bias b[f] is added to every pixel of every sample, so "
            "db[f] = grad_output[:, f].sum() over N, H_out and W_out.",
            replaced(2, lambda g, x, w, s, p: g.sum(axis=0)),
        ),
    ]
    run_check(
        "conv2d_backward",
        conv2d_backward,
        cases,
        _backward_ref,
        arg_names=("grad_output", "x", "w"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        extra_blocked=AUTOGRAD_SHORTCUTS,
    )
