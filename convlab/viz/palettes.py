"""Every colour of the course's figures, by name, in one place.

:data:`PALETTE` holds the roles of the grid pictures (Dumoulin & Visin's *conv_arithmetic* style:
blue input, green output, a dark kernel footprint, grey dashed padding) and of the marks drawn
over them; the sequences hold the colours of things that are told apart only by colour
(segmentation classes, image patches, channels, numeric precisions).
"""

from __future__ import annotations

__all__ = ["PALETTE", "CLASS_COLOURS", "PATCH_COLOURS", "CHANNEL_COLOURS", "PRECISION_COLOURS"]

#: Colours shared by every figure of the course, by role.
PALETTE: dict[str, str] = {
    "input": "#7fb3e6",  # blue: the input
    "output": "#8fd19e",  # green: the output
    "kernel": "#f2c14e",  # amber: a kernel drawn on its own
    "footprint": "#1f4e79",  # dark blue: the cells under the kernel
    "padding": "#f4f4f4",  # light grey: zero padding
    "empty": "#ffffff",  # white: an output cell not computed yet
    "highlight": "#d62728",  # red: the cell or window being discussed
    "edge": "#3d3d3d",  # cell borders
    "padding_edge": "#9a9a9a",  # dashed border of a padding cell
    "padding_text": "#777777",  # a number written on padding
    "weight_text": "#ffe08a",  # a kernel weight written on its footprint
    "product": "#e9e3f5",  # lilac: elementwise products before they are summed
    "accent": "#e8590c",  # orange: the pixel or window being worked on
    "quiet": "#868e96",  # grey: what was done before, side notes
    "keep": "#2b8a3e",  # dark green: the part that is kept
    "gridline": "#adb5bd",  # light grid lines of a matrix picture
    "guide": "#555555",  # dashed guide lines
    "label": "#444444",  # small labels
    "text": "#333333",  # text drawn on the figure
    "corner": "#e599f7",  # the fourth corner of bilinear interpolation (after input, kernel, output)
    "impossible": "#b22222",  # an explorer's "impossible" message
}

#: Segmentation classes: background dark grey, then Okabe-Ito colours (readable with colour blindness).
CLASS_COLOURS: tuple[str, ...] = (
    "#303030",
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
    "#999999",
    "#ffffff",
)

#: Up to twelve image patches told apart by colour (im2col pictures).
PATCH_COLOURS: tuple[str, ...] = (
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#e377c2",
    "#8c564b",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
)

#: Channels of a feature map (pixel shuffle), starting with the grid roles' colours.
CHANNEL_COLOURS: tuple[str, ...] = (
    PALETTE["input"],
    PALETTE["kernel"],
    PALETTE["output"],
    PALETTE["corner"],
    "#ffa94d",
    "#66d9e8",
    "#ff8787",
    "#b197fc",
    "#c0eb75",
)

#: Numeric precisions in performance plots (float64, float32, float16, bfloat16 order of use).
PRECISION_COLOURS: tuple[str, ...] = ("#4c72b0", "#55a868", "#c44e52", "#8172b2")
