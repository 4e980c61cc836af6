"""Figures of the GPU lab (chapter 9): achieved TFLOP/s of upsampling operators, training throughput.

Both take the plain results that :mod:`convlab.benchmarking` returns, so the pictures show exactly
the numbers printed beside them. See :doc:`/chapters/gpu_lab`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from convlab.viz.grids import new_figure
from convlab.viz.palettes import PALETTE, PRECISION_COLOURS

__all__ = ["upsampling_benchmark_figure", "throughput_figure"]

_PRECISION_COLOURS = PRECISION_COLOURS


def upsampling_benchmark_figure(rows: Sequence[Mapping], *, title: str | None = None) -> Figure:
    """Grouped bars of achieved TFLOP/s: one group per operator, one bar per numeric format.

    Parameters
    ----------
    rows : sequence of dict
        The rows of :func:`convlab.benchmarking.benchmark_upsampling`: each has ``"op"``,
        ``"precision"`` and ``"tflops"`` (``None`` for a format the device does not run, drawn
        as a missing bar and named in the legend).
    title : str, optional
        The axes title (e.g. the device that measured the rows); default a heading that says
        what the bars are. It is laid out with the figure, so it is never clipped.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``rows`` is not a sequence of mappings, or ``title`` is not a string.
    ValueError
        If ``rows`` is empty or a row lacks one of the keys above.

    Examples
    --------
    >>> rows = [
    ...     {"op": "a", "precision": "fp32", "tflops": 1.0},
    ...     {"op": "a", "precision": "bf16", "tflops": None},
    ... ]
    >>> len(upsampling_benchmark_figure(rows).axes)
    1
    >>> upsampling_benchmark_figure(rows, title="this run: CPU").axes[0].get_title()
    'this run: CPU'
    """
    rows = _check_rows(rows, ("op", "precision", "tflops"))
    _check_title(title)
    ops = list(dict.fromkeys(r["op"] for r in rows))
    precisions = list(dict.fromkeys(r["precision"] for r in rows))
    value = {(r["op"], r["precision"]): r["tflops"] for r in rows}
    fig = new_figure(7.5, 3.2)
    ax = fig.add_subplot()
    width = 0.8 / len(precisions)
    x = np.arange(len(ops))
    for j, precision in enumerate(precisions):
        heights = [value.get((op, precision)) for op in ops]
        measured = [h is not None for h in heights]
        label = precision if all(measured) else f"{precision} (not on this device)"
        ax.bar(
            x[measured] + (j - (len(precisions) - 1) / 2) * width,
            [h for h in heights if h is not None],
            width,
            label=label,
            color=_PRECISION_COLOURS[j % len(_PRECISION_COLOURS)],
        )
    ax.set_xticks(x, ops)
    ax.set_ylabel("achieved TFLOP/s")
    if title is None:
        ax.set_title("Upsampling operators: arithmetic per second (higher is better)")
    else:
        ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def throughput_figure(
    throughput: Mapping[str, float],
    *,
    reference: float | None = None,
    reference_label: str = "reference",
    title: str | None = None,
) -> Figure:
    """Horizontal bars of training throughput in images per second, one per setting.

    Parameters
    ----------
    throughput : mapping of str to float
        Setting name (e.g. ``"AMP + channels-last"``) to measured images per second.
    reference : float, optional
        A rate to mark with a dashed line (e.g. a published figure for the same model).
    reference_label : str, default "reference"
        The dashed line's entry in the legend (drawn only with ``reference``): say what the
        rate is.
    title : str, optional
        An axes title (e.g. the device that measured the rates), laid out with the figure so
        it is never clipped; default none.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``throughput`` is not a mapping of names to numbers, or ``reference_label`` or
        ``title`` is not a string.
    ValueError
        If it is empty or a rate is negative.

    Examples
    --------
    >>> len(throughput_figure({"fp32": 10.0, "AMP": 18.0}).axes)
    1
    >>> throughput_figure({"fp32": 10.0}, title="this run: CPU").axes[0].get_title()
    'this run: CPU'
    """
    if not isinstance(throughput, Mapping):
        raise TypeError(f"`throughput` must be a mapping of names to rates; got {type(throughput).__name__}")
    if not throughput:
        raise ValueError("`throughput` must not be empty")
    names = [str(k) for k in throughput]
    try:
        rates = np.array([float(v) for v in throughput.values()])
    except (TypeError, ValueError):
        raise TypeError(f"`throughput` values must be numbers; got {list(throughput.values())!r}") from None
    if (rates < 0).any():
        raise ValueError(f"`throughput` rates must be non-negative; got {dict(throughput)!r}")
    if not isinstance(reference_label, str):
        raise TypeError(f"`reference_label` must be a string; got reference_label={reference_label!r}")
    _check_title(title)
    fig = new_figure(7.5, 0.6 + 0.5 * len(names))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    ax.barh(y, rates, color=PALETTE["output"])
    for yi, rate in zip(y, rates, strict=True):
        ax.text(rate, yi, f" {rate:.1f}", va="center", fontsize=8)
    if reference is not None:
        ax.axvline(float(reference), color="0.3", linestyle="--", linewidth=1, label=reference_label)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_yticks(y, names)
    ax.set_xlabel("training images per second (higher is better)")
    if title is not None:
        ax.set_title(title, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _check_title(title: object) -> None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"`title` must be a string or None; got title={title!r}")


def _check_rows(rows: object, keys: tuple[str, ...]) -> list[Mapping]:
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise TypeError(f"`rows` must be a sequence of dicts; got {type(rows).__name__}")
    if not rows:
        raise ValueError("`rows` must not be empty")
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"`rows` must contain dicts; got {type(row).__name__}")
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"every row of `rows` needs the keys {keys}; {dict(row)!r} lacks {missing}")
    return list(rows)
