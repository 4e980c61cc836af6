"""Checks of assignment ``ex07_fcn``: the pieces of a fully convolutional network (chapter 8).

They must equal :mod:`convlab.fcn`, :mod:`convlab.upsample` and :mod:`convlab.metrics` of those names.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from convlab.grading.cases import one_of_a_kind
from convlab.grading.comparison import Mismatch
from convlab.grading.running import Case, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = [
    "check_convolutionalize",
    "check_bilinear_kernel",
    "check_mean_iou",
    "check_crop_offset",
    "check_fcn8s_fuse",
]


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
            "the kernel is flipped: nn.Conv2d computes a correlation (no flip), so its weight is "
            "linear.weight reshaped to (out, C, kh, kw) as it is.",
            linear=_linear_with(lambda w, c, kh, kw: w.reshape(-1, c, kh, kw).flip(2, 3)),
            when=lambda kernel_size: _pair(kernel_size) != (1, 1),
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
            "the tent's centre is (K - 1) / 2, which is f - 1/2 for the even kernel size K = 2f; "
            "K // 2 = f puts it half a pixel to the right.",
            lambda channels, factor: _tent(channels, factor, 2 * factor, factor),
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


def _over_all_classes(absent: float | None):
    """The mean IoU with a class absent from both maps counted as ``absent`` (left out if None)."""

    def compute(pred, target, num_classes):
        inter, union, _ = _per_class(pred, target, num_classes)
        if absent is None:
            return float((inter[union > 0] / union[union > 0]).mean())
        return float(np.where(union > 0, inter / np.maximum(union, 1), absent).mean())

    return compute


def _dice(pred, target, num_classes):
    inter, union, total = _per_class(pred, target, num_classes)
    return float((2 * inter[union > 0] / total[union > 0]).mean())


def _pooled(pred, target, num_classes):
    inter, union, _ = _per_class(pred, target, num_classes)
    return float(inter.sum() / union.sum())


def _target_classes(pred, target, num_classes):
    inter, union, _ = _per_class(pred, target, num_classes)
    present = np.isin(np.arange(num_classes), target)
    return float((inter[present] / union[present]).mean())


def _per_image(pred, target, num_classes):
    return float(
        np.mean([_over_all_classes(None)(p, t, num_classes) for p, t in zip(pred, target, strict=True)])
    )


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
        Case(np.array([[0, 1, 1], [1, 1, 0], [0, 2, 1]]), np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]]), 4),
        Case(
            np.array([[[0, 3], [3, 3]], [[0, 0], [3, 1]]]), np.array([[[0, 3], [1, 3]], [[0, 0], [3, 3]]]), 5
        ),
    ],
    _random_maps,
    [
        M(_ABSENT.format(0), _over_all_classes(0.0)),
        M(_ABSENT.format(1), _over_all_classes(1.0)),
        M(
            "your value is the total intersection over the total union of all classes (which "
            "weights each class by the area of its union); the mean IoU is the plain mean of the "
            "per-class IoUs.",
            lambda pred, target, num_classes: _pooled(pred, target, num_classes),
        ),
        M(
            "the union is |A| + |B| - |A∩B|: you forgot to subtract the intersection (each of your "
            "per-class values is half the Dice coefficient).",
            lambda pred, target, num_classes: _dice(pred, target, num_classes) / 2,
        ),
        M(
            "a class that is predicted but absent from the target has IoU 0 and counts in the mean: "
            "average over the classes present in pred or target, not only over those in the target.",
            _target_classes,
            when=lambda pred, target: bool(np.setdiff1d(pred, target).size),
        ),
        M(
            "the IoU counts the pixels of the whole batch together; you computed it per image and "
            "averaged the images' values.",
            _per_image,
            when=lambda pred: np.ndim(pred) == 3 and len(pred) > 1,
        ),
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


def _compose(
    layers,
    *,
    padding=True,
    transposed_sign=1.0,
    centre=lambda k: (k - 1) / 2,
    jump=True,
    as_conv=False,
    sign=1,
):
    """``crop_offset`` written out, with switches for the common mistakes."""
    a, b = 1.0, 0.0
    for kind, k, s, p in layers:
        p = p if padding else 0
        scale = a if jump else 1.0
        if kind == "transposed" and not as_conv:
            a, b = a / s, b + transposed_sign * scale * (p - centre(k)) / s
        else:
            a, b = a * s, b + scale * (centre(k) - p)
    return -sign * b


def _offset_bug(rounded=False, **switches):
    """The offset with one mistake; ``rounded``: as the exercise's ``int(round(...))`` returns it."""

    def compute(layers):
        value = _compose(layers, **switches)
        return int(round(value)) if rounded or value == round(value) else value

    return compute


