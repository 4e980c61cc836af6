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

from convlab.grading._core import (
    AUTOGRAD_SHORTCUTS,
    Case,
    CheckFailure,
    Misconception,
    case_rng,
    reference,
    resolve_seed,
    run_check,
    trusted_reference,
)

__all__ = ["check_max_pool2d", "check_max_pool2d_backward", "check_receptive_field", "check_answer"]

_pool_ref = reference("convlab.functional", "max_pool2d")
_backward_ref = reference("convlab.autograd", "max_pool2d_backward")
_field_ref = reference("convlab.arithmetic", "receptive_field")

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


def _pool(x, kernel_size, stride=None):
    return _pool_ref(x, kernel_size, stride, return_indices=True)


# --------------------------------------------------------------------------- max_pool2d


def _window_indices(x, kernel_size, stride=None):
    """The mistake: the argmax's position inside its k x k window instead of in the plane."""
    out, idx = _pool(x, kernel_size, stride)
    s = kernel_size if stride is None else stride
    width = x.shape[-1]
    rows = np.arange(idx.shape[-2]).reshape(-1, 1) * s
    cols = np.arange(idx.shape[-1]).reshape(1, -1) * s
    return out, ((idx // width - rows) * kernel_size + (idx % width - cols)).astype(np.int64)


def _global_indices(x, kernel_size, stride=None):
    """The mistake: flat positions in the whole (N, C, H, W) array."""
    out, idx = _pool(x, kernel_size, stride)
    n, c, h, w = x.shape
    offset = (np.arange(n * c).reshape(n, c, 1, 1) * h * w).astype(np.int64)
    return out, idx + offset


def _last_maximum(x, kernel_size, stride=None):
    """The mistake: on ties, the last maximum of the window (a ``>=`` comparison)."""
    out, idx = _pool(x, kernel_size, stride)
    flipped_out, flipped_idx = _pool(np.ascontiguousarray(x[..., ::-1, ::-1]), kernel_size, stride)
    h, w = x.shape[-2:]
    s = kernel_size if stride is None else stride
    if ((h - kernel_size) % s) or ((w - kernel_size) % s):  # windows of the flip differ
        return out, idx
    r, c = flipped_idx // w, flipped_idx % w
    back = ((h - 1 - r) * w + (w - 1 - c))[..., ::-1, ::-1]
    return out, np.ascontiguousarray(back).astype(np.int64)


def _pool_case(rng, shape, kernel_size, stride, integers=False, random=False):
    x = rng.integers(0, 4, shape).astype(np.float64) if integers else rng.standard_normal(shape).round(2)
    kwargs = {} if stride is None else {"stride": stride}
    return Case((x, kernel_size), kwargs, random=random)


def check_max_pool2d(max_pool2d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``max_pool2d(x, kernel_size, stride=None) -> (out, indices)``.

    ``x`` is ``(N, C, H, W)`` float64, ``kernel_size`` and ``stride`` are ints (``stride``
    defaults to ``kernel_size``), no padding; ``out`` is ``(N, C, H_out, W_out)`` float64 with
    :math:`H_{out} = \\lfloor (H - k)/s \\rfloor + 1`, ``indices`` the same shape, int64, holding
    ``h * W + w`` of each maximum in its ``H × W`` plane (the first one in row-major order when
    several tie), as ``torch.nn.functional.max_pool2d(..., return_indices=True)``.

    Parameters
    ----------
    max_pool2d : callable
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
    rng = np.random.default_rng(21)
    worked = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 0, 3]], dtype=np.float64)
    cases = [
        Case((worked[None, None], 2)),
        _pool_case(rng, (2, 3, 6, 6), 2, None),
        _pool_case(rng, (1, 2, 7, 5), 3, 2),
        _pool_case(rng, (2, 2, 6, 7), 3, None, integers=True),
        _pool_case(rng, (1, 1, 5, 5), 2, 1, integers=True),
        _pool_case(rng, (1, 2, 9, 8), 3, 3),
    ]
    rand = case_rng(seed, "max_pool2d")
    for _ in range(n_random):
        k = int(rand.integers(1, 5))
        stride = None if rand.random() < 0.4 else int(rand.integers(1, 5))
        h, w = (int(v) for v in rand.integers(k, 10, size=2))
        shape = (int(rand.integers(1, 3)), int(rand.integers(1, 4)), h, w)
        cases.append(_pool_case(rand, shape, k, stride, integers=bool(rand.random() < 0.5), random=True))
    misconceptions = [
        Misconception(
            "your stride defaults to 1: when `stride` is None, PyTorch's max pooling uses "
            "stride = kernel_size, so the windows tile the input without overlapping.",
            lambda x, kernel_size, stride=None: _pool(x, kernel_size, 1),
            applies=lambda x, kernel_size, stride=None: stride is None and kernel_size > 1,
        ),
        Misconception(
            "your indices count positions inside the window (a * k + b): they must be flat "
            "positions in the whole H x W plane, h * W + w, so that unpooling can scatter the "
            "values back without knowing the windows.",
            _window_indices,
            applies=lambda x, kernel_size, stride=None: kernel_size > 1,
        ),
        Misconception(
            "your indices count positions in the whole (N, C, H, W) array: as in torch, each index "
            "is a flat position h * W + w inside its own H x W plane (it restarts at 0 for every "
            "sample and channel).",
            _global_indices,
            applies=lambda x, kernel_size, stride=None: x.shape[0] * x.shape[1] > 1,
        ),
        Misconception(
            "on ties you keep the last maximum of the window: torch keeps the first one in "
            "row-major order (np.argmax does too; a `>=` comparison in a loop does not).",
            _last_maximum,
        ),
    ]
    run_check(
        "max_pool2d",
        max_pool2d,
        cases,
        _pool,
        arg_names=("x", "kernel_size"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        extra_blocked=POOLING_SHORTCUTS,
    )


# --------------------------------------------------------------------------- max_pool2d_backward


class _Expected:
    """Expected gradients computed up front by the trusted reference, handed out in case order.

    The student's arguments (``grad_output, indices, input_shape``) do not include the input
    that the indices came from, which :func:`convlab.autograd.max_pool2d_backward` needs.
    """

    def __init__(self, values: list) -> None:
        self.values = list(values)
        self.position = 0

    def __call__(self, grad_output, indices, input_shape):
        value = self.values[self.position]
        self.position += 1
        return value


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


def _backward_case(rng, shape, kernel_size, stride, random=False):
    x = rng.integers(0, 3, shape).astype(np.float64)  # ties, and maxima shared by windows
    _, idx = _pool(x, kernel_size, stride)
    g = rng.standard_normal(idx.shape).round(2)
    expected = _backward_ref(g, x, kernel_size, stride)
    return Case((g, idx, tuple(shape)), random=random), expected


def check_max_pool2d_backward(
    max_pool2d_backward: Callable, *, n_random: int = 0, seed: int | None = None
) -> None:
    """Check ``max_pool2d_backward(grad_output, indices, input_shape) -> dx``.

    ``grad_output`` and ``indices`` are ``(N, C, H_out, W_out)`` (the gradient of the loss
    w.r.t. the pooled output, and the int64 indices of :func:`check_max_pool2d`), and
    ``input_shape`` is ``(N, C, H, W)``; ``dx`` is float64 of that shape: every entry of
    ``grad_output`` added at its index in its plane (a pixel that is the maximum of several
    overlapping windows collects all their gradients), zero elsewhere, as torch autograd
    computes it. Autograd is switched off while the function runs. Parameters as in
    :func:`check_max_pool2d`.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(22)
    made = [
        _backward_case(rng, (1, 1, 4, 4), 2, None),
        _backward_case(rng, (2, 3, 6, 6), 2, None),
        _backward_case(rng, (1, 2, 5, 5), 2, 1),
        _backward_case(rng, (2, 1, 7, 6), 3, 2),
        _backward_case(rng, (1, 1, 6, 6), 3, 1),
    ]
    rand = case_rng(seed, "max_pool2d_backward")
    for _ in range(n_random):
        k = int(rand.integers(1, 4))
        stride = None if rand.random() < 0.3 else int(rand.integers(1, 4))
        h, w = (int(v) for v in rand.integers(k, 9, size=2))
        shape = (int(rand.integers(1, 3)), int(rand.integers(1, 4)), h, w)
        made.append(_backward_case(rand, shape, k, stride, random=True))
    cases = [case for case, _ in made]
    misconceptions = [
        Misconception(
            "where one pixel is the maximum of several overlapping windows you keep only one of "
            "their gradients (`dx[...] = g` or fancy-index assignment, where the last write wins): "
            "the gradients of all those windows add up, so accumulate (`+=`, or np.add.at).",
            lambda g, idx, shape: _scatter(g, idx, shape, accumulate=False),
        ),
        Misconception(
            "you scatter into the whole flattened (N, C, H, W) array: the indices are positions "
            "inside each H x W plane, so sample n, channel c writes into dx[n, c] only.",
            lambda g, idx, shape: _scatter(g, idx, shape, per_plane=False),
            applies=lambda g, idx, shape: shape[0] * shape[1] > 1,
        ),
    ]
    run_check(
        "max_pool2d_backward",
        max_pool2d_backward,
        cases,
        _Expected([expected for _, expected in made]),
        arg_names=("grad_output", "indices", "input_shape"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        extra_blocked=AUTOGRAD_SHORTCUTS + POOLING_SHORTCUTS,
    )


# --------------------------------------------------------------------------- receptive_field


def _field_variant(layers, *, jump_update=True, jump_first=False, padding=True, dilation=True):
    """The recurrence with one step left out (the misconceptions)."""
    size, jump, start = 1, 1, 0.0
    for k, s, p, d in layers:
        span = (d if dilation else 1) * (k - 1)
        if jump_first and jump_update:
            jump *= s
        size += span * jump
        start += (span / 2 - (p if padding else 0)) * jump
        if jump_update and not jump_first:
            jump *= s
    return size, jump, start


def _first_pixel(layers):
    size, jump, start = _field_ref(layers)
    return size, jump, start - (size - 1) / 2


CONV, POOL = (3, 1, 1, 1), (2, 2, 0, 1)
VGG16_POOL5 = [CONV, CONV, POOL] * 2 + [CONV, CONV, CONV, POOL] * 3


def check_receptive_field(receptive_field: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``receptive_field(layers) -> (size, jump, start)``.

    ``layers`` is a list of ``(kernel, stride, padding, dilation)`` int tuples, input side first;
    the result is the field's size in input pixels (int), the jump, i.e. the product of the
    strides (int), and the input coordinate of the centre of output cell 0's field (float, pixel
    centres at 0, 1, 2, ...), as :func:`convlab.arithmetic.receptive_field`. Parameters as in
    :func:`check_max_pool2d`.
    """
    seed = resolve_seed(seed)
    cases = [
        Case(([CONV],)),
        Case(([CONV, CONV],)),
        Case(([CONV, POOL, CONV],)),
        Case(([(3, 2, 0, 1), (3, 2, 0, 1)],)),
        Case(([(5, 2, 2, 1), (3, 1, 1, 1), (2, 2, 0, 1)],)),
        Case(([(3, 1, 2, 2), (3, 1, 4, 4)],)),
        Case((VGG16_POOL5,)),
        Case(([],)),
    ]
    rand = case_rng(seed, "receptive_field")
    for _ in range(n_random):
        layers = []
        for _ in range(int(rand.integers(1, 7))):
            k, s, d = (int(v) for v in rand.integers(1, 5, size=3))
            layers.append((k, s, int(rand.integers(0, k)), d))
        cases.append(Case((layers,), random=True))

    def any_layer(test):
        return lambda layers: any(test(*layer) for layer in layers)

    misconceptions = [
        Misconception(
            "the jump is never multiplied: after a layer of stride s, one step of the next layer "
            "moves s times as many input pixels, so jump *= s after every layer, and each later "
            "layer adds d(k-1) * jump pixels to the size (not d(k-1)).",
            lambda layers: _field_variant(layers, jump_update=False),
            applies=any_layer(lambda k, s, p, d: s > 1),
        ),
        Misconception(
            "you multiply the jump before using it: a layer's own stride does not change its own "
            "field, so add d(k-1) * jump with the jump of the layers before it, then jump *= s.",
            lambda layers: _field_variant(layers, jump_first=True),
            applies=any_layer(lambda k, s, p, d: s > 1 and k > 1),
        ),
        Misconception(
            "the padding is ignored in the start offset: padding p shifts every window p pixels "
            "to the left, so start moves by (d(k-1)/2 - p) * jump.",
            lambda layers: _field_variant(layers, padding=False),
            applies=any_layer(lambda k, s, p, d: p > 0),
        ),
        Misconception(
            "the dilation is ignored: a kernel of size k with dilation d spans d(k-1) + 1 pixels, "
            "so use d(k-1) where an undilated kernel has k-1.",
            lambda layers: _field_variant(layers, dilation=False),
            applies=any_layer(lambda k, s, p, d: d > 1 and k > 1),
        ),
        Misconception(
            "your start is the first pixel of the field: start is the centre of output cell 0's "
            "field, first pixel + (size - 1) / 2.",
            _first_pixel,
        ),
    ]
    run_check(
        "receptive_field",
        receptive_field,
        cases,
        _field_ref,
        arg_names=("layers",),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
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
