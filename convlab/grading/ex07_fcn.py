"""Checks of assignment ``ex07_fcn``: the pieces of a fully convolutional network (chapter 7).

They must equal :mod:`convlab.fcn`, :mod:`convlab.upsample` and :mod:`convlab.metrics` of those names.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from convlab.grading.comparison import Mismatch
from convlab.grading.running import Case, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = ["check_convolutionalize", "check_bilinear_kernel", "check_mean_iou"]


def _linear(rng: np.random.Generator, in_features: int, out_features: int, bias: bool) -> torch.nn.Linear:
    layer = torch.nn.Linear(in_features, out_features, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(rng.standard_normal((out_features, in_features)).round(2)))
        if bias:
            layer.bias.copy_(torch.from_numpy(rng.standard_normal(out_features).round(2)))
    return layer


def _pair(k):
    return (k, k) if isinstance(k, int) else tuple(k)


def _evaluate(output, linear, in_channels, kernel_size):
    """What a convolutionalized layer computes: its outputs on a window and on a larger map."""
    (kh, kw), conv = _pair(kernel_size), output
    if not isinstance(conv, torch.nn.Conv2d):
        raise Mismatch([f"expected a torch.nn.Conv2d; received {type(conv).__name__}"])
    if isinstance(conv.weight, torch.nn.parameter.UninitializedParameter):
        raise Mismatch(
            ["the weight is not initialised (a lazy module): create nn.Conv2d with its in_channels"]
        )
    if conv.weight.device.type == "meta":
        raise Mismatch(
            ["the weight is on the meta device (a shape without values): create the layer on the CPU"]
        )
    shape, got = (linear.out_features, in_channels, kh, kw), tuple(conv.weight.shape)
    if got != shape:
        raise Mismatch(
            [f"expected a weight of shape (out_features, in_channels, kh, kw) = {shape}; received {got}"]
        )
    if (
        {_pair(conv.stride), _pair(conv.dilation)} != {(1, 1)}
        or _pair(conv.padding) != (0, 0)
        or conv.groups != 1
    ):
        raise Mismatch(
            ["expected stride 1, no padding, no dilation and groups=1 (the FC layer sees every window)"]
        )
    # The layer's computation, written out in NumPy (torch's first call on each new shape is slow).
    weight = conv.weight.detach().cpu().double().numpy()
    bias = np.zeros(weight.shape[0]) if conv.bias is None else conv.bias.detach().cpu().double().numpy()
    probe, outputs = np.random.default_rng(kh * 100 + kw * 10 + in_channels), []
    for size in ((2, in_channels, kh, kw), (1, in_channels, kh + 2, kw + 3)):
        windows = np.lib.stride_tricks.sliding_window_view(probe.standard_normal(size), (kh, kw), axis=(2, 3))
        out = np.einsum("ncijab,fcab->nfij", windows, weight) + bias[:, None, None]
        outputs.append(torch.from_numpy(out).to(conv.weight.dtype))
    return tuple(outputs)


def _linear_with(weight=None, bias=True):
    """The FC layer a mistake amounts to: its weight seen as (out, C, kh, kw) is ``weight(w, c, kh, kw)``."""

    def change(linear, in_channels, kernel_size):
        new = copy.deepcopy(linear)
        with torch.no_grad():
            if weight is not None:
                new.weight.copy_(weight(linear.weight, in_channels, *_pair(kernel_size)).flatten(1))
            if not bias:
                new.bias.zero_()
        return new

    return change


def _random_linear(rng: np.random.Generator) -> Case:
    c, out = int(rng.integers(1, 5)), int(rng.integers(1, 7))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    kernel = kh if kh == kw and rng.random() < 0.5 else (kh, kw)
    return Case(_linear(rng, c * kh * kw, out, bool(rng.random() < 0.7)), c, kernel)


_rng = np.random.default_rng(10)

check_convolutionalize = exercise(
    "convolutionalize(linear, in_channels, kernel_size)",
    reference("convlab.fcn", "convolutionalize"),
    [
        Case(_linear(_rng, 3 * 2 * 2, 4, True), 3, 2),
        Case(_linear(_rng, 2 * 3 * 3, 5, True), 2, 3),
        Case(_linear(_rng, 1 * 3 * 3, 1, False), 1, 3),
        Case(_linear(_rng, 2 * 2 * 3, 3, True), 2, (2, 3)),
    ],
    _random_linear,
    [
        M(
            "the weight was reshaped in channels-last order: x.flatten(1) of an (N, C, kh, kw) map "
            "runs over channels first, so reshape the (out, C*kh*kw) weight to (out, C, kh, kw) directly.",
            linear=_linear_with(lambda w, c, kh, kw: w.reshape(-1, kh, kw, c).permute(0, 3, 1, 2)),
        ),
        M(
            "the kernel's rows and columns are swapped: the flattened index is c*kh*kw + a*kw + b "
            "for row a and column b.",
            linear=_linear_with(lambda w, c, kh, kw: w.reshape(-1, c, kw, kh).transpose(2, 3)),
        ),
        M(
            "the bias is missing: copy linear.bias into the convolution's bias.",
            linear=_linear_with(bias=False),
        ),
    ],
    doc="""Check ``convolutionalize(linear, in_channels, kernel_size) -> nn.Conv2d``.

    The convolution must compute ``linear(x.flatten(1))`` on a ``(N, C, kh, kw)`` window and the
    same FC layer on every window of a larger map (stride 1, no padding); the ``linear`` layer
    must not be modified.
    """,
    evaluate=_evaluate,
)


def _tent(channels: int, factor: int, size: int, centre: float) -> np.ndarray:
    t = 1 - np.abs(np.arange(size) - centre) / factor
    w = np.zeros((channels, channels, size, size), dtype=np.float32)
    w[np.arange(channels), np.arange(channels)] = np.outer(t, t).astype(np.float32)
    return w


check_bilinear_kernel = exercise(
    "bilinear_kernel(channels, factor)",
    reference("convlab.upsample", "bilinear_kernel"),
    [Case(c, f) for c, f in ((1, 2), (2, 2), (1, 3), (3, 4), (2, 1))],
    lambda rng: Case(int(rng.integers(1, 5)), int(rng.integers(1, 9))),
    [
        M(
            "every (output, input) channel pair holds the tent: upsampling works on each channel "
            "alone, so only w[c, c] is non-zero (otherwise the channels are summed together).",
            lambda expected: np.ascontiguousarray(np.broadcast_to(expected[0, 0], expected.shape)),
        ),
        M(
            "the tent is off-centre: for an even kernel size K the centre lies between two pixels, "
            "at f - 1/2; f - 1 is the centre only for odd K.",
            lambda channels, factor: _tent(channels, factor, 2 * factor, factor - 1),
            when=lambda factor: factor % 2 == 0,
        ),
        M(
            "the kernel size is 2f - f % 2 (2f for even f, 2f - 1 for odd f): an odd factor needs "
            "an odd kernel so the tent has a centre pixel.",
            lambda channels, factor: _tent(channels, factor, 2 * factor, factor - 0.5),
        ),
    ],
    doc="""Check ``bilinear_kernel(channels, factor)``: the FCN initialisation of an upsampling layer.

    The result is a float32 array ``(C, C, K, K)``, ``K = 2f - f % 2``, zero except
    ``w[c, c] = outer(t, t)`` with ``t[a] = 1 - |a - centre| / f`` and centre ``f - 1`` (odd
    ``K``) or ``f - 1/2`` (even ``K``).
    """,
)


def _per_class(pred, target, num_classes):
    """Intersection, union and total area of each class."""
    count = lambda v: np.bincount(np.ravel(v), minlength=num_classes)[:num_classes]  # noqa: E731
    inter, area = count(target[pred == target]).astype(float), count(pred) + count(target)
    return inter, area - inter, area


def _over_all_classes(absent: float):
    def compute(pred, target, num_classes):
        inter, union, _ = _per_class(pred, target, num_classes)
        return float(np.where(union > 0, inter / np.maximum(union, 1), absent).mean())

    return compute


def _dice(pred, target, num_classes):
    inter, union, total = _per_class(pred, target, num_classes)
    return float((2 * inter[union > 0] / total[union > 0]).mean())


def _random_maps(rng: np.random.Generator) -> Case:
    k = int(rng.integers(2, 7))
    shape = (int(rng.integers(1, 3)), *(int(v) for v in rng.integers(2, 7, size=2)))
    present = rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False)
    truth = rng.choice(present, size=shape)
    guess = np.where(rng.random(shape) < 0.7, truth, rng.integers(0, k, size=shape))
    return Case(guess.astype(np.int64), truth.astype(np.int64), k)


_TARGET = np.array([[0, 0, 1], [1, 1, 2], [2, 2, 2]])
_ABSENT = (
    "you averaged over absent classes: a class that appears in neither the prediction nor "
    "the target has no IoU (0/0); leave it out of the mean instead of counting it as {}."
)

check_mean_iou = exercise(
    "mean_iou(pred, target, num_classes)",
    reference("convlab.metrics", "mean_iou"),
    [
        Case(np.array([[0, 0, 1], [1, 2, 2], [2, 2, 2]]), _TARGET, 3),
        Case(_TARGET.copy(), _TARGET, 3),
        Case(np.array([[0, 1, 1], [1, 1, 0], [0, 0, 1]]), np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]]), 4),
        Case(
            np.array([[[0, 3], [3, 3]], [[0, 0], [3, 1]]]), np.array([[[0, 3], [1, 3]], [[0, 0], [3, 3]]]), 5
        ),
    ],
    _random_maps,
    [
        M(_ABSENT.format(0), _over_all_classes(0.0)),
        M(_ABSENT.format(1), _over_all_classes(1.0)),
        M(
            "your value is the pixel accuracy (the share of correct pixels), not the mean IoU.",
            lambda pred, target: float((pred == target).mean()),
        ),
        M(
            "your value is the mean Dice coefficient 2|A∩B| / (|A| + |B|); IoU divides by the union "
            "|A∪B| = |A| + |B| - |A∩B|.",
            _dice,
        ),
    ],
    doc="""Check ``mean_iou(pred, target, num_classes) -> float``.

    ``pred`` and ``target`` are integer arrays of the same shape; the IoU of class ``k`` is
    ``|pred == k and target == k| / |pred == k or target == k|`` and the mean runs over the
    classes that occur in ``pred`` or ``target``.
    """,
)
