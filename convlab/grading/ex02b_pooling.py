"""Checks of assignment ``ex02b_pooling``: max pooling, its backward pass, receptive fields.

``max_pool2d(x, kernel_size, stride=None)`` must return ``(out, indices)`` equal to
:func:`convlab.functional.max_pool2d` with ``return_indices=True`` (= torch, first maximum on
ties, flat indices ``h * W + w`` into each ``H × W`` plane). ``max_pool2d_backward(grad_output,
indices, input_shape)`` must equal :func:`convlab.autograd.max_pool2d_backward` (= torch
autograd) for the input the indices came from. ``receptive_field(layers)`` must equal
:func:`convlab.arithmetic.receptive_field`. :func:`check_answer` grades the written questions.
Chapter: :doc:`/chapters/channels_pooling`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading.cases import one_of_a_kind
from convlab.grading.comparison import CheckFailure
from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M
from convlab.grading.shortcuts import AUTOGRAD_SHORTCUTS, trusted_reference

__all__ = ["check_max_pool2d", "check_max_pool2d_backward", "check_receptive_field", "check_answer"]

# Max pooling in torch, blocked while the student's function runs (on top of the course's own
# references and the libraries blocked for every check).
POOLING_SHORTCUTS = (
    ("torch.nn.functional", "max_pool2d"),
    ("torch.nn.functional", "max_pool2d_with_indices"),
    ("torch.nn.functional", "adaptive_max_pool2d"),
    ("torch", "max_pool2d"),
    ("torch", "max_pool2d_with_indices"),
    ("torch._C._nn", "max_pool2d_with_indices"),
    ("torch._C._nn", "max_pool2d_with_indices_backward"),
)

_pool = reference("convlab.functional", "max_pool2d", lambda f, x, k, s: f(x, k, s, return_indices=True))
_pool_ceil = reference(
    "convlab.functional", "max_pool2d", lambda f, x, k, s: f(x, k, s, 0, 1, True, return_indices=True)
)


# --------------------------------------------------------------------------- max_pool2d


def _window_indices(x, kernel_size, stride, expected):
    """The mistake: the argmax's position inside its k x k window instead of in the plane."""
    out, idx = expected
    s = kernel_size if stride is None else stride
    width = x.shape[-1]
    rows = np.arange(idx.shape[-2]).reshape(-1, 1) * s
    cols = np.arange(idx.shape[-1]).reshape(1, -1) * s
    return out, ((idx // width - rows) * kernel_size + (idx % width - cols)).astype(np.int64)


def _global_indices(x, expected):
    """The mistake: flat positions in the whole (N, C, H, W) array."""
    out, idx = expected
    n, c, h, w = x.shape
    return out, idx + (np.arange(n * c).reshape(n, c, 1, 1) * h * w).astype(np.int64)


def _last_maximum(x, kernel_size, stride, expected):
    """The mistake: on ties, the last maximum of the window (a ``>=`` comparison)."""
    out, idx = expected
    h, w = x.shape[-2:]
    s = kernel_size if stride is None else stride
    if ((h - kernel_size) % s) or ((w - kernel_size) % s):  # the flip's windows differ
        return expected
    _, flipped = _pool(np.ascontiguousarray(x[..., ::-1, ::-1]), kernel_size, stride)
    r, c = flipped // w, flipped % w
    back = ((h - 1 - r) * w + (w - 1 - c))[..., ::-1, ::-1]
    return out, np.ascontiguousarray(back).astype(np.int64)


def _index_times_height(x, expected):
    """The mistake: flat index row * H + col, with the height where the width belongs."""
    out, idx = expected
    return out, (idx // x.shape[-1]) * x.shape[-2] + idx % x.shape[-1]


def _partial(x, kernel_size, stride) -> bool:
    """Whether the windows leave a remainder: a partial last window that ceil mode would keep."""
    s = kernel_size if stride is None else stride
    return any((n - kernel_size) % s for n in x.shape[-2:])


def _pool_case(rng, shape, kernel_size, stride, integers=False):
    x = rng.integers(0, 4, shape).astype(np.float64) if integers else draw(rng, shape)
    return Case(x, kernel_size) if stride is None else Case(x, kernel_size, stride=stride)


def _random_pool(rng: np.random.Generator) -> Case:
    k = int(rng.integers(1, 5))
    stride = None if rng.random() < 0.4 else int(rng.integers(1, 5))
    h, w = (int(v) for v in rng.integers(k, 10, size=2))
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, w)
    return _pool_case(rng, shape, k, stride, integers=bool(rng.random() < 0.5))


_rng = np.random.default_rng(21)
_WORKED = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 0, 3]], dtype=np.float64)

