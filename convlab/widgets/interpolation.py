"""Interpolation explorer: mode, scale and ``align_corners`` on a small image.

:func:`interpolation_state` computes what the explorer shows with
:func:`convlab.functional.interpolate` (the enlarged image, where each output pixel samples the
input, the torch call) and never raises for an impossible combination such as ``align_corners``
with a nearest mode: it reports it. :func:`interpolation_explorer` wraps it in ipywidgets. On the
static website the chapter shows :func:`convlab.viz.interpolation_modes_figure` and
:func:`convlab.viz.align_corners_figure` beside it.

Chapter: :doc:`/chapters/upsampling`.
"""

from __future__ import annotations

import numbers

import numpy as np

from convlab._validate import check_array, check_choice
from convlab.widgets._explorer import Explorer, escape, impossible

__all__ = ["default_image", "interpolation_state", "InterpolationExplorer", "interpolation_explorer"]

_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


def default_image() -> np.ndarray:
    """A 5x5 test image with an edge, a gradient and one bright pixel (values in [0, 1]).

    Returns
    -------
    numpy.ndarray, shape (5, 5), float64

    Examples
    --------
    >>> default_image().shape
    (5, 5)
    """
    img = np.zeros((5, 5))
    img[:, 3:] = 0.5  # a vertical edge
    img[4] = np.linspace(0, 1, 5)  # a gradient along the bottom row
    img[1, 1] = 1.0  # an isolated bright pixel
    return img


def interpolation_state(
    mode: str = "bilinear",
    scale_factor: float = 2,
    align_corners: bool | None = False,
    image: object | None = None,
) -> dict:
    r"""Everything the interpolation explorer shows, for one setting of its controls.

    Parameters
    ----------
    mode : {"nearest", "nearest-exact", "bilinear", "bicubic"}, default "bilinear"
    scale_factor : float, default 2
        Positive; the output has :math:`\lfloor n \cdot \text{scale} \rfloor` pixels per side.
    align_corners : bool or None, default False
        As in :func:`torch.nn.functional.interpolate`; must be None for the nearest modes (an
        explicit value there is reported as impossible, as torch raises).
    image : array_like, shape (H, W), optional
        Default :func:`default_image`.

    Returns
    -------
    dict
        ``valid``, ``message``, ``input``, ``output`` (2-D), ``output_size`` ``(H_out, W_out)``,
        ``source_x`` (the input column each output column samples, clamped as the operator does,
        read off interpolating the ramp ``0, 1, ..., W-1``; nearest modes give the index picked),
        ``torch_call``.

    Raises
    ------
    ValueError
        If ``mode`` is unknown, ``scale_factor`` is not positive or ``image`` is not 2-D.
    TypeError
        If ``scale_factor`` is not a number.

    See Also
    --------
    torch.nn.functional.interpolate

    Examples
    --------
    >>> st = interpolation_state("bilinear", 2, align_corners=True, image=[[0, 1]])
    >>> st["output"].round(3).tolist()
    [[0.0, 0.333, 0.667, 1.0], [0.0, 0.333, 0.667, 1.0]]
    >>> interpolation_state("nearest", 2, align_corners=True)["valid"]
    False
    """
    check_choice(mode, "mode", _MODES)
    if not isinstance(scale_factor, numbers.Real) or isinstance(scale_factor, bool):
        raise TypeError(f"`scale_factor` must be a number; got scale_factor={scale_factor!r}")
    if not scale_factor > 0:
        raise ValueError(f"`scale_factor` must be positive; got scale_factor={scale_factor!r}")
    if align_corners is not None and not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"`align_corners` must be True, False or None; got align_corners={align_corners!r}")
    x = default_image() if image is None else check_array(image, "image", ndim=2, floating=True)
    x = np.asarray(x, dtype=np.float64)
    from convlab.functional import interpolate

    call = f"F.interpolate(x, scale_factor={scale_factor:g}, mode={mode!r}, align_corners={align_corners})"
    state: dict = {"valid": False, "input": x, "mode": mode, "torch_call": call}
    try:
        out = interpolate(x[None, None], scale_factor=scale_factor, mode=mode, align_corners=align_corners)
    except ValueError as exc:
        state["message"] = str(exc)
        return state
    ramp = np.arange(x.shape[1], dtype=np.float64)[None, None, None, :]
    ramp = np.repeat(ramp, x.shape[0], axis=2)
    # Linear interpolation of a ramp returns the coordinate itself; bicubic samples at the same
    # coordinates (its ramp would overshoot at the border), nearest modes return the index picked.
    ramp_mode = "bilinear" if mode == "bicubic" else mode
    source = interpolate(ramp, scale_factor=scale_factor, mode=ramp_mode, align_corners=align_corners)[
        0, 0, 0
    ]
    out = np.asarray(out)[0, 0]
    state.update(
        valid=True,
        output=out,
        output_size=out.shape,
        source_x=np.asarray(source),
        message=f"{x.shape[0]}x{x.shape[1]} -> {out.shape[0]}x{out.shape[1]}",
    )
    return state


