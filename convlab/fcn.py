"""Fully convolutional networks for semantic segmentation, in torch (chapter 7).

Long, Shelhamer and Darrell's FCN turns a classification network into a dense predictor in three
steps, each a piece of this module:

1. :func:`convolutionalize` -- a fully connected layer becomes a convolution with the same weights,
   so the network accepts any input size and slides the classifier over it at the network stride.
2. Transposed convolutions initialised to bilinear interpolation
   (:func:`convlab.upsample.bilinear_kernel`) bring the coarse score map back to the input size.
3. Skips from ``pool4`` and ``pool3`` add finer predictions: :class:`FCN` with ``variant`` ``"32s"``,
   ``"16s"`` or ``"8s"``. :func:`crop_like` trims every upsampled map to its partner's size.

See the chapter :doc:`/chapters/fcn`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from convlab._validate import _pair, check_choice, check_positive
from convlab.arithmetic import conv_output_size

__all__ = ["VARIANTS", "convolutionalize", "crop_like", "MatmulConv2d", "FCN"]

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
    On a ``(kh, kw)`` map the convolution's output is ``1 x 1`` and equals ``linear(x.flatten(1))``.
    On a larger ``(H, W)`` map it returns ``(H - kh + 1) x (W - kw + 1)`` scores, the FC layer
    applied to every window at stride 1. Behind a backbone of stride $s$ that is the original
    classifier slid over the image at stride $s$: a $224$ window at stride $32$ over a $384$ image
    gives $(384 - 224)/32 + 1 = 6$ positions per side, and the convolutional network computes the
    $12 \\times 12$ feature map once and returns $(12 - 7) + 1 = 6$ scores per side.

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
    The result is ``x[..., o_h : o_h + h, o_w : o_w + w]``; it needs $o_h + h \\le H$ and $o_w + w \\le W$.

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


def _bilinear_upsampler(channels: int, factor: int, learnable: bool) -> nn.ConvTranspose2d:
    """``ConvTranspose2d(C, C, 2f - f%2, stride=f, padding=f//2)`` initialised to bilinear interpolation."""
    from convlab.upsample import bilinear_kernel

    kernel = 2 * factor - factor % 2
    layer = nn.ConvTranspose2d(channels, channels, kernel, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(bilinear_kernel(channels, factor)))
    layer.weight.requires_grad_(learnable)
    return layer


class MatmulConv2d(nn.Conv2d):
    """A :class:`torch.nn.Conv2d` that can run as chapter 4's matrix product: ``unfold``, then one ``matmul``.

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
    With columns $X_{col} = \\operatorname{unfold}(x)$ of shape $(N, C k_h k_w, L)$ and the weight
    viewed as $(O, C k_h k_w)$, the output is $W X_{col} + b$ reshaped to $(N, O, H_{out}, W_{out})$.
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
    learnable_upsampling : bool, default True
        Whether the bilinear-initialised transposed convolutions are trained.

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
    ``ceil_mode=True``, so a side of length $n$ becomes $\\lceil n / 2^i \\rceil$ after stage $i$ and
    nothing is lost at odd sizes. Each upsampling layer is a transposed convolution with kernel
    $2f - f \\bmod 2$, stride $f$, padding $\\lfloor f/2 \\rfloor$, which maps $m$ to exactly $f m$ and
    with bilinear weights equals ``interpolate(scale_factor=f, mode="bilinear", align_corners=False)``
    away from the border. Cell $i$ of the $1/2^k$ map and pixel $f i + j$ of its upsampled version
    then describe the same place, so the upsampled map, which is at least as large as its partner
    ($2 \\lceil n / 2^{k} \\rceil \\ge \\lceil n / 2^{k-1} \\rceil$), is cropped with offset 0: only
    excess rows and columns at the bottom and right are removed. The original FCN instead pads the
    input by 100 and crops with offsets 5, 9, 19, 27 and 31; the chapter derives both.

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
        learnable_upsampling: bool = True,
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
        for name, flag in (("batch_norm", batch_norm), ("learnable_upsampling", learnable_upsampling)):
            if not isinstance(flag, bool):
                raise TypeError(f"`{name}` must be a bool; got {name}={flag!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be a number in [0, 1); got dropout={dropout!r}")
        in_channels = check_positive(in_channels, "in_channels")

        self.num_classes = num_classes
        self.variant = variant
        self.skips = VARIANTS[variant]
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
        self.stages = nn.ModuleList(stages)  # outputs: pool1 ... pool5

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
        if "pool4" in self.skips:
            self.score_pool4 = nn.Conv2d(channels[3], num_classes, 1)
            self.upscore2 = _bilinear_upsampler(num_classes, 2, learnable_upsampling)
        if "pool3" in self.skips:
            self.score_pool3 = nn.Conv2d(channels[2], num_classes, 1)
            self.upscore_pool4 = _bilinear_upsampler(num_classes, 2, learnable_upsampling)
        final = {"32s": 32, "16s": 16, "8s": 8}[variant]
        self.upscore = _bilinear_upsampler(num_classes, final, learnable_upsampling)
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
        if "pool4" in self.skips:
            score = crop_like(self.upscore2(score), pools[3]) + self.score_pool4(pools[3])
        if "pool3" in self.skips:
            score = crop_like(self.upscore_pool4(score), pools[2]) + self.score_pool3(pools[2])
        return crop_like(self.upscore(score), x)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, variant={self.variant!r}"
