"""Checks of assignment ``ex05_transposed``: transposed convolution, PyTorch's and TensorFlow's (chapter 6).

They must equal :func:`convlab.functional.conv_transpose2d` and
:func:`convlab.transposed.tf_conv2d_transpose`.
"""

from __future__ import annotations

import numpy as np

from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = ["check_conv_transpose2d", "check_tf_conv2d_transpose"]

_transpose = reference(
    "convlab.functional", "conv_transpose2d", lambda f, x, w, s, p, op: f(x, w, None, s, p, op)
)
F32 = np.float32


def _extra_before(x, w, stride, padding, output_padding):
    """The output_padding rows added at the top/left instead of the bottom/right."""
    full = np.pad(_transpose(x, w, stride, 0, 0), ((0, 0), (0, 0), (output_padding, 0), (output_padding, 0)))
    return full[:, :, padding : full.shape[2] - padding, padding : full.shape[3] - padding]


def _random_transpose(rng: np.random.Generator) -> Case:
    stride = int(rng.integers(1, 4))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    padding = int(rng.integers(0, min(kh, kw)))
    output_padding = int(rng.integers(0, stride))
    n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    h, w = (int(v) for v in rng.integers(1, 6, size=2))
    while padding > 0 and min((h - 1) * stride + kh, (w - 1) * stride + kw) + output_padding <= 2 * padding:
        padding -= 1
    dtype = np.float32 if rng.random() < 0.3 else np.float64
    return _case(
        draw(rng, (n, c_in, h, w), dtype),
        draw(rng, (c_in, c_out, kh, kw), dtype),
        stride,
        padding,
        output_padding,
    )


def _case(x, w, stride=1, padding=0, output_padding=0) -> Case:
    return Case(x, w, stride=stride, padding=padding, output_padding=output_padding)


_rng = np.random.default_rng(5)

check_conv_transpose2d = exercise(
    "conv_transpose2d(x, w, stride=1, padding=0, output_padding=0)",
    _transpose,
    [
        _case(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), np.arange(16.0).reshape(1, 1, 4, 4), 3),
        _case(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), np.array([[[[1.0, 0, 2], [0, 1, 0], [-1, 0, 1]]]])),
        _case(draw(_rng, (1, 2, 3, 3)), draw(_rng, (2, 2, 3, 3)), 2, 1),
        _case(draw(_rng, (2, 3, 3, 4)), draw(_rng, (3, 2, 3, 3)), 2, 1, 1),
        _case(draw(_rng, (1, 2, 4, 4), F32), draw(_rng, (2, 3, 4, 4), F32), 2, 1),
    ],
    _random_transpose,
    [
        M(
            "the output is not cropped: a transposed convolution with padding p removes p rows and "
            "columns from every side of the full (stamped) result.",
            padding=0,
        ),
        M(
            "the kernel is not flipped in the zero-insertion view: after inserting s - 1 zeros and "
            "padding by k - p - 1, convolve with the kernel rotated by 180 degrees (or stamp the "
            "kernel as it is: output[s*r + u, s*c + v] += x[r, c] * w[u, v]).",
            w=lambda w: np.ascontiguousarray(w[..., ::-1, ::-1]),
        ),
        M(
            "the weight channels are swapped: a transposed convolution's weight is "
            "(C_in, C_out, kh, kw), so input channel q stamps w[q, f] onto output channel f.",
            w=lambda w: np.ascontiguousarray(w.transpose(1, 0, 2, 3)),
        ),
        M(
            "`output_padding` went on the wrong side: the extra rows/columns it adds are at the "
            "bottom/right of the output.",
            _extra_before,
        ),
        M(
            "`output_padding` is missing: it adds that many rows/columns at the bottom/right.",
            output_padding=0,
        ),
        M(
            "between neighbouring input pixels insert s - 1 zeros, so that they land s apart, not s "
            "zeros: your output is the transposed convolution at stride s + 1.",
            stride=lambda stride: stride + 1,
        ),
        M(
            "the padding is cropped from one side only: a transposed convolution with padding p "
            "removes p rows at the top and p at the bottom, p columns at the left and p at the right.",
            lambda x, w, stride, padding, output_padding: _transpose(x, w, stride, 0, output_padding)[
                :, :, padding:, padding:
            ],
            when=lambda padding: padding > 0,
        ),
        M(
            "padding in a transposed convolution removes rows and columns (it is the padding of the "
            "forward convolution it transposes): crop the full stamped result by p on every side; "
            "yours is enlarged by p zeros instead.",
            lambda x, w, stride, padding, output_padding: np.pad(
                _transpose(x, w, stride, 0, output_padding), ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2)
            ),
            when=lambda padding: padding > 0,
        ),
        M(
            "the `output_padding` rows and columns are not all zeros: they continue the stamped result "
            "past the bottom/right crop. Crop p rows at the top and keep the next H_out rows, "
            "full[p : p + H_out], and the same for the columns (only rows past the end of the stamped "
            "result are zeros).",
            lambda x, w, stride, padding, output_padding: np.pad(
                _transpose(x, w, stride, padding, 0),
                ((0, 0), (0, 0), (0, output_padding), (0, output_padding)),
            ),
            when=lambda padding, output_padding: padding > 0 and output_padding > 0,
        ),
    ],
    doc="""Check ``conv_transpose2d(x, w, stride=1, padding=0, output_padding=0)``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_in, C_out, kh, kw)`` (PyTorch's layout for a
    transposed convolution); the output is ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H - 1) s - 2p + kh + output_padding``, in the dtype of ``x``.
    """,
)