def _explorer_figure(state: dict, *, dpi: float = 72):
    from convlab.viz.grids import new_figure
    from convlab.viz.palettes import PALETTE

    x, out = state["input"], state["output"]
    fig = new_figure(10, 3.4, dpi=dpi)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.3]})
    lo, hi = min(float(x.min()), float(out.min())), max(float(x.max()), float(out.max()))
    for ax, arr, title in ((axes[0], x, "input"), (axes[1], out, state["mode"])):
        ax.imshow(arr, cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{title} {arr.shape[0]}x{arr.shape[1]}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    row_in, row_out = x.shape[0] // 2, out.shape[0] // 2
    ax = axes[2]
    ax.plot(
        np.arange(x.shape[1]),
        x[row_in],
        "o",
        color=PALETTE["footprint"],
        ms=8,
        label=f"input row {row_in}",
        zorder=3,
    )
    ax.plot(
        state["source_x"],
        out[row_out],
        ".-",
        color=PALETTE["highlight"],
        label=f"output row {row_out} at $x_{{src}}$",
    )
    ax.set_xlabel("input column coordinate")
    ax.set_title("each output pixel placed where it samples", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.16, top=0.88, wspace=0.2)
    return fig


class InterpolationExplorer(Explorer):
    """Controls for ``interpolate`` and what :func:`interpolation_state` computes.

    Attributes
    ----------
    controls : dict
        ``mode`` dropdown, ``scale_factor`` slider, ``align_corners`` dropdown (None/False/True).
    summary : ipywidgets.HTML
        Sizes and the torch call, or the reason the combination is impossible.
    image : ipywidgets.Image
        PNG of the input, the output and a row profile against source coordinates.
    widget : ipywidgets.VBox
        The whole explorer; displaying the explorer displays it.
    state : dict
        The last :func:`interpolation_state`.
    """

    def __init__(
        self,
        mode: str = "bilinear",
        scale_factor: float = 2.5,
        align_corners: bool | None = False,
        image=None,
    ) -> None:
        import ipywidgets as widgets

        self._image = image
        super().__init__(
            {
                "mode": widgets.Dropdown(options=list(_MODES), value=mode, description="mode"),
                "scale_factor": widgets.FloatSlider(
                    value=scale_factor,
                    min=1.0,
                    max=6.0,
                    step=0.5,
                    description="scale",
                    continuous_update=False,
                ),
                "align_corners": widgets.Dropdown(
                    options=[("None", None), ("False", False), ("True", True)],
                    value=align_corners,
                    description="align_corners",
                ),
            }
        )

    def _compute(self, c: dict) -> dict:
        return interpolation_state(c["mode"], c["scale_factor"], c["align_corners"], self._image)

    def _rows(self, st: dict) -> list[str]:
        call = f"<code>{escape(st['torch_call'])}</code>"
        return [f"<b>{st['message']}</b>" if st["valid"] else impossible(st["message"]), call]

    def _figure(self, st: dict, values: dict):
        return _explorer_figure(st)


def interpolation_explorer(
    mode: str = "bilinear", scale_factor: float = 2.5, align_corners: bool | None = False, image=None
) -> InterpolationExplorer:
    r"""An ipywidgets explorer of interpolation: mode, scale factor and ``align_corners``.

    Parameters
    ----------
    mode : str, default "bilinear"
    scale_factor : float, default 2.5
    align_corners : bool or None, default False
    image : array_like, shape (H, W), optional
        Default :func:`default_image`.

    Returns
    -------
    InterpolationExplorer
        Display it in a notebook (it displays its ``widget``).

    Raises
    ------
    TraitError
        If an initial value is not one of its control's options.

    See Also
    --------
    interpolation_state : what it shows, as a plain function.

    Notes
    -----
    Output size :math:`\lfloor n \cdot \text{scale} \rfloor`; source coordinate
    :math:`(j + \tfrac12)/\text{scale} - \tfrac12` (``align_corners=False``) or
    :math:`j (n - 1)/(m - 1)` (``True``).

    Examples
    --------
    >>> explorer = interpolation_explorer()
    >>> explorer.state["output_size"]
    (12, 12)
    >>> explorer.controls["mode"].value = "nearest"
    >>> explorer.state["valid"]
    False
    """
    return InterpolationExplorer(mode, scale_factor, align_corners, image)
