"""A synthetic segmentation data set: coloured shapes on textured, noisy backgrounds (chapter 8).

Every image holds one to three shapes -- circles, squares and upright triangles, of random size,
colour and position -- drawn in turn, so later shapes occlude earlier ones. The mask gives every
pixel its class: 0 background, 1 circle, 2 square, 3 triangle. Colour says nothing about the class,
so a network has to look at the outline. The images are drawn with coordinate grids (no loop over
pixels), the set is a pure function of its seed, and nothing is downloaded.

See the chapter :doc:`/chapters/fcn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlab._validate import _pair, check_int, check_nonnegative, check_positive

# ShapesDataset is built lazily (module __getattr__).
__all__ = [
    "CLASS_NAMES",
    "IGNORE_INDEX",
    "make_shapes",
    "make_shape_crops",
    "ignore_boundaries",
    "ShapesDataset",  # noqa: F822
]

#: Class names, indexed by the label stored in the masks.
CLASS_NAMES: tuple[str, ...] = ("background", "circle", "square", "triangle")

#: Label of the "void" pixels that losses and metrics leave out (PASCAL VOC's 255).
IGNORE_INDEX: int = 255

_MAX_SHAPES = 3
_MAX_TILT = 0.0  # radians; squares and triangles stand upright, tilted by at most this
_PIXELS_PER_CHUNK = 2**20  # pixels drawn at once: bounds the temporary (chunk, H, W) arrays


def make_shapes(n: int, size: int | tuple[int, int] = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` images of circles, squares and triangles with their segmentation masks.

    Parameters
    ----------
    n : int
        Number of images, ``n >= 1``.
    size : int or (int, int), default 64
        Image height and width ``(H, W)``; an int gives a square image. Each side must be at least 16.
    seed : int, default 0
        Seed of the random generator: the same ``(n, size, seed)`` always gives the same arrays,
        and the first ``m`` images of a set do not depend on ``n``.

    Returns
    -------
    images : numpy.ndarray, shape (n, 3, H, W), float32
        RGB images with values in ``[0, 1]``.
    masks : numpy.ndarray, shape (n, H, W), int64
        Class of every pixel: 0 background, 1 circle, 2 square, 3 triangle (see :data:`CLASS_NAMES`).

    Raises
    ------
    TypeError
        If ``n``, ``size`` or ``seed`` is not an integer (pair).
    ValueError
        If ``n < 1``, a side of ``size`` is below 16, or ``seed < 0``.

    See Also
    --------
    ShapesDataset : the same images as a :class:`torch.utils.data.Dataset`.
    torchvision.datasets.VOCSegmentation : the real-photograph benchmark this set stands in for.

    Notes
    -----
    A shape of class :math:`c` with centre :math:`(c_y, c_x)` and radius :math:`r` covers the pixels whose
    offsets :math:`(u, v)` from the centre (rotated by a tilt :math:`\\theta`, zero in this release) satisfy
    :math:`u^2 + v^2 \\le r^2` (circle),
    :math:`\\max(\\lvert u\\rvert, \\lvert v\\rvert) \\le 1.2\\, r / \\sqrt{2}` (square) or the three
    half-plane tests of an equilateral triangle whose edges lie at distance :math:`0.625\\, r` from the centre
    (triangle). Radii lie in :math:`[\\min(H, W)/6, \\min(H, W)/3]`. Backgrounds are a random colour plus two
    random sinusoidal gratings, plus Gaussian pixel noise (:math:`\\sigma = 0.04`) over the whole image.

    Examples
    --------
    >>> images, masks = make_shapes(2, size=(32, 48), seed=1)
    >>> images.shape, images.dtype, masks.shape, masks.dtype
    ((2, 3, 32, 48), dtype('float32'), (2, 32, 48), dtype('int64'))
    >>> bool(images.min() >= 0 and images.max() <= 1), set(masks.ravel().tolist()) <= {0, 1, 2, 3}
    (True, True)
    """
    n = check_positive(n, "n")
    height, width = _pair(size, "size", minimum=16)
    seed = check_nonnegative(check_int(seed, "seed"), "seed")
    images = np.empty((n, 3, height, width), dtype=np.float32)
    masks = np.empty((n, height, width), dtype=np.int64)
    # Images are drawn in chunks (bounded temporaries); each chunk has its own child generator and
    # draws its random numbers in a fixed order, so image i does not depend on n.
    chunk = max(1, min(256, _PIXELS_PER_CHUNK // (height * width)))
    children = np.random.SeedSequence(seed).spawn((n + chunk - 1) // chunk)
    for index, child in enumerate(children):
        lo = index * chunk
        hi = min(n, lo + chunk)
        images[lo:hi], masks[lo:hi] = _draw_chunk(np.random.default_rng(child), chunk, hi - lo, height, width)
    return images, masks


def _draw_chunk(
    rng: np.random.Generator, chunk: int, m: int, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the first ``m`` images of a chunk of ``chunk``; parameters are drawn for the whole chunk."""
    side = min(height, width)
    y = np.arange(height, dtype=np.float32)[:, None] + 0.5  # pixel centres
    x = np.arange(width, dtype=np.float32)[None, :] + 0.5

    def uniform(lo: float, hi: float, *shape: int) -> np.ndarray:
        return rng.uniform(lo, hi, size=(chunk, *shape)).astype(np.float32)[:m]

    # Background: a random colour modulated by two sinusoidal gratings of random direction.
    base = uniform(0.15, 0.85, 3, 1, 1)
    freq = uniform(0.05, 0.4, 2, 1, 1)
    angle = uniform(0, np.pi, 2, 1, 1)
    phase = uniform(0, 2 * np.pi, 2, 1, 1)
    amp = uniform(0.02, 0.1, 2, 1, 1)
    gratings = amp * np.sin(freq * (np.cos(angle) * x + np.sin(angle) * y) + phase)  # (m, 2, H, W)
    image = base + gratings.sum(axis=1, keepdims=True)  # (m, 3, H, W)
    mask = np.zeros((m, height, width), dtype=np.int64)

    # Shapes: how many, which class, where, how big, which way round, which colour.
    count = rng.integers(1, _MAX_SHAPES + 1, size=chunk)[:m]
    kind = rng.integers(1, 4, size=(chunk, _MAX_SHAPES))[:m]
    radius = uniform(side / 6, side / 3, _MAX_SHAPES)
    cy = uniform(0, height, _MAX_SHAPES)
    cx = uniform(0, width, _MAX_SHAPES)
    theta = uniform(-_MAX_TILT, _MAX_TILT, _MAX_SHAPES)
    colour = uniform(0, 1, _MAX_SHAPES, 3)
    shade = uniform(-0.08, 0.08, _MAX_SHAPES, 1)
    # Keep every shape visible: a colour too close to the background mean is mirrored away from it.
    too_close = np.linalg.norm(colour - base[:, None, :, 0, 0], axis=-1) < 0.35
    colour = np.where(too_close[..., None], 1.0 - colour, colour)
    noise = rng.normal(0, 0.04, size=(m, 3, height, width)).astype(np.float32)  # drawn last, in order

    for slot in range(_MAX_SHAPES):
        present = slot < count  # (m,)
        cover = _cover(kind[:, slot], cy[:, slot], cx[:, slot], radius[:, slot], theta[:, slot], y, x)
        cover &= present[:, None, None]
        # A gentle linear shading across the shape gives it texture of its own.
        r = radius[:, slot, None, None]
        ramp = shade[:, slot, :, None, None] * ((y - cy[:, slot, None, None]) / r)[:, None]
        fill = colour[:, slot, :, None, None] + ramp
        image = np.where(cover[:, None], fill, image)
        mask = np.where(cover, kind[:, slot, None, None], mask)

    image = np.clip(image + noise, 0.0, 1.0).astype(np.float32)
    return image, mask


def _cover(kind, cy, cx, radius, theta, y, x) -> np.ndarray:
    """Boolean ``(m, H, W)``: pixels inside shape ``kind`` (1 circle, 2 square, 3 triangle)."""
    dy = y[None] - cy[:, None, None]
    dx = x[None] - cx[:, None, None]
    cos = np.cos(theta)[:, None, None]
    sin = np.sin(theta)[:, None, None]
    u = cos * dx + sin * dy
    v = -sin * dx + cos * dy
    r = radius[:, None, None]
    circle = u * u + v * v <= r * r
    square = np.maximum(np.abs(u), np.abs(v)) <= r * (1.2 / np.sqrt(2))
    # Equilateral triangle: three edges at distance 0.625 r from the centre (1.25 times the triangle
    # inscribed in the circle of radius r), with outward normals at 90, 210 and 330 degrees.
    triangle = np.ones_like(circle)
    for normal in (np.pi / 2, 7 * np.pi / 6, 11 * np.pi / 6):
        triangle &= u * np.cos(normal) + v * np.sin(normal) <= r / 2 * 1.25
    k = kind[:, None, None]
    return np.where(k == 1, circle, np.where(k == 2, square, triangle))


def make_shape_crops(n: int, size: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` classification crops: one shape near the centre, or background only.

    The course's stand-in for ImageNet: a classifier trained on these crops learns the outlines that
    :func:`make_shapes` scenes are made of, and chapter 8 turns it into a segmentation network.

    Parameters
    ----------
    n : int
        Number of crops, ``n >= 1``.
    size : int, default 96
        Side of the square crops, at least 16.
    seed : int, default 0
        Seed of the random generator (same arguments, same arrays).

    Returns
    -------
    images : numpy.ndarray, shape (n, 3, size, size), float32
        RGB crops with values in ``[0, 1]``, drawn like :func:`make_shapes` backgrounds.
    labels : numpy.ndarray, shape (n,), int64
        The class of the crop's shape (1 circle, 2 square, 3 triangle) or 0 for a crop without one;
        the four labels are equally likely.

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If ``n < 1``, ``size < 16`` or ``seed < 0``.

    See Also
    --------
    make_shapes : the segmentation scenes.

    Notes
    -----
    The shape's centre lies within ``size / 8`` of the crop's centre and its radius in
    ``[size / 5, 0.4 size]``. A square always fits in the crop; a circle can reach its border, and a
    triangle, whose corners lie :math:`1.25\\, r` from its centre, can lose a corner to it.

    Examples
    --------
    >>> images, labels = make_shape_crops(4, size=32, seed=0)
    >>> images.shape, labels.shape, labels.dtype
    ((4, 3, 32, 32), (4,), dtype('int64'))
    """
    n = check_positive(n, "n")
    size = check_int(size, "size", minimum=16)
    seed = check_nonnegative(check_int(seed, "seed"), "seed")
    rng = np.random.default_rng(seed)
    y = np.arange(size, dtype=np.float32)[:, None] + 0.5
    x = np.arange(size, dtype=np.float32)[None, :] + 0.5
    base = rng.uniform(0.15, 0.85, (n, 3, 1, 1)).astype(np.float32)
    freq, angle = rng.uniform(0.05, 0.4, (n, 2, 1, 1)), rng.uniform(0, np.pi, (n, 2, 1, 1))
    phase, amp = rng.uniform(0, 2 * np.pi, (n, 2, 1, 1)), rng.uniform(0.02, 0.1, (n, 2, 1, 1))
    gratings = amp * np.sin(freq * (np.cos(angle) * x + np.sin(angle) * y) + phase)
    image = (base + gratings.sum(axis=1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, 4, size=n)
    centre = size / 2 + rng.uniform(-size / 8, size / 8, (2, n))
    radius = rng.uniform(size / 5, 0.4 * size, n)
    colour = rng.uniform(0, 1, (n, 3))
    too_close = np.linalg.norm(colour - base[:, :, 0, 0], axis=-1) < 0.35
    colour = np.where(too_close[:, None], 1.0 - colour, colour)
    shade = rng.uniform(-0.08, 0.08, (n, 1))
    cover = _cover(np.maximum(labels, 1), centre[0], centre[1], radius, np.zeros(n), y, x)
    cover &= (labels > 0)[:, None, None]
    ramp = shade[:, :, None, None] * ((y - centre[0][:, None, None]) / radius[:, None, None])[:, None]
    fill = colour[:, :, None, None] + ramp
    image = np.where(cover[:, None], fill, image)
    noise = rng.normal(0, 0.04, size=image.shape)
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32), labels.astype(np.int64)


def ignore_boundaries(masks: Any, width: int = 1, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Mark a band around every boundary between classes as "void", as PASCAL VOC's masks do.

    Parameters
    ----------
    masks : array_like of int, shape (..., H, W)
        Class of every pixel.
    width : int, default 1
        A pixel is void if a pixel of another class lies within ``width`` pixels of it (in the
        ``(2 width + 1)``-square around it, clipped at the image edge); ``0`` changes nothing.
    ignore_index : int, default 255
        The label given to void pixels; pass the same value to the loss and the metrics.

    Returns
    -------
    numpy.ndarray of int64, same shape
        A copy of ``masks`` with the band set to ``ignore_index``.

    Raises
    ------
    TypeError
        If ``masks`` is not integer or ``width``/``ignore_index`` is not an int.
    ValueError
        If ``masks`` has fewer than two dimensions, ``width < 0``, or ``ignore_index`` is a class
        label that occurs in ``masks``.

    See Also
    --------
    convlab.metrics.confusion_matrix : leaves the band out with ``ignore_index=255``.
    torch.nn.functional.cross_entropy : leaves it out of the loss with ``ignore_index=255``.

    Notes
    -----
    Both pixels of a pair of neighbours with different labels become void, so a band of width :math:`w` is
    :math:`2w` pixels wide. The labelling of such pixels is the least certain (a human annotator's outline is
    rarely exact to the pixel); VOC's band is 5 pixels wide.

    Examples
    --------
    >>> ignore_boundaries([[0, 0, 0, 1, 1, 1]], width=1)
    array([[  0,   0, 255, 255,   1,   1]])
    """
    arr = np.asarray(masks)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`masks` must hold integer class labels; got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(f"`masks` must have at least 2 dimensions (..., H, W); got shape {arr.shape}")
    width = check_nonnegative(check_int(width, "width"), "width")
    ignore_index = check_int(ignore_index, "ignore_index")
    if arr.size and np.any(arr == ignore_index):
        raise ValueError(f"`ignore_index` ({ignore_index}) already occurs in `masks`; choose another value")
    arr = arr.astype(np.int64)
    pad = [(0, 0)] * (arr.ndim - 2) + [(width, width), (width, width)]
    padded = np.pad(arr, pad, mode="edge")
    h, w = arr.shape[-2:]
    void = np.zeros(arr.shape, dtype=bool)
    for dy in range(2 * width + 1):
        for dx in range(2 * width + 1):
            void |= padded[..., dy : dy + h, dx : dx + w] != arr
    return np.where(void, ignore_index, arr)


def __getattr__(name: str) -> Any:
    # ShapesDataset subclasses torch's Dataset; it is built on first use so that importing
    # convlab.data (and calling make_shapes) does not import torch.
    if name == "ShapesDataset":
        cls = _build_dataset_class()
        globals()["ShapesDataset"] = cls
        return cls
    raise AttributeError(f"module 'convlab.data' has no attribute {name!r}")


def _build_dataset_class() -> type:
    import torch
    from torch.utils.data import Dataset

    class ShapesDataset(Dataset):
        """The :func:`make_shapes` images as a :class:`torch.utils.data.Dataset`.

        Parameters
        ----------
        n : int
            Number of images.
        size : int or (int, int), default 64
            Image height and width.
        seed : int, default 0
            Seed passed to :func:`make_shapes`.

        Attributes
        ----------
        images : torch.Tensor
            Float32 images of shape ``(n, 3, H, W)``.
        masks : torch.Tensor
            Int64 class maps of shape ``(n, H, W)``.

        See Also
        --------
        make_shapes : the NumPy arrays behind the data set.
        torch.utils.data.TensorDataset : the generic equivalent.

        Notes
        -----
        Item ``i`` is the pair ``(image, mask)`` of shapes :math:`(3, H, W)` and :math:`(H, W)`. The whole set
        is drawn once at construction and held in memory (:math:`4 \\cdot 4 H W n` bytes).

        Examples
        --------
        >>> from convlab.data import ShapesDataset
        >>> data = ShapesDataset(3, size=32, seed=0)
        >>> image, mask = data[0]
        >>> len(data), tuple(image.shape), tuple(mask.shape), mask.dtype
        (3, (3, 32, 32), (32, 32), torch.int64)
        """

        def __init__(self, n: int, size: int | tuple[int, int] = 64, seed: int = 0) -> None:
            images, masks = make_shapes(n, size=size, seed=seed)
            self.images = torch.from_numpy(images)
            self.masks = torch.from_numpy(masks)

        def __len__(self) -> int:
            return self.images.shape[0]

        def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
            return self.images[index], self.masks[index]

        def __repr__(self) -> str:
            n, _, h, w = self.images.shape
            return f"ShapesDataset(n={n}, size=({h}, {w}))"

    ShapesDataset.__module__ = __name__
    return ShapesDataset