_POOL = ("pool", 2, 2, 0)
_FCN32S = [("conv", 3, 1, 100), *[_POOL] * 5, ("conv", 7, 1, 0), ("transposed", 64, 32, 0)]
_UP2 = [("conv", 3, 1, 100), *[_POOL] * 5, ("conv", 7, 1, 0), ("transposed", 4, 2, 0)]


def _random_layers(rng: np.random.Generator) -> Case:
    """A chain of conv/pool layers of total stride S, then one transposed layer of stride S."""
    layers, stride = [], 1
    for _ in range(int(rng.integers(1, 4))):
        s = int(rng.choice([1, 2]))
        k = int(rng.choice([1, 3, 5])) if s == 1 else 2 * int(rng.integers(1, 3))
        layers.append(("conv" if rng.random() < 0.5 else "pool", k, s, int(rng.integers(0, 4))))
        stride *= s
    # a transposed layer that brings the map back to scale 1 with a whole-pixel offset
    while True:
        k, p = int(rng.integers(stride, 3 * stride + 1)), int(rng.integers(0, stride + 1))
        offset = _compose([*layers, ("transposed", k, stride, p)])
        if offset == round(offset):
            return Case([*layers, ("transposed", k, stride, p)])


check_crop_offset = exercise(
    "crop_offset(layers)",
    reference("convlab.fcn", "crop_offset"),
    [
        Case([("conv", 3, 1, 0)]),
        Case([("conv", 5, 1, 2)]),
        Case([_POOL, ("transposed", 4, 2, 1)]),
        Case([("conv", 3, 1, 3), _POOL, ("transposed", 4, 2, 0)]),
        Case(_FCN32S),
        Case(_UP2 + [("transposed", 32, 16, 0)]),
    ],
    _random_layers,
    one_of_a_kind(
        [
            M(
                "the padding was ignored: a convolution padded by p puts output cell 0 at "
                "(k - 1)/2 - p, p pixels further up and left (and a transposed one p pixels the other way).",
                _offset_bug(padding=False),
            ),
            M(
                "the transposed layer's shift has the wrong sign: it inverts the forward map, so cell x "
                "of its output sits at (x + p - (k - 1)/2) / s of its input.",
                _offset_bug(transposed_sign=-1.0),
            ),
            M(
                "each layer's shift is measured in the pixels of its own input: multiply it by the "
                "product of the strides of the layers before it (b += a * ((k - 1)/2 - p), with a the "
                "running product of the strides) before adding it.",
                _offset_bug(jump=False, rounded=True),
            ),
            M(
                "your offset has the opposite sign: pixel o + y of the last map describes input pixel y, "
                "so o is minus the input coordinate of the map's pixel 0 (FCN-32s: pixel 0 sits at -19, "
                "o = 19).",
                _offset_bug(sign=-1, rounded=True),
            ),
            M(
                "the transposed layer is treated like a convolution: it inverts its forward map, so it "
                "divides the scale by s and its shift is (p - (k - 1)/2) / s in its input's pixels; it "
                "does not multiply by s.",
                _offset_bug(as_conv=True, rounded=True),
                when=lambda layers: any(kind == "transposed" for kind, *_ in layers),
            ),
            M(
                "the window's centre is at (k - 1)/2 (pixel centres 0, 1, ..., k - 1), not at k/2.",
                _offset_bug(centre=lambda k: k / 2),
            ),
        ]
    ),
    doc="""Check ``crop_offset(layers) -> int``.

    ``layers`` is a sequence of ``(kind, kernel, stride, padding)`` with kind ``"conv"``, ``"pool"``
    or ``"transposed"``; the answer is the offset ``o`` at which the last map is cropped so that
    its pixel ``o + y`` describes input pixel ``y`` (19 for the original FCN-32s).
    """,
)


