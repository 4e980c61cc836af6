"""Checks of assignment ``ex07_fcn``: the pieces of a fully convolutional network (chapter 7).

``convolutionalize(linear, in_channels, kernel_size)`` must return an ``nn.Conv2d`` that computes
what :func:`convlab.fcn.convolutionalize` computes (the FC layer on every window);
``bilinear_kernel(channels, factor)`` must equal :func:`convlab.upsample.bilinear_kernel`;
``mean_iou(pred, target, num_classes)`` must equal :func:`convlab.metrics.mean_iou` (mean over
the classes present in the prediction or the target).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading._core import Case, Misconception, _Mismatch, case_rng, reference, resolve_seed, run_check

__all__ = ["check_convolutionalize", "check_bilinear_kernel", "check_mean_iou"]

_convolutionalize_ref = reference("convlab.fcn", "convolutionalize")
_kernel_ref = reference("convlab.upsample", "bilinear_kernel")
_iou_ref = reference("convlab.metrics", "mean_iou")


def _linear(rng: np.random.Generator, in_features: int, out_features: int, bias: bool):
    import torch

    layer = torch.nn.Linear(in_features, out_features, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(rng.standard_normal((out_features, in_features)).round(2)))
        if bias:
            layer.bias.copy_(torch.from_numpy(rng.standard_normal(out_features).round(2)))
    return layer


def _pair(k):
    return (k, k) if isinstance(k, int) else tuple(k)


def _evaluate(conv, case: Case):
    """What a convolutionalized layer computes: its outputs on a window and on a larger map."""
    import torch

    linear, in_channels, kernel_size = case.args
    kh, kw = _pair(kernel_size)
    if not isinstance(conv, torch.nn.Conv2d):
        raise _Mismatch([f"expected a torch.nn.Conv2d; received {type(conv).__name__}"])
    expected = (linear.out_features, in_channels, kh, kw)
    if tuple(conv.weight.shape) != expected:
        raise _Mismatch(
            [
                f"expected a weight of shape (out_features, in_channels, kh, kw) = {expected}; "
                f"received {tuple(conv.weight.shape)}"
            ]
        )
    if (
        _pair(conv.stride) != (1, 1)
        or _pair(conv.padding) != (0, 0)
        or _pair(conv.dilation) != (1, 1)
        or conv.groups != 1
    ):
        raise _Mismatch(
            ["expected stride 1, no padding, no dilation and groups=1 (the FC layer sees every window)"]
        )
    # The layer's computation, written out in NumPy (torch's first call on each new shape is slow).
    weight = conv.weight.detach().cpu().double().numpy()
    bias = np.zeros(weight.shape[0]) if conv.bias is None else conv.bias.detach().cpu().double().numpy()
    probe = np.random.default_rng(kh * 100 + kw * 10 + in_channels)
    outputs = []
    for shape in ((2, in_channels, kh, kw), (1, in_channels, kh + 2, kw + 3)):
        windows = np.lib.stride_tricks.sliding_window_view(
            probe.standard_normal(shape), (kh, kw), axis=(2, 3)
        )
        out = np.einsum("ncijab,fcab->nfij", windows, weight) + bias[:, None, None]
        outputs.append(torch.from_numpy(out).to(conv.weight.dtype))
    return tuple(outputs)


def _conv_from(weight, linear):
    import torch

    conv = torch.nn.Conv2d(
        weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), bias=linear.bias is not None
    )
    with torch.no_grad():
        conv.weight.copy_(weight)
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


def check_convolutionalize(convolutionalize: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``convolutionalize(linear, in_channels, kernel_size) -> nn.Conv2d``.

    The convolution must compute ``linear(x.flatten(1))`` on a ``(N, C, kh, kw)`` window and the
    same FC layer on every window of a larger map (stride 1, no padding); the ``linear`` layer
    must not be modified.

    Parameters
    ----------
    convolutionalize : callable
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
    rng = np.random.default_rng(10)
    cases = [
        Case((_linear(rng, 3 * 2 * 2, 4, True), 3, 2), {}),
        Case((_linear(rng, 2 * 3 * 3, 5, True), 2, 3), {}),
        Case((_linear(rng, 1 * 3 * 3, 1, False), 1, 3), {}),
        Case((_linear(rng, 2 * 2 * 3, 3, True), 2, (2, 3)), {}),
    ]
    rand = case_rng(seed, "convolutionalize")
    for _ in range(n_random):
        c, out = int(rand.integers(1, 5)), int(rand.integers(1, 7))
        kh, kw = (int(v) for v in rand.integers(1, 5, size=2))
        kernel = kh if kh == kw and rand.random() < 0.5 else (kh, kw)
        cases.append(
            Case((_linear(rand, c * kh * kw, out, bool(rand.random() < 0.7)), c, kernel), {}, random=True)
        )

    def reshaped(order: str) -> Callable:
        def compute(linear, in_channels, kernel_size):
            kh, kw = _pair(kernel_size)
            w = linear.weight.detach()
            if order == "channels_last":
                w = w.reshape(-1, kh, kw, in_channels).permute(0, 3, 1, 2)
            else:  # spatial axes swapped
                w = w.reshape(-1, in_channels, kw, kh).transpose(2, 3)
            return _conv_from(w.contiguous(), linear)

        return compute

    def without_bias(linear, in_channels, kernel_size):
        conv = _convolutionalize_ref(linear, in_channels, kernel_size)
        import torch

        with torch.no_grad():
            conv.bias.zero_()
        return conv

    misconceptions = [
        Misconception(
            "the weight was reshaped in channels-last order: x.flatten(1) of an (N, C, kh, kw) map "
            "runs over channels first, so reshape the (out, C*kh*kw) weight to (out, C, kh, kw) directly.",
            reshaped("channels_last"),
            applies=lambda linear, in_channels, kernel_size: in_channels > 1,
        ),
        Misconception(
            "the kernel's rows and columns are swapped: the flattened index is c*kh*kw + a*kw + b "
            "for row a and column b.",
            reshaped("transposed"),
        ),
        Misconception(
            "the bias is missing: copy linear.bias into the convolution's bias.",
            without_bias,
            applies=lambda linear, in_channels, kernel_size: linear.bias is not None,
        ),
    ]
    run_check(
        "convolutionalize",
        convolutionalize,
        cases,
        _convolutionalize_ref,
        arg_names=("linear", "in_channels", "kernel_size"),
        misconceptions=misconceptions,
        evaluate=_evaluate,
        seed=seed,
        n_random=n_random,
    )


def _tent(factor: int, size: int, center: float) -> np.ndarray:
    t = 1 - np.abs(np.arange(size) - center) / factor
    return np.outer(t, t).astype(np.float32)


def check_bilinear_kernel(bilinear_kernel: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``bilinear_kernel(channels, factor)``: the FCN initialisation of an upsampling layer.

    The result is a float32 array ``(C, C, K, K)``, ``K = 2f - f % 2``, zero except
    ``w[c, c] = outer(t, t)`` with ``t[a] = 1 - |a - centre| / f`` and centre ``f - 1`` (odd
    ``K``) or ``f - 1/2`` (even ``K``). Parameters as in :func:`check_convolutionalize`.
    """
    seed = resolve_seed(seed)
    cases = [Case((c, f), {}) for c, f in ((1, 2), (2, 2), (1, 3), (3, 4), (2, 1))]
    rand = case_rng(seed, "bilinear_kernel")
    cases += [
        Case((int(rand.integers(1, 5)), int(rand.integers(1, 9))), {}, random=True) for _ in range(n_random)
    ]

    def every_pair(channels, factor):
        w = _kernel_ref(channels, factor)
        return np.ascontiguousarray(np.broadcast_to(w[0, 0], w.shape))

    def centred(center_fn):
        def compute(channels, factor):
            size = 2 * factor - factor % 2
            w = np.zeros((channels, channels, size, size), dtype=np.float32)
            w[np.arange(channels), np.arange(channels)] = _tent(factor, size, center_fn(factor, size))
            return w

        return compute

    misconceptions = [
        Misconception(
            "every (output, input) channel pair holds the tent: upsampling works on each channel "
            "alone, so only w[c, c] is non-zero (otherwise the channels are summed together).",
            every_pair,
            applies=lambda channels, factor: channels > 1,
        ),
        Misconception(
            "the tent is off-centre: for an even kernel size K the centre lies between two pixels, "
            "at f - 1/2; f - 1 is the centre only for odd K.",
            centred(lambda f, size: f - 1),
            applies=lambda channels, factor: factor % 2 == 0,
        ),
        Misconception(
            "the kernel size is 2f - f % 2 (2f for even f, 2f - 1 for odd f): an odd factor needs "
            "an odd kernel so the tent has a centre pixel.",
            _even_size_for_odd,
            applies=lambda channels, factor: factor % 2 == 1,
        ),
    ]
    run_check(
        "bilinear_kernel",
        bilinear_kernel,
        cases,
        _kernel_ref,
        arg_names=("channels", "factor"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def _even_size_for_odd(channels: int, factor: int) -> np.ndarray:
    """The tent on a 2f kernel whatever the parity of f."""
    size = 2 * factor
    w = np.zeros((channels, channels, size, size), dtype=np.float32)
    w[np.arange(channels), np.arange(channels)] = _tent(factor, size, factor - 0.5)
    return w


def _iou_per_class(pred, target, num_classes):
    pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
    inter = np.bincount(target[pred == target], minlength=num_classes)[:num_classes].astype(float)
    area_p = np.bincount(pred, minlength=num_classes)[:num_classes]
    area_t = np.bincount(target, minlength=num_classes)[:num_classes]
    union = (area_p + area_t - inter).astype(float)
    return inter, union, area_p + area_t


def check_mean_iou(mean_iou: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``mean_iou(pred, target, num_classes) -> float``.

    ``pred`` and ``target`` are integer arrays of the same shape; the IoU of class ``k`` is
    ``|pred == k and target == k| / |pred == k or target == k|`` and the mean runs over the
    classes that occur in ``pred`` or ``target``. Parameters as in :func:`check_convolutionalize`.
    """
    seed = resolve_seed(seed)
    target = np.array([[0, 0, 1], [1, 1, 2], [2, 2, 2]])
    cases = [
        Case((np.array([[0, 0, 1], [1, 2, 2], [2, 2, 2]]), target, 3), {}),
        Case((target.copy(), target, 3), {}),
        Case(
            (np.array([[0, 1, 1], [1, 1, 0], [0, 0, 1]]), np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]]), 4), {}
        ),
        Case(
            (
                np.array([[[0, 3], [3, 3]], [[0, 0], [3, 1]]]),
                np.array([[[0, 3], [1, 3]], [[0, 0], [3, 3]]]),
                5,
            ),
            {},
        ),
    ]
    rand = case_rng(seed, "mean_iou")
    for _ in range(n_random):
        k = int(rand.integers(2, 7))
        shape = (int(rand.integers(1, 3)), *(int(v) for v in rand.integers(2, 7, size=2)))
        present = rand.choice(k, size=int(rand.integers(1, k + 1)), replace=False)
        truth = rand.choice(present, size=shape)
        guess = np.where(rand.random(shape) < 0.7, truth, rand.integers(0, k, size=shape))
        cases.append(Case((guess.astype(np.int64), truth.astype(np.int64), k), {}, random=True))

    def over_all_classes(absent_value):
        def compute(pred, target, num_classes):
            inter, union, _ = _iou_per_class(pred, target, num_classes)
            iou = np.where(union > 0, inter / np.maximum(union, 1), absent_value)
            return float(iou.mean())

        return compute

    def dice(pred, target, num_classes):
        inter, union, total = _iou_per_class(pred, target, num_classes)
        present = union > 0
        return float((2 * inter[present] / total[present]).mean())

    misconceptions = [
        Misconception(
            "you averaged over absent classes: a class that appears in neither the prediction nor "
            "the target has no IoU (0/0); leave it out of the mean instead of counting it as 0.",
            over_all_classes(0.0),
        ),
        Misconception(
            "you averaged over absent classes: a class that appears in neither the prediction nor "
            "the target has no IoU (0/0); leave it out of the mean instead of counting it as 1.",
            over_all_classes(1.0),
        ),
        Misconception(
            "your value is the pixel accuracy (the share of correct pixels), not the mean IoU.",
            lambda pred, target, num_classes: float((np.asarray(pred) == np.asarray(target)).mean()),
        ),
        Misconception(
            "your value is the mean Dice coefficient 2|A∩B| / (|A| + |B|); IoU divides by the union "
            "|A∪B| = |A| + |B| - |A∩B|.",
            dice,
        ),
    ]
    run_check(
        "mean_iou",
        mean_iou,
        cases,
        _iou_ref,
        arg_names=("pred", "target", "num_classes"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )
