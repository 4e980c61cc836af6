"""Figures for segmentation: images beside their masks and predictions, FCN variants compared (chapter 8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from convlab.viz.grids import new_figure
from convlab.viz.palettes import CLASS_COLOURS

__all__ = ["segmentation_cmap", "colorize_mask", "show_segmentation", "compare_predictions"]

_PALETTE = CLASS_COLOURS


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _check_classes(num_classes: object) -> int:
    from convlab._validate import check_positive

    k = check_positive(num_classes, "num_classes")
    if k > len(_PALETTE):
        raise ValueError(f"`num_classes` must be at most {len(_PALETTE)}; got num_classes={k}")
    return k


def segmentation_cmap(num_classes: int = 4) -> tuple[ListedColormap, BoundaryNorm]:
    """A discrete colour map and norm for class masks: ``imshow(mask, cmap=cmap, norm=norm)``.

    Parameters
    ----------
    num_classes : int, default 4
        Number of classes (at most 10); class 0 (background) is dark grey.

    Returns
    -------
    cmap : matplotlib.colors.ListedColormap
    norm : matplotlib.colors.BoundaryNorm
        Maps label ``c`` to colour ``c`` exactly.

    Examples
    --------
    >>> cmap, norm = segmentation_cmap(4)
    >>> cmap.N
    4
    """
    k = _check_classes(num_classes)
    cmap = ListedColormap(_PALETTE[:k], name=f"segmentation{k}")
    norm = BoundaryNorm(np.arange(k + 1) - 0.5, k)
    return cmap, norm


def colorize_mask(mask: Any, num_classes: int = 4) -> np.ndarray:
    """An RGB image ``(H, W, 3)`` float in ``[0, 1]`` of a class mask ``(H, W)``.

    Parameters
    ----------
    mask : array_like of int, shape (H, W)
        Class indices; values outside ``[0, num_classes)`` are clipped into it.
    num_classes : int, default 4
        Number of classes, 1 to ``len(CLASS_COLOURS)`` (10).

    Returns
    -------
    numpy.ndarray, shape (H, W, 3)
        The colour of each pixel's class (``convlab.viz.palettes.CLASS_COLOURS``).

    Raises
    ------
    ValueError
        If ``mask`` is not a 2-D integer array or ``num_classes`` is out of range.

    See Also
    --------
    segmentation_cmap : the colormap of the same colours.

    Examples
    --------
    >>> colorize_mask(np.array([[0, 1]]), 4).shape
    (1, 2, 3)
    """
    k = _check_classes(num_classes)
    mask = _numpy(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"`mask` must be a 2-D integer array; got shape {mask.shape}, dtype {mask.dtype}")
    cmap, _ = segmentation_cmap(k)
    colours = np.asarray(
        cmap.colors if isinstance(cmap.colors, np.ndarray) else [_rgb(c) for c in cmap.colors]
    )
    return colours[np.clip(mask, 0, k - 1)]


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def _image_hwc(image: Any) -> np.ndarray:
    image = _numpy(image).astype(np.float64)
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"`images` must hold (3, H, W) or (1, H, W) images; got {image.shape}")
    image = np.moveaxis(image, 0, -1)
    return np.clip(image[..., 0] if image.shape[-1] == 1 else image, 0, 1)


def _legend(fig: Figure, class_names: Sequence[str]) -> None:
    cmap, _ = segmentation_cmap(len(class_names))
    handles = [Patch(color=cmap(i), label=name) for i, name in enumerate(class_names)]
    fig.legend(handles=handles, loc="lower center", ncol=len(class_names), frameon=False)


def show_segmentation(
    images: Any,
    masks: Any,
    predictions: Any | None = None,
    *,
    class_names: Sequence[str] = ("background", "circle", "square", "triangle"),
    max_images: int = 6,
) -> Figure:
    """Images, ground truth and (optionally) predictions, one column per image.

    Parameters
    ----------
    images : array_like, shape (N, 3, H, W)
        Values in ``[0, 1]``.
    masks : array_like of int, shape (N, H, W)
    predictions : array_like of int, shape (N, H, W), optional
    class_names : sequence of str
        One per class, for the legend (their number sets the colour map).
    max_images : int, default 6

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from convlab.data import make_shapes
    >>> images, masks = make_shapes(3, size=32)
    >>> len(show_segmentation(images, masks).axes)
    6
    """
    rows = [("image", _numpy(images)), ("ground truth", _numpy(masks))]
    if predictions is not None:
        rows.append(("prediction", _numpy(predictions)))
    return _grid(rows, class_names, max_images)


def compare_predictions(
    images: Any,
    masks: Any,
    predictions: Mapping[str, Any],
    *,
    class_names: Sequence[str] = ("background", "circle", "square", "triangle"),
    max_images: int = 6,
) -> Figure:
    """A grid: image, ground truth, then one row per model (e.g. FCN-32s, FCN-16s, FCN-8s).

    Parameters
    ----------
    images, masks
        As in :func:`show_segmentation`.
    predictions : mapping of str to array_like (N, H, W)
        Row label -> predicted labels, in display order.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from convlab.data import make_shapes
    >>> images, masks = make_shapes(2, size=32)
    >>> fig = compare_predictions(images, masks, {"FCN-32s": masks, "FCN-8s": masks})
    >>> len(fig.axes)
    8
    """
    if not isinstance(predictions, Mapping) or not predictions:
        raise TypeError("`predictions` must be a non-empty mapping of row label to predicted masks")
    rows = [("image", _numpy(images)), ("ground truth", _numpy(masks))]
    rows += [(str(name), _numpy(pred)) for name, pred in predictions.items()]
    return _grid(rows, class_names, max_images)


def _grid(rows: list[tuple[str, np.ndarray]], class_names: Sequence[str], max_images: int) -> Figure:
    from convlab._validate import check_positive

    max_images = check_positive(max_images, "max_images")
    k = _check_classes(len(class_names))
    images = rows[0][1]
    if images.ndim != 4:
        raise ValueError(f"`images` must be 4-D (N, 3, H, W); got shape {images.shape}")
    n = min(len(images), max_images)
    for label, arr in rows[1:]:
        if arr.shape[0] < n or arr.shape[1:] != images.shape[2:]:
            raise ValueError(
                f"masks for {label!r} must have shape (N, H, W) = {(len(images), *images.shape[2:])}; "
                f"got {arr.shape}"
            )
    cmap, norm = segmentation_cmap(k)
    fig = new_figure(1.6 * n + 1.2, 1.6 * len(rows) + 0.5, dpi=80)  # shown when a cell returns it
    fig.set_layout_engine("constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, arr) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            if r == 0:
                ax.imshow(_image_hwc(arr[c]), cmap="gray" if arr.shape[1] == 1 else None)
            else:
                ax.imshow(arr[c], cmap=cmap, norm=norm, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label)
    _legend(fig, class_names)
    fig.get_layout_engine().set(rect=(0, 0.06, 1, 0.94))
    return fig
