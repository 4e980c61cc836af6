"""Checks of assignment ``ex05_transposed``: transposed convolution, PyTorch's and TensorFlow's (chapter 5).

``conv_transpose2d(x, w, stride, padding, output_padding)`` must equal
:func:`convlab.functional.conv_transpose2d` (= ``torch.nn.functional.conv_transpose2d``, weight
``(C_in, C_out, kh, kw)``); ``tf_conv2d_transpose(x, filters, output_shape, strides, padding)``
must equal :func:`convlab.transposed.tf_conv2d_transpose` (= ``tf.nn.conv2d_transpose``: NHWC
input, filters ``(kh, kw, C_out, C_in)``, a ``ValueError`` for an impossible ``output_shape``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading._core import Case, Misconception, case_rng, reference, resolve_seed, run_check

__all__ = ["check_conv_transpose2d", "check_tf_conv2d_transpose"]

_functional_ref = reference("convlab.functional", "conv_transpose2d")
_tf_ref = reference("convlab.transposed", "tf_conv2d_transpose")


def _transpose_ref(x, w, stride=1, padding=0, output_padding=0):
    return _functional_ref(x, w, None, stride, padding, output_padding)


def _rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).round(2).astype(dtype)


def _full(x, w, stride):
    """Scatter-add transposed convolution without cropping (independent of the reference)."""
    n, _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    out = np.zeros((n, c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for i in range(h):
        for j in range(wd):
            patch = np.einsum("nc,cfab->nfab", x[:, :, i, j].astype(float), w.astype(float))
            out[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += patch
    return out


def _extra_before(x, w, stride=1, padding=0, output_padding=0):
    """The output_padding rows added at the top/left instead of the bottom/right."""
    full = _full(x, w, stride)
    full = np.pad(full, ((0, 0), (0, 0), (output_padding, 0), (output_padding, 0)))
    h, wd = full.shape[2] - 2 * padding, full.shape[3] - 2 * padding
    return full[:, :, padding : padding + h, padding : padding + wd].astype(x.dtype)


def check_conv_transpose2d(conv_transpose2d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``conv_transpose2d(x, w, stride=1, padding=0, output_padding=0)``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_in, C_out, kh, kw)`` (PyTorch's layout for a
    transposed convolution); the output is ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H - 1) s - 2p + kh + output_padding``, in the dtype of ``x``.

    Parameters
    ----------
    conv_transpose2d : callable
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
    rng = np.random.default_rng(5)
    kw = {"stride": 1, "padding": 0, "output_padding": 0}
    cases = [
        Case(
            (np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), np.arange(16.0).reshape(1, 1, 4, 4)), {**kw, "stride": 3}
        ),
        Case(
            (
                np.arange(1.0, 10.0).reshape(1, 1, 3, 3),
                np.array([[[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]]]),
            ),
            kw,
        ),
        Case(
            (_rand(rng, (1, 2, 3, 3)), _rand(rng, (2, 2, 3, 3))),
            {"stride": 2, "padding": 1, "output_padding": 0},
        ),
        Case(
            (_rand(rng, (2, 3, 3, 4)), _rand(rng, (3, 2, 3, 3))),
            {"stride": 2, "padding": 1, "output_padding": 1},
        ),
        Case(
            (_rand(rng, (1, 2, 4, 4), np.float32), _rand(rng, (2, 3, 4, 4), np.float32)),
            {"stride": 2, "padding": 1, "output_padding": 0},
        ),
    ]
    rand = case_rng(seed, "conv_transpose2d")
    for _ in range(n_random):
        stride = int(rand.integers(1, 4))
        kh, kw_ = (int(v) for v in rand.integers(1, 5, size=2))
        padding = int(rand.integers(0, min(kh, kw_)))
        output_padding = int(rand.integers(0, stride))
        n, c_in, c_out = (int(v) for v in rand.integers(1, 4, size=3))
        h, w = (int(v) for v in rand.integers(1, 6, size=2))
        while (
            padding > 0 and min((h - 1) * stride + kh, (w - 1) * stride + kw_) + output_padding <= 2 * padding
        ):
            padding -= 1
        dtype = np.float32 if rand.random() < 0.3 else np.float64
        args = (_rand(rand, (n, c_in, h, w), dtype), _rand(rand, (c_in, c_out, kh, kw_), dtype))
        kwargs = {"stride": stride, "padding": padding, "output_padding": output_padding}
        cases.append(Case(args, kwargs, random=True))
    ref = _transpose_ref
    misconceptions = [
        Misconception(
            "the output is not cropped: a transposed convolution with padding p removes p rows and "
            "columns from every side of the full (stamped) result.",
            lambda x, w, stride=1, padding=0, output_padding=0: ref(x, w, stride, 0, output_padding),
            applies=lambda x, w, stride=1, padding=0, output_padding=0: padding > 0,
        ),
        Misconception(
            "the kernel is not flipped in the zero-insertion view: after inserting s - 1 zeros and "
            "padding by k - p - 1, convolve with the kernel rotated by 180 degrees (or stamp the "
            "kernel as it is: output[s*i + a, s*j + b] += x[i, j] * w[a, b]).",
            lambda x, w, stride=1, padding=0, output_padding=0: ref(
                x, np.ascontiguousarray(w[..., ::-1, ::-1]), stride, padding, output_padding
            ),
        ),
        Misconception(
            "the weight channels are swapped: a transposed convolution's weight is "
            "(C_in, C_out, kh, kw), so input channel c stamps w[c, f] onto output channel f.",
            lambda x, w, stride=1, padding=0, output_padding=0: ref(
                x, np.ascontiguousarray(w.transpose(1, 0, 2, 3)), stride, padding, output_padding
            ),
            applies=lambda x, w, stride=1, padding=0, output_padding=0: w.shape[0] == w.shape[1],
        ),
        Misconception(
            "`output_padding` went on the wrong side: the extra rows/columns it adds are at the "
            "bottom/right of the output.",
            _extra_before,
            applies=lambda x, w, stride=1, padding=0, output_padding=0: output_padding > 0,
        ),
        Misconception(
            "`output_padding` is missing: it adds that many rows/columns at the bottom/right.",
            lambda x, w, stride=1, padding=0, output_padding=0: ref(x, w, stride, padding, 0),
            applies=lambda x, w, stride=1, padding=0, output_padding=0: output_padding > 0,
        ),
    ]
    run_check(
        "conv_transpose2d",
        conv_transpose2d,
        cases,
        _transpose_ref,
        arg_names=("x", "w"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def _tf_wrong_side(x, filters, output_shape, strides, padding="SAME"):
    """TensorFlow's transposed convolution with the odd padding pixel cropped from the start."""
    s = strides if isinstance(strides, int) else int(strides[0])
    w = np.ascontiguousarray(filters.transpose(3, 2, 0, 1))  # (C_in, C_out, kh, kw)
    full = _full(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), w, s)
    out_h, out_w = output_shape[1], output_shape[2]
    starts = []
    for axis, (i, k, o) in enumerate(((x.shape[1], w.shape[2], out_h), (x.shape[2], w.shape[3], out_w))):
        total = max((i - 1) * s + k - o, 0) if padding == "SAME" else 0
        starts.append(total - total // 2)
        pad = max(starts[-1] + o - full.shape[2 + axis], 0)
        full = np.pad(full, [(0, 0)] * (2 + axis) + [(0, pad)] + [(0, 0)] * (1 - axis))
    out = full[:, :, starts[0] : starts[0] + out_h, starts[1] : starts[1] + out_w]
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1)).astype(x.dtype)


