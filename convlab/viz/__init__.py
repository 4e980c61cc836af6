"""Figures and animations of the course, generated from convlab itself.

Every function returns a :class:`matplotlib.figure.Figure` or an animation object (never calls
``plt.show()``), so a chapter decides how to display it and a picture cannot disagree with the code.
Animations are rendered with :func:`convlab.viz.animation_html` to HTML/JavaScript that plays on the
static website without a kernel.
"""

from convlab.viz.grids import *  # noqa: F403
from convlab.viz.grids import __all__ as _grids_all
from convlab.viz.palettes import CHANNEL_COLOURS, CLASS_COLOURS, PATCH_COLOURS, PRECISION_COLOURS
from convlab.viz.performance import *  # noqa: F403
from convlab.viz.performance import __all__ as _performance_all
from convlab.viz.receptive_field import *  # noqa: F403
from convlab.viz.receptive_field import __all__ as _receptive_field_all
from convlab.viz.segmentation import *  # noqa: F403
from convlab.viz.segmentation import __all__ as _segmentation_all
from convlab.viz.sliding import *  # noqa: F403
from convlab.viz.sliding import __all__ as _sliding_all
from convlab.viz.transposed import *  # noqa: F403
from convlab.viz.transposed import __all__ as _transposed_all
from convlab.viz.upsampling import *  # noqa: F403
from convlab.viz.upsampling import __all__ as _upsampling_all

__all__ = [
    *_grids_all,
    "CLASS_COLOURS",
    "PATCH_COLOURS",
    "CHANNEL_COLOURS",
    "PRECISION_COLOURS",
    *_sliding_all,
    *_transposed_all,
    *_upsampling_all,
    *_segmentation_all,
    *_performance_all,
    *_receptive_field_all,
]