def _tf_wrong_side(x, filters, output_shape, strides, padding, top=lambda total: -(-total // 2)):
    """TensorFlow's transposed convolution cropped ``top(total)`` from the start (the odd pixel first)."""
    (n, h, w, _), (kh, kw, c_out, _) = x.shape, filters.shape
    full = _tf(x, filters, (n, (h - 1) * strides + kh, (w - 1) * strides + kw, c_out), strides, "VALID")
    full = np.pad(full, ((0, 0), (0, strides), (0, strides), (0, 0)))
    sizes = ((h, kh, output_shape[1]), (w, kw, output_shape[2])) if padding == "SAME" else ()
    top, left = (top(max((i - 1) * strides + k - o, 0)) for i, k, o in sizes) if sizes else (0, 0)
    return full[:, top : top + output_shape[1], left : left + output_shape[2], :]


def _random_tf(rng: np.random.Generator) -> Case:
    s = int(rng.integers(1, 4))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    n, c_in, c_out = (int(v) for v in rng.integers(1, 3, size=3))
    h, w = (int(v) for v in rng.integers(1, 5, size=2))
    padding = str(rng.choice(["SAME", "VALID"]))
    if padding == "SAME":
        out_h, out_w = h * s - int(rng.integers(0, s)), w * s - int(rng.integers(0, s))
    else:
        out_h = (h - 1) * s + kh + int(rng.integers(0, s))
        out_w = (w - 1) * s + kw + int(rng.integers(0, s))
    if rng.random() < 0.1:  # an impossible shape now and then
        out_h += s
    x, filters = draw(rng, (n, h, w, c_in)), draw(rng, (kh, kw, c_out, c_in))
    return Case(x, filters, (n, out_h, out_w, c_out), s, padding=padding)


_rng = np.random.default_rng(6)
_tf = reference("convlab.transposed", "tf_conv2d_transpose")
_X33, _ONES = np.arange(1.0, 10.0).reshape(1, 3, 3, 1), np.ones((3, 3, 1, 1))

check_tf_conv2d_transpose = exercise(
    "tf_conv2d_transpose(x, filters, output_shape, strides, padding='SAME')",
    _tf,
    [
        Case(_X33, _ONES, (1, 5, 5, 1), 2, padding="SAME"),
        Case(_X33, _ONES, (1, 6, 6, 1), 2, padding="SAME"),
        Case(draw(_rng, (1, 2, 2, 2)), draw(_rng, (3, 3, 2, 2)), (1, 4, 4, 2), 2, padding="SAME"),
        Case(draw(_rng, (1, 3, 3, 2)), draw(_rng, (3, 3, 4, 2)), (1, 6, 6, 4), 2, padding="SAME"),
        Case(draw(_rng, (2, 2, 3, 1)), draw(_rng, (2, 2, 1, 1)), (2, 4, 6, 1), 2, padding="SAME"),
        Case(_X33, draw(_rng, (3, 3, 1, 1)), (1, 7, 7, 1), 2, padding="VALID"),
        Case(_X33, _ONES, (1, 8, 8, 1), 2, padding="SAME"),
    ],
    _random_tf,
    [
        M(
            "symmetric padding where TensorFlow puts the extra pixel after: when the total padding "
            "(H - 1)s + kh - H_out is odd, TensorFlow pads the forward convolution by one more pixel at "
            "the bottom/right, so the transposed one crops floor(total / 2) at the top/left.",
            _tf_wrong_side,
        ),
        M(
            "'SAME' crops floor(P / 2) rows at the top, with P = (H - 1)s + kh - H_out the total "
            "padding (and floor(P / 2) columns at the left); you kept the top-left corner of the full "
            "result, which is the 'VALID' crop.",
            lambda x, filters, output_shape, strides, padding: _tf_wrong_side(
                x, filters, output_shape, strides, padding, top=lambda total: 0
            ),
            when=lambda padding: padding == "SAME",
        ),
        M(
            "the filter channels are swapped: TensorFlow's conv2d_transpose filters are "
            "(kh, kw, C_out, C_in), output channels first.",
            filters=lambda filters: np.ascontiguousarray(filters.transpose(0, 1, 3, 2)),
        ),
        M(
            "the kernel is flipped: stamp filters[u, v] at output (s*r + u, s*c + v) as it is "
            "(the flip appears only in the zero-insertion view).",
            filters=lambda filters: np.ascontiguousarray(filters[::-1, ::-1]),
        ),
    ],
    doc="""Check ``tf_conv2d_transpose(x, filters, output_shape, strides, padding="SAME")``.

    ``x`` is NHWC ``(N, H, W, C_in)``, ``filters`` is ``(kh, kw, C_out, C_in)``, ``output_shape`` is
    ``(N, H_out, W_out, C_out)`` and ``strides`` an int. The result is the gradient of
    ``tf.nn.conv2d(y, filters, strides, padding)`` w.r.t. ``y`` (``tf.nn.conv2d_transpose``); an
    impossible ``output_shape`` raises ``ValueError``.
    """,
    raises=(ValueError,),
)