def _scores(rng: np.random.Generator, n: int, k: int, h: int, w: int):
    """Score maps of an ``h x w`` input at strides 32, 16 and 8 (ceil-mode sizes)."""
    side = lambda size, s: -(-size // s)  # noqa: E731
    draw = lambda s: torch.from_numpy(  # noqa: E731
        rng.standard_normal((n, k, side(h, s), side(w, s))).round(2).astype(np.float32)
    )
    return draw(32), draw(16), draw(8)


class _Upsampler(torch.nn.Module):
    """Upsampling by ``factor``: every cell becomes a ``factor x factor`` tile (its own per channel).

    The same as ``ConvTranspose2d(K, K, factor, stride=factor, groups=K)``, written with tensor
    products, so that it keeps working while the library convolutions are switched off.
    """

    def __init__(self, rng: np.random.Generator, channels: int, factor: int) -> None:
        super().__init__()
        tile = rng.standard_normal((channels, factor, factor)).round(2).astype(np.float32)
        self.factor, self.tile = factor, torch.from_numpy(tile)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, k, h, w = x.shape
        y = x[:, :, :, None, :, None] * self.tile[None, :, None, :, None, :]
        return y.reshape(n, k, h * self.factor, w * self.factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


def _fuse_case(rng: np.random.Generator, n: int, k: int, h: int, w: int) -> Case:
    s32, s16, s8 = _scores(rng, n, k, h, w)
    up = (_Upsampler(rng, k, 2), _Upsampler(rng, k, 2), _Upsampler(rng, k, 8))
    return Case(s32, s16, s8, *up, (int(h), int(w)))


def _fuse_bug(order=False, corner="top-left"):
    def crop(x, ref):
        h, w = ref.shape[-2:] if isinstance(ref, torch.Tensor) else ref
        if corner == "centre":
            top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
            return x[..., top : top + h, left : left + w]
        return x[..., :h, :w]

    def compute(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size):
        with torch.no_grad():
            if order:  # the two x2 layers swapped
                up2, up2_pool4 = up2_pool4, up2
            s = crop(up2(score_fr), score_pool4) + score_pool4
            s = crop(up2_pool4(s), score_pool3) + score_pool3
            return crop(up8(s), size)

    return compute


def _fuse_uncropped(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8):
    with torch.no_grad():
        s = up2(score_fr)[..., : score_pool4.shape[-2], : score_pool4.shape[-1]] + score_pool4
        s = up2_pool4(s)[..., : score_pool3.shape[-2], : score_pool3.shape[-1]] + score_pool3
        return up8(s)


def _fuse_no_pool3(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size):
    with torch.no_grad():
        s = up2(score_fr)[..., : score_pool4.shape[-2], : score_pool4.shape[-1]] + score_pool4
        s = up2_pool4(s)[..., : score_pool3.shape[-2], : score_pool3.shape[-1]]
        return up8(s)[..., : size[0], : size[1]]


def _detached(output):
    return output.detach() if isinstance(output, torch.Tensor) else output


_frng = np.random.default_rng(7)

check_fcn8s_fuse = exercise(
    "fcn8s_fuse(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size)",
    reference("convlab.fcn", "fcn8s_fuse", lambda f, *args: f(*args).detach()),
    [_fuse_case(_frng, 1, 1, 64, 64), _fuse_case(_frng, 1, 2, 70, 45), _fuse_case(_frng, 2, 3, 100, 33)],
    lambda rng: _fuse_case(rng, int(rng.integers(1, 3)), int(rng.integers(1, 4)), *rng.integers(33, 130, 2)),
    [
        M(
            "the two x2 upsamplers are swapped: up2 brings score_fr to the 1/16 map, up2_pool4 brings "
            "the fused 1/16 scores to the 1/8 map.",
            _fuse_bug(order=True),
        ),
        M(
            "the crops take the centre of the larger map: in the course's FCN every map is aligned at "
            "the top-left corner (crop offset 0), so crop with x[..., :h, :w].",
            _fuse_bug(corner="centre"),
        ),
        M(
            "the final map is up8(...) cropped to the input: crop it to `size` with "
            "[..., :size[0], :size[1]] (the stride-8 map covers a multiple of 8 pixels).",
            _fuse_uncropped,
            when=lambda score_pool3, size: tuple(8 * n for n in score_pool3.shape[-2:]) != tuple(size),
        ),
        M(
            "score_pool3 is missing from the sum: the 1/8 scores are up2_pool4(fused 1/16 scores) "
            "+ score_pool3.",
            _fuse_no_pool3,
        ),
    ],
    doc="""Check ``fcn8s_fuse(score_fr, score_pool4, score_pool3, up2, up2_pool4, up8, size)``.

    The result is ``crop(up8(crop(up2_pool4(crop(up2(score_fr), score_pool4) + score_pool4),
    score_pool3) + score_pool3), size)``, every crop keeping the top-left corner, shape
    ``(N, K, *size)``.
    """,
    evaluate=lambda output: _detached(output),
)
