"""Fully convolutional networks for semantic segmentation, in torch (chapter 8).

Long, Shelhamer and Darrell's FCN turns a classification network into a dense predictor in three
steps, each a piece of this module:

1. :func:`convolutionalize` -- a fully connected layer becomes a convolution with the same weights,
   so the network accepts any input size and slides the classifier over it at the network stride.
2. Transposed convolutions initialised to bilinear interpolation
   (:func:`convlab.upsample.bilinear_kernel`) bring the coarse score map back to the input size.
3. Skips from ``pool4`` and ``pool3`` add finer predictions: :class:`FCN` with ``variant`` ``"32s"``,
   ``"16s"`` or ``"8s"``. :func:`crop_like` trims every upsampled map to its partner's size,
   :func:`crop_offset` computes where a crop must start, :func:`fcn8s_fuse` is FCN-8s's fusion.

The paper's recipe is :class:`Classifier` (pretrained on :func:`convlab.data.make_shape_crops`),
then :meth:`FCN.from_classifier` (FCN-32s) and :meth:`FCN.from_fcn` (FCN-16s from the trained
32s, FCN-8s from the trained 16s).

See the chapter :doc:`/chapters/fcn`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from convlab._validate import _pair, check_choice, check_nonnegative, check_positive
from convlab.arithmetic import conv_output_size

__all__ = [
    "VARIANTS",
    "convolutionalize",
    "crop_like",
    "crop_offset",
    "fcn8s_fuse",
    "MatmulConv2d",
    "Classifier",
    "FCN",
]

#: Which pooling outputs each variant fuses into its prediction (coarsest first).
VARIANTS: dict[str, tuple[str, ...]] = {"32s": (), "16s": ("pool4",), "8s": ("pool4", "pool3")}


def convolutionalize(linear: nn.Linear, in_channels: int, kernel_size: int | tuple[int, int]) -> nn.Conv2d:
    """Turn a fully connected layer on flattened ``(C, kh, kw)`` features into a ``kh x kw`` convolution.

    Parameters
    ----------
    linear : torch.nn.Linear
        A layer with ``in_features == in_channels * kh * kw``, applied to ``x.flatten(1)`` of a
        ``(N, C, kh, kw)`` feature map.
    in_channels : int
        Number of channels ``C`` of that feature map.
    kernel_size : int or (int, int)
        Its spatial size ``(kh, kw)``.

    Returns
    -------
    torch.nn.Conv2d
        ``Conv2d(C, linear.out_features, (kh, kw))`` (stride 1, no padding) holding a copy of the
        weights, with the bias when ``linear`` has one, on the same device and dtype.

    Raises
    ------
    TypeError
        If ``linear`` is not an ``nn.Linear`` or a size is not an integer.
    ValueError
        If ``in_features != in_channels * kh * kw``.

    See Also
    --------
    torch.nn.Conv2d, torch.nn.Linear : the two layers; ``torch.nn.Flatten`` is what the FC head undoes.

    Notes
    -----
    On a ``(kh, kw)`` map the convolution's output is ``1 x 1`` and equals
    ``linear(x.flatten(1))``. On a larger ``(H, W)`` map it returns ``(H - kh + 1) x (W - kw + 1)`` scores,
    the FC layer applied to every window at stride 1. Behind a backbone of stride :math:`s` that is the
    original classifier slid over the image at stride :math:`s`: a :math:`224` window at stride :math:`32`
    over a :math:`384` image gives :math:`(384 - 224)/32 + 1 = 6` positions per side, and the convolutional
    network computes the :math:`12 \\times 12` feature map once and returns :math:`(12 - 7) + 1 = 6` scores
    per side.

    Examples
    --------
    >>> import torch
    >>> fc = torch.nn.Linear(2 * 3 * 3, 4)
    >>> conv = convolutionalize(fc, in_channels=2, kernel_size=3)
    >>> x = torch.randn(1, 2, 3, 3)
    >>> torch.allclose(conv(x).flatten(1), fc(x.flatten(1)), atol=1e-6)
    True
    >>> tuple(conv(torch.randn(1, 2, 5, 7)).shape)
    (1, 4, 3, 5)
    """
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"`linear` must be a torch.nn.Linear; got {type(linear).__name__}")
    in_channels = check_positive(in_channels, "in_channels")
    kh, kw = _pair(kernel_size, "kernel_size")
    if linear.in_features != in_channels * kh * kw:
        raise ValueError(
            f"`linear.in_features` must equal in_channels * kh * kw = {in_channels} * {kh} * {kw} = "
            f"{in_channels * kh * kw}; got in_features={linear.in_features}"
        )
    weight = linear.weight
    conv = nn.Conv2d(
        in_channels,
        linear.out_features,
        (kh, kw),
        bias=linear.bias is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(weight.reshape(linear.out_features, in_channels, kh, kw))
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


def crop_like(
    x: torch.Tensor, ref: torch.Tensor | Sequence[int], offset: int | tuple[int, int] | str = 0
) -> torch.Tensor:
    """Crop the last two dimensions of ``x`` to the spatial size of ``ref``.

    Parameters
    ----------
    x : torch.Tensor, shape (..., H, W)
        The map to crop (typically an upsampled score map).
    ref : torch.Tensor or (int, int)
        A tensor whose last two dimensions give the target size ``(h, w)``, or that size.
    offset : int, (int, int) or "center", default 0
        Index in ``x`` of the first kept row and column. ``0`` keeps the top-left corner (the
        scheme of :class:`FCN`); ``"center"`` splits the excess evenly, the extra pixel at the
        bottom/right; Caffe's original FCN used fixed offsets such as 19, 27 and 31.

    Returns
    -------
    torch.Tensor, shape (..., h, w)
        A view of ``x``.

    Raises
    ------
    TypeError
        If ``ref`` or ``offset`` has the wrong type.
    ValueError
        If ``x`` has fewer than two dimensions or the crop does not fit inside ``x``.

    See Also
    --------
    torchvision.transforms.functional.crop : the same slicing with explicit top/left.
    caffe.layers.Crop : the layer of the original FCN (``axis=2``, ``offset``).

    Notes
    -----
    The result is ``x[..., o_h : o_h + h, o_w : o_w + w]``; it needs :math:`o_h + h \\le H` and
    :math:`o_w + w \\le W`.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(16).reshape(1, 1, 4, 4)
    >>> crop_like(x, (2, 3)).tolist()
    [[[[0, 1, 2], [4, 5, 6]]]]
    >>> crop_like(x, torch.zeros(2, 2), offset="center").tolist()
    [[[[5, 6], [9, 10]]]]
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch.Tensor; got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"`x` must have at least 2 dimensions; got shape {tuple(x.shape)}")
    if isinstance(ref, torch.Tensor):
        if ref.dim() < 2:
            raise ValueError(f"`ref` must have at least 2 dimensions; got shape {tuple(ref.shape)}")
        h, w = ref.shape[-2:]
    else:
        h, w = _pair(ref, "ref")
    big_h, big_w = x.shape[-2:]
    if isinstance(offset, str):
        check_choice(offset, "offset", ["center"])
        top, left = (big_h - h) // 2, (big_w - w) // 2
    else:
        top, left = _pair(offset, "offset", minimum=0)
    if top < 0 or left < 0 or top + h > big_h or left + w > big_w:
        raise ValueError(
            f"crop of size ({h}, {w}) at `offset` ({top}, {left}) does not fit in `x` of spatial size "
            f"({big_h}, {big_w})"
        )
    return x[..., top : top + h, left : left + w]