check_max_pool2d = exercise(
    "max_pool2d(x, kernel_size, stride=None)",
    _pool,
    [
        Case(_WORKED[None, None], 2),
        _pool_case(_rng, (2, 3, 6, 6), 2, None),
        _pool_case(_rng, (1, 2, 7, 5), 3, 2),
        _pool_case(_rng, (2, 2, 6, 7), 3, None, integers=True),
        _pool_case(_rng, (1, 1, 5, 5), 2, 1, integers=True),
        _pool_case(_rng, (1, 2, 9, 8), 3, 3),
    ],
    _random_pool,
    [
        M(
            "your stride defaults to 1: when `stride` is None, PyTorch's max pooling uses "
            "stride = kernel_size, so the windows tile the input without overlapping.",
            stride=1,
            when=lambda stride, kernel_size: stride is None and kernel_size > 1,
        ),
        M(
            "your indices count positions inside the window (u * k + v): they must be flat "
            "positions in the whole H x W plane, h * W + w, so that unpooling can scatter the "
            "values back without knowing the windows.",
            _window_indices,
            when=lambda kernel_size: kernel_size > 1,
        ),
        M(
            "your indices count positions in the whole (N, C, H, W) array: as in torch, each index "
            "is a flat position h * W + w inside its own H x W plane (it restarts at 0 for every "
            "sample and channel).",
            _global_indices,
        ),
        M(
            "your flat index multiplies the row by the height H: the index of pixel (row, col) in "
            "an H x W plane is row * W + col, with the width W (the length of a row).",
            _index_times_height,
            when=lambda x: x.shape[-2] != x.shape[-1],
        ),
        M(
            "you kept a partial last window (as ceil_mode=True would): without ceil mode the "
            "output has H_out = floor((H - k) / s) + 1 rows, every window lies entirely inside "
            "the input, and the rows and columns left over at the bottom/right are dropped.",
            lambda x, kernel_size, stride: _pool_ceil(x, kernel_size, stride),
            when=_partial,
        ),
        M(
            "on ties you keep the last maximum of the window: torch keeps the first one in "
            "row-major order (np.argmax does too; a `>=` comparison in a loop does not).",
            _last_maximum,
        ),
    ],
    blocked=POOLING_SHORTCUTS,
    doc="""Check ``max_pool2d(x, kernel_size, stride=None) -> (out, indices)``.

    ``x`` is ``(N, C, H, W)`` float64, ``kernel_size`` and ``stride`` are ints (``stride``
    defaults to ``kernel_size``), no padding; ``out`` is ``(N, C, H_out, W_out)`` float64 with
    :math:`H_{out} = \\lfloor (H - k)/s \\rfloor + 1`, ``indices`` the same shape, int64, holding
    ``h * W + w`` of each maximum in its ``H × W`` plane (the first one in row-major order when
    several tie), as ``torch.nn.functional.max_pool2d(..., return_indices=True)``.
    """,
)


# --------------------------------------------------------------------------- max_pool2d_backward

# The student's arguments (grad_output, indices, input_shape) do not include the input the indices
# came from, which convlab.autograd.max_pool2d_backward needs: each case's expected gradient is
# computed by that trusted reference when the case is made, and looked up by the case's contents.
_EXPECTED: dict[bytes, np.ndarray] = {}


def _key(grad_output, indices, input_shape) -> bytes:
    return b"|".join(
        (np.asarray(grad_output).tobytes(), np.asarray(indices).tobytes(), repr(tuple(input_shape)).encode())
    )