def check_tf_conv2d_transpose(
    tf_conv2d_transpose: Callable, *, n_random: int = 0, seed: int | None = None
) -> None:
    """Check ``tf_conv2d_transpose(x, filters, output_shape, strides, padding="SAME")``.

    ``x`` is NHWC ``(N, H, W, C_in)``, ``filters`` is ``(kh, kw, C_out, C_in)``,
    ``output_shape`` is ``(N, H_out, W_out, C_out)`` and ``strides`` an int. The result is the
    gradient of ``tf.nn.conv2d(y, filters, strides, padding)`` w.r.t. ``y``; an impossible
    ``output_shape`` raises ``ValueError``. Parameters as in :func:`check_conv_transpose2d`.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(6)
    x33 = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    ones = np.ones((3, 3, 1, 1))
    cases = [
        Case((x33, ones, (1, 5, 5, 1), 2), {"padding": "SAME"}),
        Case((x33, ones, (1, 6, 6, 1), 2), {"padding": "SAME"}),
        Case((_rand(rng, (1, 2, 2, 2)), _rand(rng, (3, 3, 2, 2)), (1, 4, 4, 2), 2), {"padding": "SAME"}),
        Case((_rand(rng, (1, 3, 3, 2)), _rand(rng, (3, 3, 4, 2)), (1, 6, 6, 4), 2), {"padding": "SAME"}),
        Case((_rand(rng, (2, 2, 3, 1)), _rand(rng, (2, 2, 1, 1)), (2, 4, 6, 1), 2), {"padding": "SAME"}),
        Case((x33, _rand(rng, (3, 3, 1, 1)), (1, 7, 7, 1), 2), {"padding": "VALID"}),
        Case((x33, ones, (1, 8, 8, 1), 2), {"padding": "SAME"}),
    ]
    rand = case_rng(seed, "tf_conv2d_transpose")
    for _ in range(n_random):
        s = int(rand.integers(1, 4))
        kh, kw = (int(v) for v in rand.integers(1, 5, size=2))
        n, c_in, c_out = (int(v) for v in rand.integers(1, 3, size=3))
        h, w = (int(v) for v in rand.integers(1, 5, size=2))
        padding = str(rand.choice(["SAME", "VALID"]))
        if padding == "SAME":
            out_h, out_w = h * s - int(rand.integers(0, s)), w * s - int(rand.integers(0, s))
        else:
            out_h = (h - 1) * s + kh + int(rand.integers(0, s))
            out_w = (w - 1) * s + kw + int(rand.integers(0, s))
        if rand.random() < 0.1:  # an impossible shape now and then
            out_h += s
        args = (_rand(rand, (n, h, w, c_in)), _rand(rand, (kh, kw, c_out, c_in)), (n, out_h, out_w, c_out), s)
        cases.append(Case(args, {"padding": padding}, random=True))
    ref = _tf_ref
    misconceptions = [
        Misconception(
            "symmetric padding where TensorFlow puts the extra pixel after: when the total padding "
            "(i - 1)s + k - o is odd, TensorFlow pads the forward convolution by one more pixel at "
            "the bottom/right, so the transposed one crops floor(total / 2) at the top/left.",
            _tf_wrong_side,
        ),
        Misconception(
            "the filter channels are swapped: TensorFlow's conv2d_transpose filters are "
            "(kh, kw, C_out, C_in), output channels first.",
            lambda x, filters, output_shape, strides, padding="SAME": ref(
                x, np.ascontiguousarray(filters.transpose(0, 1, 3, 2)), output_shape, strides, padding
            ),
            applies=lambda x, filters, output_shape, strides, padding="SAME": (
                filters.shape[2] == filters.shape[3]
            ),
        ),
        Misconception(
            "the kernel is flipped: stamp filters[a, b] at output (s*i + a, s*j + b) as it is "
            "(the flip appears only in the zero-insertion view).",
            lambda x, filters, output_shape, strides, padding="SAME": ref(
                x, np.ascontiguousarray(filters[::-1, ::-1]), output_shape, strides, padding
            ),
        ),
    ]
    run_check(
        "tf_conv2d_transpose",
        tf_conv2d_transpose,
        cases,
        _tf_ref,
        arg_names=("x", "filters", "output_shape", "strides"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        reference_errors=(ValueError,),
    )