def crop_offset(layers: Sequence[tuple[str, int, int, int]]) -> int:
    """Offset (in input pixels) at which the last layer's output must be cropped to align with the input.

    Parameters
    ----------
    layers : sequence of (kind, kernel, stride, padding)
        The layers from the input to the map, in order; ``kind`` is ``"conv"``, ``"pool"`` or
        ``"transposed"``. Layers that keep the geometry (3x3, stride 1, padding 1) may be left out.

    Returns
    -------
    int
        ``o`` such that pixel ``o + y`` of the last map describes input pixel ``y``: crop it with
        ``crop_like(x, input, offset=o)``. A negative ``o`` (an unpadded 3x3 convolution gives -1)
        means the map's pixel 0 describes input pixel ``-o``: it must be padded, not cropped.

    Raises
    ------
    TypeError
        If a layer is not a 4-tuple of a kind and three integers.
    ValueError
        If a kind is unknown, a kernel or stride is below 1, a padding is negative, or the map is
        not at the input's scale or not aligned to a whole pixel (then no crop aligns it).

    See Also
    --------
    crop_like : the crop itself.
    convlab.arithmetic.conv_output_size : the sizes these layers produce.

    Notes
    -----
    Cell :math:`x` of a convolution's (or pooling's) output is centred on input position
    :math:`s x + (k - 1)/2 - p`; cell :math:`x` of a transposed convolution's output on
    :math:`(x + p - (k - 1)/2) / s`. Composing the layers gives :math:`x_\\text{in} = a x + b`; the map is at
    the input's scale when :math:`a = 1`, and its cell :math:`x` describes input pixel :math:`x + b`, so the
    crop starts at :math:`-b`.

    Examples
    --------
    >>> pool = ("pool", 2, 2, 0)
    >>> crop_offset([("conv", 3, 1, 100)] + [pool] * 5 + [("conv", 7, 1, 0), ("transposed", 64, 32, 0)])
    19
    >>> crop_offset([pool] * 5 + [("transposed", 64, 32, 16)])  # convlab's FCN-32s
    0
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"`layers` must be a sequence of (kind, kernel, stride, padding); got {layers!r}")
    a, b = 1.0, 0.0
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 4:
            raise TypeError(
                f"`layers[{index}]` must be a (kind, kernel, stride, padding) tuple; got {layer!r}"
            )
        kind, k, stride, p = layer
        check_choice(kind, f"layers[{index}] kind", ["conv", "pool", "transposed"])
        k = check_positive(k, f"layers[{index}] kernel")
        stride = check_positive(stride, f"layers[{index}] stride")
        p = check_nonnegative(p, f"layers[{index}] padding")
        if kind == "transposed":
            a, b = a / stride, a * (p - (k - 1) / 2) / stride + b
        else:
            a, b = a * stride, a * ((k - 1) / 2 - p) + b
    if a != 1:
        raise ValueError(f"`layers` must bring the map back to the input's scale; its scale is {a:g}")
    if b != round(b):
        raise ValueError(f"`layers` leave the map shifted by {-b:g} pixels: no whole-pixel crop aligns it")
    return int(round(-b))


def fcn8s_fuse(
    score_fr: torch.Tensor,
    score_pool4: torch.Tensor,
    score_pool3: torch.Tensor,
    up2: nn.Module,
    up2_pool4: nn.Module,
    up8: nn.Module,
    size: Sequence[int],
) -> torch.Tensor:
    """FCN-8s's fusion of its three score maps, cropped to the input ``size``.

    Parameters
    ----------
    score_fr : torch.Tensor, shape (N, K, h/32, w/32)
        Scores of the ``1/32`` map (after ``fc7``).
    score_pool4 : torch.Tensor, shape (N, K, h/16, w/16)
        Scores computed from ``pool4`` (a ``1 x 1`` convolution).
    score_pool3 : torch.Tensor, shape (N, K, h/8, w/8)
        Scores computed from ``pool3``.
    up2, up2_pool4, up8 : torch.nn.Module
        Upsampling by 2 (``score_fr``), by 2 (the fused ``1/16`` scores) and by 8 (the fused
        ``1/8`` scores), each mapping a side :math:`m` to :math:`f m` or more, aligned at the top-left corner.
    size : (int, int)
        The input's ``(H, W)``.

    Returns
    -------
    torch.Tensor, shape (N, K, H, W)

    Raises
    ------
    ValueError
        If a map is smaller than the one it is cropped to.

    See Also
    --------
    FCN : the network that calls it (``variant="8s"``).
    crop_like : every crop here has offset 0 (the maps are aligned at the top-left corner).

    Notes
    -----
    ``s16 = crop(up2(score_fr), score_pool4) + score_pool4``,
    ``s8 = crop(up2_pool4(s16), score_pool3) + score_pool3``, result ``crop(up8(s8), size)``.
    The skip scores are added unscaled (the staged FCN-8s of the paper; its later "at-once" net
    scales ``pool4`` by 0.01 and ``pool3`` by 0.0001 instead).

    Examples
    --------
    >>> import torch
    >>> up = torch.nn.Upsample(scale_factor=2)
    >>> out = fcn8s_fuse(torch.ones(1, 2, 2, 2), torch.ones(1, 2, 3, 3), torch.ones(1, 2, 5, 5),
    ...                  up, up, torch.nn.Upsample(scale_factor=8), (37, 40))
    >>> tuple(out.shape), float(out[0, 0, 0, 0])
    ((1, 2, 37, 40), 3.0)
    """
    score = crop_like(up2(score_fr), score_pool4) + score_pool4
    score = crop_like(up2_pool4(score), score_pool3) + score_pool3
    return crop_like(up8(score), size)


def _bilinear_upsampler(channels: int, factor: int, learnable: bool) -> nn.ConvTranspose2d:
    """``ConvTranspose2d(C, C, 2f - f%2, stride=f, padding=f//2)`` initialised to bilinear interpolation."""
    from convlab.upsample import bilinear_kernel

    kernel = 2 * factor - factor % 2
    layer = nn.ConvTranspose2d(channels, channels, kernel, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(bilinear_kernel(channels, factor)))
    layer.weight.requires_grad_(learnable)
    return layer


def _backbone(in_channels: int, width: int, depths: Sequence[int], batch_norm: bool):
    """Five VGG-style stages (3x3 convolutions, then 2x2 max pooling, ceil mode) and their widths."""
    channels = [width * min(2**i, 8) for i in range(5)]
    stages = []
    previous = in_channels
    for out, depth in zip(channels, depths, strict=True):
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers.append(nn.Conv2d(previous, out, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            previous = out
        layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
        stages.append(nn.Sequential(*layers))
    return nn.ModuleList(stages), channels


class MatmulConv2d(nn.Conv2d):
    """A :class:`torch.nn.Conv2d` that can run as chapter 5's matrix product: ``unfold``, then one ``matmul``.

    Same parameters, weights and results as ``nn.Conv2d``; only the route to the result differs.
    :class:`FCN` uses it for ``fc6``, a ``7 x 7`` convolution from 512 to 4096 channels whose kernel
    covers almost the whole ``8 x 8`` feature map of a ``256 x 256`` image.

    Attributes
    ----------
    matmul : bool or None
        ``True``: always unfold + matmul; ``False``: always the library convolution; ``None``, the
        default: unfold + matmul for 16-bit work on CUDA (a float16/bfloat16 input, or autocast
        enabled), where cuDNN has no Tensor Core kernel for such a layer. Layers with
        ``groups > 1``, string or non-zero padding modes, or unbatched inputs always take the
        library convolution.

    See Also
    --------
    torch.nn.functional.unfold, convlab.functional.unfold, convlab.matrix.conv_matrix

    Notes
    -----
    With columns :math:`X_{col} = \\operatorname{unfold}(x)` of shape :math:`(N, C k_h k_w, L)` and the weight
    viewed as :math:`(O, C k_h k_w)`, the output is :math:`W X_{col} + b` reshaped to
    :math:`(N, O, H_{out}, W_{out})`.
    Measured on an NVIDIA H100 (torch 2.11, batch 32, bfloat16, channels-last), forward and backward
    of VGG-16's ``fc6``: 32.8 ms as a cuDNN convolution, 3.2 ms as unfold + matmul (TF32
    convolution: about 7 ms). The GPU lab shows how the profiler finds it.

    Examples
    --------
    >>> import torch
    >>> conv = MatmulConv2d(3, 4, 3, padding=1, stride=2)
    >>> conv.matmul = True
    >>> x = torch.randn(2, 3, 7, 6)
    >>> torch.allclose(conv(x), torch.nn.functional.conv2d(x, conv.weight, conv.bias, 2, 1), atol=1e-5)
    True
    """

    matmul: bool | None = None

    def _use_matmul(self, x: torch.Tensor) -> bool:
        if x.dim() != 4 or self.groups != 1 or self.padding_mode != "zeros" or isinstance(self.padding, str):
            return False
        if self.matmul is not None:
            return bool(self.matmul)
        if not x.is_cuda:
            return False
        try:
            autocast = torch.is_autocast_enabled("cuda")
        except TypeError:  # torch < 2.4 takes no device type and answers for CUDA
            autocast = torch.is_autocast_enabled()
        return autocast or x.dtype in (torch.float16, torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``conv2d(x, weight, bias)``, by the route that ``matmul`` selects."""
        if not self._use_matmul(x):
            return super().forward(x)
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        out_h, out_w = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=self.padding, stride=self.stride)
        y = torch.matmul(self.weight.flatten(1), cols)  # (O, C kh kw) @ (N, C kh kw, L) -> (N, O, L)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)[:, None]
        return y.view(n, -1, out_h, out_w)


class Classifier(nn.Module):
    """An image classifier with :class:`FCN`'s backbone and a fully connected head (``fc6``-``fc8``).

    The course's stand-in for an ImageNet network: trained on
    :func:`convlab.data.make_shape_crops`, it becomes FCN-32s through :meth:`FCN.from_classifier`.

    Parameters
    ----------
    num_classes : int
        Number of classes ``K``.
    width : int, default 16
    depths : sequence of 5 ints, default (1, 1, 2, 2, 2)
    fc_channels : int, optional
        Width of ``fc6`` and ``fc7``; default ``16 * width``.
    input_size : int, default 96
        Side of the square images it classifies; ``input_size / 32`` must be an odd integer
        (the side ``k`` of the last feature map, the kernel of the convolutionalized ``fc6``).
    batch_norm : bool, default True
    dropout : float, default 0.0
        Dropout after ``fc6`` and ``fc7``.
    in_channels : int, default 3

    Attributes
    ----------
    stages : torch.nn.ModuleList
        The five backbone stages, the same layers as :class:`FCN`'s.
    fc6 : torch.nn.Linear
        ``C_5 k^2 -> F``.
    fc7 : torch.nn.Linear
        ``F -> F``.
    fc8 : torch.nn.Linear
        ``F -> K``.
    feature_size : int
        ``k = input_size // 32``.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or out of range.

    See Also
    --------
    FCN.from_classifier, convolutionalize

    Examples
    --------
    >>> import torch
    >>> clf = Classifier(4, width=2, fc_channels=8, input_size=96)
    >>> tuple(clf(torch.zeros(5, 3, 96, 96)).shape), clf.feature_size
    ((5, 4), 3)
    """

    def __init__(
        self,
        num_classes: int,
        *,
        width: int = 16,
        depths: Sequence[int] = (1, 1, 2, 2, 2),
        fc_channels: int | None = None,
        input_size: int = 96,
        batch_norm: bool = True,
        dropout: float = 0.0,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        num_classes = check_positive(num_classes, "num_classes")
        width = check_positive(width, "width")
        if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence) or len(depths) != 5:
            raise ValueError(f"`depths` must be a sequence of 5 positive integers; got depths={depths!r}")
        depths = tuple(check_positive(d, "depths") for d in depths)
        fc_channels = 16 * width if fc_channels is None else check_positive(fc_channels, "fc_channels")
        input_size = check_positive(input_size, "input_size")
        if input_size % 32 or (input_size // 32) % 2 == 0:
            raise ValueError(
                f"`input_size` must be 32 times an odd number (96, 160, 224, ...); got {input_size}"
            )
        if not isinstance(batch_norm, bool):
            raise TypeError(f"`batch_norm` must be a bool; got batch_norm={batch_norm!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be a number in [0, 1); got dropout={dropout!r}")
        in_channels = check_positive(in_channels, "in_channels")
        self.num_classes = num_classes
        self.input_size = input_size
        self.feature_size = input_size // 32
        self.config = dict(
            width=width,
            depths=depths,
            fc_channels=fc_channels,
            batch_norm=batch_norm,
            dropout=dropout,
            in_channels=in_channels,
        )
        self.stages, channels = _backbone(in_channels, width, depths, batch_norm)
        self.fc6 = nn.Linear(channels[4] * self.feature_size**2, fc_channels)
        self.fc7 = nn.Linear(fc_channels, fc_channels)
        self.fc8 = nn.Linear(fc_channels, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores ``(N, K)`` for images ``(N, C, input_size, input_size)``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[-2:]) != (self.input_size,) * 2:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"`x` must be a tensor (N, C, {self.input_size}, {self.input_size}); got {shape}"
            )
        for stage in self.stages:
            x = stage(x)
        x = self.dropout(F.relu(self.fc6(x.flatten(1))))
        x = self.dropout(F.relu(self.fc7(x)))
        return self.fc8(x)


class FCN(nn.Module):
    """A fully convolutional network (FCN-32s, -16s or -8s) on a small VGG-style backbone.

    Parameters
    ----------
    num_classes : int
        Number of classes ``K`` (output channels).
    variant : {"32s", "16s", "8s"}, default "8s"
        Stride of the finest prediction: ``"32s"`` upsamples the ``1/32`` score map in one step,
        ``"16s"`` first fuses scores from ``pool4`` (``1/16``), ``"8s"`` also from ``pool3`` (``1/8``);
        see :data:`VARIANTS`.
    width : int, default 16
        Channels of the first stage; stage ``i`` has ``width * min(2**i, 8)`` (VGG: 64, 128, 256,
        512, 512).
    depths : sequence of 5 ints, default (1, 1, 2, 2, 2)
        Number of 3x3 convolutions in each of the five stages (VGG-16: ``(2, 2, 3, 3, 3)``).
    fc_channels : int, optional
        Channels of ``fc6`` and ``fc7`` (VGG: 4096); default ``16 * width``.
    fc_kernel : int, default 3
        Odd kernel size of ``fc6`` (VGG: 7), padded to keep the ``1/32`` map's size.
    batch_norm : bool, default True
        Batch normalisation after every backbone convolution (makes training from scratch fast).
    dropout : float, default 0.0
        Dropout probability after ``fc6`` and ``fc7`` (VGG: 0.5).
    in_channels : int, default 3
        Channels of the input image.
    learnable_upsampling : {"intermediate", True, False}, default "intermediate"
        Which bilinear-initialised transposed convolutions are trained. ``"intermediate"`` (the
        paper's text): the final upsampler stays fixed bilinear interpolation, the ``x2`` layers of
        FCN-16s/8s are learned; ``False``: all fixed (the paper's released nets); ``True``: all learned.

    Attributes
    ----------
    stride : int
        32, the network stride (five 2x2 poolings).
    skips : tuple of str
        ``VARIANTS[variant]``.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or out of range (e.g. an unknown ``variant``).

    See Also
    --------
    torchvision.models.segmentation.fcn_resnet50 : torchvision's FCN (ResNet backbone, no skips).
    convolutionalize, crop_like : the two operations every FCN is built from.

    Notes
    -----
    **Any input size.** Convolutions are 3x3 with padding 1 and pooling is 2x2, stride 2 with
    ``ceil_mode=True``, so a side of length :math:`n` becomes :math:`\\lceil n / 2^i \\rceil` after stage
    :math:`i` and nothing is lost at odd sizes. Each upsampling layer is a transposed convolution with kernel
    :math:`2f - f \\bmod 2`, stride :math:`f`, padding :math:`\\lfloor f/2 \\rfloor`, which maps :math:`m` to
    exactly :math:`f m` and with bilinear weights equals
    ``interpolate(scale_factor=f, mode="bilinear", align_corners=False)`` away from the border. Cell :math:`i`
    of the :math:`1/2^k` map and pixel :math:`f i + j` of its upsampled version then describe the same place,
    so the upsampled map, which is at least as large as its partner
    (:math:`2 \\lceil n / 2^{k} \\rceil \\ge \\lceil n / 2^{k-1} \\rceil`), is cropped with offset 0: only
    excess rows and columns at the bottom and right are removed. The original FCN instead pads the input by
    100 and crops with offsets 5, 9, 19, 27 and 31; the chapter derives both.

    **Fusion.** ``score = crop(up2(score_fr), pool4) + score_pool4(pool4)`` (16s, 8s), then
    ``crop(up2(score), pool3) + score_pool3(pool3)`` (8s), then the final upsampling by 32, 16 or 8
    and ``crop_like(score, input)``. The skip score layers start at zero, so a new FCN-8s predicts from
    the coarse ``1/32`` scores alone and learns how much to trust the finer ones, as in the
    original "at once" training.

    Examples
    --------
    >>> import torch
    >>> net = FCN(num_classes=4, variant="8s", width=4)
    >>> tuple(net(torch.zeros(2, 3, 33, 50)).shape)
    (2, 4, 33, 50)
    >>> net.stride, net.skips
    (32, ('pool4', 'pool3'))
    """

    stride = 32

    def __init__(
        self,
        num_classes: int,
        variant: str = "8s",
        *,
        width: int = 16,
        depths: Sequence[int] = (1, 1, 2, 2, 2),
        fc_channels: int | None = None,
        fc_kernel: int = 3,
        batch_norm: bool = True,
        dropout: float = 0.0,
        in_channels: int = 3,
        learnable_upsampling: bool | str = "intermediate",
    ) -> None:
        super().__init__()
        num_classes = check_positive(num_classes, "num_classes")
        if not isinstance(variant, str):
            raise TypeError(f"`variant` must be a string; got variant={variant!r}")
        check_choice(variant, "variant", list(VARIANTS))
        width = check_positive(width, "width")
        if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence) or len(depths) != 5:
            raise ValueError(f"`depths` must be a sequence of 5 positive integers; got depths={depths!r}")
        depths = tuple(check_positive(d, "depths") for d in depths)
        fc_channels = 16 * width if fc_channels is None else check_positive(fc_channels, "fc_channels")
        fc_kernel = check_positive(fc_kernel, "fc_kernel")
        if fc_kernel % 2 == 0:
            raise ValueError(
                f"`fc_kernel` must be odd (it is padded symmetrically); got fc_kernel={fc_kernel}"
            )
        if not isinstance(batch_norm, bool):
            raise TypeError(f"`batch_norm` must be a bool; got batch_norm={batch_norm!r}")
        if not (isinstance(learnable_upsampling, bool) or learnable_upsampling == "intermediate"):
            raise ValueError(
                "`learnable_upsampling` must be 'intermediate', True or False; "
                f"got learnable_upsampling={learnable_upsampling!r}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be a number in [0, 1); got dropout={dropout!r}")
        in_channels = check_positive(in_channels, "in_channels")

        self.num_classes = num_classes
        self.variant = variant
        self.skips = VARIANTS[variant]
        self.learnable_upsampling = learnable_upsampling
        self.config = dict(
            width=width,
            depths=depths,
            fc_channels=fc_channels,
            fc_kernel=fc_kernel,
            batch_norm=batch_norm,
            dropout=dropout,
            in_channels=in_channels,
        )
        self.stages, channels = _backbone(in_channels, width, depths, batch_norm)  # pool1 ... pool5

        head: list[nn.Module] = [
            MatmulConv2d(channels[4], fc_channels, fc_kernel, padding=fc_kernel // 2),  # fc6
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
            nn.Conv2d(fc_channels, fc_channels, 1),  # fc7
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
        ]
        self.fc = nn.Sequential(*head)
        self.score_fr = nn.Conv2d(fc_channels, num_classes, 1)
        intermediate = bool(learnable_upsampling)  # "intermediate" and True
        if "pool4" in self.skips:
            self.score_pool4 = nn.Conv2d(channels[3], num_classes, 1)
            self.upscore2 = _bilinear_upsampler(num_classes, 2, intermediate)
        if "pool3" in self.skips:
            self.score_pool3 = nn.Conv2d(channels[2], num_classes, 1)
            self.upscore_pool4 = _bilinear_upsampler(num_classes, 2, intermediate)
        final = {"32s": 32, "16s": 16, "8s": 8}[variant]
        self.upscore = _bilinear_upsampler(num_classes, final, learnable_upsampling is True)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.score_fr.weight, std=0.01)
        for name in ("score_pool4", "score_pool3"):
            if hasattr(self, name):  # skips start silent: FCN-8s begins as FCN-32s
                nn.init.zeros_(getattr(self, name).weight)
                nn.init.zeros_(getattr(self, name).bias)

    @classmethod
    def vgg16(cls, num_classes: int = 21, variant: str = "8s", **kwargs) -> FCN:
        """The VGG-16-sized FCN of the paper: widths 64-512, depths (2, 2, 3, 3, 3), 4096-channel 7x7 fc6.

        Keyword arguments override the VGG-16 settings (e.g. ``width=8`` for a CPU-sized copy).

        Examples
        --------
        >>> net = FCN.vgg16(21, "8s", width=2, fc_channels=8)
        >>> sum(isinstance(m, torch.nn.Conv2d) for m in net.stages.modules())
        13
        """
        settings = dict(
            width=64, depths=(2, 2, 3, 3, 3), fc_channels=4096, fc_kernel=7, batch_norm=False, dropout=0.5
        )
        settings.update(kwargs)
        return cls(num_classes, variant, **settings)

    @classmethod
    def from_classifier(
        cls,
        classifier: Classifier,
        variant: str = "32s",
        *,
        learnable_upsampling: bool | str = "intermediate",
    ) -> FCN:
        """An FCN whose backbone and head are a trained :class:`Classifier`, convolutionalized.

        The backbone is copied; ``fc6`` becomes a ``k x k`` convolution padded by ``k // 2`` (so the
        ``1/32`` map keeps its size and the crops stay at offset 0), ``fc7`` and ``fc8`` become
        ``1 x 1`` convolutions (``fc8`` is ``score_fr``); the skip score layers start at zero and
        the upsamplers at bilinear interpolation.

        Parameters
        ----------
        classifier : Classifier
            The trained network (left unchanged).
        variant : {"32s", "16s", "8s"}, default "32s"
        learnable_upsampling : {"intermediate", True, False}, default "intermediate"

        Returns
        -------
        FCN
            On the classifier's device; in its training mode.

        Raises
        ------
        TypeError
            If ``classifier`` is not a :class:`Classifier`.

        See Also
        --------
        convolutionalize, from_fcn

        Examples
        --------
        >>> import torch
        >>> clf = Classifier(4, width=2, fc_channels=8, input_size=96)
        >>> net = FCN.from_classifier(clf).eval()
        >>> x = torch.randn(1, 3, 96, 96)
        >>> scores = net.score_fr(net.fc(net.stages[4](net.stages[3](net.stages[2](
        ...     net.stages[1](net.stages[0](x)))))))
        >>> torch.allclose(scores[0, :, 1, 1], clf.eval()(x)[0], atol=1e-5)  # the centre cell
        True
        """
        if not isinstance(classifier, Classifier):
            raise TypeError(f"`classifier` must be a convlab.fcn.Classifier; got {type(classifier).__name__}")
        c = classifier.config
        net = cls(
            classifier.num_classes,
            variant,
            width=c["width"],
            depths=c["depths"],
            fc_channels=c["fc_channels"],
            fc_kernel=classifier.feature_size,
            batch_norm=c["batch_norm"],
            dropout=c["dropout"],
            in_channels=c["in_channels"],
            learnable_upsampling=learnable_upsampling,
        )
        k = classifier.feature_size
        with torch.no_grad():
            net.stages.load_state_dict(classifier.stages.state_dict())
            for conv, linear, size in ((net.fc[0], classifier.fc6, k), (net.fc[3], classifier.fc7, 1)):
                conv.weight.copy_(convolutionalize(linear, conv.in_channels, size).weight)
                conv.bias.copy_(linear.bias)
            net.score_fr.weight.copy_(convolutionalize(classifier.fc8, classifier.fc7.out_features, 1).weight)
            net.score_fr.bias.copy_(classifier.fc8.bias)
        return net.to(classifier.fc6.weight.device)

    @classmethod
    def from_fcn(cls, previous: FCN, variant: str, *, learnable_upsampling: bool | str | None = None) -> FCN:
        """A finer FCN initialised from a trained coarser one (FCN-16s from 32s, FCN-8s from 16s).

        Every layer the two share (backbone, ``fc6``, ``fc7``, ``score_fr`` and, from a 16s,
        ``score_pool4`` and ``upscore2``) is copied; the new skip score layer starts at zero, and
        the final upsampler is a fresh bilinear one. So the new network starts from the coarse
        scores of ``previous``, upsampled bilinearly in two steps (x2, then x16 or x8) instead of
        one: close to what ``previous`` predicted, not identical (the two steps interpolate
        differently, and the x2 layer fades towards zero at the map's border).

        Parameters
        ----------
        previous : FCN
            The trained network (left unchanged).
        variant : {"16s", "8s"}
            Must have more skips than ``previous``.
        learnable_upsampling : {"intermediate", True, False}, optional
            Default: that of ``previous``.

        Returns
        -------
        FCN
            On ``previous``'s device.

        Raises
        ------
        TypeError
            If ``previous`` is not an :class:`FCN`.
        ValueError
            If ``variant`` is not finer than ``previous.variant``.

        See Also
        --------
        from_classifier

        Examples
        --------
        >>> import torch
        >>> coarse = FCN(4, "32s", width=2)
        >>> fine = FCN.from_fcn(coarse, "16s").eval()
        >>> torch.equal(fine.score_fr.weight, coarse.score_fr.weight)
        True
        >>> float(fine.score_pool4.weight.detach().abs().sum())
        0.0
        """
        if not isinstance(previous, FCN):
            raise TypeError(f"`previous` must be a convlab.fcn.FCN; got {type(previous).__name__}")
        check_choice(variant, "variant", list(VARIANTS))
        if len(VARIANTS[variant]) <= len(previous.skips):
            raise ValueError(
                f"`variant` must be finer than previous.variant={previous.variant!r}; got variant={variant!r}"
            )
        mode = previous.learnable_upsampling if learnable_upsampling is None else learnable_upsampling
        net = cls(previous.num_classes, variant, **previous.config, learnable_upsampling=mode)
        own = net.state_dict()
        shared = {
            key: value
            for key, value in previous.state_dict().items()
            if not key.startswith("upscore.") and key in own and own[key].shape == value.shape
        }
        net.load_state_dict(shared, strict=False)
        return net.to(next(previous.parameters()).device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores ``(N, K, H, W)`` for an image batch ``(N, C, H, W)`` of any ``H, W``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"`x` must be a 4-D tensor (N, C, H, W); got {shape}")
        pools = []
        features = x
        for stage in self.stages:
            features = stage(features)
            pools.append(features)
        score = self.score_fr(self.fc(features))
        if self.variant == "8s":
            s4, s3 = self.score_pool4(pools[3]), self.score_pool3(pools[2])
            return fcn8s_fuse(score, s4, s3, self.upscore2, self.upscore_pool4, self.upscore, x.shape[-2:])
        if "pool4" in self.skips:
            score = crop_like(self.upscore2(score), pools[3]) + self.score_pool4(pools[3])
        return crop_like(self.upscore(score), x)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, variant={self.variant!r}"