def max_pool2d_gradient(grad_output, indices, input_shape):
    """``convlab.autograd.max_pool2d_backward`` of the input the case's indices came from."""
    return _EXPECTED[_key(grad_output, indices, input_shape)].copy()


max_pool2d_gradient.__qualname__ = "convlab.autograd.max_pool2d_backward"


def _scatter(grad_output, indices, input_shape, accumulate=True, per_plane=True):
    """Gradient to the recorded maxima; the two flags give the misconceptions."""
    n, c, h, w = input_shape
    dx = np.zeros((n * c, h * w)) if per_plane else np.zeros(n * c * h * w)
    g = grad_output.reshape(n * c, -1)
    idx = indices.reshape(n * c, -1)
    for plane in range(n * c):
        for value, where in zip(g[plane], idx[plane], strict=True):
            target = (plane, where) if per_plane else (where,)
            dx[target] = dx[target] + value if accumulate else value
    return dx.reshape(input_shape)


def _repeated(indices) -> bool:
    """Whether some pixel is the maximum of several windows (then a count differs from a mask)."""
    n, c = np.shape(indices)[:2]
    planes = np.asarray(indices).reshape(n * c, -1)
    return any(len(np.unique(plane)) < plane.size for plane in planes)


def _backward_case(rng, shape, kernel_size, stride) -> Case:
    x = rng.integers(0, 3, shape).astype(np.float64)  # ties, and maxima shared by windows
    _, idx = _pool(x, kernel_size, stride)
    g = draw(rng, idx.shape)
    backward = trusted_reference("convlab.autograd", "max_pool2d_backward")
    _EXPECTED[_key(g, idx, shape)] = backward(g, x, kernel_size, stride)
    return Case(g, idx, tuple(shape))


def _random_backward(rng: np.random.Generator) -> Case:
    k = int(rng.integers(1, 4))
    stride = None if rng.random() < 0.3 else int(rng.integers(1, 4))
    h, w = (int(v) for v in rng.integers(k, 9, size=2))
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, w)
    return _backward_case(rng, shape, k, stride)


_rng = np.random.default_rng(22)

check_max_pool2d_backward = exercise(
    "max_pool2d_backward(grad_output, indices, input_shape)",
    max_pool2d_gradient,
    [
        _backward_case(_rng, (1, 1, 4, 4), 2, None),
        _backward_case(_rng, (2, 3, 6, 6), 2, None),
        _backward_case(_rng, (1, 2, 5, 5), 2, 1),
        _backward_case(_rng, (2, 1, 7, 6), 3, 2),
        _backward_case(_rng, (1, 1, 6, 6), 3, 1),
    ],
    _random_backward,
    [
        M(
            "where one pixel is the maximum of several overlapping windows you keep only one of "
            "their gradients (`dx[...] = g` or fancy-index assignment, where the last write wins): "
            "the gradients of all those windows add up, so accumulate (`+=`, or np.add.at).",
            lambda grad_output, indices, input_shape: _scatter(grad_output, indices, input_shape, False),
        ),
        M(
            "you marked each maximum with 1 (the mask of the maxima): the gradient that reaches a "
            "maximum is the grad_output value of its window, dx[n, c].flat[index] += "
            "grad_output[n, c, r, col] (summed over the windows it wins).",
            lambda grad_output, indices, input_shape: _scatter(
                np.ones_like(grad_output), indices, input_shape, False
            ),
        ),
        M(
            "you added 1 for each window a pixel wins (the count of its windows): the gradient that "
            "reaches a maximum is the grad_output value of each of its windows, summed.",
            lambda grad_output, indices, input_shape: _scatter(
                np.ones_like(grad_output), indices, input_shape
            ),
            when=lambda indices: _repeated(indices),
        ),
        M(
            "you scatter into the whole flattened (N, C, H, W) array: the indices are positions "
            "inside each H x W plane, so sample n, channel c writes into dx[n, c] only.",
            lambda grad_output, indices, input_shape: _scatter(
                grad_output, indices, input_shape, per_plane=False
            ),
            when=lambda input_shape: input_shape[0] * input_shape[1] > 1,
        ),
    ],
    blocked=AUTOGRAD_SHORTCUTS + POOLING_SHORTCUTS,
    doc="""Check ``max_pool2d_backward(grad_output, indices, input_shape) -> dx``.

    ``grad_output`` and ``indices`` are ``(N, C, H_out, W_out)`` (the gradient of the loss
    w.r.t. the pooled output, and the int64 indices of :func:`check_max_pool2d`), and
    ``input_shape`` is ``(N, C, H, W)``; ``dx`` is float64 of that shape: every entry of
    ``grad_output`` added at its index in its plane (a pixel that is the maximum of several
    overlapping windows collects all their gradients), zero elsewhere, as torch autograd
    computes it. Autograd is switched off while the function runs.
    """,
)


# --------------------------------------------------------------------------- receptive_field


def _field_variant(
    layers, *, jump_update=True, jump_first=False, padding=True, dilation=True, multiply=False, sign=-1
):
    """The recurrence with one step left out or changed (the misconceptions)."""
    size, jump, start = 1, 1, 0.0
    for k, s, p, d in layers:
        span = (d if dilation else 1) * (k - 1)
        if jump_first and jump_update:
            jump *= s
        size = size * k if multiply else size + span * jump
        start += (span / 2 + sign * (p if padding else 0)) * jump
        if jump_update and not jump_first:
            jump *= s
    return size, jump, start


def _any_layer(test):
    return lambda layers: any(test(*layer) for layer in layers)


def _random_layers(rng: np.random.Generator) -> Case:
    layers = []
    for _ in range(int(rng.integers(1, 7))):
        k, s, d = (int(v) for v in rng.integers(1, 5, size=3))
        layers.append((k, s, int(rng.integers(0, k)), d))
    return Case(layers)


_field = reference("convlab.arithmetic", "receptive_field")


def _first_pixel(field):
    size, jump, start = field
    return size, jump, start - (size - 1) / 2


CONV, POOL = (3, 1, 1, 1), (2, 2, 0, 1)
VGG16_POOL5 = [CONV, CONV, POOL] * 2 + [CONV, CONV, CONV, POOL] * 3

check_receptive_field = exercise(
    "receptive_field(layers)",
    _field,
    [
        Case([CONV]),
        Case([CONV, CONV]),
        Case([CONV, POOL, CONV]),
        Case([(3, 2, 0, 1), (3, 2, 0, 1)]),
        Case([(5, 2, 2, 1), (3, 1, 1, 1), (2, 2, 0, 1)]),
        Case([(3, 1, 2, 2), (3, 1, 4, 4)]),
        Case(VGG16_POOL5),
        Case([]),
    ],
    _random_layers,
    one_of_a_kind(
        [
            M(
                "the jump is never multiplied: after a layer of stride s, one step of the next layer "
                "moves s times as many input pixels, so jump *= s after every layer, and each later "
                "layer adds d(k-1) * jump pixels to the size (not d(k-1)).",
                lambda layers: _field_variant(layers, jump_update=False),
                when=_any_layer(lambda k, s, p, d: s > 1),
            ),
            M(
                "you multiply the jump before using it: a layer's own stride does not change its own "
                "field, so add d(k-1) * jump with the jump of the layers before it, then jump *= s.",
                lambda layers: _field_variant(layers, jump_first=True),
                when=_any_layer(lambda k, s, p, d: s > 1 and k > 1),
            ),
            M(
                "the padding is ignored in the start offset: padding p shifts every window p pixels "
                "to the left, so start moves by (d(k-1)/2 - p) * jump.",
                lambda layers: _field_variant(layers, padding=False),
                when=_any_layer(lambda k, s, p, d: p > 0),
            ),
            M(
                "the padding has the wrong sign in the start offset: padding p moves every window p "
                "pixels to the left, so start += (d(k-1)/2 - p) * jump, minus p.",
                lambda layers: _field_variant(layers, sign=1),
                when=_any_layer(lambda k, s, p, d: p > 0),
            ),
            M(
                "field sizes add, they do not multiply: each layer adds d(k-1) * jump pixels to the "
                "size (size += d(k-1) * jump, jump the product of the strides before it), so two 3x3 "
                "convolutions see 5 pixels, not 9.",
                lambda layers: _field_variant(layers, multiply=True),
                when=lambda layers: len(layers) > 1,
            ),
            M(
                "the dilation is ignored: a kernel of size k with dilation d spans d(k-1) + 1 pixels, "
                "so use d(k-1) where an undilated kernel has k-1.",
                lambda layers: _field_variant(layers, dilation=False),
                when=_any_layer(lambda k, s, p, d: d > 1 and k > 1),
            ),
            M(
                "your start is the first pixel of the field: start is the centre of output cell 0's "
                "field, first pixel + (size - 1) / 2.",
                lambda layers: _first_pixel(_field(layers)),
            ),
        ]
    ),
    doc="""Check ``receptive_field(layers) -> (size, jump, start)``.

    ``layers`` is a list of ``(kernel, stride, padding, dilation)`` int tuples, input side first;
    the result is the field's size in input pixels (int), the jump, i.e. the product of the
    strides (int), and the input coordinate of the centre of output cell 0's field (float, pixel
    centres at 0, 1, 2, ...), as :func:`convlab.arithmetic.receptive_field`.
    """,
)


# --------------------------------------------------------------------------- written questions


def _questions() -> dict[str, tuple[str, Callable[[], int], dict[int, str]]]:
    """question -> (what is asked, the answer computed by convlab, hints for wrong answers)."""
    pool_size = trusted_reference("convlab.arithmetic", "pool_output_size")
    field = trusted_reference("convlab.arithmetic", "receptive_field")
    return {
        "pool_rows": (
            "rows of a 2x2 max pooling, stride 2, padding 1, ceil_mode=True, on 7 rows",
            lambda: pool_size(7, 2, 2, 1, ceil_mode=True),
            {
                5: "the plain ceiling of (7 + 2 - 2) / 2, plus one, is 5, but PyTorch drops a last "
                "window that would start in the right padding.",
            },
        ),
        "conv_params": (
            "parameters of a 3x3 convolution from 64 to 128 channels, with bias",
            lambda: 128 * (64 * 3 * 3 + 1),
            {
                128 * 64 * 9: "that is the weights alone: every output channel also has a bias.",
                64 * 9 + 1: "that is one filter: the layer has one filter per output channel.",
                128 * (9 + 1): "each filter covers all 64 input channels, not one.",
            },
        ),
        "stride2_field": (
            "receptive field size of four 3x3 convolutions with stride 2 and padding 1",
            lambda: field([(3, 2, 1, 1)] * 4).size,
            {
                9: "9 = 1 + 4 * 2 would be the field at stride 1: each layer adds (k-1) * jump, and "
                "the jump doubles after every stride-2 layer.",
                61: "you multiplied the jump before adding the layer's own (k-1) * jump.",
            },
        ),
    }


def check_answer(question: str, answer: object) -> None:
    """Check the numeric answer to one written question of ``ex02b_pooling``.

    Parameters
    ----------
    question : str
        ``"pool_rows"``, ``"conv_params"`` or ``"stride2_field"``.
    answer : int
        The student's answer (an integer).

    Raises
    ------
    CheckFailure
        If the answer is missing, not an integer, or wrong (with a hint for common wrong answers).
    ValueError
        If ``question`` is not one of the questions.
    """
    questions = _questions()
    if question not in questions:
        raise ValueError(f"`question` must be one of {sorted(questions)}; got question={question!r}")
    asked, solve, hints = questions[question]
    expected = int(solve())
    if isinstance(answer, bool) or not isinstance(answer, int | np.integer):
        if isinstance(answer, float | np.floating) and float(answer).is_integer():
            answer = int(answer)
        else:
            raise CheckFailure(
                f"`{question}` ({asked}) must be an integer; got {answer!r} ({type(answer).__name__})"
            )
    if int(answer) != expected:
        lines = [f"`{question}` ({asked}): {int(answer)} is not right."]
        if int(answer) in hints:
            lines.append(f"Diagnosis: {hints[int(answer)]}")
        raise CheckFailure("\n".join(lines))
    print(f"✔ {question} is right")
